/**
 * The statement timeout on SQLite, which cannot interrupt a running statement: the time spent in the
 * database is checked once a statement returns (query) or after each row (stream). The reader's own time
 * between rows does not count, and the connection is usable after a timeout or a stream left early.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from '../datasources/data-source.js';

const slow = 'with recursive c(n) as (select 1 union all select n + 1 from c where n < 10000000) select count(*) as n from c';

describe('SQLite statement timeout', () => {
  let dir: string;
  let ds: DataSource;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-sqlite-timeout-'));
    // One connection: a statement left open on it would break the next query.
    ds = new DataSource('local', path.join(dir, 'db.sqlite'), { statementTimeoutMs: 200, connections: { max: 1 } });
    await ds.knex.raw('create table item (id integer)');
    await ds.knex.raw('insert into item values (1), (2), (3)');
  });

  afterAll(async () => {
    await ds.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const consume = async (it: AsyncIterable<unknown>): Promise<unknown[]> => {
    const out: unknown[] = [];
    for await (const r of it) out.push(r);
    return out;
  };

  it.each([
    ['query', () => ds.query(slow)],
    ['stream', () => consume(ds.stream(slow))],
  ])('%s: a statement longer than the timeout fails with SOURCE_TIMEOUT', async (_, run) => {
    await expect(run()).rejects.toMatchObject({ code: 'SOURCE_TIMEOUT', message: expect.stringContaining('(200 ms)') });
    expect(await ds.query('select count(*) as n from item')).toEqual([{ n: 3 }]);
  });

  it('the time a reader takes between rows does not count', async () => {
    const rows: unknown[] = [];
    for await (const r of ds.stream('select id from item order by id')) {
      rows.push(r);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect(rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('a stream left early ends its statement', async () => {
    for await (const r of ds.stream('select id from item order by id')) {
      expect(r).toEqual({ id: 1 });
      break;
    }
    expect(await ds.query('select count(*) as n from item')).toEqual([{ n: 3 }]);
    await ds.knex.raw('insert into item values (4)');
    expect(await ds.query('select count(*) as n from item')).toEqual([{ n: 4 }]);
  });
});
