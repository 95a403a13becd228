import { describe, expect, it } from 'vitest';
import { INCIDENT_PARAMETER } from '../../trace/demo/catalog.js';
import { createLine, type TagDef } from './line.js';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const at = (ms: number) => new Date(T0 + ms);
type NumberTag = Extract<TagDef, { kind: 'number' }>;
const numeric = (tags: readonly TagDef[]) => tags.filter((t): t is NumberTag => t.kind === 'number');

describe('simulated line: tags from the demo plant', () => {
  it.each([
    { lines: ['L1'], machines: ['MIX-L1-01', 'EXT-L1-01', 'MLD-L1-01', 'MLD-L1-02', 'PCK-L1-01'], numericTags: 2 + 3 + 3 + 3 + 1 },
    { lines: ['L1', 'L2', 'L3'], machines: ['EXT-L2-01', 'PCK-L3-01'], numericTags: 36 },
  ])('$lines: machines and parameters with specs', ({ lines, machines, numericTags }) => {
    const line = createLine({ lines });
    const tags = line.tags();
    expect(numeric(tags)).toHaveLength(numericTags);
    const equipment = new Set(tags.map((t) => t.equipment));
    for (const m of machines) expect(equipment).toContain(m);
    // Every machine has a lot and an operation tag.
    for (const m of equipment) {
      expect(tags.filter((t) => t.equipment === m && t.kind === 'string').map((t) => t.parameter).sort()).toEqual(['lot', 'operation']);
    }
    for (const t of numeric(tags)) expect(t.lsl).toBeLessThan(t.target), expect(t.target).toBeLessThan(t.usl);
  });

  it.each([
    { equipment: 'EXT-L1-01', parameter: 'melt_pressure', unit: 'bar' },
    { equipment: 'EXT-L1-01', parameter: 'melt_temp', unit: 'degC' },
    { equipment: 'MIX-L1-01', parameter: 'mixer_speed', unit: 'rpm' },
    { equipment: 'MLD-L1-02', parameter: 'cycle_time', unit: 's' },
    { equipment: 'PCK-L1-01', parameter: 'line_speed', unit: 'pcs/min' },
  ])('$equipment/$parameter is in $unit', ({ equipment, parameter, unit }) => {
    const tag = numeric(createLine({ lines: ['L1'] }).tags()).find((t) => t.equipment === equipment && t.parameter === parameter);
    expect(tag?.unit).toBe(unit);
  });

  it('rejects an unknown line and a bad rate', () => {
    expect(() => createLine({ lines: ['L9'] })).toThrow(/unknown line "L9"/);
    expect(() => createLine({ rateHz: 0 })).toThrow(/rateHz/);
  });
});

describe('simulated line: signals', () => {
  it('is deterministic for a seed, in any sampling order, and differs between seeds', () => {
    const a = createLine({ seed: 's1' });
    const b = createLine({ seed: 's1' });
    const c = createLine({ seed: 's2' });
    const times = [0, 1000, 2000, 3_600_000].map(at);
    const forward = times.map((t) => a.sample(t));
    const backward = [...times].reverse().map((t) => b.sample(t)).reverse();
    expect(backward).toEqual(forward);
    expect(c.sample(times[0]!)).not.toEqual(forward[0]);
    expect(a.state(at(5000))).toEqual(b.state(at(5000)));
  });

  it('without the excursion every value stays inside its spec, with noise and drift (not constant)', () => {
    const line = createLine({ seed: 'in-spec', excursion: false });
    const tags = numeric(line.tags());
    const values = new Map<string, number[]>();
    // Two hours at one sample per 10 s.
    for (let ms = 0; ms < 2 * 3_600_000; ms += 10_000) {
      for (const s of line.sample(at(ms))) {
        const k = `${s.equipment}/${s.parameter}`;
        values.set(k, [...(values.get(k) ?? []), s.value]);
      }
    }
    for (const t of tags) {
      const v = values.get(`${t.equipment}/${t.parameter}`)!;
      const min = Math.min(...v);
      const max = Math.max(...v);
      const mean = v.reduce((x, y) => x + y, 0) / v.length;
      const half = (t.usl - t.lsl) / 2;
      expect(min, `${t.equipment}/${t.parameter}`).toBeGreaterThanOrEqual(t.lsl);
      expect(max, `${t.equipment}/${t.parameter}`).toBeLessThanOrEqual(t.usl);
      expect(Math.abs(mean - t.target)).toBeLessThan(0.25 * half);
      // Noise and drift move it by a visible fraction of the spec width.
      expect(max - min).toBeGreaterThan(0.2 * half);
      // Consecutive samples are correlated (drift), not independent jumps across the whole band.
      expect(new Set(v).size).toBeGreaterThan(v.length / 2);
    }
  });

  it('plants a periodic excursion above USL on the incident parameter of an extruder', () => {
    const line = createLine({ seed: 'x', lines: ['L1'], excursion: { everyMs: 600_000, durationMs: 90_000 } });
    expect(line.excursion).toMatchObject({ equipment: 'EXT-L1-01', parameter: INCIDENT_PARAMETER });
    const usl = line.excursion!.usl;
    let above = 0;
    let inside = 0;
    let windows = 0;
    let was = false;
    for (let ms = 0; ms < 3_600_000; ms += 1000) {
      const t = at(ms);
      const v = line.value('EXT-L1-01', INCIDENT_PARAMETER, t)!;
      const ex = line.inExcursion(t);
      if (ex && !was) windows++;
      was = ex;
      if (ex) inside++;
      if (v > usl) {
        above++;
        expect(ex, `above USL only inside the excursion (at +${ms} ms)`).toBe(true);
      }
    }
    expect(windows).toBe(6);
    expect(inside).toBe(6 * 90);
    // The plateau (80 % of each window) is above USL.
    expect(above).toBeGreaterThanOrEqual(6 * 90 * 0.8 - 6);
  });

  it('plants one excursion at a given time on a chosen tag', () => {
    const start = at(30_000);
    const line = createLine({ lines: ['L2'], excursion: { at: start, durationMs: 10_000, equipment: 'EXT-L2-01' } });
    const usl = line.excursion!.usl;
    expect(line.value('EXT-L2-01', 'melt_pressure', at(35_000))!).toBeGreaterThan(usl);
    expect(line.value('EXT-L2-01', 'melt_pressure', at(29_000))!).toBeLessThanOrEqual(usl);
    expect(line.value('EXT-L2-01', 'melt_pressure', at(41_000))!).toBeLessThanOrEqual(usl);
    expect(line.inExcursion(at(30_000 + 3_600_000))).toBe(false);
    expect(() => createLine({ lines: ['L1'], excursion: { equipment: 'MIX-L1-01' } })).toThrow(/no simulated tag MIX-L1-01\/melt_pressure/);
  });
});

describe('simulated line: lots and operations', () => {
  it('each machine runs one lot at a time; lots change as operations complete', () => {
    const line = createLine({ lines: ['L1'] });
    const first = line.state(at(0));
    expect(first.map((s) => s.equipment).sort()).toEqual(['EXT-L1-01', 'MIX-L1-01', 'MLD-L1-01', 'MLD-L1-02', 'PCK-L1-01']);
    for (const s of first) {
      expect(s.startedAt.getTime()).toBeLessThanOrEqual(T0);
      expect(s.endsAt.getTime()).toBeGreaterThan(T0);
      expect(s.lot).toMatch(/^[A-Z0-9-]+-SL1\d?-\d{6,}$/);
    }
    const ext = first.find((s) => s.equipment === 'EXT-L1-01')!;
    expect(ext.operation).toBe('Compounding extrusion');
    // Just after it ends, the extruder runs the next lot, the one the mixer blended meanwhile.
    const mixerNow = first.find((s) => s.equipment === 'MIX-L1-01')!;
    const next = line.state(ext.endsAt).find((s) => s.equipment === 'EXT-L1-01')!;
    expect(next.lot).not.toBe(ext.lot);
    expect(next.lot).toBe(mixerNow.lot);
    expect(next.startedAt).toEqual(ext.endsAt);
  });

  it.each([
    { timeScale: undefined, hours: 12, stepMs: 30_000 },
    { timeScale: 0.002, hours: 0.1, stepMs: 1000 },
  ])('the packer packs lots the moulders made before (time scale $timeScale)', ({ timeScale, hours, stepMs }) => {
    const line = createLine({ lines: ['L1'], ...(timeScale !== undefined ? { timeScale } : {}) });
    const moulded = new Set<string>();
    const packed = new Set<string>();
    for (let ms = 0; ms < hours * 3_600_000; ms += stepMs) {
      for (const s of line.state(at(ms))) (s.equipment.startsWith('MLD') ? moulded : s.equipment.startsWith('PCK') ? packed : new Set()).add(s.lot);
    }
    expect(packed.size).toBeGreaterThan(5);
    const notMoulded = [...packed].filter((l) => !moulded.has(l));
    // Only the first lots packed may have been moulded before the window started.
    expect(notMoulded.length).toBeLessThanOrEqual(2);
  });
});
