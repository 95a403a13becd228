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
