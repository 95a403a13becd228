import { afterEach, describe, expect, it } from 'vitest';
import { rulesSchema, type RulesConfig } from '../config.js';
import type { AlarmChange, Reading } from '../types.js';
import { RuleEngine } from './engine.js';
import { limitKey, type LimitTable, type ParameterLimits } from './limits.js';
import { ProductRules } from './product-rules.js';
import { MISS, RunningOperations, type OperationSource, type OperationSpan, type RunningOperation, type StepSpec } from './running-product.js';

/**
 * Limit alarms per running product, through the public pieces the collector wires together: a
 * RunningOperations cache over a fake store (a timeline of operations per equipment), the ProductRules gate
 * and the RuleEngine. One oven makes two products with adjacent windows: A 200–220 °C, B 220–240 °C; its
 * table limits (no product known) are the widest window, 200–240.
 */
const T0 = Date.parse('2026-03-01T08:00:00Z');
const s = (sec: number) => T0 + sec * 1000;

interface Op {
  code: string;
  product: string;
  from: number;
  to?: number;
  specs: Record<string, StepSpec>;
}

const A = (code: string, from: number, to?: number): Op => ({ code, product: 'A', from, ...(to !== undefined ? { to } : {}), specs: { temp: { lsl: 200, target: 210, usl: 220, unit: 'C' } } });
const B = (code: string, from: number, to?: number): Op => ({ code, product: 'B', from, ...(to !== undefined ? { to } : {}), specs: { temp: { lsl: 220, target: 230, usl: 240, unit: 'C' } } });

/** A store with a timeline per equipment (times in seconds from T0, end inclusive); counts its reads. */
class FakeStore {
  reads = 0;
  failing = false;
  hang = false;
  private readonly ops = new Map<string, RunningOperation[]>();
  /** Changes per equipment: a span's token is the count when it was read. */
  private readonly versions = new Map<string, number>();
  constructor(timeline: Record<string, Op[]> = {}) {
    for (const [e, ops] of Object.entries(timeline)) for (const o of ops) this.add(e, o);
  }
  add(equipment: string, o: Op): void {
    const op: RunningOperation = {
      operation: o.code, product: o.product, route: `RT-${o.product}`, version: 1, step: 10,
      startMs: s(o.from), endMs: o.to === undefined ? Infinity : s(o.to), specs: new Map(Object.entries(o.specs)),
    };
    const list = [...(this.ops.get(equipment) ?? []).filter((x) => x.operation !== o.code), op].sort((a, b) => a.startMs - b.startMs);
    this.ops.set(equipment, list);
    this.versions.set(equipment, (this.versions.get(equipment) ?? 0) + 1);
  }
  /** The same rule as the SQL source: the latest-started operation with start ≤ t ≤ end. */
  source: OperationSource = {
    span: async (equipment, t) => {
      this.reads++;
      await new Promise((r) => setTimeout(r, 1));
      if (this.hang) await new Promise(() => undefined);
      if (this.failing) throw new Error('connection refused');
      const token = this.versions.get(equipment) ?? 0;
      const ops = this.ops.get(equipment) ?? [];
      const next = Math.min(Infinity, ...ops.filter((o) => o.startMs > t).map((o) => o.startMs));
      const started = ops.filter((o) => o.startMs <= t).reverse();
      let endedAfter = -Infinity;
      for (const o of started) {
        if (o.endMs >= t) return { op: o, fromMs: Math.max(o.startMs, endedAfter + 1), toMs: Math.min(o.endMs + 1, next), token } satisfies OperationSpan;
        endedAfter = Math.max(endedAfter, o.endMs);
      }
      return { op: null, fromMs: endedAfter + 1, toMs: next, token };
    },
    changed: async (spans) => {
      this.checks++;
      if (this.failing) throw new Error('connection refused');
      return new Set(spans.filter((w) => w.span.token !== (this.versions.get(w.equipment) ?? 0)).map((w) => w.equipment));
    },
  };
  checks = 0;
}

const widest = (over: Partial<ParameterLimits> = {}): LimitTable =>
  new Map([[limitKey('OVEN-1', 'temp'), { equipment: 'OVEN-1', parameter: 'temp', lsl: 200, usl: 240, target: 220, unit: 'C', severity: 'critical', source: 'spec', ...over } as ParameterLimits]]);

const rules = (over: object = {}): RulesConfig => rulesSchema.parse({ spc: { enabled: false }, ...over });

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(store: FakeStore, config = rules(), limits = widest(), opts: { refreshMs?: number; loadTimeoutMs?: number; maxHeld?: number } = {}) {
  const engine = new RuleEngine(config, limits);
  const ops = new RunningOperations(store.source, { refreshMs: opts.refreshMs ?? 60_000, loadTimeoutMs: opts.loadTimeoutMs ?? 2000 });
  const changes: AlarmChange[] = [];
  const gate = new ProductRules(engine, ops, (cs) => changes.push(...cs), { maxHeld: opts.maxHeld ?? 100_000 });
  cleanups.push(() => ops.close());
  /** Feeds [second, value] readings of OVEN-1 temp one call each, then waits for held ones. */
  const feed = async (points: readonly (readonly [number, number])[], equipment = 'OVEN-1', parameter = 'temp') => {
    for (const [sec, value] of points) gate.onReadings([{ equipment, parameter, ts: new Date(s(sec)), value }]);
    await gate.close(5000);
  };
  return { engine, ops, gate, changes, feed };
}

/** "raise limit_high 225 @30 (USL 220, op A1)" */
const brief = (cs: readonly AlarmChange[]) =>
  cs.map((c) => `${c.kind} ${c.rule} ${c.value} @${(c.at.getTime() - T0) / 1000} (${c.rule === 'limit_high' ? 'USL' : 'LSL'} ${c.limit}${/operation (\S+)\)/.exec(c.message)?.[1] ? `, op ${/operation (\S+)\)/.exec(c.message)![1]}` : ''})`);

describe('limit alarms per running product', () => {
  it.each([
    {
      name: 'a value in spec for B but above A’s USL raises only while A runs',
      timeline: [A('A1', 0, 99), B('B1', 100, 199)],
      points: [[10, 225], [20, 230], [110, 225], [120, 230]],
      want: ['raise limit_high 225 @10 (USL 220, op A1)', 'clear limit_high 225 @110 (USL 220, op B1)'],
    },
    {
      name: 'a value in spec for A but below B’s LSL raises only while B runs',
      timeline: [A('A1', 0, 99), B('B1', 100, 199)],
      points: [[10, 210], [20, 215], [110, 215], [120, 212], [130, 225]],
      want: ['raise limit_low 215 @110 (LSL 220, op B1)', 'clear limit_low 225 @130 (LSL 220, op B1)'],
    },
    {
      name: 'no operation known (before, between and after them): the widest window, 200–240',
      timeline: [A('A1', 100, 199)],
      points: [[10, 225], [20, 245], [30, 230], [150, 230], [250, 199], [260, 239]],
      want: ['raise limit_high 245 @20 (USL 240)', 'clear limit_high 230 @30 (USL 240)', 'raise limit_high 230 @150 (USL 220, op A1)', 'clear limit_high 199 @250 (USL 220)', 'raise limit_low 199 @250 (LSL 200)', 'clear limit_low 239 @260 (LSL 200)'],
    },
    {
      name: 'a step without a spec for the parameter: the widest window',
      timeline: [{ code: 'C1', product: 'C', from: 0, specs: { pressure: { usl: 5 } } }],
      points: [[10, 235], [20, 241]],
      want: ['raise limit_high 241 @20 (USL 240)'],
    },
    {
      name: 'product switch with an open alarm, value beyond the new limit: cleared and raised again on it',
      timeline: [A('A1', 0, 99), B('B1', 100)],
      points: [[10, 250], [20, 251], [100, 252], [110, 253], [120, 238]],
      want: ['raise limit_high 250 @10 (USL 220, op A1)', 'clear limit_high 252 @100 (USL 220, op B1)', 'raise limit_high 252 @100 (USL 240, op B1)', 'clear limit_high 238 @120 (USL 240, op B1)'],
    },
    {
      name: 'product switch with an open alarm, value inside the new window (even within the hysteresis band): cleared',
      timeline: [A('A1', 0, 99), B('B1', 100)],
      points: [[10, 239.9], [100, 239.9], [110, 240.1]],
      want: ['raise limit_high 239.9 @10 (USL 220, op A1)', 'clear limit_high 239.9 @100 (USL 220, op B1)', 'raise limit_high 240.1 @110 (USL 240, op B1)'],
    },
    {
      name: 'same limit in the next product: the alarm stays open and clears with hysteresis',
      timeline: [A('A1', 0, 99), A('A2', 100)],
      points: [[10, 221], [100, 220.5], [110, 219.9], [120, 219.5]],
      want: ['raise limit_high 221 @10 (USL 220, op A1)', 'clear limit_high 219.5 @120 (USL 220, op A2)'],
    },
    {
      name: 'overlapping operations: the latest started one runs',
      timeline: [A('A1', 0), B('B1', 100, 199)],
      points: [[50, 230], [150, 230], [250, 230]],
      want: ['raise limit_high 230 @50 (USL 220, op A1)', 'clear limit_high 230 @150 (USL 220, op B1)', 'raise limit_high 230 @250 (USL 220, op A1)'],
    },
  ])('$name', async ({ timeline, points, want }) => {
    const { changes, feed } = setup(new FakeStore({ 'OVEN-1': timeline }));
    await feed(points as [number, number][]);
    expect(brief(changes)).toEqual(want);
  });

  it('messages and change fields name the running product; severity critical', async () => {
    const { changes, feed } = setup(new FakeStore({ 'OVEN-1': [B('B7', 0)] }));
    await feed([[5, 218.25]]);
    expect(changes).toEqual([
      {
        kind: 'raise', rule: 'limit_low', equipment: 'OVEN-1', parameter: 'temp', value: 218.25, limit: 220, severity: 'critical', at: new Date(s(5)),
        message: 'temp 218.25 C below LSL 220 (product B, RT-B v1 step 10, operation B7)',
      },
    ]);
  });

  it.each([
    { name: 'a config USL wins over the product’s; its LSL stays', over: { usl: 215 }, points: [[10, 216], [20, 199]], want: ['raise limit_high 216 @10 (USL 215, op A1)', 'clear limit_high 199 @20 (USL 215, op A1)', 'raise limit_low 199 @20 (LSL 200, op A1)'] },
    { name: 'a config LSL wins over the product’s', over: { lsl: 190 }, points: [[10, 195], [20, 189]], want: ['raise limit_low 189 @20 (LSL 190, op A1)'] },
  ])('config override: $name', async ({ over, points, want }) => {
    const config = rules({ limits: [{ equipment: 'OVEN-1', parameter: 'temp', severity: 'warning', ...over }] });
    const { changes, feed } = setup(new FakeStore({ 'OVEN-1': [A('A1', 0)] }), config);
    await feed(points as [number, number][]);
    expect(brief(changes)).toEqual(want);
    expect(new Set(changes.map((c) => c.severity))).toEqual(new Set(['warning']));
  });

  it('fromSpec false: only the config counts, the store is not read', async () => {
    const store = new FakeStore({ 'OVEN-1': [A('A1', 0)] });
    const config = rules({ fromSpec: false, limits: [{ equipment: 'OVEN-1', parameter: 'temp', usl: 300 }] });
    const engine = new RuleEngine(config, new Map([[limitKey('OVEN-1', 'temp'), { equipment: 'OVEN-1', parameter: 'temp', usl: 300, severity: 'critical', source: 'config' } as ParameterLimits]]));
    const ops = new RunningOperations(store.source);
    cleanups.push(() => ops.close());
    const out: AlarmChange[] = [];
    // The collector builds no gate then; the engine ignores a product handed to it anyway.
    await ops.load('OVEN-1', s(1));
    engine.judge({ equipment: 'OVEN-1', parameter: 'temp', ts: new Date(s(1)), value: 250 }, ops.at('OVEN-1', s(1)) as RunningOperation, out);
    engine.judge({ equipment: 'OVEN-1', parameter: 'temp', ts: new Date(s(2)), value: 301 }, ops.at('OVEN-1', s(2)) as RunningOperation, out);
    expect(brief(out)).toEqual(['raise limit_high 301 @2 (USL 300)']);
  });

  it('a key without table limits is judged once a running product has a spec for it', async () => {
    const { changes, feed } = setup(new FakeStore({ 'NEW-1': [B('B1', 100)] }), rules(), new Map());
    await feed([[10, 250], [110, 241], [120, 230]], 'NEW-1');
    expect(brief(changes)).toEqual(['raise limit_high 241 @110 (USL 240, op B1)', 'clear limit_high 230 @120 (USL 240, op B1)']);
  });

  it('an alarm open at start with its limit is re-judged when another limit is in force', async () => {
    const store = new FakeStore({ 'OVEN-1': [B('B1', 0)] });
    const engine = new RuleEngine(rules(), widest(), { open: [{ rule: 'limit_high', equipment: 'OVEN-1', parameter: 'temp', limit: 220 }] });
    const ops = new RunningOperations(store.source);
    cleanups.push(() => ops.close());
    const changes: AlarmChange[] = [];
    const gate = new ProductRules(engine, ops, (cs) => changes.push(...cs));
    gate.onReadings([{ equipment: 'OVEN-1', parameter: 'temp', ts: new Date(s(1)), value: 230 }]);
    await gate.close();
    expect(brief(changes)).toEqual(['clear limit_high 230 @1 (USL 220, op B1)']);
  });
});

describe('SPC charts per running product', () => {
  /** Values of consecutive subgroups (n = 5) with the given means, from second `from`, one a second. */
  const OFFSETS = [-1, -0.5, 0, 0.5, 1];
  const subgroups = (from: number, ...xbars: number[]) => xbars.flatMap((x) => OFFSETS.map((o) => x + o)).map((v, i) => [from + i, v] as const);
  const spcBrief = (cs: readonly AlarmChange[]) =>
    cs.filter((c) => c.rule.startsWith('spc_')).map((c) => `${c.kind} ${c.rule} @${(c.at.getTime() - T0) / 1000} (${/operation (\S+)\)/.exec(c.message)?.[1] ?? 'no product'})`);

  // Spec limits, n = 5: A's chart 205.53–214.47 around 210, B's 225.53–234.47 around 230; the widest window's 211.06–228.94.
  it.each([
    {
      name: 'a series in control for A but beyond B’s chart raises only while B runs; A’s next run clears it',
      nelson: [1],
      timeline: [A('A1', 0, 99), B('B1', 100, 199), A('A2', 200)],
      points: [...subgroups(10, 212, 213, 212.5, 213), ...subgroups(110, 212, 213, 212.5, 213), ...subgroups(210, 212)],
      want: ['raise spc_nelson_1 @114 (B1)', 'clear spc_nelson_1 @210 (A2)'],
    },
    {
      name: 'a subgroup never spans the product change (A’s last 3 values are dropped)',
      nelson: [1],
      timeline: [A('A1', 0, 99), B('B1', 100, 199)],
      points: [[97, 210], [98, 210], [99, 210], ...subgroups(100, 230, 230)],
      want: [],
    },
    {
      name: 'A → B → A: A’s run of means above its center continues after B',
      nelson: [2],
      timeline: [A('A1', 0, 99), B('B1', 100, 199), A('A2', 200)],
      points: [...subgroups(50, 211, 211.5, 211, 211.5, 211), ...subgroups(100, 229, 231, 229, 231, 229), ...subgroups(200, 211, 211.5, 211, 211.5)],
      want: ['raise spc_nelson_2 @219 (A2)'],
    },
    {
      name: 'no operation known: the widest window’s chart',
      nelson: [1],
      timeline: [A('A1', 100, 199)],
      points: [...subgroups(10, 230), ...subgroups(110, 212)],
      want: ['raise spc_nelson_1 @14 (no product)', 'clear spc_nelson_1 @110 (A1)'],
    },
  ])('$name', async ({ nelson, timeline, points, want }) => {
    const { changes, feed } = setup(new FakeStore({ 'OVEN-1': timeline }), rules({ spc: { n: 5, limitsFrom: 'spec', nelson } }));
    await feed(points as [number, number][]);
    expect(spcBrief(changes)).toEqual(want);
  });

  it('the clear at a product change names both products', async () => {
    const { changes, feed } = setup(new FakeStore({ 'OVEN-1': [A('A1', 0, 99), B('B1', 100)] }), rules({ spc: { n: 5, limitsFrom: 'spec', nelson: [1] } }));
    await feed([...subgroups(10, 216), [100, 231]]);
    expect(changes.map((c) => c.message)).toEqual([
      'temp X̄ 216 C: Nelson rule 1, subgroup mean beyond 3σ (LCL 205.528, UCL 214.472; product A, RT-A v1 step 10, operation A1)',
      'temp 231 C: Nelson rule 1 cleared, the product changed (was product A, RT-A v1 step 10; now product B, RT-B v1 step 10, operation B1)',
    ]);
  });
});

describe('the gate and the cache', () => {
  it('judges cached times synchronously; a miss holds the equipment’s readings in order while others go on', async () => {
    const store = new FakeStore({ 'OVEN-1': [A('A1', 0, 99), B('B1', 100)], 'OVEN-2': [A('A9', 0)] });
    const { gate, changes, ops } = setup(store, rules(), new Map([...widest(), [limitKey('OVEN-2', 'temp'), { equipment: 'OVEN-2', parameter: 'temp', usl: 240, severity: 'critical', source: 'spec' }]]));
    await ops.load('OVEN-1', s(0));
    await ops.load('OVEN-2', s(0));
    const r = (e: string, sec: number, value: number): Reading => ({ equipment: e, parameter: 'temp', ts: new Date(s(sec)), value });
    gate.onReadings([r('OVEN-1', 10, 225)]);
    expect(brief(changes)).toEqual(['raise limit_high 225 @10 (USL 220, op A1)']);
    // 100 s: past A1's end, a miss. OVEN-1 waits; OVEN-2 is judged at once.
    gate.onReadings([r('OVEN-1', 100, 215), r('OVEN-2', 100, 230), r('OVEN-1', 101, 250)]);
    expect(gate.status().held).toBe(2);
    expect(brief(changes).slice(1)).toEqual(['raise limit_high 230 @100 (USL 220, op A9)']);
    await gate.close();
    expect(brief(changes).slice(2)).toEqual([
      'clear limit_high 215 @100 (USL 220, op B1)', 'raise limit_low 215 @100 (LSL 220, op B1)',
      'clear limit_low 250 @101 (LSL 220, op B1)', 'raise limit_high 250 @101 (USL 240, op B1)',
    ]);
    expect(gate.status().held).toBe(0);
  });

  it('reads the store once per span, not per reading', async () => {
    const store = new FakeStore({ 'OVEN-1': [A('A1', 0, 999), B('B1', 1000)] });
    const { feed } = setup(store);
    await feed(Array.from({ length: 2000 }, (_, i) => [i, 210] as const));
    expect(store.reads).toBe(2);
  });

  it('a check drops the spans whose operations changed in the store: the next reading reads them again', async () => {
    const store = new FakeStore({ 'OVEN-1': [A('A1', 0)], 'OVEN-2': [A('A9', 0)] });
    const { gate, changes, ops } = setup(store);
    const r = (e: string, sec: number, value: number): Reading => ({ equipment: e, parameter: 'temp', ts: new Date(s(sec)), value });
    gate.onReadings([r('OVEN-1', 10, 225), r('OVEN-2', 10, 210)]);
    await until(() => ops.at('OVEN-1', s(10)) !== MISS && ops.at('OVEN-2', s(10)) !== MISS);
    expect(store.reads).toBe(2);
    // A check with nothing changed keeps everything: no more reads.
    await ops.check();
    gate.onReadings([r('OVEN-1', 15, 226), r('OVEN-2', 15, 211)]);
    expect(store.reads).toBe(2);
    // MES now records the end of A1 and the start of B1 at 20 s; A1 still looks open in the cache.
    store.add('OVEN-1', A('A1', 0, 19));
    store.add('OVEN-1', B('B1', 20));
    expect((ops.at('OVEN-1', s(30)) as RunningOperation).operation).toBe('A1');
    await ops.check();
    expect(ops.at('OVEN-1', s(30))).toBe(MISS);
    expect(ops.at('OVEN-2', s(30))).not.toBe(MISS);
    gate.onReadings([r('OVEN-1', 30, 225)]);
    await gate.close();
    expect(store.reads).toBe(3);
    expect(ops.status()).toMatchObject({ loads: 3, checks: 2, dropped: 1, failures: 0 });
    expect(brief(changes)).toEqual(['raise limit_high 225 @10 (USL 220, op A1)', 'clear limit_high 225 @30 (USL 220, op B1)']);
  });

  it('a store that fails or hangs: readings are judged on the widest window, nothing waits for long', async () => {
    for (const mode of ['failing', 'hang'] as const) {
      const store = new FakeStore({ 'OVEN-1': [A('A1', 0)] });
      store[mode] = true;
      const { changes, feed, ops } = setup(store, rules(), widest(), { loadTimeoutMs: 100 });
      const started = Date.now();
      await feed([[10, 225], [20, 245]]);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(brief(changes)).toEqual(['raise limit_high 245 @20 (USL 240)']);
      expect(ops.status()).toMatchObject({ loads: 1, failures: 1 });
      // The stand-in is dropped at the next check: the store is asked again.
      store[mode] = false;
      await ops.check();
      expect(ops.at('OVEN-1', s(30))).toBe(MISS);
    }
  });

  it('readings without a real time are ignored, never thrown on, and read nothing', async () => {
    const store = new FakeStore({ 'OVEN-1': [A('A1', 0)] });
    const { gate, changes } = setup(store);
    const bad = [new Date(Number.NaN), '2026-03-01T08:00:00Z', undefined] as unknown as Date[];
    expect(() => gate.onReadings(bad.map((ts) => ({ equipment: 'OVEN-1', parameter: 'temp', ts, value: 999 })))).not.toThrow();
    await gate.close();
    expect(changes).toEqual([]);
    expect(store.reads).toBe(0);
  });

  it('too many readings waiting: they are judged without a product, in order', async () => {
    const store = new FakeStore({ 'OVEN-1': [B('B1', 0)] });
    store.hang = true;
    const { gate, changes } = setup(store, rules(), widest(), { maxHeld: 3, loadTimeoutMs: 60_000 });
    gate.onReadings([10, 11, 12, 13].map((sec, i) => ({ equipment: 'OVEN-1', parameter: 'temp', ts: new Date(s(sec)), value: [245, 230, 199, 230][i]! })));
    expect(gate.status()).toEqual({ held: 0, overflow: 1 });
    expect(brief(changes)).toEqual(['raise limit_high 245 @10 (USL 240)', 'clear limit_high 230 @11 (USL 240)', 'raise limit_low 199 @12 (LSL 200)', 'clear limit_low 230 @13 (LSL 200)']);
  });
});

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
