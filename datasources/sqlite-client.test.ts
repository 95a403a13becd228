import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DataSource } from './data-source.js';
import { KEPT_STATEMENTS, keptStatement, SqliteClient } from './sqlite-client.js';

describe('kept SQLite statements', () => {
  it('one statement per SQL text and connection, the least recently used dropped beyond the limit', () => {
    const a = new Database(':memory:');
    const b = new Database(':memory:');
    try {
      const s1 = keptStatement(a, 'select 1 as x');
      expect(keptStatement(a, 'select 1 as x')).toBe(s1);
      expect(keptStatement(b, 'select 1 as x')).not.toBe(s1);
      for (let i = 0; i < KEPT_STATEMENTS - 1; i++) keptStatement(a, `select ${i + 2} as x`);
      keptStatement(a, 'select 1 as x'); // used again: now the most recent
      keptStatement(a, 'select -1 as x'); // one over: the least recently used ("select 2") goes
      expect(keptStatement(a, 'select 1 as x')).toBe(s1);
      const s2 = keptStatement(a, 'select 2 as x');
      expect(s2.get()).toEqual({ x: 2 });
    } finally {
      a.close();
      b.close();
    }
  });

  it('a kept statement follows a schema change', () => {
    const db = new Database(':memory:');
    try {
      db.exec('create table t (a integer)');
      const insert = keptStatement(db, 'insert into t (a) values (?)');
      const read = keptStatement(db, 'select * from t order by a');
      insert.run(1);
      db.exec('alter table t add column b text default \'x\'');
      insert.run(2);
      expect(keptStatement(db, 'select * from t order by a')).toBe(read);
      expect(read.all()).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'x' }]);
    } finally {
      db.close();
    }
  });

  it('every SQLite data source queries through it: reads, writes with their ids and counts, bound values', async () => {
    const ds = new DataSource('kept', ':memory:');
    try {
      expect(ds.knex.client).toBeInstanceOf(SqliteClient);
      await ds.knex.schema.createTable('item', (t) => {
        t.increments('id');
        t.string('code');
      });
      const ids = [];
      for (const code of ['A', 'B', 'C']) ids.push(await ds.knex('item').insert({ code }));
      expect(ids).toEqual([[1], [2], [3]]);
      expect(await ds.knex('item').where('code', '>', 'A').update({ code: 'Z' })).toBe(2);
      for (const code of ['A', 'Z', 'Q']) {
        expect((await ds.knex('item').where({ code }).count({ n: '*' }))[0]).toEqual({ n: code === 'Z' ? 2 : code === 'A' ? 1 : 0 });
      }
      expect(await ds.query('select code from item where id = :id', { id: 2 })).toEqual([{ code: 'Z' }]);
    } finally {
      await ds.close();
    }
  });
});
