import { describe, expect, it } from 'vitest';
import { collectorUp } from './heartbeat.js';
import { CLOCK_TOLERANCE_MS, HeartbeatClocks } from './heartbeat-clock.js';

const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);
const startedAt = new Date(T0 - 3_600_000);

/** A heartbeat row written at `collectorTime` (the collector's clock). */
const row = (collectorTime: number, opts: { state?: string; started?: Date; id?: string } = {}) => ({
  id: opts.id ?? 'edge', host: 'gw-1', pid: 7, startedAt: opts.started ?? startedAt, updatedAt: new Date(collectorTime), intervalMs: 5000, state: opts.state ?? 'running',
});

describe('HeartbeatClocks', () => {
  it.each([
    ['in step', 0],
    ['2 s behind', 2_000],
    ['8 s ahead', -8_000],
  ])('a collector whose clock is %s is judged as by the clocks alone', (_what, behind) => {
    const clocks = new HeartbeatClocks();
    for (let t = 0; t <= 60_000; t += 5_000) {
      const r = row(T0 + t - behind);
      for (const readAt of [t + 1_000, t + 4_000]) {
        clocks.observe([r], T0 + readAt);
        expect(clocks.up(r, T0 + readAt)).toBe(collectorUp(r, T0 + readAt));
      }
    }
    expect(Math.abs(clocks.offset(row(T0))! )).toBeLessThanOrEqual(CLOCK_TOLERANCE_MS);
  });

  it('a live collector 60 s behind: down at first sight, up once seen writing, down 15 s after its last beat', () => {
    const clocks = new HeartbeatClocks();
    const behind = 60_000;
    const first = row(T0 - behind);
    clocks.observe([first], T0 + 1_000);
    expect(clocks.up(first, T0 + 1_000)).toBe(false); // cannot tell it from a dead one yet
    expect(clocks.offset(first)).toBeUndefined();
    let last = first;
    for (let t = 5_000; t <= 30_000; t += 5_000) {
      last = row(T0 + t - behind);
      clocks.observe([last], T0 + t + 2_000);
      expect(clocks.up(last, T0 + t + 2_000)).toBe(true);
      expect(collectorUp(last, T0 + t + 2_000)).toBe(false); // what the clocks alone would say
    }
    expect(clocks.offset(last)).toBe(61_000);
    // It stops writing: down once 15 s have passed by the server's clock (allowing for the offset estimate).
    clocks.observe([last], T0 + 40_000);
    expect(clocks.up(last, T0 + 40_000)).toBe(true);
    clocks.observe([last], T0 + 47_000);
    expect(clocks.up(last, T0 + 47_000)).toBe(false);
    // Stopped is down whatever the clock.
    const stopped = row(T0 + 50_000 - behind, { state: 'stopped' });
    clocks.observe([stopped], T0 + 51_000);
    expect(clocks.up(stopped, T0 + 51_000)).toBe(false);
  });

  it('a collector 10 min ahead that was seen writing is down 15 s after it stops, not 10 min', () => {
    const clocks = new HeartbeatClocks();
    const ahead = 600_000;
    let last = row(T0 + ahead);
    clocks.observe([last], T0 + 500);
    last = row(T0 + 5_000 + ahead);
    clocks.observe([last], T0 + 5_500);
    expect(clocks.offset(last)).toBe(-599_500);
    expect(clocks.up(last, T0 + 15_000)).toBe(true);
    clocks.observe([last], T0 + 21_000);
    expect(clocks.up(last, T0 + 21_000)).toBe(false);
    expect(collectorUp(last, T0 + 21_000)).toBe(true); // the clocks alone: up for 10 more minutes
  });

  it('a restart (another start time) starts a new estimate; rows no longer listed are forgotten', () => {
    const clocks = new HeartbeatClocks();
    clocks.observe([row(T0 - 60_000)], T0);
    clocks.observe([row(T0 - 55_000)], T0 + 5_000);
    expect(clocks.offset(row(T0 - 55_000))).toBe(60_000);
    const restarted = row(T0 + 10_000, { started: new Date(T0 + 9_000) }); // its clock fixed meanwhile
    clocks.observe([restarted], T0 + 10_500);
    expect(clocks.offset(restarted)).toBeUndefined();
    expect(clocks.up(restarted, T0 + 10_500)).toBe(true);
    expect(clocks.offset(row(T0 - 55_000))).toBeUndefined(); // the old run is gone from the list: forgotten
  });
});
