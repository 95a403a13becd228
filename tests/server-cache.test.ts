/**
 * The query cache: datasets with cacheTtl are served from the cache for repeated (dataset, parameter
 * values), counted in /metrics; other datasets and other values read the database; a data-source
 * change empties it. Plus table tests of the cache itself (keys, expiry, row budget, LRU). And the parsed
 * template versions the server keeps: a save, a restore and an old version read are always the right body.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryCache } from '../server/render/query-cache.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

let server: TestServer;
let admin: Client;
let dbFile: string;
const ids: Record<string, number> = {};

const template = (name: string, cacheTtl?: number) => ({
  format: 1,
  kind: 'grid',
  name,
  parameters: [{ name: 'min', type: 'number', default: 0 }],
  datasets: [{ name: 'rows', source: 'plant', sql: 'select code from item where qty >= :min order by code', ...(cacheTtl ? { cacheTtl } : {}) }],
  sheets: [{ name: 'Rows', cells: { A1: { field: 'rows.code', display: 'list' } } }],
});

beforeAll(async () => {
  server = await startTestServer();
  dbFile = path.join(server.dir, 'plant.sqlite');
  const db = new Database(dbFile);
  db.exec("create table item (code text, qty integer); insert into item values ('A', 1), ('B', 2)");
  db.close();
  admin = new Client(server.url);
  await admin.login('admin', ADMIN_PASSWORD);
  expect((await admin.request('POST', '/api/datasources', { name: 'plant', url: dbFile })).status).toBe(201);
  const folderId = (await admin.request('POST', '/api/folders', { name: 'Cache' })).json.folder.id;
  for (const [name, ttl] of [['cached', 300], ['uncached', undefined]] as const) {
    const r = await admin.request('POST', '/api/templates', { folderId, template: template(name, ttl) });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    ids[name] = r.json.template.id;
  }
});

afterAll(async () => {
  await server?.stop();
});

async function codes(id: number, min?: number): Promise<string[]> {
  const r = await admin.request('POST', `/api/reports/${id}/render`, { format: 'csv', params: min === undefined ? {} : { min } });
  expect(r.status, r.bytes.toString()).toBe(200);
  return r.bytes.toString('utf8').replace(/^\ufeff/, '').split(/\r?\n/).filter(Boolean);
}

function insert(code: string, qty: number) {
  const db = new Database(dbFile);
  db.prepare('insert into item values (?, ?)').run(code, qty);
  db.close();
}

async function lookups(): Promise<{ hit: number; miss: number }> {
  const text = (await new Client(server.url).request('GET', '/metrics')).bytes.toString('utf8');
  const n = (result: string) => Number(new RegExp(`tracereport_query_cache_lookups_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { hit: n('hit'), miss: n('miss') };
}

describe('query cache through the API', () => {
  it('serves a cacheTtl dataset from the cache for the same values; other values and uncached datasets read the database', async () => {
    expect(await codes(ids.cached!)).toEqual(['A', 'B']);
    expect(await lookups()).toEqual({ hit: 0, miss: 1 });
    insert('C', 3);
    expect(await codes(ids.cached!)).toEqual(['A', 'B']);
    expect(await lookups()).toEqual({ hit: 1, miss: 1 });
    expect(await codes(ids.cached!, 2)).toEqual(['B', 'C']);
    expect(await codes(ids.uncached!)).toEqual(['A', 'B', 'C']);
    expect(await lookups()).toEqual({ hit: 1, miss: 2 });
    const m = (await new Client(server.url).request('GET', '/metrics')).bytes.toString('utf8');
    expect(m).toMatch(/tracereport_query_cache_rows [1-9]/);
  });

  it('a data-source change empties the cache', async () => {
    expect((await admin.request('PUT', `/api/datasources/${(await admin.request('GET', '/api/datasources')).json.dataSources[0].id}`, { rowLimit: 1000 })).status).toBe(200);
    expect(await codes(ids.cached!)).toEqual(['A', 'B', 'C']);
  });
});

describe('parsed template versions', () => {
  it('renders follow every save and restore; an old version reads as saved; a failed save changes nothing', async () => {
    const folderId = (await admin.request('POST', '/api/folders', { name: 'Versions' })).json.folder.id;
    const body = (title: string) => ({ ...template('versions'), sheets: [{ name: 'Rows', cells: { A1: { text: title }, A2: { field: 'rows.code', display: 'list' } } }] });
    const created = await admin.request('POST', '/api/templates', { folderId, template: body('First title') });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.template.id as number;
    const rendered = async () => (await codes(id))[0];
    expect(await rendered()).toBe('First title');
    expect(await rendered()).toBe('First title');
    expect((await admin.request('PUT', `/api/templates/${id}`, { template: body('Second title') })).status).toBe(200);
    expect(await rendered()).toBe('Second title');
    // A body the schema refuses is not saved: the current version stays.
    const bad = await admin.request('PUT', `/api/templates/${id}`, { template: { ...body('Broken'), kind: 'nonsense' } });
    expect(bad.status).toBe(400);
    expect(await rendered()).toBe('Second title');
    const v1 = await admin.request('GET', `/api/templates/${id}/versions/1`);
    expect(v1.json.body.sheets[0].cells.A1.text).toBe('First title');
    expect((await admin.request('POST', `/api/templates/${id}/versions/1/restore`)).json.template.version).toBe(3);
    expect(await rendered()).toBe('First title');
    const current = await admin.request('GET', `/api/templates/${id}`);
    expect(current.json.template.version).toBe(3);
    expect((await admin.request('GET', `/api/templates/${id}/versions/2`)).json.body.sheets[0].cells.A1.text).toBe('Second title');
  });
});

describe('QueryCache', () => {
  it('keys ignore parameter order and differ by source, SQL and values', () => {
    const k = QueryCache.key('s', 'select 1', { a: 1, b: 'x' });
    expect(QueryCache.key('s', 'select 1', { b: 'x', a: 1 })).toBe(k);
    for (const other of [QueryCache.key('t', 'select 1', { a: 1, b: 'x' }), QueryCache.key('s', 'select 2', { a: 1, b: 'x' }), QueryCache.key('s', 'select 1', { a: 2, b: 'x' }), QueryCache.key('s', 'select 1', { a: 1, b: ['x'] })]) {
      expect(other).not.toBe(k);
    }
  });

  it('an expired entry is a miss and is dropped', () => {
    const c = new QueryCache();
    c.set('k', [{ a: 1 }], 0);
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toEqual({ entries: 0, rows: 0 });
  });

  it('keeps at most maxRows, dropping the least recently used; never stores a result over maxResultRows', () => {
    const lookups: boolean[] = [];
    const c = new QueryCache(5, 3, (hit) => lookups.push(hit));
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
    c.set('a', rows(2), 60);
    c.set('b', rows(2), 60);
    expect(c.get('a')).toHaveLength(2); // a is now the most recently used
    c.set('c', rows(2), 60); // 6 rows > 5: b goes
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toHaveLength(2);
    expect(c.get('c')).toHaveLength(2);
    c.set('big', rows(4), 60);
    expect(c.get('big')).toBeUndefined();
    expect(c.size).toEqual({ entries: 2, rows: 4 });
    expect(lookups).toEqual([true, false, true, true, false]);
  });
});
