/**
 * Runs a function at whole multiples of a period (wall clock), so every simulator stamps its values
 * with the same instants: `fn` gets the period boundary it is for, each boundary once, in order (a timer
 * that fires a little early still gets the next boundary). The first call is immediate. When `fn` returns
 * a promise (it waits for the trace store), the next call waits for it; boundaries passed meanwhile are
 * skipped, the next call gets the latest.
 */
export interface Ticker {
  start(): void;
  /** Stops the ticks; resolves once a call in progress is done. */
  stop(): Promise<void>;
}

export function periodTicker(periodMs: number, fn: (at: Date) => unknown): Ticker {
  const boundary = (): number => Math.floor(Date.now() / periodMs) * periodMs;
  let last = boundary();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let busy: Promise<void> | undefined;
  /** Calls fn, then `next` once it is done (at once when it returns no promise). */
  const call = (at: Date, next: () => void): void => {
    const r: unknown = fn(at);
    // A function that returns something else (fn may be `(at) => list.push(at)`) is synchronous.
    if (!(r instanceof Promise)) return next();
    busy = r.then(
      () => undefined,
      () => undefined,
    );
    void busy.then(() => {
      busy = undefined;
      next();
    });
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      if (stopped) return;
      last = Math.max(boundary(), last + periodMs);
      call(new Date(last), schedule);
    }, Math.max(0, last + periodMs - Date.now()));
  };
  let started = false;
  let firstDone = false;
  call(new Date(last), () => {
    firstDone = true;
    if (started) schedule();
  });
  return {
    start() {
      started = true;
      if (firstDone) schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (busy) await busy;
    },
  };
}
