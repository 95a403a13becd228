/**
 * A registered source's stored limits apply to the renders that read it, through the API, on SQLite,
 * PostgreSQL and MariaDB: its row limit (full mode, streaming mode, the paged viewer) and its statement
 * timeout (the statement is cancelled in the database; another source on the same database, without the
 * timeout, runs at the same time unhurt); editing either through PUT takes effect at the next render.
 */
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from '../datasources/data-source.js';
import type { Dialect } from '../datasources/source-url.js';
import { dialectTargets, seedTable, type TestDatabase } from './support/databases.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer, type Reply } from './server-support.js';

const targets = (await dialectTargets()).filter((t) => t.dialect !== 'mssql');

/**
 * A query that runs about `seconds` (SQLite: a recursive count, about a second per 5 million here; it
 * cannot be interrupted, so SQLite's slow query is kept short).
 */
function slowSql(dialect: Dialect, seconds: number): string {
  if (dialect === 'postgres') return `select 1 as x from pg_sleep(${seconds})`;
  if (dialect === 'mysql') return `select sleep(${seconds}) + 1 as x`;
  return `with recursive c(n) as (select 1 union all select n + 1 from c where n < ${seconds * 5_000_000}) select count(*) > 0 as x from c`;
}

const sheet = (name: string) => ({ name, cells: { A1: { field: 'rows.code', display: 'list' }, B1: { field: 'rows.qty', display: 'list' } } });

const grid = (name: string, source: string, sql: string, sheets: { name: string; cells: Record<string, { field: string; display: string }> }[] = [sheet('Rows')]) => ({
  format: 1,
  kind: 'grid',
  name,
  parameters: [],
  datasets: [{ name: 'rows', source, sql }],
  sheets,
});

describe.each(targets)('a source’s stored limits on $label', (target) => {
  let server: TestServer;
  let admin: Client;
  let db: TestDatabase;
  const sourceIds: Record<string, number> = {};
  const ids: Record<'streaming' | 'full' | 'big' | 'slow' | 'second', number> = { streaming: 0, full: 0, big: 0, slow: 0, second: 0 };

  beforeAll(async () => {
    if (target.unavailable) return;
    db = await target.create();
    await seedTable(
      db.url,
      'item',
      (tb) => {
        tb.string('code', 20);
        tb.integer('qty');
      },
      Array.from({ length: 20 }, (_, i) => ({ code: `IT-${String(i + 1).padStart(2, '0')}`, qty: i + 1 })),
    );
    await seedTable(
      db.url,
      'big',
      (tb) => {
        tb.string('code', 20);
        tb.integer('qty');
      },
      Array.from({ length: 400 }, (_, i) => ({ code: `B-${String(i + 1).padStart(4, '0')}`, qty: i + 1 })),
    );
    server = await startTestServer();
    admin = new Client(server.url);
    expect((await admin.login('admin', ADMIN_PASSWORD)).status).toBe(200);
    for (const [name, limits] of Object.entries({ limited: { rowLimit: 5 }, timed: { statementTimeoutMs: 200 }, plain: {} })) {
      const r = await admin.request('POST', '/api/datasources', { name, url: db.url, ...limits });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      sourceIds[name] = r.json.dataSource.id;
    }
    const folderId = (await admin.request('POST', '/api/folders', { name: 'Limits' })).json.folder.id as number;
    const items = 'select code, qty from item order by code';
    const slowCell = [{ name: 'Slow', cells: { A1: { field: 'rows.x', display: 'list' } } }];
    const templates = {
      streaming: grid('streaming', 'limited', items),
      // Two sheets read the dataset: the engine holds its rows in memory (full mode).
      full: grid('full', 'limited', items, [sheet('One'), sheet('Two')]),
      big: grid('big', 'limited', 'select code, qty from big order by code'),
      slow: grid('slow', 'timed', slowSql(target.dialect, target.dialect === 'sqlite' ? 2 : 30), slowCell),
      second: grid('second', 'plain', slowSql(target.dialect, 1), slowCell),
    };
    for (const [key, template] of Object.entries(templates)) {
      const r = await admin.request('POST', '/api/templates', { folderId, template });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      ids[key as keyof typeof ids] = r.json.template.id;
    }
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const render = (id: number): Promise<Reply> => admin.request('POST', `/api/reports/${id}/render`, { format: 'csv', params: {} });
  const page = (id: number, n: number): Promise<Reply> => admin.request('POST', `/api/reports/${id}/page`, { params: {}, page: n, rowsPerPage: 2 });
  const meta = (r: Reply): { mode: string; rowCounts: Record<string, number> } => JSON.parse(r.headers.get('x-render-meta') ?? '{}');
  const lines = (r: Reply): string[] => r.bytes.toString('utf8').replace(/^\ufeff/, '').split(/\r?\n/).filter(Boolean);
  const put = async (name: string, body: Record<string, unknown>) => {
    const r = await admin.request('PUT', `/api/datasources/${sourceIds[name]}`, body);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
  };

  it.skipIf(!!target.unavailable)('the row limit stops a render in full and in streaming mode, and a page past it', async () => {
    for (const id of [ids.full, ids.streaming]) {
      const r = await render(id);
      expect(r.status, r.bytes.toString()).toBe(422);
      expect(r.json.error.code).toBe('SOURCE_ROW_LIMIT');
      expect(r.json.error.message).toContain('source "limited"');
      expect(r.json.error.message).toContain('more than 5 rows');
      expect(r.json.error.details).toMatchObject({ source: 'limited', limit: 5 });
    }
    // The paged viewer reads rows in bands of a few hundred, so 20 rows are read for page 1 already.
    for (const id of [ids.full, ids.streaming]) {
      const r = await page(id, 1);
      expect(r.status, JSON.stringify(r.json)).toBe(422);
      expect(r.json.error).toMatchObject({ code: 'SOURCE_ROW_LIMIT', details: { source: 'limited', limit: 5 } });
    }
  });

  it.skipIf(!!target.unavailable)('the paged viewer in streaming mode reads only the rows up to its page', async () => {
    await put('limited', { rowLimit: 300 });
    // 400 rows: page 1 reads the first band (under 300 rows) and stops; page 150 needs rows 299-300 and the band after.
    const first = await page(ids.big, 1);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.meta.mode).toBe('streaming');
    expect(first.json.complete).toBe(false);
    expect(first.json.html).toContain('B-0002');
    const far = await page(ids.big, 150);
    expect(far.status, JSON.stringify(far.json)).toBe(422);
    expect(far.json.error).toMatchObject({ code: 'SOURCE_ROW_LIMIT', details: { source: 'limited', limit: 300 } });
    const all = await render(ids.big);
    expect(all.status).toBe(422);
    expect(all.json.error).toMatchObject({ code: 'SOURCE_ROW_LIMIT', details: { limit: 300 } });
  });

  it.skipIf(!!target.unavailable)('a row limit changed through PUT applies at the next render', async () => {
    await put('limited', { rowLimit: 10 });
    const ten = await render(ids.full);
    expect(ten.status).toBe(422);
    expect(ten.json.error.details).toMatchObject({ source: 'limited', limit: 10 });
    await put('limited', { rowLimit: 20 });
    for (const id of [ids.full, ids.streaming]) {
      const r = await render(id);
      expect(r.status, r.bytes.toString()).toBe(200);
      expect(meta(r).rowCounts.rows ?? lines(r).length).toBe(20);
    }
    expect(meta(await render(ids.full)).mode).toBe('full');
    expect(meta(await render(ids.streaming)).mode).toBe('streaming');
    const page10 = await page(ids.streaming, 10);
    expect(page10.status, JSON.stringify(page10.json)).toBe(200);
    expect(page10.json.html).toContain('IT-20');
    await put('limited', { rowLimit: 19 });
    expect((await render(ids.streaming)).json.error).toMatchObject({ code: 'SOURCE_ROW_LIMIT', details: { limit: 19 } });
    // null: the default limit again.
    await put('limited', { rowLimit: null });
    expect((await render(ids.full)).status).toBe(200);
  });

  it.skipIf(!!target.unavailable)('the statement timeout cancels the query; a source without it runs at the same time', async () => {
    const [slow, second] = await Promise.all([render(ids.slow), render(ids.second)]);
    expect(slow.status, slow.bytes.toString()).toBe(504);
    expect(slow.json.error.code).toBe('SOURCE_TIMEOUT');
    expect(slow.json.error.message).toContain('source "timed"');
    expect(slow.json.error.message).toContain('200 ms');
    expect(second.status, second.bytes.toString()).toBe(200);
    expect(lines(second)).toEqual(['1']);
    if (target.dialect !== 'sqlite') {
      // Cancelled in the database, not merely given up on: the 30-second sleep no longer runs.
      const probe = knexFactory(new DataSource('probe', db.url).spec.knexConfig);
      try {
        const running = async (): Promise<number> => {
          if (target.dialect === 'postgres') {
            const r = await probe.raw("select count(*)::int as n from pg_stat_activity where state = 'active' and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()");
            return Number(r.rows[0].n);
          }
          const [rows] = await probe.raw("select count(*) as n from information_schema.processlist where info like '%sleep(30)%' and id <> connection_id()");
          return Number(rows[0].n);
        };
        let n = await running();
        // A cancel is asynchronous on the server side: give it a moment, far less than the 30 s sleep.
        for (let i = 0; i < 50 && n > 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          n = await running();
        }
        expect(n).toBe(0);
      } finally {
        await probe.destroy();
      }
    }
    // The timeout stays with its source: the other one, alone, still runs its query.
    expect((await render(ids.second)).status).toBe(200);
  }, 60_000);

  it.skipIf(!!target.unavailable)('a timeout raised through PUT applies at the next render', async () => {
    await put('timed', { statementTimeoutMs: 60_000 });
    const r = await admin.request('POST', '/api/templates', {
      folderId: (await admin.request('POST', '/api/folders', { name: 'Limits 2' })).json.folder.id,
      template: grid('timed-second', 'timed', slowSql(target.dialect, 1), [{ name: 'Slow', cells: { A1: { field: 'rows.x', display: 'list' } } }]),
    });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    const ok = await render(r.json.template.id);
    expect(ok.status, ok.bytes.toString()).toBe(200);
    expect(lines(ok)).toEqual(['1']);
    await put('timed', { statementTimeoutMs: 200 });
    const again = await render(r.json.template.id);
    expect(again.status, again.bytes.toString()).toBe(504);
    expect(again.json.error.code).toBe('SOURCE_TIMEOUT');
  }, 60_000);
});
