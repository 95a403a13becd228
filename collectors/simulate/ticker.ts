/**
 * Runs a function at whole multiples of a period (wall clock), so every simulator stamps its values
 * with the same instants: `fn` gets the period boundary it is for, each boundary once, in order (a timer
 * that fires a little early still gets the next boundary). The first call is immediate.
 */
export interface Ticker {
  start(): void;
  stop(): void;
}

export function periodTicker(periodMs: number, fn: (at: Date) => void): Ticker {
  const boundary = (): number => Math.floor(Date.now() / periodMs) * periodMs;
  let last = boundary();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (): void => {
    timer = setTimeout(() => {
      if (stopped) return;
      last = Math.max(boundary(), last + periodMs);
      fn(new Date(last));
      schedule();
    }, Math.max(0, last + periodMs - Date.now()));
  };
  fn(new Date(last));
  return {
    start: schedule,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
