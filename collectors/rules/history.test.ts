import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../../datasources/data-source.js';
import { traceEvent } from '../../trace/ingest/events.js';
import { ingestEvents } from '../../trace/ingest/ingest.js';
import { openTraceStore } from '../../trace/store.js';
import { dialectTargets, type TestDatabase } from '../../tests/support/databases.js';
import { rulesSchema } from '../config.js';
import { RuleEngine } from './engine.js';
import { loadSpcHistory } from './history.js';
import { limitKey, type LimitTable } from './limits.js';
import type { AlarmChange } from '../types.js';

/**
 * Priming from stored samples, on every dialect. n = 2, baseline 5: the chart's baseline is the first 10 samples
 * (pairs 79/81: center 80, R̄ 2); the last 30 samples are 7 subgroups at 79 and 8 at 81 — a run of 8 above the
 * center in progress when the collector stopped.
 */
const T0 = Date.parse('2026-03-01T08:00:00Z');
const VALUES = [
  ...Array.from({ length: 5 }, () => [79, 81]).flat(),
  ...Array.from({ length: 20 }, () => [78.6, 79.4]).flat(),
  ...Array.from({ length: 8 }, () => [80.6, 81.4]).flat(),
];
const iso = (i: number) => new Date(T0 + i * 1000).toISOString();
const EVENTS = [
  ...VALUES.map((value, i) => ({ type: 'sample', id: `s${i}`, equipment: 'MIX-1', parameter: 'temp', ts: iso(i), value })),
  // A bad-quality sample in the middle of the tail is not part of the series.
  { type: 'sample', id: 'bad', equipment: 'MIX-1', parameter: 'temp', ts: new Date(T0 + 60_500).toISOString(), value: 500, quality: 'bad' },
  // Another key without limits is not read.
  { type: 'sample', id: 'other', equipment: 'MIX-1', parameter: 'speed', ts: iso(0), value: 1 },
].map((e) => traceEvent.parse(e));

const LIMITS: LimitTable = new Map([[limitKey('MIX-1', 'temp'), { equipment: 'MIX-1', parameter: 'temp', lsl: 70, usl: 90, target: 80, severity: 'critical', source: 'spec' }]]);
const RULES = rulesSchema.parse({ spc: { n: 2, baseline: 5, limitsFrom: 'history' } });

const targets = await dialectTargets();

describe.each(targets.filter((t) => t.dialect !== 'mssql'))('SPC history on $label', (target) => {
  let tdb: TestDatabase;
  let db: DataSource;
  beforeAll(async () => {
    if (target.unavailable) return;
    tdb = await target.create();
    db = await openTraceStore(tdb.url);
    await ingestEvents(db, EVENTS);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it.skipIf(!!target.unavailable)('loads the baseline head and the recent tail, oldest first, without bad samples', async () => {
    const h = await loadSpcHistory(db, LIMITS, RULES);
    expect(h).toHaveLength(10 + 30);
    expect(h.map((r) => r.ts.toISOString())).toEqual([...Array.from({ length: 10 }, (_, i) => iso(i)), ...Array.from({ length: 30 }, (_, i) => iso(36 + i))]);
    expect(h.map((r) => r.value)).toEqual([...VALUES.slice(0, 10), ...VALUES.slice(36)]);
    expect(new Set(h.map((r) => `${r.equipment}/${r.parameter}`))).toEqual(new Set(['MIX-1/temp']));
  });

  it.skipIf(!!target.unavailable)('a primed engine has its control limits and continues the run in progress', async () => {
    const primed = new RuleEngine(RULES, LIMITS);
    primed.prime(await loadSpcHistory(db, LIMITS, RULES));
    const l = primed.controlLimits('MIX-1', 'temp')!;
    expect(l.center).toBeCloseTo(80, 9);
    expect(l.ucl).toBeCloseTo(80 + 1.88 * 2, 9);
    const live = [80.8, 81.2].map((value, i) => ({ equipment: 'MIX-1', parameter: 'temp', ts: new Date(T0 + (100 + i) * 1000), value }));
    expect(primed.onReadings(live).map((c) => `${c.kind} ${c.rule}`)).toEqual(['raise spc_nelson_2']);
    // Unprimed, the same reading only starts a new baseline.
    const fresh = new RuleEngine(RULES, LIMITS);
    expect(fresh.onReadings(live)).toEqual([]);
    expect(fresh.controlLimits('MIX-1', 'temp')).toBeUndefined();
  });

  it.skipIf(!!target.unavailable)('with spec limits only the tail is read; with SPC off nothing', async () => {
    expect(await loadSpcHistory(db, LIMITS, rulesSchema.parse({ spc: { n: 2, limitsFrom: 'spec' } }))).toHaveLength(30);
    expect(await loadSpcHistory(db, LIMITS, rulesSchema.parse({ spc: { enabled: false } }))).toEqual([]);
  });
});

/**
 * Per product, on every dialect: OVEN-1 runs nothing until 0 s, then A1 (PROD-A) 0–99 s, B1 (PROD-B) 100–199 s and
 * A2 (PROD-A) from 200 s, with no end yet; a sample a second from −20 s to 299 s. n = 2, baseline 5 (10 samples).
 * Before any operation the pairs are 219/221; A's 209/211 (center 210), but its last 8 pairs 210.6/211.4 (a run
 * of 8 means above its center in progress); B's 229/231 (center 230).
 */
const PRODUCT_EVENTS = [
  { type: 'equipment', id: 'e1', equipment: 'OVEN-1' },
  { type: 'material', id: 'm1', material: 'PROD-A', kind: 'finished' },
  { type: 'material', id: 'm2', material: 'PROD-B', kind: 'finished' },
  { type: 'route', id: 'r1', route: 'RT-A', version: 1, steps: [{ seq: 10, operation: 'bake' }] },
  { type: 'route', id: 'r2', route: 'RT-B', version: 1, steps: [{ seq: 10, operation: 'bake' }] },
  { type: 'parameterSpec', id: 's1', route: 'RT-A', version: 1, step: 10, parameter: 'temp', lsl: 200, target: 210, usl: 220 },
  { type: 'parameterSpec', id: 's2', route: 'RT-B', version: 1, step: 10, parameter: 'temp', lsl: 220, target: 230, usl: 240 },
  { type: 'workOrder', id: 'w1', workOrder: 'WO-A', product: 'PROD-A', route: 'RT-A', routeVersion: 1 },
  { type: 'workOrder', id: 'w2', workOrder: 'WO-B', product: 'PROD-B', route: 'RT-B', routeVersion: 1 },
  { type: 'operation', id: 'o1', operation: 'A1', lot: 'L-A1', workOrder: 'WO-A', step: 10, equipment: 'OVEN-1', start: iso(0), end: iso(99) },
  { type: 'operation', id: 'o2', operation: 'B1', lot: 'L-B1', workOrder: 'WO-B', step: 10, equipment: 'OVEN-1', start: iso(100), end: iso(199) },
  { type: 'operation', id: 'o3', operation: 'A2', lot: 'L-A2', workOrder: 'WO-A', step: 10, equipment: 'OVEN-1', start: iso(200) },
  ...Array.from({ length: 320 }, (_, k) => {
    const sec = k - 20;
    const even = sec % 2 === 0;
    const value = sec < 0 ? (even ? 219 : 221) : sec >= 100 && sec < 200 ? (even ? 229 : 231) : sec >= 284 ? (even ? 210.6 : 211.4) : even ? 209 : 211;
    return { type: 'sample', id: `p${k}`, equipment: 'OVEN-1', parameter: 'temp', ts: iso(sec), value };
  }),
].map((e) => traceEvent.parse(e));

const OVEN: LimitTable = new Map([[limitKey('OVEN-1', 'temp'), { equipment: 'OVEN-1', parameter: 'temp', lsl: 200, usl: 240, target: 220, severity: 'critical', source: 'spec' }]]);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(targets.filter((t) => t.dialect !== 'mssql'))('SPC history per product on $label', (target) => {
  let tdb: TestDatabase;
  let db: DataSource;
  beforeAll(async () => {
    if (target.unavailable) return;
    tdb = await target.create();
    db = await openTraceStore(tdb.url);
    await ingestEvents(db, PRODUCT_EVENTS);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it.skipIf(!!target.unavailable)('reads each product’s first and last samples and gives each sample the operation running at its time', async () => {
    const h = await loadSpcHistory(db, OVEN, RULES);
    const secs = (product: string | null) => h.filter((r) => (r.running?.product ?? null) === product).map((r) => (r.ts.getTime() - T0) / 1000);
    // The key's first 10 samples (before any operation); each product's first 10 and last 30, and n − 1 = 1 more per
    // operation read (A: A1 and A2; B: B1); the key's last 30 are among A's.
    expect(secs(null)).toEqual(range(-20, -11));
    expect(secs('PROD-A')).toEqual([...range(0, 11), ...range(268, 299)]);
    expect(secs('PROD-B')).toEqual([...range(100, 110), ...range(169, 199)]);
    expect(h.map((r) => r.ts.getTime())).toEqual([...h.map((r) => r.ts.getTime())].sort((a, b) => a - b));
    expect(new Set(h.filter((r) => r.running).map((r) => `${r.running!.operation} ${r.running!.route} v${r.running!.version} step ${r.running!.step}`))).toEqual(
      new Set(['A1 RT-A v1 step 10', 'B1 RT-B v1 step 10', 'A2 RT-A v1 step 10']),
    );
  });

  it.skipIf(!!target.unavailable)('a primed engine has each product’s own control limits and continues the run of the product running', async () => {
    const h = await loadSpcHistory(db, OVEN, RULES);
    const primed = new RuleEngine(RULES, OVEN);
    primed.prime(h);
    const running = (name: string) => h.find((r) => r.running?.operation === name)!.running!;
    expect(primed.controlLimits('OVEN-1', 'temp')!.center).toBeCloseTo(220, 9);
    expect(primed.controlLimits('OVEN-1', 'temp', running('A1'))!.center).toBeCloseTo(210, 9);
    expect(primed.controlLimits('OVEN-1', 'temp', running('B1'))!.center).toBeCloseTo(230, 9);
    expect(primed.controlLimits('OVEN-1', 'temp', running('B1'))!.ucl).toBeCloseTo(230 + 1.88 * 2, 9);
    expect(primed.openAlarms()).toEqual([]);
    // A2 still runs: a 9th mean above A's center raises rule 2.
    const out: AlarmChange[] = [];
    for (const [i, value] of [210.8, 211.2].entries()) primed.judge({ equipment: 'OVEN-1', parameter: 'temp', ts: new Date(T0 + (400 + i) * 1000), value }, running('A2'), out);
    expect(out.map((c) => `${c.kind} ${c.rule}`)).toEqual(['raise spc_nelson_2']);
  });

  it.skipIf(!!target.unavailable)('with fromSpec off the history is not split: no operations are read', async () => {
    const h = await loadSpcHistory(db, OVEN, rulesSchema.parse({ fromSpec: false, spc: { n: 2, baseline: 5, limitsFrom: 'history' } }));
    expect(h.map((r) => (r.ts.getTime() - T0) / 1000)).toEqual([...range(-20, -11), ...range(270, 299)]);
    expect(h.every((r) => !('running' in r))).toBe(true);
  });
});
