import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import type { TraceEvent } from '../trace/ingest/events.js';
import { MSSQL_MAX_ROWS } from '../trace/ingest/sql-sets.js';
import { createSetWriter } from '../trace/ingest/writer-sets.js';

/**
 * SQL Server without a server: the set writer runs a batch of every event type against a recording
 * transaction that compiles each statement with knex's mssql client (as it would be sent: `@pN` parameters)
 * and answers like SQL Server would. The live suite (tests/ingest.test.ts) runs when MSSQL_URL is set.
 */

interface Sent {
  sql: string;
  bindings: unknown[];
}

const mssql = knexFactory({ client: 'mssql' });

function recordingSource(): { db: DataSource; sent: Sent[] } {
  const sent: Sent[] = [];
  let nextId = 1;
  const trx = {
    async raw(sql: string, bindings: unknown[]) {
      const native = mssql.raw(sql, bindings as never).toSQL().toNative();
      sent.push({ sql: native.sql, bindings: native.bindings as unknown[] });
      const text = native.sql;
      // `insert … output inserted.[event_id]`: every id is new.
      if (text.startsWith('insert into [ingest_event]')) return (native.bindings as unknown[]).filter((_, i) => i % 3 === 0).map((id) => ({ event_id: id }));
      // `insert into [sample] output inserted.[equipment_id] … where not exists`: every key is new, one output row per sample.
      if (text.startsWith('insert into [sample] ([equipment_id], [parameter], [ts], [value], [quality]) output inserted.[equipment_id] select')) {
        return (native.bindings as unknown[]).filter((_, i) => i % 5 === 0).map((id) => ({ equipment_id: id }));
      }
      // Code look-ups find every code (the route by code alone cannot tell its version: left to selectOne).
      if (/^select \[id\], \[code\] from \[(?!route\])/.test(text)) return (native.bindings as unknown[]).map((code) => ({ id: nextId++, code }));
      if (/^select \[id\], \[code\], \[version\] from \[route\] where \[code\] = @p0 and \[version\] = @p1;$/.test(text)) return [{ id: nextId++ }];
      return [];
    },
  };
  const db = {
    dialect: 'mssql',
    knex: { transaction: async <T>(fn: (t: typeof trx) => Promise<T>) => fn(trx) },
    wrapError: (e: unknown) => e as Error,
  } as unknown as DataSource;
  return { db, sent };
}

const AT = '2026-03-01T08:00:00Z';
const INJECT = "X'); DROP TABLE lot;--";
const EVERY_TYPE: TraceEvent[] = [
  { type: 'consume', id: 'c1', output: 'B-1', inputs: [{ lot: 'R-1', qty: 1.5 }, { lot: INJECT, qty: 2 }], operation: 'OP-1', at: AT },
  { type: 'lot', id: 'l1', lot: 'R-1', material: 'M-1', qty: 10, uom: 'kg', status: 'released', supplier: 'S-1', supplierLot: 'SL', workOrder: 'WO-1', at: AT },
  { type: 'operation', id: 'o1', operation: 'OP-1', lot: 'B-1', workOrder: 'WO-1', step: 10, equipment: 'E-1', operator: 'P-1', start: AT, end: AT, result: 'ok' },
  { type: 'sample', id: 's1', equipment: 'E-1', parameter: 'temp', ts: '2026-03-01T09:00:00.5+01:00', value: 80.5, quality: 'good' },
  { type: 'inspection', id: 'i1', lot: 'B-1', characteristic: 'visc', value: 2, lsl: 1, usl: 3, inspector: 'P-1', at: AT },
  { type: 'alarm', id: 'a1', rule: 'USL', equipment: 'E-1', parameter: 'temp', value: 90, limit: 85, severity: 'critical', raisedAt: AT, clearedAt: AT, ackedBy: 'P-1', message: 'hot' },
  { type: 'shipment', id: 'sh1', lot: 'B-1', customer: 'C-1', qty: 1, at: AT, orderRef: 'SO' },
  { type: 'material', id: 'm1', material: 'M-1', name: "' OR '1'='1", kind: 'raw', uom: 'kg' },
  { type: 'supplier', id: 'su1', supplier: 'S-1', name: 'Sup', country: 'DE' },
  { type: 'customer', id: 'cu1', customer: 'C-1', name: 'Cust', country: 'FR' },
  { type: 'equipment', id: 'eq1', equipment: 'E-1', name: 'Mixer', class: 'mixer', line: 'L1', area: 'A', plant: 'P' },
  { type: 'personnel', id: 'p1', person: 'P-1', name: 'Ann', role: 'operator' },
  { type: 'workOrder', id: 'w1', workOrder: 'WO-1', product: 'M-2', qty: 5, route: 'RT', routeVersion: 2, status: 'running', erpRef: 'ERP', plant: 'P' },
  { type: 'route', id: 'r1', route: 'RT', version: 2, name: 'Route', product: 'M-2', steps: [{ seq: 10, operation: 'mix', equipmentClass: 'mixer' }] },
  { type: 'parameterSpec', id: 'ps1', route: 'RT', version: 2, step: 10, parameter: 'temp', lsl: 1, target: 2, usl: 3, unit: 'C' },
];

function checkStatement(s: Sent): void {
  expect(s.sql).not.toMatch(/on conflict|on duplicate key|returning|insert ignore|::|`|"/i);
  expect(s.bindings.length).toBeLessThanOrEqual(2100);
  // Every value is a bound @pN, numbered from 0 without gaps.
  const params = [...s.sql.matchAll(/@p(\d+)/g)].map((m) => Number(m[1]));
  expect(params).toEqual(s.bindings.map((_, i) => i));
  expect(s.sql.trimEnd().endsWith(';')).toBe(true);
  expect(s.sql).not.toContain('DROP TABLE');
  expect(s.sql).not.toContain("'");
}

describe('SQL Server statements of the ingest writer', () => {
  it('writes every event type with MERGE and insert-where-not-exists, all values bound', async () => {
    const { db, sent } = recordingSource();
    const r = await createSetWriter(db).write(EVERY_TYPE);
    expect(r).toEqual({ written: EVERY_TYPE.length, duplicates: 0 });
    for (const s of sent) checkStatement(s);

    const merges = sent.filter((s) => s.sql.startsWith('merge into'));
    expect(merges.map((s) => /^merge into \[(\w+)\]/.exec(s.sql)![1]).sort()).toEqual(
      ['customer', 'equipment', 'lot', 'material', 'operation', 'parameter_spec', 'personnel', 'route', 'supplier', 'work_order'].sort(),
    );
    for (const m of merges) {
      expect(m.sql).toMatch(/ with \(holdlock\) as t using \(select cast\(v\.\[\w+\] as [\w()]+\) as \[\w+\].* from \(values \(@p0/);
      expect(m.sql).toMatch(/ when not matched then insert \(.*\) values \(.*\);$/);
    }
    const lotMerge = merges.find((s) => s.sql.startsWith('merge into [lot]'))!.sql;
    expect(lotMerge).toContain('t.[qty] = coalesce(s.[qty], t.[qty])');
    expect(lotMerge).toContain('t.[placeholder] = 0');
    const specMerge = merges.find((s) => s.sql.startsWith('merge into [parameter_spec]'))!.sql;
    expect(specMerge).toContain('on t.[route_id] = s.[route_id] and t.[step_seq] = s.[step_seq] and t.[parameter] = s.[parameter]');
    expect(specMerge).toContain('t.[lsl] = s.[lsl]');

    const inserts = sent.filter((s) => s.sql.startsWith('insert into')).map((s) => /^insert into \[(\w+)\]/.exec(s.sql)![1]);
    for (const t of ['ingest_event', 'lot_link', 'sample', 'inspection', 'alarm', 'shipment', 'route_step']) expect(inserts, t).toContain(t);
    const sampleInsert = sent.find((s) => s.sql.startsWith('insert into [sample]'))!;
    expect(sampleInsert.sql).toContain('output inserted.[equipment_id] select');
    expect(sampleInsert.sql).toContain('where not exists (select 1 from [sample] as t with (updlock, holdlock) where t.[equipment_id] = s.[equipment_id] and t.[parameter] = s.[parameter] and t.[ts] = s.[ts]);');
    expect(sampleInsert.sql).toContain('cast(v.[ts] as datetime2(3))');
    // Times go as UTC text without the zone; datetime2 keeps the milliseconds.
    expect(sampleInsert.bindings).toContain('2026-03-01T08:00:00.500');
    const claim = sent.find((s) => s.sql.startsWith('insert into [ingest_event]'))!;
    expect(claim.sql).toContain('output inserted.[event_id]');
    // Every event but the sample has its id in the ledger: samples are idempotent by their key.
    expect(claim.bindings.filter((_, i) => i % 3 === 0).sort()).toEqual(EVERY_TYPE.filter((e) => e.type !== 'sample').map((e) => e.id).sort());
    expect(sent.some((s) => s.sql.startsWith('delete from [route_step] where [route_id] in (@p0);'))).toBe(true);
    // Injection strings travel as values only.
    expect(sent.some((s) => s.bindings.includes(INJECT))).toBe(true);
    expect(sent.some((s) => s.bindings.includes("' OR '1'='1"))).toBe(true);
  });

  it('counts a sample whose key SQL Server already holds (no output row) as a duplicate', async () => {
    const { db } = recordingSource();
    const sent: string[] = [];
    const trx = {
      async raw(sql: string) {
        sent.push(sql);
        // The equipment is found; the sample insert outputs no row (its key is stored).
        return sql.startsWith('select [id], [code] from [equipment]') ? [{ id: 1, code: 'E' }] : [];
      },
    };
    const stored = { ...db, knex: { transaction: async <T>(fn: (t: typeof trx) => Promise<T>) => fn(trx) } } as unknown as DataSource;
    const r = await createSetWriter(stored).write([{ type: 'sample', id: 'x', equipment: 'E', parameter: 'p', ts: AT, value: 1 }]);
    expect(r).toEqual({ written: 0, duplicates: 1 });
    expect(sent.filter((x) => x.startsWith('insert into [sample]'))).toHaveLength(1);
    expect(sent.some((x) => x.startsWith('insert into [ingest_event]'))).toBe(false);
  });

  it('splits big batches under 2,100 parameters and 1,000 rows per VALUES', async () => {
    const { db, sent } = recordingSource();
    const events: TraceEvent[] = Array.from({ length: 5_000 }, (_, i) => ({
      type: 'sample',
      id: `s${i}`,
      equipment: `E-${i % 3}`,
      parameter: 'p',
      ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      value: i,
    }));
    const r = await createSetWriter(db).write(events);
    expect(r.written).toBe(5_000);
    for (const s of sent) checkStatement(s);
    const sampleInserts = sent.filter((s) => s.sql.startsWith('insert into [sample]'));
    const rows = sampleInserts.map((s) => s.bindings.length / 5);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(5_000);
    expect(Math.max(...rows)).toBeLessThanOrEqual(MSSQL_MAX_ROWS);
    // Samples have no ledger row.
    expect(sent.filter((s) => s.sql.startsWith('insert into [ingest_event]'))).toEqual([]);
  });

  it('skips repeated ids and rows repeating a sample key within a batch (SQL Server would reject them in one statement); both are duplicates', async () => {
    const { db, sent } = recordingSource();
    const s = { type: 'sample', equipment: 'E', parameter: 'p', ts: AT, value: 1 } as const;
    const r = await createSetWriter(db).write([
      { ...s, id: 'a' },
      { ...s, id: 'a' },
      { ...s, id: 'b' },
    ]);
    expect(r).toEqual({ written: 1, duplicates: 2 });
    const sampleInsert = sent.find((x) => x.sql.startsWith('insert into [sample]'))!;
    expect(sampleInsert.bindings).toHaveLength(5);
  });
});
