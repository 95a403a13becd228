import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { dialectTargets, type TestDatabase } from './support/databases.js';
import { DataSource } from '../datasources/data-source.js';
import { TraceReportError } from '../datasources/errors.js';

const targets = await dialectTargets();

describe.each(targets)('data source on $label', (target) => {
  let tdb: TestDatabase;
  let ds: DataSource;
  const skip = !!target.unavailable;
  beforeAll(async () => {
    if (skip) return;
    tdb = await target.create();
    ds = new DataSource('main', tdb.url, { rowLimit: 5000, statementTimeoutMs: 500 });
    await ds.knex.schema.createTable('item', (t) => {
      t.integer('id').primary();
      t.string('line', 16);
      t.string('name', 100);
    });
    const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i + 1, line: `L${(i % 3) + 1}`, name: `item ${i + 1}` }));
    for (let i = 0; i < rows.length; i += 500) await ds.knex.batchInsert('item', rows.slice(i, i + 500), 500);
  });
  afterAll(async () => {
    await ds?.close();
    await tdb?.drop();
  });

  it.skipIf(skip)('binds scalars and lists', async () => {
    const one = await ds.query<{ id: number; name: string }>('select id, name from item where id = :id', { id: 7 });
    expect(one).toEqual([{ id: 7, name: 'item 7' }]);
    const some = await ds.query<{ n: number }>('select count(*) as n from item where line in (:lines)', { lines: ['L1', 'L2'] });
    expect(Number(some[0]!.n)).toBe(2000);
    const none = await ds.query<{ n: number }>('select count(*) as n from item where line in (:lines)', { lines: [] });
    expect(Number(none[0]!.n)).toBe(0);
  });

  it.skipIf(skip)('optional clauses follow whether a parameter is set', async () => {
    const sql = 'select count(*) as n from item where 1=1 {{#if line}} and line in (:line){{/if}}';
    expect(Number((await ds.query<{ n: number }>(sql, { line: ['L3'] }))[0]!.n)).toBe(1000);
    expect(Number((await ds.query<{ n: number }>(sql, { line: null }))[0]!.n)).toBe(3000);
  });

  it.skipIf(skip)('injection strings are inert values', async () => {
    for (const evil of ["L1' or '1'='1", "L1'); delete from item; --", "' union select 1,2,3 --", 'L1" or "1"="1', 'L1\\\' or 1=1 -- ']) {
      const rows = await ds.query('select id from item where line = :line', { line: evil });
      expect(rows, evil).toEqual([]);
      const listed = await ds.query('select id from item where line in (:lines)', { lines: [evil, 'nope'] });
      expect(listed, evil).toEqual([]);
    }
    expect(Number((await ds.query<{ n: number }>('select count(*) as n from item'))[0]!.n)).toBe(3000);
  });

  it.skipIf(skip)('a query error is a query error, not a connection failure', async () => {
    const bad = target.dialect === 'postgres' ? "select 'a'::text = 1 as x" : 'select nope from item';
    await expect(ds.query(bad)).rejects.toMatchObject({ code: 'SOURCE_QUERY_FAILED' });
    const streamed = async () => {
      for await (const _ of ds.stream(bad)) void _;
    };
    await expect(streamed()).rejects.toMatchObject({ code: 'SOURCE_QUERY_FAILED' });
  });

  it.skipIf(skip)('tells the columns a query returns without reading its rows', async () => {
    const cols = await ds.columns('select id, name as item_name from item where line in (:lines) order by id', { lines: ['L1'] });
    if (target.dialect === 'mssql') expect(cols).toBeNull();
    else expect(cols).toEqual(['id', 'item_name']);
  });

  it.skipIf(skip)('streams rows one by one, in order', async () => {
    let count = 0;
    let last = 0;
    for await (const row of ds.stream<{ id: number }>('select id from item where id > :from order by id', { from: 0 })) {
      expect(Number(row.id)).toBe(last + 1);
      last = Number(row.id);
      count++;
    }
    expect(count).toBe(3000);
    // Breaking out early releases the connection: another query still runs.
    for await (const _ of ds.stream('select id from item order by id')) break;
    expect((await ds.query('select id from item where id = :id', { id: 1 })).length).toBe(1);
  });

  it.skipIf(skip)('stops at the row limit with a clear error', async () => {
    const small = new DataSource('small', tdb.url, { rowLimit: 100 });
    try {
      await expect(small.query('select id from item')).rejects.toMatchObject({ code: 'SOURCE_ROW_LIMIT' });
      const consume = async () => {
        for await (const _ of small.stream('select id from item')) void _;
      };
      await expect(consume()).rejects.toMatchObject({ code: 'SOURCE_ROW_LIMIT', message: expect.stringContaining('more than 100 rows') });
    } finally {
      await small.close();
    }
  });

  it.skipIf(skip || target.dialect === 'sqlite')('cancels a statement past its timeout', async () => {
    const sleep = { postgres: 'select pg_sleep(3) as s', mysql: 'select sleep(3) as s', mssql: "waitfor delay '00:00:03'; select 1 as s", sqlite: '' }[target.dialect];
    const t0 = Date.now();
    await expect(ds.query(sleep)).rejects.toMatchObject({ code: 'SOURCE_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(2900);
    // The source still works afterwards.
    expect((await ds.query('select id from item where id = :id', { id: 2 })).length).toBe(1);
  });

  it.skipIf(skip)('reports a failing query with the source name', async () => {
    await expect(ds.query('select nope from item')).rejects.toMatchObject({ code: 'SOURCE_QUERY_FAILED', message: expect.stringContaining('"main"') });
  });
});

describe('connection errors', () => {
  it.each([
    ['postgres://scott:tiger-secret@127.0.0.1:1/plant', '127.0.0.1'],
    ['mysql://scott:tiger-secret@127.0.0.1:2/plant', '127.0.0.1'],
  ])('name the source and host, never the password (%s)', async (url, host) => {
    const ds = new DataSource('erp', url);
    try {
      const err = await ds.ping().then(() => null, (e: unknown) => e as TraceReportError);
      expect(err).toBeInstanceOf(TraceReportError);
      expect(err!.code).toBe('SOURCE_CONNECT_FAILED');
      expect(err!.message).toContain('"erp"');
      expect(err!.message).toContain(host);
      expect(err!.message).not.toContain('tiger-secret');
      expect(JSON.stringify(err!.details)).not.toContain('tiger-secret');
    } finally {
      await ds.close();
    }
  });

  it('rejects an unknown scheme with the supported list', () => {
    expect(() => new DataSource('x', 'oracle://u:p@h/db')).toThrowError(/unsupported data-source scheme "oracle:"/);
  });
});
