import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the total (it may grow as work is discovered). */
  setTotal(total: number): void;
  increment(n?: number): void;
  update(value: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, tests), so that
 * output that is read by programs stays clean.
 */
export function progressBar(label: string, total: number, unit = 'items'): Progress {
  if (!process.stderr.isTTY || process.env.CI === 'true') {
    return { setTotal() {}, increment() {}, update() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let current = 0;
  return {
    setTotal: (t) => bar.setTotal(t),
    increment: (n = 1) => {
      current += n;
      bar.update(current);
    },
    update: (v) => {
      current = v;
      bar.update(v);
    },
    stop: () => bar.stop(),
  };
}
