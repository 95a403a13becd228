import { describe, expect, it } from 'vitest';
import knexFactory from 'knex';
import * as m001 from './001-trace-store.js';
import * as m002 from './002-sample-without-equipment-fk.js';
import * as m003 from './003-collector-status.js';

/** Compiles the migration's DDL for a client without a server (SQL Server cannot run here). */
async function ddl(client: string): Promise<string[]> {
  const k = knexFactory({ client, useNullAsDefault: true });
  const out: string[] = [];
  const fake = { schema: { createTable: async (name: string, cb: never) => void out.push(k.schema.createTable(name, cb).toString()) } };
  await m001.up(fake as never);
  await k.destroy();
  return out;
}

describe('trace store DDL', () => {
  it('SQL Server: T-SQL types, keys and both genealogy indexes', async () => {
    const sql = (await ddl('mssql')).join(';\n');
    expect(sql).toMatch(/CREATE TABLE \[lot_link\]/);
    expect(sql).toMatch(/CREATE INDEX \[lot_link_backward\] ON \[lot_link\] \(\[output_lot_id\], \[input_lot_id\]\)/);
    expect(sql).toMatch(/CREATE INDEX \[lot_link_forward\] ON \[lot_link\] \(\[input_lot_id\], \[output_lot_id\]\)/);
    expect(sql).toMatch(/\[ts\] datetime2 not null/);
    expect(sql).toMatch(/CONSTRAINT \[sample_pkey\] PRIMARY KEY \(\[equipment_id\], \[parameter\], \[ts\]\)/);
    expect(sql).toMatch(/\[code\] nvarchar\(64\) not null/);
    expect(sql).toMatch(/\[placeholder\] bit not null/);
    expect(sql).toMatch(/FOREIGN KEY \(\[input_lot_id\]\) REFERENCES \[lot\] \(\[id\]\)/);
    expect(sql).not.toMatch(/autoincrement|serial|unsigned|`/i);
  });

  it('every dialect gets the same tables and indexes', async () => {
    const tableNames = (stmts: string[]) => stmts.map((s) => /create table [`"[]?(\w+)/i.exec(s)?.[1]).sort();
    const indexNames = (stmts: string[]) => stmts.join('\n').match(/\b(lot_link_backward|lot_link_forward|lot_material_id_index|operation_lot_id_index)\b/g)?.sort();
    const base = await ddl('better-sqlite3');
    for (const client of ['pg', 'mysql2', 'mssql']) {
      const other = await ddl(client);
      expect(tableNames(other), client).toEqual(tableNames(base));
      expect([...new Set(indexNames(other))], client).toEqual([...new Set(indexNames(base))]);
      expect(other.join('\n'), client).toMatch(/primary key \([`"[]?equipment_id[`"\]]?, [`"[]?parameter[`"\]]?, [`"[]?ts/i);
    }
  });
});

describe('migration 002 DDL', () => {
  it.each([
    ['mssql', /alter table \[sample\] drop constraint \[sample_equipment_id_foreign\]/i],
    ['pg', /alter table "sample" drop constraint "sample_equipment_id_foreign"/i],
    ['mysql2', /alter table `sample` drop foreign key `sample_equipment_id_foreign`/i],
  ])('%s drops the sample -> equipment foreign key by its name', async (client, expected) => {
    const k = knexFactory({ client, useNullAsDefault: true });
    const out: string[] = [];
    const fake = { client: k.client, schema: { alterTable: async (name: string, cb: never) => void out.push(k.schema.alterTable(name, cb).toString()) } };
    await m002.up(fake as never);
    await k.destroy();
    expect(out.join('\n')).toMatch(expected);
  });
});

describe('migration 003 DDL', () => {
  /** The collector_status table as each client compiles it. */
  async function collectorStatusDdl(client: string): Promise<string> {
    const k = knexFactory({ client, useNullAsDefault: true });
    const out: string[] = [];
    const fake = { client: k.client, schema: { createTable: async (name: string, cb: never) => void out.push(k.schema.createTable(name, cb).toString()) } };
    await m003.up(fake as never);
    await k.destroy();
    expect(out).toHaveLength(1);
    return out[0]!;
  }

  it.each([
    ['better-sqlite3', /create table `collector_status`/, /`status` text/, /`updated_at` datetime not null/],
    ['pg', /create table "collector_status"/, /"status" text/, /"updated_at" timestamptz\(3\) not null/],
    ['mysql2', /create table `collector_status`/, /`status` mediumtext/, /`updated_at` datetime\(3\) not null/],
    ['mssql', /CREATE TABLE \[collector_status\]/, /\[status\] nvarchar\(max\)/, /\[updated_at\] datetime2 not null/],
  ])('%s: collector_status keyed by id, times with milliseconds, the status as long text', async (client, table, status, updated) => {
    const sql = await collectorStatusDdl(client);
    expect(sql).toMatch(table);
    expect(sql).toMatch(status);
    expect(sql).toMatch(updated);
    expect(sql).toMatch(/primary key \([`"[]?id[`"\]]?\)/i);
    for (const column of ['host', 'pid', 'started_at', 'interval_ms', 'state']) expect(sql).toMatch(new RegExp(`[\`"[]${column}[\`"\\]] \\w+(\\(\\d+\\))? not null`));
  });
});

describe('trace store DDL on SQLite', () => {
  it('creates sample WITHOUT ROWID, keyed by equipment, parameter and time', async () => {
    const k = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    try {
      await m001.up(k);
      const [row] = (await k.raw("select sql from sqlite_master where type = 'table' and name = 'sample'")) as Array<{ sql: string }>;
      expect(row!.sql).toMatch(/primary key \(`equipment_id`, `parameter`, `ts`\)\) without rowid$/);
      expect(row!.sql).toMatch(/foreign key\(`equipment_id`\) references `equipment`\(`id`\)/);
    } finally {
      await k.destroy();
    }
  });
});
