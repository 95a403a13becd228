/** Small helpers shared by the benchmarks: arguments, percentiles, printing. Benchmarks print; they never assert. */

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a sample (ms or sizes). */
export function stats(values: readonly number[]): Stats {
  const v = [...values].sort((a, b) => a - b);
  const at = (p: number) => (v.length ? v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))]! : NaN);
  const mean = v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  return { n: v.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: v.length ? v[v.length - 1]! : NaN, mean };
}

/** Parses `--name value` and `--flag` arguments; unknown names are refused with the list of known ones. */
export function parseArgs(argv: readonly string[], known: Record<string, 'string' | 'number' | 'flag'>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.replace(/^--/, '');
    const type = a.startsWith('--') ? known[name] : undefined;
    if (!type) throw new Error(`unknown argument ${a}; known: ${Object.keys(known).map((k) => `--${k}`).join(', ')}`);
    if (type === 'flag') {
      out[name] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (type === 'number') {
      const n = Number(v.replace(/_/g, ''));
      if (!Number.isFinite(n)) throw new Error(`${a} must be a number, got "${v}"`);
      out[name] = n;
    } else out[name] = v;
  }
  return out;
}

export const ms = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Pads a table of strings into aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}
