import { describe, expect, it } from 'vitest';
import { periodTicker } from './ticker.js';

describe('periodTicker', () => {
  it('calls at once, then at each period boundary, and not after stop', async () => {
    const seen: number[] = [];
    const t = periodTicker(50, (at) => seen.push(at.getTime()));
    expect(seen).toHaveLength(1);
    t.start();
    await new Promise((r) => setTimeout(r, 180));
    t.stop();
    const n = seen.length;
    expect(n).toBeGreaterThanOrEqual(3);
    for (const ms of seen) expect(ms % 50).toBe(0);
    for (let i = 1; i < n; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    await new Promise((r) => setTimeout(r, 120));
    expect(seen).toHaveLength(n);
  });
});

describe('periodTicker with an asynchronous function', () => {
  it('waits for each call before the next, each boundary at most once and in order; stop() waits for the call in progress', async () => {
    const calls: { at: number; done: boolean }[] = [];
    let active = 0;
    let most = 0;
    const t = periodTicker(20, async (at) => {
      const c = { at: at.getTime(), done: false };
      calls.push(c);
      most = Math.max(most, ++active);
      await new Promise((r) => setTimeout(r, 70));
      active--;
      c.done = true;
    });
    t.start();
    await new Promise((r) => setTimeout(r, 300));
    await t.stop();
    const n = calls.length;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(most).toBe(1); // never two calls at once
    expect(calls.every((c) => c.done)).toBe(true);
    for (let i = 1; i < n; i++) expect(calls[i]!.at).toBeGreaterThan(calls[i - 1]!.at);
    for (const c of calls) expect(c.at % 20).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toHaveLength(n);
  });
});
