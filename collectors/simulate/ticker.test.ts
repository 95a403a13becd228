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
