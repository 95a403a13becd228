/**
 * Two server nodes sharing one PostgreSQL config database (DESIGN §9): a session made on one node
 * works on the other, and audit rows appended concurrently through both form one intact chain.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectTargets, type TestDatabase } from './support/databases.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

let db: TestDatabase;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  const pg = (await dialectTargets()).find((t) => t.dialect === 'postgres')!;
  if (pg.unavailable) throw new Error(`PostgreSQL is needed for this suite: ${pg.unavailable}`);
  db = await pg.create();
  a = await startTestServer({ configDb: db.url });
  // The second node shares the config database and the secret key (the first node's data folder).
  b = await startTestServer({ configDb: db.url, dataDir: path.join(a.dir, 'data'), traceDb: path.join(a.dir, 'trace.sqlite') });
}, 120_000);

afterAll(async () => {
  await b?.close();
  if (b) fs.rmSync(b.dir, { recursive: true, force: true });
  await a?.stop();
  await db?.drop();
});

describe('two nodes on one PostgreSQL config database', () => {
  it('a session made on node A works on node B; logout on B ends it on A', async () => {
    const onA = new Client(a.url);
    expect((await onA.login('admin', ADMIN_PASSWORD)).status).toBe(200);
    const onB = new Client(b.url);
    onB.cookie = onA.cookie;
    onB.csrf = onA.csrf;
    const me = await onB.request('GET', '/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.json.user.username).toBe('admin');
    expect((await onB.request('POST', '/api/folders', { name: 'made-on-b' })).status).toBe(201);
    expect((await onA.request('GET', '/api/folders')).json.folders.map((f: { name: string }) => f.name)).toContain('made-on-b');
    expect((await onB.request('POST', '/api/auth/logout')).status).toBe(204);
    expect((await onA.request('GET', '/api/auth/me')).status).toBe(401);
  });

  it('concurrent audited changes through both nodes form one intact chain', async () => {
    const onA = new Client(a.url);
    await onA.login('admin', ADMIN_PASSWORD);
    const onB = new Client(b.url);
    await onB.login('admin', ADMIN_PASSWORD);
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? onA : onB).request('POST', '/api/folders', { name: `f-${i}` })));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    const v = await onA.request('GET', '/api/audit/verify');
    expect(v.json.problems).toEqual([]);
    expect(v.json.ok).toBe(true);
    const rows = (await onB.request('GET', '/api/audit?limit=1000')).json.rows as { seq: number; action: string }[];
    expect(rows.filter((r) => r.action === 'folder.create').length).toBeGreaterThanOrEqual(25);
    const seqs = rows.map((r) => r.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });
});
