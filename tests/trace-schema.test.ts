/**
 * The trace store's schema on every database: the sample table's key, and its foreign key to equipment kept
 * on SQLite only (migration 002: the per-row check was 45 % of PostgreSQL's work per sample).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import { openTraceStore } from '../trace/store.js';
import * as m002 from '../trace/migrations/002-sample-without-equipment-fk.js';
import { dialectTargets, type TestDatabase } from './support/databases.js';

const targets = await dialectTargets();

async function sampleForeignKeys(db: DataSource): Promise<number> {
  if (db.dialect === 'sqlite') return (await db.query<{ table: string }>('select * from pragma_foreign_key_list(\'sample\')')).length;
  const schema = db.dialect === 'mysql' ? 'table_schema = database()' : db.dialect === 'postgres' ? 'table_schema = current_schema()' : '1 = 1';
  const rows = await db.query<{ n: number }>(
    `select count(*) as n from information_schema.table_constraints where table_name = 'sample' and constraint_type = 'FOREIGN KEY' and ${schema}`,
  );
  return Number(rows[0]!.n);
}

describe.each(targets)('trace store schema on $label', (target) => {
  let t: TestDatabase;
  let db: DataSource;
  beforeAll(async () => {
    if (target.unavailable) return;
    t = await target.create();
    db = await openTraceStore(t.url);
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  it.skipIf(target.unavailable !== '')('sample has no foreign key to equipment except on SQLite; the migration goes both ways', async () => {
    const expected = target.dialect === 'sqlite' ? 1 : 0;
    expect(await sampleForeignKeys(db)).toBe(expected);
    await m002.down(db.knex);
    expect(await sampleForeignKeys(db)).toBe(1);
    await m002.up(db.knex);
    expect(await sampleForeignKeys(db)).toBe(expected);
    const applied = await db.query<{ name: string }>('select name from tr_migrations order by name');
    expect(applied.map((r) => r.name)).toEqual(['001-trace-store', '002-sample-without-equipment-fk', '003-collector-status']);
  });

  it.skipIf(target.unavailable !== '')('a store made before migration 002 is brought up to it when opened', async () => {
    const before = await target.create();
    try {
      const first = await openTraceStore(before.url);
      await m002.down(first.knex);
      await first.knex('tr_migrations').where({ name: '002-sample-without-equipment-fk' }).delete();
      expect(await sampleForeignKeys(first)).toBe(1);
      await first.close();
      const again = await openTraceStore(before.url);
      try {
        expect(await sampleForeignKeys(again)).toBe(target.dialect === 'sqlite' ? 1 : 0);
      } finally {
        await again.close();
      }
    } finally {
      await before.drop();
    }
  });
});
