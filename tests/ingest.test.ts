import { requireBuild, runCli } from './support/cli.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import { isTraceReportError } from '../datasources/errors.js';
import type { TraceEvent } from '../trace/ingest/events.js';
import { ingestEvents, ingestFiles } from '../trace/ingest/ingest.js';
import { openTraceStore } from '../trace/store.js';
import { dialectTargets, type TestDatabase } from './support/databases.js';

/**
 * NDJSON ingest end to end, one suite on every dialect: through `bin/tracereport ingest` (dist/ must be built)
 * and through the module API. The steps build on each other in one fresh database per dialect.
 */

const TABLES = [
  'material', 'supplier', 'customer', 'equipment', 'personnel', 'route', 'route_step', 'parameter_spec', 'work_order', 'lot', 'operation',
  'lot_link', 'sample', 'inspection', 'alarm', 'shipment', 'ingest_event',
];

const INJECT_SUPPLIER = "X'); DROP TABLE lot;--";
const INJECT_NAME = "' OR '1'='1";
const INJECT_LOT = 'L\'"; DELETE FROM lot; --';

/** A plant's day, out of order: the consume comes before its lots, master data after the codes that name it. */
const VALID: object[] = [
  { type: 'consume', id: 'c1', output: 'B-100', inputs: [{ lot: 'R-001', qty: 12.5 }, { lot: 'R-002', qty: 3 }], operation: 'OP-9', at: '2026-03-01T09:00:00Z' },
  { type: 'sample', id: 's1', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T08:00:00Z', value: 81.2 },
  { type: 'lot', id: 'l1', lot: 'R-001', material: 'RESIN', qty: 500, uom: 'kg', supplier: INJECT_SUPPLIER, at: '2026-03-01T06:00:00Z' },
  { type: 'lot', id: 'l2', lot: 'R-002', material: 'HARDENER', qty: 100, uom: 'kg', supplier: 'ACME', supplierLot: 'A-77', at: '2026-03-01T06:30:00Z' },
  { type: 'operation', id: 'o1', operation: 'OP-9', lot: 'B-100', workOrder: 'WO-7', step: 10, equipment: 'MIX-1', operator: 'P-3', start: '2026-03-01T09:30:00+01:00' },
  { type: 'lot', id: 'l3', lot: 'B-100', material: 'BASE', qty: 110, uom: 'kg', status: 'released', workOrder: 'WO-7', at: '2026-03-01T10:00:00Z' },
  { type: 'material', id: 'm1', material: 'RESIN', name: INJECT_NAME, kind: 'raw', uom: 'kg' },
  { type: 'supplier', id: 'su1', supplier: INJECT_SUPPLIER, name: 'Robert\'); DROP TABLE supplier;--', country: 'DE' },
  { type: 'equipment', id: 'eq1', equipment: 'MIX-1', name: 'Mixer 1', class: 'mixer', line: 'L1', area: 'A', plant: 'P1' },
  { type: 'personnel', id: 'p1', person: 'P-3', name: 'Ann', role: 'operator' },
  { type: 'workOrder', id: 'w1', workOrder: 'WO-7', product: 'BASE', qty: 100, route: 'RT-BASE', routeVersion: 2, status: 'running' },
  { type: 'route', id: 'r1', route: 'RT-BASE', version: 2, name: 'Base', product: 'BASE', steps: [{ seq: 10, operation: 'mix', equipmentClass: 'mixer' }, { seq: 20, operation: 'fill' }] },
  { type: 'parameterSpec', id: 'ps1', route: 'RT-BASE', version: 2, step: 10, parameter: 'temp', lsl: 75, target: 80, usl: 85, unit: 'C' },
  { type: 'inspection', id: 'i1', lot: 'B-100', characteristic: 'viscosity', value: 2.7, lsl: 1.5, usl: 2.5, inspector: 'P-3', at: '2026-03-01T11:00:00Z' },
  { type: 'shipment', id: 'sh1', lot: 'F-900', customer: 'C-12', qty: 40, at: '2026-03-02T11:00:00Z', orderRef: 'SO-1' },
  { type: 'customer', id: 'cu1', customer: 'C-12', name: 'Customer 12', country: 'FR' },
  { type: 'alarm', id: 'a1', rule: 'USL', equipment: 'MIX-1', parameter: 'temp', value: 86.1, limit: 85, severity: 'warning', raisedAt: '2026-03-01T08:10:00Z' },
  { type: 'operation', id: 'o2', operation: 'OP-9', lot: 'B-100', step: 10, equipment: 'MIX-1', start: '2026-03-01T08:30:00Z', end: '2026-03-01T10:00:00Z', result: 'ok' },
  { type: 'sample', id: 's2', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T09:00:05.5+01:00', value: 81.4, quality: 'good' },
  { type: 'sample', id: 's1', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T08:00:00Z', value: 81.2 },
  { type: 'lot', id: 'l4', lot: INJECT_LOT, material: 'RESIN' },
];
const VALID_COUNTS: Record<string, number> = {
  material: 3, supplier: 2, customer: 1, equipment: 1, personnel: 1, route: 1, route_step: 2, parameter_spec: 1, work_order: 1,
  lot: 5, operation: 1, lot_link: 2, sample: 2, inspection: 1, alarm: 1, shipment: 1, ingest_event: 18, // samples have no ledger row
};

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

const cli = (args: string[], input?: string): Run => runCli(['ingest', ...args], input);

const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

beforeAll(requireBuild);

const targets = await dialectTargets();

describe.each(targets)('ingest on $label', (target) => {
  let tdb: TestDatabase;
  let db: DataSource;
  let dir: string;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const counts = async () => {
    const out: Record<string, number> = {};
    for (const t of TABLES) out[t] = Number((await db.query(`select count(*) as n from ${t}`))[0]!.n);
    return out;
  };
  const iso = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v));
  const bool = (v: unknown) => v === true || v === 1 || v === '1';

  beforeAll(async () => {
    if (target.unavailable) return;
    tdb = await target.create();
    db = await openTraceStore(tdb.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-ingest-'));
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!!target.unavailable)('writes a valid file: every table, placeholders filled, out-of-order references resolved', async () => {
    // Small batches, so references and updates cross transactions (o1 and o2 are in different batches).
    const r = cli([file('day.ndjson', ndjson(VALID)), '--db', tdb.url, '--batch-size', '4']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ingested .*day\.ndjson: 21 read, 20 written, 1 duplicates, 0 invalid \([\d,]+ events\/s, [\d.]+ s\)\n$/);
    expect(await counts()).toEqual(VALID_COUNTS);

    const lots = await db.query(
      `select l.code, l.placeholder, l.qty, l.status, l.produced_at, m.code as material, s.code as supplier, l.supplier_lot, w.code as work_order
       from lot l left join material m on m.id = l.material_id left join supplier s on s.id = l.supplier_id left join work_order w on w.id = l.work_order_id`,
    );
    const byCode = Object.fromEntries(lots.map((l) => [String(l.code), l]));
    expect(Object.keys(byCode).sort()).toEqual(['B-100', 'F-900', INJECT_LOT, 'R-001', 'R-002'].sort());
    // Seen first as inputs of the consume (placeholders), then filled by their own events.
    expect(bool(byCode['R-001']!.placeholder)).toBe(false);
    expect(byCode['R-001']).toMatchObject({ material: 'RESIN', supplier: INJECT_SUPPLIER, qty: 500 });
    expect(iso(byCode['R-001']!.produced_at)).toBe('2026-03-01T06:00:00.000Z');
    expect(byCode['R-002']).toMatchObject({ material: 'HARDENER', supplier: 'ACME', supplier_lot: 'A-77' });
    expect(byCode['B-100']).toMatchObject({ material: 'BASE', work_order: 'WO-7', status: 'released' });
    expect(bool(byCode['B-100']!.placeholder)).toBe(false);
    // Named only by the shipment: stays a placeholder.
    expect(bool(byCode['F-900']!.placeholder)).toBe(true);
    expect(byCode['F-900']!.material).toBeNull();

    const materials = await db.query('select code, name, kind, placeholder from material order by code');
    expect(materials.map((m) => [m.code, m.name, m.kind, bool(m.placeholder)])).toEqual([
      ['BASE', null, null, true],
      ['HARDENER', null, null, true],
      ['RESIN', INJECT_NAME, 'raw', false],
    ]);

    const links = await db.query(
      `select i.code as input, o.code as output, k.qty, op.code as operation, k.at
       from lot_link k join lot i on i.id = k.input_lot_id join lot o on o.id = k.output_lot_id left join operation op on op.id = k.operation_id
       order by i.code`,
    );
    expect(links.map((k) => [k.input, k.output, k.qty, k.operation, iso(k.at)])).toEqual([
      ['R-001', 'B-100', 12.5, 'OP-9', '2026-03-01T09:00:00.000Z'],
      ['R-002', 'B-100', 3, 'OP-9', '2026-03-01T09:00:00.000Z'],
    ]);

    // The second operation event updates the first: its start and end win, the operator it did not name stays.
    const [op] = await db.query(
      `select o.step_seq, o.started_at, o.ended_at, o.result, l.code as lot, w.code as wo, e.code as equipment, p.code as operator
       from operation o join lot l on l.id = o.lot_id left join work_order w on w.id = o.work_order_id
       join equipment e on e.id = o.equipment_id left join personnel p on p.id = o.operator_id`,
    );
    expect([op!.lot, op!.wo, op!.equipment, op!.operator, op!.step_seq, op!.result]).toEqual(['B-100', 'WO-7', 'MIX-1', 'P-3', 10, 'ok']);
    expect([iso(op!.started_at), iso(op!.ended_at)]).toEqual(['2026-03-01T08:30:00.000Z', '2026-03-01T10:00:00.000Z']);

    const samples = await db.query('select s.parameter, s.ts, s.value, s.quality, e.code as equipment from sample s join equipment e on e.id = s.equipment_id order by s.ts');
    expect(samples.map((s) => [s.equipment, s.parameter, iso(s.ts), s.value, s.quality])).toEqual([
      ['MIX-1', 'temp', '2026-03-01T08:00:00.000Z', 81.2, null],
      ['MIX-1', 'temp', '2026-03-01T08:00:05.500Z', 81.4, 'good'],
    ]);

    const [wo] = await db.query('select w.qty, w.status, r.code as route, r.version, m.code as product from work_order w join route r on r.id = w.route_id join material m on m.id = w.product_id');
    expect([wo!.route, wo!.version, wo!.product, wo!.qty, wo!.status]).toEqual(['RT-BASE', 2, 'BASE', 100, 'running']);
    const steps = await db.query('select seq, operation, equipment_class from route_step order by seq');
    expect(steps.map((s) => [s.seq, s.operation, s.equipment_class])).toEqual([
      [10, 'mix', 'mixer'],
      [20, 'fill', null],
    ]);
    const [spec] = await db.query('select step_seq, parameter, lsl, target, usl, unit from parameter_spec');
    expect(spec).toMatchObject({ step_seq: 10, parameter: 'temp', lsl: 75, target: 80, usl: 85, unit: 'C' });
    const [insp] = await db.query('select i.result, i.value, p.code as inspector from inspection i left join personnel p on p.id = i.inspector_id');
    expect(insp).toMatchObject({ result: 'fail', value: 2.7, inspector: 'P-3' });
    const [ship] = await db.query('select l.code as lot, c.code as customer, c.name, s.qty, s.order_ref from shipment s join lot l on l.id = s.lot_id join customer c on c.id = s.customer_id');
    expect(ship).toMatchObject({ lot: 'F-900', customer: 'C-12', name: 'Customer 12', qty: 40, order_ref: 'SO-1' });
    const [alarm] = await db.query('select a.rule, a.limit_value, a.severity, a.raised_at, e.code as equipment from alarm a join equipment e on e.id = a.equipment_id');
    expect([alarm!.rule, alarm!.limit_value, alarm!.severity, iso(alarm!.raised_at), alarm!.equipment]).toEqual(['USL', 85, 'warning', '2026-03-01T08:10:00.000Z', 'MIX-1']);
  });

  it.skipIf(!!target.unavailable)('stores SQL injection strings verbatim and keeps every table', async () => {
    const suppliers = await db.query('select code, name from supplier where code = :code', { code: INJECT_SUPPLIER });
    expect(suppliers).toEqual([{ code: INJECT_SUPPLIER, name: 'Robert\'); DROP TABLE supplier;--' }]);
    expect((await db.query('select code from lot where code = :code', { code: INJECT_LOT })).map((r) => r.code)).toEqual([INJECT_LOT]);
    for (const t of TABLES) expect(await db.knex.schema.hasTable(t), t).toBe(true);
  });

  it.skipIf(!!target.unavailable)('stores codes with tabs, line breaks, backslashes and \\N verbatim (bulk paths encode them)', async () => {
    const odd = ['tab\there', 'line\nbreak', 'cr\rhere', 'back\\slash', '\\N', 'trailing\\', '\u00e4\u20ac\u4e2d'];
    const events: TraceEvent[] = odd.map((parameter, i) => ({
      type: 'sample', id: `odd-${i}`, equipment: 'ODD\t1', parameter, ts: `2026-05-01T00:00:0${i}Z`, value: i === 0 ? -0.5 : 1e21 + i,
    }));
    expect(await ingestEvents(db, events)).toEqual({ written: odd.length, duplicates: 0 });
    const rows = await db.query("select e.code as equipment, s.parameter, s.value from sample s join equipment e on e.id = s.equipment_id where e.code like 'ODD%' order by s.ts");
    expect(rows.map((r) => [r.equipment, r.parameter, Number(r.value)])).toEqual(odd.map((p, i) => ['ODD\t1', p, i === 0 ? -0.5 : 1e21 + i]));
    expect(await ingestEvents(db, events)).toEqual({ written: 0, duplicates: odd.length });
  });

  it.skipIf(!!target.unavailable)('ingesting the same file again changes nothing and reports duplicates', async () => {
    const before = await counts();
    const r = cli([path.join(dir, 'day.ndjson'), '--db', tdb.url]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: 21 read, 0 written, 21 duplicates, 0 invalid/);
    expect(await counts()).toEqual(before);
  });

  it.skipIf(!!target.unavailable)('a sample repeating a stored equipment, parameter and time under a new id is a duplicate and keeps the first value', async () => {
    const before = await counts();
    const again = [
      { type: 'sample', id: 's1-again', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T09:00:00+01:00', value: 99 },
      { type: 'sample', id: 's3', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T08:00:09Z', value: 80 },
    ];
    const r = cli([file('repeat.ndjson', ndjson(again)), '--db', tdb.url]);
    expect(r.stdout).toMatch(/: 2 read, 1 written, 1 duplicates, 0 invalid/);
    const after = await counts();
    expect(after.ingest_event).toBe(before.ingest_event);
    expect(after.sample).toBe(before.sample! + 1);
    const rows = await db.query("select value from sample where parameter = 'temp' order by ts");
    expect(rows.map((x) => x.value)).toEqual([81.2, 81.4, 80]);
  });

  it.skipIf(!!target.unavailable)('a sample replayed under its id writes nothing and counts as a duplicate; the ledger holds no sample ids', async () => {
    const before = await counts();
    const replay: TraceEvent[] = [
      { type: 'sample', id: 's2', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T09:00:05.5+01:00', value: 12 },
      { type: 'sample', id: 's2', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T09:00:05.5+01:00', value: 13 },
      { type: 'sample', id: 's3', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T08:00:09Z', value: 14 },
    ];
    expect(await ingestEvents(db, replay)).toEqual({ written: 0, duplicates: 3 });
    expect(await counts()).toEqual(before);
    const rows = await db.query("select value from sample where parameter = 'temp' order by ts");
    expect(rows.map((x) => x.value)).toEqual([81.2, 81.4, 80]);
    const ledger = await db.query("select event_id, type from ingest_event where type = 'sample' or event_id in ('s1', 's2', 's3', 's1-again')");
    expect(ledger).toEqual([]);
    // Other event types keep their ledger row.
    expect((await db.query("select event_id from ingest_event where event_id = 'l1'")).map((x) => x.event_id)).toEqual(['l1']);
  });

  it.skipIf(!!target.unavailable)('a file with one bad line writes nothing, exits 2 and names the line and field', async () => {
    const before = await counts();
    const events: object[] = [
      { type: 'lot', id: 'bad-1', lot: 'N-1', material: 'RESIN' },
      { type: 'sample', id: 'bad-2', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-03T08:00:00Z', value: 70 },
      { type: 'consume', id: 'bad-3', output: 'N-2', inputs: [{ lot: 'N-1', qty: 'lots' }] },
      { type: 'sample', id: 'bad-4', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-03T08:00:01Z', value: 71 },
    ];
    const bad = file('bad.ndjson', ndjson(events));
    const r = cli([bad, '--db', tdb.url]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('tracereport: INGEST_INVALID: 1 of 4 lines are invalid, so nothing was written.');
    expect(r.stderr).toContain(`${bad}:3: inputs[0].qty: must be a number, got text "lots"`);
    expect(await counts()).toEqual(before);
    // One event per batch: where the store writes while it validates (SQLite), lines 1-2 were written before line 3 was read.
    const small = cli([bad, '--db', tdb.url, '--batch-size', '1']);
    expect(small.status).toBe(2);
    expect(small.stderr).toContain('1 of 4 lines are invalid, so nothing was written.');
    expect(await counts()).toEqual(before);
  });

  it.skipIf(!!target.unavailable)('--skip-invalid writes the rest and puts the bad line with its error in the rejects file', async () => {
    const before = await counts();
    const bad = path.join(dir, 'bad.ndjson');
    const rejects = path.join(dir, 'bad.rejects.ndjson');
    const r = cli([bad, '--db', tdb.url, '--skip-invalid']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: 4 read, 3 written, 0 duplicates, 1 invalid/);
    expect(r.stderr).toContain(`${bad}:3: inputs[0].qty: must be a number, got text "lots"`);
    const after = await counts();
    expect(after.ingest_event).toBe(before.ingest_event! + 1); // the lot; samples have no ledger row
    expect(after.sample).toBe(before.sample! + 2);
    expect(after.lot).toBe(before.lot! + 1); // N-1; N-2 was only named by the rejected line
    expect(after.lot_link).toBe(before.lot_link);
    const lines = fs.readFileSync(rejects, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toEqual({
      file: bad,
      line: 3,
      errors: [{ field: 'inputs[0].qty', message: 'must be a number, got text "lots"' }],
      text: fs.readFileSync(bad, 'utf8').split('\n')[2],
    });
    // A named rejects file; the bad line again, the good ones are duplicates now.
    const named = path.join(dir, 'out', 'my-rejects.ndjson');
    const again = cli([bad, '--db', tdb.url, '--skip-invalid', '--rejects', named]);
    expect(again.stdout).toMatch(/: 4 read, 0 written, 3 duplicates, 1 invalid/);
    expect(JSON.parse(fs.readFileSync(named, 'utf8')).line).toBe(3);
  });

  it.skipIf(!!target.unavailable)('reads standard input with -', async () => {
    const events = [
      { type: 'lot', id: 'stdin-1', lot: 'S-1', material: 'RESIN', qty: 1 },
      { type: 'consume', id: 'stdin-2', output: 'S-2', inputs: [{ lot: 'S-1', qty: 1 }] },
    ];
    const r = cli(['-', '--db', tdb.url], ndjson(events));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ingested standard input: 2 read, 2 written, 0 duplicates, 0 invalid/);
    const links = await db.query('select i.code as input, o.code as output from lot_link k join lot i on i.id = k.input_lot_id join lot o on o.id = k.output_lot_id where i.code = :lot', {
      lot: 'S-1',
    });
    expect(links).toEqual([{ input: 'S-1', output: 'S-2' }]);
    const bad = cli(['-', '--db', tdb.url], '{"type":"lot","id":"stdin-3"}\n');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('<stdin>:1: lot: is required');
  });

  it.skipIf(!!target.unavailable)('module API: ingestEvents streams batches; ingestFiles throws INGEST_INVALID with details', async () => {
    const N = 12_000;
    function* samples(): Generator<TraceEvent> {
      for (let i = 0; i < N; i++) {
        yield { type: 'sample', id: `api-${i}`, equipment: `EQ-${i % 7}`, parameter: 'pressure', ts: new Date(Date.UTC(2026, 3, 1) + i * 1000).toISOString(), value: i / 10 };
      }
    }
    const progress: number[] = [];
    const r = await ingestEvents(db, samples(), { batchSize: 5_000, onProgress: (n) => progress.push(n) });
    expect(r).toEqual({ written: N, duplicates: 0 });
    expect(progress).toEqual([5_000, 10_000, 12_000]);
    // 12,000 in batches of 4,000: the last batch is full, so the run ends with a sync of the store.
    const again = await ingestEvents(db, samples(), { batchSize: 4_000 });
    expect(again).toEqual({ written: 0, duplicates: N });
    expect(Number((await db.query("select count(*) as n from sample where parameter = 'pressure'"))[0]!.n)).toBe(N);
    expect(Number((await db.query("select count(*) as n from equipment where code like 'EQ-%' and placeholder = :p", { p: true }))[0]!.n)).toBe(7);

    const bad = file('api-bad.ndjson', '{"type":"sample","id":"x"}\n\nnot json\n');
    const err = await ingestFiles(db, [bad]).catch((e: unknown) => e);
    expect(isTraceReportError(err) && err.code).toBe('INGEST_INVALID');
    const details = (err as { details: { errors: Array<{ line: number; field: string }>; invalid: number } }).details;
    expect(details.invalid).toBe(2);
    expect(details.errors.map((e) => [e.line, e.field])).toEqual([
      [1, 'equipment'],
      [1, 'parameter'],
      [1, 'ts'],
      [1, 'value'],
      [3, ''],
    ]);
  });
});
