import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../../datasources/data-source.js';
import { traceEvent } from '../../trace/ingest/events.js';
import { ingestEvents } from '../../trace/ingest/ingest.js';
import { openTraceStore } from '../../trace/store.js';
import { dialectTargets, type TestDatabase } from '../../tests/support/databases.js';
import { RunningOperations, storeOperationSource, type OperationSource } from './running-product.js';

/**
 * The operation running on an equipment at a time, read from the trace store on every dialect:
 *  - OVEN-1 runs A1 (work order of PROD-A on RT-A v2; v1 has another spec) 08:00–08:10, nothing until
 *    08:10:30, then B1 (PROD-B on RT-B v1) with no end yet;
 *  - OVEN-2 runs A2 from 08:00 with no end, and B2 08:20–08:30 meanwhile (the latest started runs);
 *  - OVEN-3 runs C1 without a work order: an operation without specs.
 */
const at = (hhmmss: string) => `2026-03-01T${hhmmss}Z`;
const ms = (hhmmss: string) => Date.parse(at(hhmmss));

const EVENTS = [
  { type: 'equipment', id: 'e1', equipment: 'OVEN-1' },
  { type: 'equipment', id: 'e2', equipment: 'OVEN-2' },
  { type: 'equipment', id: 'e3', equipment: 'OVEN-3' },
  { type: 'equipment', id: 'e4', equipment: 'IDLE-1' },
  { type: 'material', id: 'm1', material: 'PROD-A', kind: 'finished' },
  { type: 'material', id: 'm2', material: 'PROD-B', kind: 'finished' },
  { type: 'route', id: 'r1', route: 'RT-A', version: 1, steps: [{ seq: 10, operation: 'bake' }] },
  { type: 'route', id: 'r2', route: 'RT-A', version: 2, steps: [{ seq: 10, operation: 'bake' }] },
  { type: 'route', id: 'r3', route: 'RT-B', version: 1, steps: [{ seq: 10, operation: 'bake' }, { seq: 20, operation: 'cool' }] },
  { type: 'parameterSpec', id: 's1', route: 'RT-A', version: 1, step: 10, parameter: 'temp', lsl: 190, usl: 230 },
  { type: 'parameterSpec', id: 's2', route: 'RT-A', version: 2, step: 10, parameter: 'temp', lsl: 200, target: 210, usl: 220, unit: 'C' },
  { type: 'parameterSpec', id: 's3', route: 'RT-A', version: 2, step: 10, parameter: 'speed', usl: 5 },
  { type: 'parameterSpec', id: 's4', route: 'RT-A', version: 2, step: 10, parameter: 'note', target: 1 },
  { type: 'parameterSpec', id: 's5', route: 'RT-B', version: 1, step: 10, parameter: 'temp', lsl: 220, target: 230, usl: 240, unit: 'C' },
  { type: 'parameterSpec', id: 's6', route: 'RT-B', version: 1, step: 20, parameter: 'temp', lsl: 20, usl: 40, unit: 'C' },
  { type: 'workOrder', id: 'w1', workOrder: 'WO-A', product: 'PROD-A', route: 'RT-A', routeVersion: 2 },
  { type: 'workOrder', id: 'w2', workOrder: 'WO-B', product: 'PROD-B', route: 'RT-B', routeVersion: 1 },
  { type: 'operation', id: 'o1', operation: 'A1', lot: 'L-A1', workOrder: 'WO-A', step: 10, equipment: 'OVEN-1', start: at('08:00:00'), end: at('08:10:00') },
  { type: 'operation', id: 'o2', operation: 'B1', lot: 'L-B1', workOrder: 'WO-B', step: 10, equipment: 'OVEN-1', start: at('08:10:30') },
  { type: 'operation', id: 'o3', operation: 'A2', lot: 'L-A2', workOrder: 'WO-A', step: 10, equipment: 'OVEN-2', start: at('08:00:00') },
  { type: 'operation', id: 'o4', operation: 'B2', lot: 'L-B2', workOrder: 'WO-B', step: 10, equipment: 'OVEN-2', start: at('08:20:00'), end: at('08:30:00') },
  { type: 'operation', id: 'o5', operation: 'C1', lot: 'L-C1', step: 10, equipment: 'OVEN-3', start: at('08:00:00') },
].map((e) => traceEvent.parse(e));

const events = (list: object[]) => list.map((e) => traceEvent.parse(e));

const targets = await dialectTargets();

describe.each(targets.filter((t) => t.dialect !== 'mssql'))('running operations from the store on $label', (target) => {
  let tdb: TestDatabase;
  let db: DataSource;
  let source: OperationSource;
  beforeAll(async () => {
    if (target.unavailable) return;
    tdb = await target.create();
    db = await openTraceStore(tdb.url);
    await ingestEvents(db, EVENTS);
    source = storeOperationSource(db);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  /** The span as [operation or null, from, to] with times as hh:mm:ss.mmm (or ±inf). */
  const span = async (equipment: string, time: string) => {
    const s = await source.span(equipment, ms(time));
    const t = (v: number) => (Number.isFinite(v) ? new Date(v).toISOString().slice(11, 23) : String(v));
    return [s.op?.operation ?? null, t(s.fromMs), t(s.toMs)];
  };

  it.skipIf(!!target.unavailable).each([
    { name: 'inside an operation that ended: until its end (inclusive)', equipment: 'OVEN-1', time: '08:05:00', want: ['A1', '08:00:00.000', '08:10:00.001'] },
    { name: 'at its start', equipment: 'OVEN-1', time: '08:00:00', want: ['A1', '08:00:00.000', '08:10:00.001'] },
    { name: 'at its end', equipment: 'OVEN-1', time: '08:10:00', want: ['A1', '08:00:00.000', '08:10:00.001'] },
    { name: 'between two operations: none, until the next starts', equipment: 'OVEN-1', time: '08:10:10', want: [null, '08:10:00.001', '08:10:30.000'] },
    { name: 'before the first: none', equipment: 'OVEN-1', time: '07:00:00', want: [null, '-Infinity', '08:00:00.000'] },
    { name: 'an operation with no end runs on', equipment: 'OVEN-1', time: '23:00:00', want: ['B1', '08:10:30.000', 'Infinity'] },
    { name: 'overlapping: the latest started runs', equipment: 'OVEN-2', time: '08:25:00', want: ['B2', '08:20:00.000', '08:30:00.001'] },
    { name: 'overlapping: the earlier one again after the later one ended', equipment: 'OVEN-2', time: '08:40:00', want: ['A2', '08:30:00.001', 'Infinity'] },
    { name: 'overlapping: the earlier one until the later one starts', equipment: 'OVEN-2', time: '08:10:00', want: ['A2', '08:00:00.000', '08:20:00.000'] },
    { name: 'an equipment without operations', equipment: 'IDLE-1', time: '08:00:00', want: [null, '-Infinity', 'Infinity'] },
    { name: 'an unknown equipment', equipment: 'NOPE-1', time: '08:00:00', want: [null, '-Infinity', 'Infinity'] },
  ])('$name', async ({ equipment, time, want }) => {
    expect(await span(equipment, time)).toEqual(want);
  });

  it.skipIf(!!target.unavailable)('the operation carries its product, route version, step and that step’s specs with a limit', async () => {
    const a = (await source.span('OVEN-1', ms('08:05:00'))).op!;
    expect({ ...a, specs: Object.fromEntries(a.specs) }).toEqual({
      operation: 'A1', workOrder: 'WO-A', product: 'PROD-A', route: 'RT-A', version: 2, step: 10,
      startMs: ms('08:00:00'), endMs: ms('08:10:00'),
      // v2's specs (not v1's); `note` has no limit.
      specs: { temp: { lsl: 200, target: 210, usl: 220, unit: 'C' }, speed: { usl: 5 } },
    });
    const b = (await source.span('OVEN-1', ms('09:00:00'))).op!;
    expect({ endMs: b.endMs, product: b.product, specs: Object.fromEntries(b.specs) }).toEqual({ endMs: Infinity, product: 'PROD-B', specs: { temp: { lsl: 220, target: 230, usl: 240, unit: 'C' } } });
    const c = (await source.span('OVEN-3', ms('09:00:00'))).op!;
    expect({ operation: c.operation, product: c.product, route: c.route, specs: c.specs.size }).toEqual({ operation: 'C1', product: undefined, route: undefined, specs: 0 });
  });

  it.skipIf(!!target.unavailable)('a check names the equipment whose span the store no longer supports', async () => {
    await ingestEvents(db, events([
      { type: 'equipment', id: 'k0', equipment: 'CHK-1' },
      { type: 'equipment', id: 'k00', equipment: 'CHK-2' },
      { type: 'equipment', id: 'k000', equipment: 'CHK-3' },
      { type: 'equipment', id: 'k0000', equipment: 'CHK-4' },
      { type: 'operation', id: 'k1', operation: 'K1', lot: 'L-K1', equipment: 'CHK-1', step: 10, start: at('08:00:00') },
      { type: 'operation', id: 'k2', operation: 'K2', lot: 'L-K2', equipment: 'CHK-2', step: 10, start: at('08:00:00') },
      { type: 'operation', id: 'k3', operation: 'K3', lot: 'L-K3', equipment: 'CHK-3', step: 10, start: at('08:00:00'), end: at('08:30:00') },
      { type: 'operation', id: 'k4', operation: 'K4', lot: 'L-K4', equipment: 'CHK-4', step: 10, start: at('08:00:00') },
    ]));
    const equipment = ['CHK-1', 'CHK-2', 'CHK-3', 'CHK-4', 'CHK-NEW', 'OVEN-1', 'OVEN-2'];
    const spans = await Promise.all(equipment.map(async (e) => ({ equipment: e, span: await source.span(e, ms('09:00:00')) })));
    expect([...(await source.changed(spans))]).toEqual([]);
    await ingestEvents(db, events([
      // K1 ends (an update of its row); CHK-2 gets a next operation; CHK-3, idle, gets one within its idle span;
      // CHK-NEW appears. CHK-4 gets an operation before its span: nothing changes for it.
      { type: 'operation', id: 'k1e', operation: 'K1', lot: 'L-K1', equipment: 'CHK-1', step: 10, start: at('08:00:00'), end: at('08:59:00') },
      { type: 'operation', id: 'k5', operation: 'K5', lot: 'L-K5', equipment: 'CHK-2', step: 10, start: at('10:00:00') },
      { type: 'operation', id: 'k6', operation: 'K6', lot: 'L-K6', equipment: 'CHK-3', step: 10, start: at('08:45:00') },
      { type: 'equipment', id: 'k7', equipment: 'CHK-NEW' },
      { type: 'operation', id: 'k8', operation: 'K8', lot: 'L-K8', equipment: 'CHK-4', step: 10, start: at('07:00:00'), end: at('07:30:00') },
    ]));
    expect([...(await source.changed(spans))].sort()).toEqual(['CHK-1', 'CHK-2', 'CHK-3', 'CHK-NEW']);
  });
});

describe('RunningOperations loads', () => {
  it('a line coming up asks for every machine at once: at most 4 reads run together, every one is answered', async () => {
    let active = 0;
    let most = 0;
    const source: OperationSource = {
      async span() {
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return { op: null, fromMs: -Infinity, toMs: Infinity, token: undefined };
      },
      async changed() {
        return new Set<string>();
      },
    };
    const ops = new RunningOperations(source, { refreshMs: 60_000 });
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => ops.load(`EQ-${i}`, ms('08:00:00'))));
      expect(most).toBe(4);
      for (let i = 0; i < 40; i++) expect(ops.at(`EQ-${i}`, ms('08:00:00'))).toBeNull();
      expect(ops.status()).toMatchObject({ loads: 40, failures: 0, equipment: 40 });
    } finally {
      ops.close();
    }
  });
});
