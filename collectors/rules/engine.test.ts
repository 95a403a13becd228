import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { rulesSchema, type RulesConfig } from '../config.js';
import type { AlarmChange, Reading } from '../types.js';
import { RuleEngine } from './engine.js';
import { limitKey, type LimitTable, type ParameterLimits } from './limits.js';
import { xbarRConstants } from './spc-constants.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');

function table(...ls: Array<Partial<ParameterLimits> & { equipment: string; parameter: string }>): LimitTable {
  return new Map(ls.map((l) => [limitKey(l.equipment, l.parameter), { severity: 'critical', source: 'spec', ...l } as ParameterLimits]));
}

/** Readings of one key, one second apart. */
function series(values: readonly number[], equipment = 'EXT-1', parameter = 'p', start = 0): Reading[] {
  return values.map((value, i) => ({ equipment, parameter, ts: new Date(T0 + (start + i) * 1000), value }));
}

const brief = (cs: readonly AlarmChange[]) => cs.map((c) => `${c.kind} ${c.rule} ${c.value}`);

const noSpc = (over: object = {}): RulesConfig => rulesSchema.parse({ spc: { enabled: false }, ...over });

function normal(rng: () => number): number {
  // Box–Muller.
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

describe('threshold alarms', () => {
  const limits = table({ equipment: 'EXT-1', parameter: 'p', lsl: 0, usl: 100, unit: 'bar' });
  // hysteresis 0.02 × (100 − 0) = 2: a high alarm clears at ≤ 98, a low one at ≥ 2.
  it.each([
    { name: 'hovering around USL raises once; clears only 2 below', values: [99, 101, 99.5, 100.5, 99, 98.1, 97.9, 99, 101], want: ['raise limit_high 101', 'clear limit_high 97.9', 'raise limit_high 101'] },
    { name: 'a value at the clear point clears', values: [101, 98], want: ['raise limit_high 101', 'clear limit_high 98'] },
    { name: 'hovering around LSL raises once; clears only 2 above', values: [1, -1, 0.5, -0.5, 1.9, 2, -3], want: ['raise limit_low -1', 'clear limit_low 2', 'raise limit_low -3'] },
    { name: 'on the limit is inside', values: [100, 0, 50], want: [] },
    { name: 'a jump from above USL to below LSL clears high then raises low', values: [50, 120, -5, 50], want: ['raise limit_high 120', 'clear limit_high -5', 'raise limit_low -5', 'clear limit_low 50'] },
    { name: 'many values above USL: one open alarm', values: [101, 130, 150, 101, 100.5], want: ['raise limit_high 101'] },
  ])('$name', ({ values, want }) => {
    const e = new RuleEngine(noSpc(), limits);
    expect(brief(e.onReadings(series(values)))).toEqual(want);
  });

  it('noise around the limit smaller than the hysteresis band never flaps', () => {
    const rng = seedrandom('flap');
    const values = Array.from({ length: 2000 }, () => 100 + (rng() * 2 - 1) * 1.9);
    const e = new RuleEngine(noSpc(), limits);
    const changes = e.onReadings(series(values));
    expect(brief(changes).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['raise limit_high']);
    // The same noise with no hysteresis flaps on nearly every crossing: the band is what prevents it.
    const flappy = new RuleEngine(noSpc({ hysteresis: 0 }), limits).onReadings(series(values));
    expect(flappy.length).toBeGreaterThan(500);
  });

  it('a one-sided spec clears with hysteresis × |limit|', () => {
    const e = new RuleEngine(noSpc({ hysteresis: 0.1 }), table({ equipment: 'EXT-1', parameter: 'p', usl: 50 }));
    expect(brief(e.onReadings(series([51, 46, 45, 51])))).toEqual(['raise limit_high 51', 'clear limit_high 45', 'raise limit_high 51']);
  });

  it('the change names key, limit, severity, time and a message; severity comes from the limits', () => {
    const e = new RuleEngine(noSpc(), table({ equipment: 'EXT-1', parameter: 'melt_pressure', lsl: 80, usl: 120, unit: 'bar', severity: 'warning' }));
    const [c] = e.onReadings(series([131.2], 'EXT-1', 'melt_pressure'));
    expect(c).toEqual({
      kind: 'raise', rule: 'limit_high', equipment: 'EXT-1', parameter: 'melt_pressure', value: 131.2, limit: 120, severity: 'warning',
      at: new Date(T0), message: 'melt_pressure 131.2 bar above USL 120',
    });
  });

  it('keys are independent; readings of keys without limits are ignored', () => {
    const e = new RuleEngine(noSpc(), table({ equipment: 'A', parameter: 'p', usl: 10 }, { equipment: 'B', parameter: 'p', usl: 10 }));
    const cs = e.onReadings([...series([11], 'A'), ...series([11], 'B'), ...series([11], 'C'), ...series([12], 'A', 'p', 1)]);
    expect(cs.map((c) => `${c.equipment} ${c.kind}`)).toEqual(['A raise', 'B raise']);
    expect(e.openAlarms().sort((a, b) => a.equipment.localeCompare(b.equipment))).toEqual([
      { rule: 'limit_high', equipment: 'A', parameter: 'p', limit: 10 },
      { rule: 'limit_high', equipment: 'B', parameter: 'p', limit: 10 },
    ]);
  });

  it('ignores repeated or older timestamps, bad quality and non-finite values', () => {
    const e = new RuleEngine(noSpc(), limits);
    const r = series([50, 150]);
    const cs = e.onReadings([
      r[0]!,
      { ...r[1]!, quality: 'bad' },
      { ...r[1]!, value: Number.NaN },
      { ...r[0]!, value: 150 }, // same time as a value already seen
      { ...r[0]!, ts: new Date(T0 - 1000), value: 150 }, // older
    ]);
    expect(cs).toEqual([]);
    expect(brief(e.onReadings([r[1]!]))).toEqual(['raise limit_high 150']);
  });

  it('alarms open at start (from the alarm table) clear when their condition ends and are not raised again', () => {
    const e = new RuleEngine(noSpc(), limits, { open: [{ rule: 'limit_high', equipment: 'EXT-1', parameter: 'p' }] });
    expect(brief(e.onReadings(series([130, 99, 97])))).toEqual(['clear limit_high 97']);
  });
});

describe('SPC constants', () => {
  it.each(Array.from({ length: 24 }, (_, i) => i + 2))('n = %i: A2 = 3/(d2·√n), D3 + D4 = 2 when D3 > 0, D3 = 0 iff 1 − 3·d3/d2 < 0', (n) => {
    const c = xbarRConstants(n);
    expect(c.a2).toBeCloseTo(3 / (c.d2 * Math.sqrt(n)), 2);
    if (c.d3 > 0) expect(Math.abs(c.d3 + c.d4 - 2)).toBeLessThanOrEqual(0.001); // the published 3-decimal values
    else expect(c.d4).toBeGreaterThan(2);
  });
  it('refuses other sizes', () => {
    expect(() => xbarRConstants(1)).toThrow(RangeError);
    expect(() => xbarRConstants(26)).toThrow(RangeError);
  });
});

describe('SPC: Nelson rules on X̄', () => {
  const n = 5;
  /** Offsets summing to 0: a subgroup's mean is exactly its X̄; its range is 2. */
  const OFFSETS = [-1, -0.5, 0, 0.5, 1];
  const subgroups = (xbars: readonly number[]) => xbars.flatMap((x) => OFFSETS.map((o) => x + o));
  // Spec 70..90, target 80: σ = 20/6, σ(X̄) = σ/√5 ≈ 1.4907, UCL ≈ 84.472, LCL ≈ 75.528.
  const specLimits = table({ equipment: 'EXT-1', parameter: 'p', lsl: 70, usl: 90, target: 80 });
  const specRules = (nelson: number[] = [1, 2, 3, 4]) => rulesSchema.parse({ spc: { n, limitsFrom: 'spec', nelson } });
  const spcChanges = (cs: AlarmChange[]) => cs.filter((c) => c.rule.startsWith('spc_'));
  /** [kind rule, subgroup index] for each change. */
  const at = (cs: AlarmChange[]) => spcChanges(cs).map((c) => `${c.kind} ${c.rule} @${((c.at.getTime() - T0) / 1000 + 1) / n}`);

  it('control limits from the spec', () => {
    const e = new RuleEngine(specRules(), specLimits);
    const l = e.controlLimits('EXT-1', 'p')!;
    expect(l.from).toBe('spec');
    expect(l.center).toBe(80);
    expect(l.ucl).toBeCloseTo(80 + 20 / 6 / Math.sqrt(5) * 3, 9);
    expect(l.lcl).toBeCloseTo(80 - 20 / 6 / Math.sqrt(5) * 3, 9);
    expect(l.rCenter).toBeCloseTo(2.326 * 20 / 6, 9);
    expect(l.rUcl).toBeCloseTo(2.114 * 2.326 * 20 / 6, 9);
    expect(l.rLcl).toBe(0);
  });

  it.each([
    {
      rule: 1,
      xbars: [80, 80.5, 86, 85, 80.2, 74, 79.9],
      want: ['raise spc_nelson_1 @3', 'clear spc_nelson_1 @5', 'raise spc_nelson_1 @6', 'clear spc_nelson_1 @7'],
    },
    {
      rule: 2,
      xbars: [81, 82, 81.5, 81.5, 82, 81, 81.7, 81.2, 81.9, 81.1, 79, 81],
      want: ['raise spc_nelson_2 @9', 'clear spc_nelson_2 @11'],
    },
    {
      rule: 2, // a point on the center breaks the run
      xbars: [79, 78, 79.5, 78.5, 79, 78.9, 80, 79, 78, 79.5, 78.5, 79, 78.9, 79.3, 78.6, 79.2, 78.7],
      want: ['raise spc_nelson_2 @16'],
    },
    {
      rule: 3,
      xbars: [78, 79, 80, 81, 82, 83, 83.5, 82.5, 82, 81, 80, 79, 78],
      want: ['raise spc_nelson_3 @6', 'clear spc_nelson_3 @8', 'raise spc_nelson_3 @12'],
    },
    {
      rule: 3, // an equal neighbour breaks a trend
      xbars: [78, 79, 80, 80, 81, 82, 83],
      want: [],
    },
    {
      rule: 4,
      xbars: [79, 81, 79.2, 80.8, 79, 81, 79.1, 80.9, 79, 81, 79.3, 80.7, 79, 81, 79.5, 79.2, 79],
      want: ['raise spc_nelson_4 @14', 'clear spc_nelson_4 @16'],
    },
  ])('rule $rule raises on its pattern and clears when it ends (each rule alone)', ({ rule, xbars, want }) => {
    const e = new RuleEngine(specRules([rule]), specLimits);
    expect(at(e.onReadings(series(subgroups(xbars))))).toEqual(want);
  });

  it('each crafted series raises only its own rule with all rules on', () => {
    const e = new RuleEngine(specRules(), specLimits);
    const cs = e.onReadings(series(subgroups([79, 81, 79.2, 80.8, 79, 81, 79.1, 80.9, 79, 81, 79.3, 80.7, 79, 81])));
    expect(spcChanges(cs).map((c) => `${c.kind} ${c.rule}`)).toEqual(['raise spc_nelson_4']);
  });

  it('changes carry the subgroup mean, the limit crossed and warning severity', () => {
    const e = new RuleEngine(specRules([1, 2]), specLimits);
    const [one] = spcChanges(e.onReadings(series(subgroups([86]))));
    expect(one).toMatchObject({ kind: 'raise', rule: 'spc_nelson_1', value: 86, severity: 'warning', at: new Date(T0 + 4000) });
    expect(one!.limit).toBeCloseTo(84.472, 3);
    expect(one!.message).toMatch(/^p X̄ 86: Nelson rule 1, subgroup mean beyond 3σ \(LCL 75\.5279, UCL 84\.4721\)$/);
  });

  it('only the configured rules run; SPC off runs none', () => {
    const pattern = subgroups([81, 82, 81.5, 81.5, 82, 81, 81.7, 81.2, 81.9, 86]);
    expect(spcChanges(new RuleEngine(specRules([1]), specLimits).onReadings(series(pattern))).map((c) => c.rule)).toEqual(['spc_nelson_1']);
    expect(spcChanges(new RuleEngine(rulesSchema.parse({ spc: { enabled: false } }), specLimits).onReadings(series(pattern)))).toEqual([]);
  });

  /** In-control process: σ of individual values is exactly the spec's (USL − LSL)/6. */
  const inControl = (seed: string, subgroupCount: number, mean = 80, sd = 20 / 6) => {
    const rng = seedrandom(seed);
    return Array.from({ length: subgroupCount * n }, () => mean + sd * normal(rng));
  };

  // Nelson rules have false alarms by design: about 1 % of subgroups for rules 1–4 together (seed 'c' holds a genuine
  // run of 9 means below the center in history mode). Two quiet seeds show that plain noise is not what raises the
  // crafted alarms above; the long series below checks the rates.
  it.each(['a', 'b'])('a short in-control series (seed %s, 60 subgroups) raises nothing', (seed) => {
    for (const limitsFrom of ['spec', 'history'] as const) {
      const e = new RuleEngine(rulesSchema.parse({ spc: { n, limitsFrom } }), specLimits);
      expect(spcChanges(e.onReadings(series(inControl(seed, 60))))).toEqual([]);
    }
  });

  it('a long in-control series raises rule 1 at its expected rate (0.27 % of subgroups) and rules 2–4 rarely', () => {
    const count = 20_000;
    const e = new RuleEngine(specRules(), specLimits);
    const cs = e.onReadings(series(inControl('long', count)));
    const raises = (k: number) => cs.filter((c) => c.kind === 'raise' && c.rule === `spc_nelson_${k}`).length;
    // Expected 54 (sd ≈ 7.3).
    expect(raises(1)).toBeGreaterThan(30);
    expect(raises(1)).toBeLessThan(80);
    for (const k of [2, 3, 4]) expect(raises(k) / count).toBeLessThan(0.006);
    // A shifted mean (by 1.5 σ(X̄)) is caught by rule 2 far more often.
    const shifted = new RuleEngine(specRules([2]), specLimits).onReadings(series(inControl('long', count, 80 + 1.5 * (20 / 6) / Math.sqrt(5))));
    expect(shifted.filter((c) => c.kind === 'raise').length).toBeGreaterThan(10 * raises(2));
  });

  it('control limits from history: X̄̄ ± A2·R̄ of the first baseline subgroups; nothing is judged before', () => {
    const rules = rulesSchema.parse({ spc: { n, limitsFrom: 'history', baseline: 5 } });
    const e = new RuleEngine(rules, specLimits);
    // Baseline: far from the spec target, with wild means; not judged (no alarm), it only makes the limits.
    const baseline = subgroups([100, 101, 99, 120, 100]);
    expect(spcChanges(e.onReadings(series(baseline)))).toEqual([]);
    const l = e.controlLimits('EXT-1', 'p')!;
    expect(l.from).toBe('history');
    expect(l.center).toBeCloseTo(104, 9);
    expect(l.rCenter).toBeCloseTo(2, 9);
    expect(l.ucl).toBeCloseTo(104 + 0.577 * 2, 9);
    expect(l.lcl).toBeCloseTo(104 - 0.577 * 2, 9);
    expect(l.rUcl).toBeCloseTo(2.114 * 2, 9);
    // 103 and 105 are within 104 ± 1.154; 106 is beyond.
    expect(at(e.onReadings(series(subgroups([103.5, 104.5, 106]), 'EXT-1', 'p', baseline.length)))).toEqual(['raise spc_nelson_1 @8']);
  });

  it('history vs spec: a process steady off target is in control by its own history but runs on one side of the spec target', () => {
    const data = inControl('offset', 60, 82, 1);
    const fromHistory = new RuleEngine(rulesSchema.parse({ spc: { n, limitsFrom: 'history' } }), specLimits).onReadings(series(data));
    const fromSpec = new RuleEngine(specRules(), specLimits).onReadings(series(data));
    expect(spcChanges(fromHistory)).toEqual([]);
    expect(spcChanges(fromSpec).map((c) => `${c.kind} ${c.rule}`)).toEqual(['raise spc_nelson_2']);
  });

  it('spec limits need a two-sided spec: otherwise the chart learns from history', () => {
    const e = new RuleEngine(specRules(), table({ equipment: 'EXT-1', parameter: 'p', usl: 90 }));
    expect(e.controlLimits('EXT-1', 'p')).toBeUndefined();
    e.onReadings(series(inControl('one-sided', 25)));
    expect(e.controlLimits('EXT-1', 'p')!.from).toBe('history');
  });

  it('a baseline without spread (R̄ = 0) makes no chart and no SPC alarm', () => {
    const e = new RuleEngine(rulesSchema.parse({ spc: { n, baseline: 5 } }), specLimits);
    const cs = e.onReadings(series([...Array(25).fill(80), ...subgroups([90, 70, 90])]));
    expect(e.controlLimits('EXT-1', 'p')).toBeUndefined();
    expect(spcChanges(cs)).toEqual([]);
  });

  it('prime builds the baseline from stored history without emitting; live readings are then judged', () => {
    const rules = rulesSchema.parse({ spc: { n, baseline: 5 } });
    const e = new RuleEngine(rules, specLimits);
    e.prime(series(subgroups([80, 80, 80, 80, 80, 95])));
    expect(e.openAlarms()).toEqual([]);
    expect(e.controlLimits('EXT-1', 'p')!.center).toBe(80);
    expect(at(e.onReadings(series(subgroups([95]), 'EXT-1', 'p', 30)))).toEqual(['raise spc_nelson_1 @7']);
  });

  it('memory stays constant: state per key does not grow with the series', () => {
    const e = new RuleEngine(specRules(), specLimits);
    e.onReadings(series(inControl('mem', 1000)));
    const size = JSON.stringify((e as unknown as { states: Map<string, unknown> }).states.get(limitKey('EXT-1', 'p'))).length;
    e.onReadings(series(inControl('mem2', 5000), 'EXT-1', 'p', 5000));
    const after = JSON.stringify((e as unknown as { states: Map<string, unknown> }).states.get(limitKey('EXT-1', 'p'))).length;
    expect(Math.abs(after - size)).toBeLessThan(80);
  });
});
