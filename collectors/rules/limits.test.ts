import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../../datasources/data-source.js';
import { traceEvent } from '../../trace/ingest/events.js';
import { ingestEvents } from '../../trace/ingest/ingest.js';
import { openTraceStore } from '../../trace/store.js';
import { dialectTargets, type TestDatabase } from '../../tests/support/databases.js';
import { rulesSchema } from '../config.js';
import { limitKey, loadLimits, loadOpenAlarms, loadSpecLimits, mergeLimits, type ParameterLimits } from './limits.js';

/**
 * Spec limits per (equipment, parameter) from a small plant on every dialect:
 *  - MIX-1 (class mixer) serves step 10 of RT-A (v1 superseded by v2) and of RT-B: widest window of the latest versions;
 *  - EXT-1 has no class; an operation of a RT-C work order ran on it at step 20: its spec applies;
 *  - PCK-1 (class packer) serves no step with a spec: no limits.
 */
const EVENTS = [
  { type: 'equipment', id: 'e1', equipment: 'MIX-1', class: 'mixer' },
  { type: 'equipment', id: 'e2', equipment: 'EXT-1' },
  { type: 'equipment', id: 'e3', equipment: 'PCK-1', class: 'packer' },
  { type: 'route', id: 'r1', route: 'RT-A', version: 1, steps: [{ seq: 10, operation: 'mix', equipmentClass: 'mixer' }] },
  { type: 'route', id: 'r2', route: 'RT-A', version: 2, steps: [{ seq: 10, operation: 'mix', equipmentClass: 'mixer' }, { seq: 20, operation: 'pack', equipmentClass: 'packer' }] },
  { type: 'route', id: 'r3', route: 'RT-B', version: 1, steps: [{ seq: 10, operation: 'mix', equipmentClass: 'mixer' }] },
  { type: 'route', id: 'r4', route: 'RT-C', version: 1, steps: [{ seq: 10, operation: 'mix' }, { seq: 20, operation: 'extrude' }] },
  // v1 is wider: superseded by v2, it must not widen anything.
  { type: 'parameterSpec', id: 's1', route: 'RT-A', version: 1, step: 10, parameter: 'temp', lsl: 70, target: 78, usl: 90, unit: 'C' },
  { type: 'parameterSpec', id: 's2', route: 'RT-A', version: 2, step: 10, parameter: 'temp', lsl: 75, target: 80, usl: 85, unit: 'C' },
  { type: 'parameterSpec', id: 's3', route: 'RT-B', version: 1, step: 10, parameter: 'temp', lsl: 72, target: 78, usl: 84, unit: 'C' },
  { type: 'parameterSpec', id: 's4', route: 'RT-B', version: 1, step: 10, parameter: 'speed', usl: 1500, unit: 'rpm' },
  { type: 'parameterSpec', id: 's5', route: 'RT-C', version: 1, step: 20, parameter: 'pressure', lsl: 100, usl: 120, unit: 'bar' },
  { type: 'parameterSpec', id: 's6', route: 'RT-C', version: 1, step: 10, parameter: 'level', lsl: 1, usl: 2 },
  { type: 'material', id: 'm1', material: 'P', kind: 'finished' },
  { type: 'workOrder', id: 'w1', workOrder: 'WO-1', product: 'P', route: 'RT-C', routeVersion: 1 },
  { type: 'operation', id: 'o1', operation: 'OP-1', lot: 'L-1', workOrder: 'WO-1', step: 20, equipment: 'EXT-1', start: '2026-03-01T08:00:00Z' },
  { type: 'alarm', id: 'a1', rule: 'limit_high', equipment: 'MIX-1', parameter: 'temp', value: 86, limit: 85, raisedAt: '2026-03-01T08:00:00Z' },
  { type: 'alarm', id: 'a2', rule: 'spc_nelson_2', equipment: 'EXT-1', parameter: 'pressure', raisedAt: '2026-03-01T08:00:00Z', clearedAt: '2026-03-01T09:00:00Z' },
  { type: 'alarm', id: 'a3', rule: 'SPEC_HIGH', equipment: 'EXT-1', parameter: 'pressure', raisedAt: '2026-03-01T08:00:00Z' },
].map((e) => traceEvent.parse(e));

const targets = await dialectTargets();

describe.each(targets.filter((t) => t.dialect !== 'mssql'))('spec limits on $label', (target) => {
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

  it.skipIf(!!target.unavailable)('takes the widest window of the latest route versions, by equipment class and by operations', async () => {
    const limits = await loadSpecLimits(db);
    const pick = (e: string, p: string) => {
      const l = limits.get(limitKey(e, p));
      return l && { lsl: l.lsl, usl: l.usl, target: l.target, unit: l.unit, source: l.source, severity: l.severity };
    };
    // RT-A v2 75..85 (target 80) and RT-B 72..84 (target 78): LSL 72, USL 85, target mean 79 (v1's 70..90 does not count).
    expect(pick('MIX-1', 'temp')).toEqual({ lsl: 72, usl: 85, target: 79, unit: 'C', source: 'spec', severity: 'critical' });
    expect(pick('MIX-1', 'speed')).toEqual({ lsl: undefined, usl: 1500, target: undefined, unit: 'rpm', source: 'spec', severity: 'critical' });
    expect(pick('EXT-1', 'pressure')).toEqual({ lsl: 100, usl: 120, target: 110, unit: 'bar', source: 'spec', severity: 'critical' });
    // Step 10 of RT-C never ran on EXT-1 and has no equipment class.
    expect(pick('EXT-1', 'level')).toBeUndefined();
    expect([...limits.keys()].filter((k) => k.startsWith('PCK-1'))).toEqual([]);
    expect(limits.size).toBe(3);
  });

  it.skipIf(!!target.unavailable)('config limits win per field; fromSpec false keeps the config only', async () => {
    const rules = rulesSchema.parse({
      limits: [
        { equipment: 'MIX-1', parameter: 'temp', usl: 83, severity: 'warning' },
        { equipment: 'PCK-1', parameter: 'weight', lsl: 24.5, usl: 25.5 },
      ],
    });
    const merged = await loadLimits(db, rules);
    const mix = merged.get(limitKey('MIX-1', 'temp'))!;
    expect({ lsl: mix.lsl, usl: mix.usl, target: mix.target, severity: mix.severity, source: mix.source }).toEqual({ lsl: 72, usl: 83, target: 79, severity: 'warning', source: 'spec+config' });
    const pck = merged.get(limitKey('PCK-1', 'weight'))!;
    expect({ lsl: pck.lsl, usl: pck.usl, target: pck.target, severity: pck.severity, source: pck.source }).toEqual({ lsl: 24.5, usl: 25.5, target: 25, severity: 'critical', source: 'config' });
    expect(merged.size).toBe(4);
    const only = await loadLimits(db, { ...rules, fromSpec: false });
    expect([...only.keys()].sort()).toEqual([limitKey('MIX-1', 'temp'), limitKey('PCK-1', 'weight')]);
    expect(only.get(limitKey('MIX-1', 'temp'))!.lsl).toBeUndefined();
  });

  it.skipIf(!!target.unavailable)('open alarms: the rule alarms not cleared, other rules ignored', async () => {
    expect(await loadOpenAlarms(db)).toEqual([{ rule: 'limit_high', equipment: 'MIX-1', parameter: 'temp', limit: 85 }]);
  });
});

describe('mergeLimits', () => {
  const spec = new Map<string, ParameterLimits>([
    [limitKey('A', 'p'), { equipment: 'A', parameter: 'p', lsl: 10, usl: 20, target: 12, severity: 'critical', source: 'spec' }],
  ]);
  it.each([
    { name: 'an override window that excludes the spec target centers it', over: { lsl: 13, usl: 17 }, want: { lsl: 13, usl: 17, target: 15 } },
    { name: 'a target inside the override window stays', over: { usl: 14 }, want: { lsl: 10, usl: 14, target: 12 } },
  ])('$name', ({ over, want }) => {
    const m = mergeLimits(spec, rulesSchema.parse({ limits: [{ equipment: 'A', parameter: 'p', ...over }] })).get(limitKey('A', 'p'))!;
    expect({ lsl: m.lsl, usl: m.usl, target: m.target }).toEqual(want);
  });
});
