/**
 * "Up" for collectors whose clock differs from the reader's. A heartbeat row carries the time by the collector's
 * clock; comparing it with the reader's clock (collectorUp) shows a live collector on a gateway whose clock runs
 * 30 s behind as down, and a dead one whose clock runs ahead as up. The reader keeps, per collector run (id, host,
 * process, start), the smallest apparent age at which it has seen a row: that is the difference between the two
 * clocks plus a little (a row is at most one interval old when read). Once the row has been seen to change — the
 * collector is writing — ages are corrected by that estimate. A collector seen once only is judged as before.
 */
import { collectorUp, HEARTBEAT_INTERVAL_MS, UP_INTERVALS, type CollectorStatusRecord } from './heartbeat.js';

type Row = Pick<CollectorStatusRecord, 'id' | 'host' | 'pid' | 'startedAt' | 'updatedAt' | 'intervalMs' | 'state'>;

interface Seen {
  /** The row's updatedAt at the last look (ms). */
  updatedAt: number;
  /** Seen with two different updatedAt values: the collector writes, the estimate holds. */
  changed: boolean;
  /** Smallest reader time − row time seen (ms): the reader's clock ahead of the collector's, plus read delay. */
  offsetMs: number;
}

/** Offsets below this are taken as clocks in step (what NTP keeps them within, plus a read interval). */
export const CLOCK_TOLERANCE_MS = 10_000;

const runKey = (r: Row) => `${r.id}\u0000${r.host}\u0000${r.pid}\u0000${r.startedAt.getTime()}`;

export class HeartbeatClocks {
  private readonly seen = new Map<string, Seen>();

  /** Takes note of the rows read at `now` (the reader's clock); runs no longer listed are forgotten. */
  observe(rows: readonly Row[], now = Date.now()): void {
    const keep = new Set<string>();
    for (const r of rows) {
      const key = runKey(r);
      keep.add(key);
      const at = r.updatedAt.getTime();
      const s = this.seen.get(key);
      if (!s) {
        this.seen.set(key, { updatedAt: at, changed: false, offsetMs: now - at });
        continue;
      }
      if (at !== s.updatedAt) {
        s.changed = true;
        s.updatedAt = at;
      }
      s.offsetMs = Math.min(s.offsetMs, now - at);
    }
    for (const key of this.seen.keys()) if (!keep.has(key)) this.seen.delete(key);
  }

  /**
   * The reader's clock minus the collector's, as far as it can be told (ms; positive: the collector's clock is
   * behind), once the collector has been seen writing; undefined before.
   */
  offset(r: Row): number | undefined {
    const s = this.seen.get(runKey(r));
    return s?.changed ? s.offsetMs : undefined;
  }

  /** Up: not stopped, and its row younger than 3 intervals once the clocks' difference is taken out. */
  up(r: Row, now = Date.now()): boolean {
    const offset = this.offset(r);
    if (offset === undefined || Math.abs(offset) <= CLOCK_TOLERANCE_MS) return collectorUp(r, now);
    if (r.state === 'stopped') return false;
    return now - r.updatedAt.getTime() - offset <= UP_INTERVALS * Math.max(1000, r.intervalMs || HEARTBEAT_INTERVAL_MS);
  }
}
