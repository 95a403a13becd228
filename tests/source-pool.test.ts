/**
 * The server's pool of open data sources (server/render/source-pool.ts) over real SQLite files, with the
 * config store reduced to its connectionUrl: sharing, idle and LRU closing, retiring a source a render
 * still reads, streams left open by a render, shutdown, a replaced SQLite file, and the columns() cache
 * (its key and how long an answer is kept).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TraceReportError } from '../datasources/errors.js';
import { QueryCache } from '../server/render/query-cache.js';
import { ColumnCache, SourcePool } from '../server/render/source-pool.js';
import type { DataSourceInfo } from '../server/store/data-sources.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-source-pool-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sqliteFile(name: string, codes: string[]): string {
  const file = path.join(dir, name);
  const db = new Database(file);
  db.exec('create table item (code text)');
  const insert = db.prepare('insert into item values (?)');
  for (const c of codes) insert.run(c);
  db.close();
  return file;
}

const registered = new Map<number, { name: string; url: string }>();
const store = {
  async connectionUrl(id: number) {
    const c = registered.get(id);
    if (!c) throw new TraceReportError('NOT_FOUND', `no data source with id ${id}`);
    return c;
  },
};

function register(id: number, file: string, updatedAt = '2026-01-01T00:00:00.000Z'): DataSourceInfo {
  registered.set(id, { name: `s${id}`, url: file });
  return { id, name: `s${id}`, url: file, dialect: 'sqlite', hasPassword: false, rowLimit: null, statementTimeoutMs: null, createdAt: updatedAt, updatedAt };
}

const view = () => ({ limits: {}, cache: new QueryCache(), ttls: new Map<string, number>() });
const pools: SourcePool[] = [];
function newPool(options: ConstructorParameters<typeof SourcePool>[1] = {}, now?: () => number): SourcePool {
  const p = new SourcePool(store, { sweepMs: 3_600_000, ...options }, now);
  pools.push(p);
  return p;
}
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
  registered.clear();
});

const codes = async (ds: { query: (sql: string) => Promise<Record<string, unknown>[]> }) => (await ds.query('select code from item order by code')).map((r) => r.code);

describe('SourcePool', () => {
  it('shares one open source among renders and closes it after idleMs without one', async () => {
    let now = 0;
    const pool = newPool({ idleMs: 1000 }, () => now);
    const a = register(1, sqliteFile('idle.sqlite', ['A']));
    const v1 = await pool.lease(a, view());
    const v2 = await pool.lease(a, view());
    expect(await codes(v1)).toEqual(['A']);
    expect(await codes(v2)).toEqual(['A']);
    expect(pool.status()).toEqual({ open: 1, inUse: 2, opened: 1, closed: 0 });
    await v1.close();
    await v1.close(); // twice is once
    await v2.close();
    expect(pool.status()).toEqual({ open: 1, inUse: 0, opened: 1, closed: 0 });
    now = 999;
    pool.sweep();
    expect(pool.status().open).toBe(1);
    now = 1000;
    pool.sweep();
    expect(pool.status()).toEqual({ open: 0, inUse: 0, opened: 1, closed: 1 });
    const v3 = await pool.lease(a, view());
    expect(await codes(v3)).toEqual(['A']);
    expect(pool.status().opened).toBe(2);
    await v3.close();
  });

  it('beyond maxOpen closes the least recently used idle source, never one a render holds', async () => {
    const pool = newPool({ maxOpen: 2 });
    const s = [1, 2, 3].map((id) => register(id, sqliteFile(`lru${id}.sqlite`, [`L${id}`])));
    const use = async (i: number) => {
      const v = await pool.lease(s[i]!, view());
      expect(await codes(v)).toEqual([`L${i + 1}`]);
      await v.close();
    };
    await use(0);
    await use(1);
    await use(0); // 2 is now the least recently used
    await use(2);
    expect(pool.status()).toMatchObject({ open: 2, opened: 3, closed: 1 });
    await use(0);
    await use(2);
    expect(pool.status().opened).toBe(3);
    await use(1);
    expect(pool.status()).toMatchObject({ open: 2, opened: 4 });
    // All three held at once: none can be closed to make room.
    const held = await Promise.all(s.map((x) => pool.lease(x, view())));
    expect(pool.status()).toMatchObject({ open: 3, inUse: 3 });
    for (const v of held) await v.close();
  });

  it('a source edited, forgotten or no longer listed closes once the renders reading it let go', async () => {
    const pool = newPool();
    const a = register(1, sqliteFile('edit-a.sqlite', ['A']));
    const reading = await pool.lease(a, view());
    pool.forget(1);
    expect(await codes(reading)).toEqual(['A']); // still readable by the render that holds it
    expect(pool.status()).toMatchObject({ open: 1, closed: 0 });
    const b = register(1, sqliteFile('edit-b.sqlite', ['B']), '2026-01-02T00:00:00.000Z');
    const next = await pool.lease(b, view());
    expect(await codes(next)).toEqual(['B']);
    expect(pool.status()).toMatchObject({ open: 2, opened: 2 });
    await reading.close();
    expect(pool.status()).toMatchObject({ open: 1, closed: 1 });
    await next.close();
    pool.sync([b]);
    expect(pool.status().open).toBe(1);
    pool.sync([{ ...b, updatedAt: '2026-01-03T00:00:00.000Z' }]);
    expect(pool.status()).toMatchObject({ open: 0, closed: 2 });
  });

  it('a source retired while it opens closes once its renders let go; one deleted before it opens is SOURCE_UNKNOWN', async () => {
    const pool = newPool();
    const a = register(1, sqliteFile('opening.sqlite', ['A']));
    const opening = [pool.lease(a, view()), pool.lease(a, view())];
    pool.forget(1);
    const views = await Promise.all(opening);
    expect(await codes(views[0]!)).toEqual(['A']);
    expect(pool.status()).toEqual({ open: 1, inUse: 2, opened: 1, closed: 0 });
    for (const v of views) await v.close();
    expect(pool.status()).toEqual({ open: 0, inUse: 0, opened: 1, closed: 1 });
    registered.delete(1);
    await expect(pool.lease(a, view())).rejects.toMatchObject({ code: 'SOURCE_UNKNOWN' });
    expect(pool.status()).toEqual({ open: 0, inUse: 0, opened: 1, closed: 1 });
  });

  it('closing a view ends the streams a render left open; shutdown closes everything and refuses new renders', async () => {
    const pool = newPool();
    const file = path.join(dir, 'stream.sqlite');
    const db = new Database(file);
    db.exec('create table item (code text); with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000) insert into item select printf(\'C%05d\', i) from n');
    db.close();
    const a = register(1, file);
    const v = await pool.lease(a, view());
    const rows = v.stream('select code from item order by code')[Symbol.asyncIterator]();
    expect((await rows.next()).value).toEqual({ code: 'C00001' });
    await v.close(); // without it, closing the pool would wait for that connection forever
    expect(await rows.next()).toEqual({ done: true, value: undefined });
    await pool.close();
    expect(pool.status()).toMatchObject({ open: 0, inUse: 0, closed: 1 });
    await expect(pool.lease(a, view())).rejects.toMatchObject({ code: 'SOURCE_CONNECT_FAILED' });
  });

  it('a SQLite file replaced by another opens anew once the handles on the old one are closed', async () => {
    const pool = newPool({ replacedWaitMs: 200 });
    const file = sqliteFile('replaced.sqlite', ['OLD']);
    const a = register(1, file);
    const old = await pool.lease(a, view());
    expect(await codes(old)).toEqual(['OLD']);
    fs.renameSync(sqliteFile('replacement.sqlite', ['NEW']), file);
    // The render still reading the old file holds its -wal and -shm: the new file cannot open yet.
    await expect(pool.lease(a, view())).rejects.toMatchObject({ code: 'SOURCE_CONNECT_FAILED', message: expect.stringMatching(/replaced/) });
    expect(await codes(old)).toEqual(['OLD']);
    await old.close();
    const next = await pool.lease(a, view());
    expect(await codes(next)).toEqual(['NEW']);
    expect(pool.status()).toMatchObject({ open: 1, opened: 2, closed: 1 });
    await next.close();
  });

  it('keeps a columns() answer for columnsTtlMs, then asks the database again', async () => {
    let now = 0;
    const pool = newPool({ columnsTtlMs: 1000 }, () => now);
    const file = sqliteFile('columns.sqlite', ['A']);
    const a = register(1, file);
    const v = await pool.lease(a, view());
    expect(await v.columns('select * from item')).toEqual(['code']);
    const db = new Database(file);
    db.exec('alter table item add column qty integer');
    db.close();
    expect(await v.columns('select * from item')).toEqual(['code']);
    expect(await v.columns('select * from item where code = :c', { c: 'A' })).toEqual(['code', 'qty']); // another key
    now = 1000;
    expect(await v.columns('select * from item')).toEqual(['code', 'qty']);
    await v.close();
  });
});

describe('ColumnCache.key', () => {
  const sql = 'select a{{#if b}}, b{{/if}} from t where x in (:x)';
  const base = ColumnCache.key(sql, { x: [1, 2], b: 'yes' });
  it.each([
    ['other values, same names, each set as before', { x: [3], b: 'other' }, true],
    ['names in another order', { b: 'yes', x: [1, 2] }, true],
    ['a list of another length', { x: [1, 2, 3, 4], b: 'yes' }, true],
    ['a parameter unset (null)', { x: [1, 2], b: null }, false],
    ['a parameter unset (empty text)', { x: [1, 2], b: '' }, false],
    ['a list emptied', { x: [], b: 'yes' }, false],
    ['another parameter name', { x: [1, 2], c: 'yes' }, false],
    ['one parameter more', { x: [1, 2], b: 'yes', $user_plant: 'A' }, false],
  ] as const)('%s: same key %s', (_what, params, same) => {
    expect(ColumnCache.key(sql, params) === base).toBe(same);
  });

  it('differs by SQL text', () => {
    expect(ColumnCache.key(`${sql} `, { x: [1, 2], b: 'yes' })).not.toBe(base);
  });
});
