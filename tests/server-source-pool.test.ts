/**
 * The pool of open data sources through the API, on SQLite, PostgreSQL and MariaDB: renders of a report
 * (files, pages, the parameter panel, two users with their own row-level values) open its source once;
 * the field check before rows are read follows whether a parameter is set; a connection the database
 * closed is replaced without reopening the source (server databases), a SQLite file replaced by another is
 * opened anew; editing the source's URL makes the next render read the new database; deleting it closes
 * it. Counted in /metrics (tracereport_source_pool_opened_total, tracereport_source_pool_open).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from '../datasources/data-source.js';
import { dialectTargets, seedTable, type TestDatabase } from './support/databases.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

const targets = (await dialectTargets()).filter((t) => t.dialect !== 'mssql');

const grid = (name: string, sql: string, cells: Record<string, unknown>, parameters: unknown[] = []) => ({
  format: 1,
  kind: 'grid',
  name,
  parameters,
  datasets: [{ name: 'rows', source: 'plant', sql }],
  sheets: [{ name: 'Rows', cells }],
});

async function seed(db: TestDatabase, codes: string[]): Promise<void> {
  await seedTable(
    db.url,
    'item',
    (tb) => {
      tb.string('code', 20);
      tb.integer('qty');
    },
    codes.map((code, i) => ({ code, qty: i + 1 })),
  );
}

describe.each(targets)('data-source pool on $label', (target) => {
  let server: TestServer;
  let admin: Client;
  const users: Client[] = [];
  const dbs: TestDatabase[] = [];
  let sourceId: number;
  const ids: Record<'list' | 'shape' | 'mine', number> = { list: 0, shape: 0, mine: 0 };

  beforeAll(async () => {
    if (target.unavailable) return;
    dbs.push(await target.create(), await target.create());
    await seed(dbs[0]!, ['ONE-1', 'ONE-2']);
    await seed(dbs[1]!, ['TWO-1']);
    server = await startTestServer();
    admin = new Client(server.url);
    expect((await admin.login('admin', ADMIN_PASSWORD)).status).toBe(200);
    const created = await admin.request('POST', '/api/datasources', { name: 'plant', url: dbs[0]!.url });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    sourceId = created.json.dataSource.id;
    const folderId = (await admin.request('POST', '/api/folders', { name: 'Pool' })).json.folder.id as number;
    const templates = {
      list: grid('codes', 'select code, qty from item order by code', { A1: { field: 'rows.code', display: 'list' }, B1: { field: 'rows.qty' } }),
      // qty is a column only when "withQty" is set: the field check must not reuse the answer of the other case.
      // Unset, no row comes back either, so only the check before reading rows can tell (not the first row's).
      shape: grid('shape', 'select code{{#if withQty}}, qty{{/if}} from item {{#unless withQty}}where 1 = 0{{/unless}} order by code', { A1: { field: 'rows.code', display: 'list' }, B1: { field: 'rows.qty' } }, [
        { name: 'withQty', type: 'string' },
      ]),
      mine: grid('mine', 'select code from item where code = :$user.item order by code', { A1: { field: 'rows.code', display: 'list' } }),
    };
    for (const [key, template] of Object.entries(templates)) {
      const r = await admin.request('POST', '/api/templates', { folderId, template });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      ids[key as keyof typeof ids] = r.json.template.id;
    }
    for (const item of ['ONE-1', 'ONE-2']) {
      const password = `Pw-${item}-pooled-2026`;
      const u = await admin.request('POST', '/api/users', { username: `u-${item}`, password, roles: ['admin'], attributes: { item } });
      expect(u.status, JSON.stringify(u.json)).toBe(201);
      const c = new Client(server.url);
      expect((await c.login(`u-${item}`, password)).status).toBe(200);
      users.push(c);
    }
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    for (const db of dbs) await db.drop();
  });

  async function pool(): Promise<{ opened: number; open: number }> {
    const text = (await new Client(server.url).request('GET', '/metrics')).bytes.toString('utf8');
    const n = (name: string) => {
      const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
      expect(m, `${name} in /metrics`).not.toBeNull();
      return Number(m![1]);
    };
    return { opened: n('tracereport_source_pool_opened_total'), open: n('tracereport_source_pool_open') };
  }

  async function codes(id: number, params: Record<string, unknown> = {}, client = admin): Promise<string[]> {
    const r = await client.request('POST', `/api/reports/${id}/render`, { format: 'csv', params });
    expect(r.status, r.bytes.toString()).toBe(200);
    return r.bytes
      .toString('utf8')
      .replace(/^\ufeff/, '')
      .split(/\r?\n/)
      .filter(Boolean)
      .map((line) => line.split(',')[0]!);
  }

  it.skipIf(!!target.unavailable)('renders of a report open its source once', async () => {
    expect(await pool()).toEqual({ opened: 0, open: 0 });
    for (let i = 0; i < 5; i++) expect(await codes(ids.list)).toEqual(['ONE-1', 'ONE-2']);
    const page = await admin.request('POST', `/api/reports/${ids.list}/page`, { params: {}, page: 1 });
    expect(page.status, JSON.stringify(page.json)).toBe(200);
    expect(page.json.html).toContain('ONE-2');
    expect((await admin.request('POST', `/api/reports/${ids.shape}/parameters`, { params: {} })).status).toBe(200);
    // Connections are shared, rows are not: each user gets the rows of their own bound value.
    expect(await codes(ids.mine, {}, users[0])).toEqual(['ONE-1']);
    expect(await codes(ids.mine, {}, users[1])).toEqual(['ONE-2']);
    expect(await pool()).toEqual({ opened: 1, open: 1 });
  });

  it.skipIf(!!target.unavailable)('the field check follows whether a parameter is set, not an earlier answer', async () => {
    expect(await codes(ids.shape, { withQty: 'yes' })).toEqual(['ONE-1', 'ONE-2']);
    expect(await codes(ids.shape, { withQty: 'also yes' })).toEqual(['ONE-1', 'ONE-2']);
    const unset = await admin.request('POST', `/api/reports/${ids.shape}/render`, { format: 'csv', params: {} });
    expect(unset.status).toBe(400);
    expect(unset.json.error.code).toBe('FIELD_UNKNOWN');
    expect(await codes(ids.shape, { withQty: 'yes' })).toEqual(['ONE-1', 'ONE-2']);
    expect((await pool()).opened).toBe(1);
  });

  it.skipIf(target.dialect === 'sqlite' || !!target.unavailable)('a connection the database closed is replaced without reopening the source', async () => {
    expect(await codes(ids.list)).toEqual(['ONE-1', 'ONE-2']);
    const database = new URL(dbs[0]!.url).pathname.slice(1);
    const adminDb = knexFactory(new DataSource('admin', dbs[1]!.url).spec.knexConfig);
    try {
      const backends = async (): Promise<number[]> => {
        if (target.dialect === 'postgres') {
          const r = await adminDb.raw('select pid as id from pg_stat_activity where datname = ?', [database]);
          return (r.rows as { id: number }[]).map((x) => Number(x.id));
        }
        const [rows] = await adminDb.raw('select id from information_schema.processlist where db = ?', [database]);
        return (rows as { id: number }[]).map((x) => Number(x.id));
      };
      const before = await backends();
      expect(before.length).toBeGreaterThan(0);
      for (const id of before) {
        if (target.dialect === 'postgres') await adminDb.raw('select pg_terminate_backend(?)', [id]);
        else await adminDb.raw(`kill ${Number(id)}`);
      }
      while ((await backends()).some((id) => before.includes(id))) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await adminDb.destroy();
    }
    expect(await codes(ids.list)).toEqual(['ONE-1', 'ONE-2']);
    expect(await pool()).toEqual({ opened: 1, open: 1 });
  });

  it.skipIf(target.dialect !== 'sqlite')('a SQLite file replaced by another is opened anew', async () => {
    expect(await codes(ids.list)).toEqual(['ONE-1', 'ONE-2']);
    const file = dbs[0]!.url;
    const next = path.join(path.dirname(file), 'next.sqlite');
    const db = new Database(next);
    db.exec("create table item (code varchar(20), qty integer); insert into item values ('NEW-1', 1), ('ONE-1', 2), ('ONE-2', 3)");
    db.close();
    fs.renameSync(next, file);
    expect(await codes(ids.list)).toEqual(['NEW-1', 'ONE-1', 'ONE-2']);
    expect(await pool()).toEqual({ opened: 2, open: 1 });
  });

  it.skipIf(!!target.unavailable)('editing the URL closes the source; the next render reads the new database', async () => {
    const { opened } = await pool();
    const r = await admin.request('PUT', `/api/datasources/${sourceId}`, { url: dbs[1]!.url });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(await pool()).toEqual({ opened, open: 0 });
    expect(await codes(ids.list)).toEqual(['TWO-1']);
    expect(await codes(ids.list)).toEqual(['TWO-1']);
    expect(await pool()).toEqual({ opened: opened + 1, open: 1 });
  });

  it.skipIf(!!target.unavailable)('deleting the source closes it', async () => {
    const { opened } = await pool();
    expect((await admin.request('DELETE', `/api/datasources/${sourceId}`)).status).toBe(204);
    expect(await pool()).toEqual({ opened, open: 0 });
    const r = await admin.request('POST', `/api/reports/${ids.list}/render`, { format: 'csv', params: {} });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('SOURCE_UNKNOWN');
    expect(await pool()).toEqual({ opened, open: 0 });
  });
});
