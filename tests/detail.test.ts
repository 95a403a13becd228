import { runCliAsync } from './support/cli.js';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { dialectTargets, type TestDatabase } from './support/databases.js';
import { openTraceStore } from '../trace/store.js';
import type { DataSource } from '../datasources/data-source.js';
import type { TraceEvent } from '../trace/ingest/events.js';
import { ingestEvents } from '../trace/ingest/ingest.js';
import { traceDetail, type LotDetail } from '../trace/detail.js';
import knexFactory from 'knex';
import { compileSql } from '../datasources/named-params.js';
import { alarmsSql, parameterSummarySql } from '../trace/detail-sql.js';

const targets = await dialectTargets();


/** Runs the built CLI (`npm run build` first). */
const cli = (...args: string[]) => runCliAsync(args);

const T = (hhmm: string) => `2026-03-02T${hhmm}:00Z`;
const iso = (hhmm: string) => `2026-03-02T${hhmm}:00.000Z`;

/**
 * A hand-built plant: two batches on a two-step route. Samples sit on and around the operations'
 * windows (the boundaries are included), on other equipment at the same time, between operations, and
 * for a parameter without a spec; inspections pass and fail; alarms are raised during and between
 * operations.
 */
function plantEvents(): TraceEvent[] {
  let n = 0;
  const id = () => `d${++n}`;
  const ev: TraceEvent[] = [
    { type: 'material', id: id(), material: 'RESIN', kind: 'raw', uom: 'kg' },
    { type: 'material', id: id(), material: 'BATCH', kind: 'intermediate', uom: 'kg' },
    { type: 'supplier', id: id(), supplier: 'ACME' },
    { type: 'equipment', id: id(), equipment: 'MIX-1', name: 'Mixer 1', line: 'L1' },
    { type: 'equipment', id: id(), equipment: 'EXT-2', name: 'Extruder 2', line: 'L1' },
    { type: 'personnel', id: id(), person: 'P-1', name: 'Ann Lee' },
    { type: 'personnel', id: id(), person: 'P-2', name: 'Bob Wu' },
    { type: 'personnel', id: id(), person: 'P-9', name: 'Quality Q' },
    { type: 'route', id: id(), route: 'R-MIX', version: 1, product: 'BATCH', steps: [{ seq: 10, operation: 'mix' }, { seq: 20, operation: 'extrude' }] },
    { type: 'parameterSpec', id: id(), route: 'R-MIX', version: 1, step: 10, parameter: 'temp', lsl: 75, target: 80, usl: 85, unit: 'C' },
    { type: 'parameterSpec', id: id(), route: 'R-MIX', version: 1, step: 10, parameter: 'pressure', lsl: 1, usl: 2, unit: 'bar' },
    { type: 'parameterSpec', id: id(), route: 'R-MIX', version: 1, step: 20, parameter: 'speed', usl: 100, unit: 'rpm' },
    { type: 'parameterSpec', id: id(), route: 'R-MIX', version: 1, step: 20, parameter: 'melt', lsl: 200, usl: 230, unit: 'C' },
    { type: 'workOrder', id: id(), workOrder: 'WO-1', product: 'BATCH', qty: 1000, route: 'R-MIX', routeVersion: 1 },
    { type: 'lot', id: id(), lot: 'R-1', material: 'RESIN', qty: 500, uom: 'kg', supplier: 'ACME' },
    { type: 'lot', id: id(), lot: 'B-1', material: 'BATCH', qty: 400, uom: 'kg', workOrder: 'WO-1' },
    { type: 'lot', id: id(), lot: 'B-2', material: 'BATCH', qty: 400, uom: 'kg', workOrder: 'WO-1' },
    { type: 'consume', id: id(), output: 'B-1', inputs: [{ lot: 'R-1', qty: 200 }] },
    { type: 'operation', id: id(), operation: 'OP-1', lot: 'B-1', workOrder: 'WO-1', step: 10, equipment: 'MIX-1', operator: 'P-1', start: T('08:00'), end: T('09:00'), result: 'ok' },
    { type: 'operation', id: id(), operation: 'OP-2', lot: 'B-1', workOrder: 'WO-1', step: 20, equipment: 'EXT-2', operator: 'P-2', start: T('09:00'), end: T('10:00'), result: 'ok' },
    { type: 'operation', id: id(), operation: 'OP-3', lot: 'B-2', workOrder: 'WO-1', step: 10, equipment: 'MIX-1', operator: 'P-1', start: T('10:00'), end: T('11:00') },
    // Still running: no end.
    { type: 'operation', id: id(), operation: 'OP-4', lot: 'B-2', workOrder: 'WO-1', step: 20, equipment: 'EXT-2', operator: 'P-2', start: T('11:00') },
  ];
  const sample = (equipment: string, parameter: string, hhmm: string, value: number) =>
    ev.push({ type: 'sample', id: id(), equipment, parameter, ts: T(hhmm), value });
  sample('MIX-1', 'temp', '07:59', 81); // before OP-1
  sample('MIX-1', 'temp', '08:00', 80); // OP-1 start, included
  sample('MIX-1', 'temp', '08:20', 86); // above usl
  sample('MIX-1', 'temp', '08:40', 74); // below lsl
  sample('MIX-1', 'temp', '09:00', 82); // OP-1 end, included
  sample('MIX-1', 'pressure', '08:30', 1.5);
  sample('MIX-1', 'rpm', '08:10', 300); // no spec for it
  sample('MIX-1', 'temp', '09:30', 99); // between operations on MIX-1
  sample('EXT-2', 'temp', '08:30', 999); // other equipment during OP-1
  sample('EXT-2', 'speed', '09:30', 120); // above usl
  sample('EXT-2', 'speed', '09:45', 90);
  sample('MIX-1', 'temp', '10:30', 84);
  sample('MIX-1', 'temp', '10:45', 90); // above usl
  sample('EXT-2', 'speed', '11:30', 95); // during the running OP-4
  ev.push(
    { type: 'inspection', id: id(), lot: 'B-1', characteristic: 'viscosity', value: 1.9, lsl: 1.5, usl: 2.5, result: 'pass', inspector: 'P-9', at: T('10:05') },
    { type: 'inspection', id: id(), lot: 'B-1', characteristic: 'color', value: 7, lsl: 0, usl: 5, result: 'fail', inspector: 'P-9', at: T('10:06') },
    { type: 'inspection', id: id(), lot: 'B-2', characteristic: 'viscosity', value: 2.7, lsl: 1.5, usl: 2.5, at: T('11:05') },
    { type: 'alarm', id: id(), rule: 'HIGH_TEMP', equipment: 'MIX-1', parameter: 'temp', value: 86, limit: 85, severity: 'critical', raisedAt: T('08:20'), clearedAt: T('08:25') },
    { type: 'alarm', id: id(), rule: 'LOW_TEMP', equipment: 'MIX-1', parameter: 'temp', value: 74, limit: 75, severity: 'warning', raisedAt: T('08:40') },
    { type: 'alarm', id: id(), rule: 'OVERSPEED', equipment: 'EXT-2', parameter: 'speed', value: 120, limit: 100, severity: 'warning', raisedAt: T('09:30'), clearedAt: T('09:31') },
    { type: 'alarm', id: id(), rule: 'HIGH_TEMP', equipment: 'MIX-1', parameter: 'temp', value: 99, limit: 85, severity: 'critical', raisedAt: T('09:30') }, // between operations
    { type: 'alarm', id: id(), rule: 'HIGH_TEMP', equipment: 'MIX-1', parameter: 'temp', value: 90, limit: 85, severity: 'critical', raisedAt: T('10:45'), clearedAt: T('10:50') },
  );
  return ev;
}

const spec = (lsl: number | null, target: number | null, usl: number | null) => ({ lsl, target, usl });

const EXPECTED: LotDetail[] = [
  {
    lot: 'B-1',
    operations: [
      {
        operation: 'OP-1', step: 10, workOrder: 'WO-1', equipment: 'MIX-1', equipmentName: 'Mixer 1', operator: 'P-1', operatorName: 'Ann Lee',
        start: iso('08:00'), end: iso('09:00'), result: 'ok',
        parameters: [
          { parameter: 'pressure', unit: 'bar', count: 1, min: 1.5, avg: 1.5, max: 1.5, ...spec(1, null, 2), outOfSpec: 0 },
          { parameter: 'rpm', unit: null, count: 1, min: 300, avg: 300, max: 300, ...spec(null, null, null), outOfSpec: 0 },
          { parameter: 'temp', unit: 'C', count: 4, min: 74, avg: 80.5, max: 86, ...spec(75, 80, 85), outOfSpec: 2 },
        ],
      },
      {
        operation: 'OP-2', step: 20, workOrder: 'WO-1', equipment: 'EXT-2', equipmentName: 'Extruder 2', operator: 'P-2', operatorName: 'Bob Wu',
        start: iso('09:00'), end: iso('10:00'), result: 'ok',
        parameters: [
          { parameter: 'melt', unit: 'C', count: 0, min: null, avg: null, max: null, ...spec(200, null, 230), outOfSpec: 0 },
          { parameter: 'speed', unit: 'rpm', count: 2, min: 90, avg: 105, max: 120, ...spec(null, null, 100), outOfSpec: 1 },
        ],
      },
    ],
    inspections: [
      { characteristic: 'viscosity', value: 1.9, lsl: 1.5, usl: 2.5, result: 'pass', inspector: 'P-9', at: iso('10:05') },
      { characteristic: 'color', value: 7, lsl: 0, usl: 5, result: 'fail', inspector: 'P-9', at: iso('10:06') },
    ],
    alarms: [
      { rule: 'HIGH_TEMP', equipment: 'MIX-1', parameter: 'temp', value: 86, limit: 85, severity: 'critical', raisedAt: iso('08:20'), clearedAt: iso('08:25'), operation: 'OP-1' },
      { rule: 'LOW_TEMP', equipment: 'MIX-1', parameter: 'temp', value: 74, limit: 75, severity: 'warning', raisedAt: iso('08:40'), clearedAt: null, operation: 'OP-1' },
      { rule: 'OVERSPEED', equipment: 'EXT-2', parameter: 'speed', value: 120, limit: 100, severity: 'warning', raisedAt: iso('09:30'), clearedAt: iso('09:31'), operation: 'OP-2' },
    ],
  },
  {
    lot: 'B-2',
    operations: [
      {
        operation: 'OP-3', step: 10, workOrder: 'WO-1', equipment: 'MIX-1', equipmentName: 'Mixer 1', operator: 'P-1', operatorName: 'Ann Lee',
        start: iso('10:00'), end: iso('11:00'), result: null,
        parameters: [
          { parameter: 'pressure', unit: 'bar', count: 0, min: null, avg: null, max: null, ...spec(1, null, 2), outOfSpec: 0 },
          { parameter: 'temp', unit: 'C', count: 2, min: 84, avg: 87, max: 90, ...spec(75, 80, 85), outOfSpec: 1 },
        ],
      },
      {
        operation: 'OP-4', step: 20, workOrder: 'WO-1', equipment: 'EXT-2', equipmentName: 'Extruder 2', operator: 'P-2', operatorName: 'Bob Wu',
        start: iso('11:00'), end: null, result: null,
        parameters: [
          { parameter: 'melt', unit: 'C', count: 0, min: null, avg: null, max: null, ...spec(200, null, 230), outOfSpec: 0 },
          { parameter: 'speed', unit: 'rpm', count: 1, min: 95, avg: 95, max: 95, ...spec(null, null, 100), outOfSpec: 0 },
        ],
      },
    ],
    inspections: [{ characteristic: 'viscosity', value: 2.7, lsl: 1.5, usl: 2.5, result: 'fail', inspector: null, at: iso('11:05') }],
    alarms: [
      { rule: 'HIGH_TEMP', equipment: 'MIX-1', parameter: 'temp', value: 90, limit: 85, severity: 'critical', raisedAt: iso('10:45'), clearedAt: iso('10:50'), operation: 'OP-3' },
    ],
  },
  { lot: 'R-1', operations: [], inspections: [], alarms: [] },
];

describe('trace detail SQL', () => {
  it('SQL Server: no RECURSIVE keyword and no subquery in a recursive member', async () => {
    const sql = parameterSummarySql('mssql');
    expect(sql).not.toMatch(/recursive/i);
    expect(sql).toContain('SELECT DISTINCT s.equipment_id, s.parameter FROM sample s');
    expect(parameterSummarySql('postgres')).toMatch(/^WITH RECURSIVE ops AS/);
    // The operation's end stays an index range bound (no `OR ended_at IS NULL`).
    for (const dialect of ['sqlite', 'postgres', 'mysql', 'mssql'] as const) {
      expect(parameterSummarySql(dialect)).toMatch(/s\.ts <= COALESCE\(ops\.ended_at, /);
      expect(alarmsSql(dialect)).toMatch(/a\.raised_at <= COALESCE\(o\.ended_at, /);
      expect(parameterSummarySql(dialect) + alarmsSql(dialect)).not.toMatch(/IS NULL OR/);
    }
    // PostgreSQL and SQL Server read samples and alarms per operation through a correlated subquery.
    expect(parameterSummarySql('postgres')).toContain('CROSS JOIN LATERAL (');
    expect(alarmsSql('postgres')).toMatch(/CROSS JOIN LATERAL \([\s\S]*OFFSET 0\s*\) a/);
    expect(parameterSummarySql('mssql')).toContain('CROSS APPLY (');
    expect(alarmsSql('mssql')).toContain('CROSS APPLY (');
    expect(parameterSummarySql('mssql') + alarmsSql('mssql')).not.toMatch(/LATERAL|OFFSET 0/);
    const knex = knexFactory({ client: 'mssql' });
    try {
      for (const sql of [parameterSummarySql('mssql'), alarmsSql('mssql')]) {
        const compiled = compileSql(sql, { ids: [3, 5, 8] });
        const native = knex.raw(compiled.sql, compiled.bindings as never[]).toSQL().toNative();
        expect(native.bindings).toEqual([3, 5, 8]);
        expect(native.sql).toContain('IN (@p0, @p1, @p2)');
      }
    } finally {
      await knex.destroy();
    }
  });
});

describe.each(targets)('trace detail on $label', (target) => {
  let tdb: TestDatabase;
  let db: DataSource;
  const skip = !!target.unavailable;
  beforeAll(async () => {
    if (skip) return;
    tdb = await target.create();
    db = await openTraceStore(tdb.url);
    await ingestEvents(db, plantEvents());
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it.skipIf(skip)('summarises parameters against spec, inspections and alarms per lot, exactly', async () => {
    expect(await traceDetail(db, ['B-1', 'B-2', 'R-1'])).toEqual(EXPECTED);
  });

  it.skipIf(skip)('answers in the order asked, each lot once', async () => {
    const d = await traceDetail(db, ['R-1', 'B-2', 'R-1']);
    expect(d.map((x) => x.lot)).toEqual(['R-1', 'B-2']);
    expect(d[1]).toEqual(EXPECTED[1]);
    expect(await traceDetail(db, [])).toEqual([]);
  });

  it.skipIf(skip)('an unknown lot is LOT_NOT_FOUND', async () => {
    await expect(traceDetail(db, ['B-1', 'NOPE'])).rejects.toMatchObject({ code: 'LOT_NOT_FOUND', message: 'lot NOPE not found' });
  });

  it.skipIf(skip)('the CLI adds the detail to the trace: all of it in --json, marked in the tree', async () => {
    const [json, text] = await Promise.all([
      cli('trace', 'backward', 'B-1', '--db', tdb.url, '--detail', '--json'),
      cli('trace', 'backward', 'B-1', '--db', tdb.url, '--detail'),
    ]);
    expect(json.status, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as { lots: Array<{ lot: string }>; detail: LotDetail[] };
    expect(out.lots.map((l) => l.lot)).toEqual(['B-1', 'R-1']);
    expect(out.detail).toEqual([EXPECTED[0], EXPECTED[2]]);
    expect(text.status, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines).toContain('  |   ! temp C  n=4  min 74  avg 80.5  max 86  spec 75 .. 85 target 80  OUT OF SPEC: 2 samples');
    expect(lines).toContain('  |   pressure bar  n=1  min 1.5  avg 1.5  max 1.5  spec 1 .. 2');
    expect(lines).toContain('  |   rpm  n=1  min 300  avg 300  max 300  no spec');
    expect(lines).toContain('  |   ! speed rpm  n=2  min 90  avg 105  max 120  spec ≤ 100  OUT OF SPEC: 1 sample');
    expect(lines).toContain('  |   melt C  n=0 (no samples)  spec 200 .. 230');
    expect(lines).toContain('  | ! inspection color 7 [0 .. 5] FAIL by P-9 at 2026-03-02T10:06:00.000Z');
    expect(lines).toContain('  | inspection viscosity 1.9 [1.5 .. 2.5] pass by P-9 at 2026-03-02T10:05:00.000Z');
    expect(lines.filter((l) => l.includes('! alarm '))).toHaveLength(3);
    expect(lines[1]).toBe('B-1  BATCH (intermediate)  400 kg  work order WO-1');
    expect(lines).toContain('  R-1  RESIN (raw)  500 kg  supplier ACME');
  });
});
