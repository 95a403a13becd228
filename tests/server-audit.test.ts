/**
 * The audit trail: actions through the API write chained rows; `tracereport audit verify` says OK on
 * the untouched database and catches a row edited, deleted or inserted directly in the SQLite file
 * (including a row forged with a correct plain SHA-256, which lacks the server's key).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, runCliAsync } from './support/cli.js';
import { parseJson } from './server-support.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

let server: TestServer;
let pristine: string;

interface Row {
  seq: number;
  at: string;
  user_name: string | null;
  address: string | null;
  action: string;
  object: string | null;
  params: string | null;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
}

beforeAll(async () => {
  requireBuild();
  server = await startTestServer();
  const admin = new Client(server.url);
  expect((await new Client(server.url).login('admin', 'wrong-password-1')).status).toBe(401);
  expect((await admin.login('admin', ADMIN_PASSWORD)).status).toBe(200);
  expect((await admin.request('POST', '/api/folders', { name: 'Lab' })).status).toBe(201);
  expect((await admin.request('POST', '/api/datasources', { name: 'lims', url: 'postgres://reader:s3cret@127.0.0.1:5432/lims' })).status).toBe(201);
  expect((await admin.request('POST', '/api/auth/logout')).status).toBe(204);
  // Close the server so the database file is complete (WAL checkpointed) before it is copied.
  await server.close();
  pristine = path.join(server.dir, 'data');
});

afterAll(() => {
  if (server) fs.rmSync(server.dir, { recursive: true, force: true });
});

/** A copy of the data folder, changed with `edit`, then verified by the CLI. */
async function verifyAfter(name: string, edit?: (db: Database.Database) => void, extra: string[] = []) {
  const dir = path.join(server.dir, name);
  fs.cpSync(pristine, dir, { recursive: true });
  if (edit) {
    const db = new Database(path.join(dir, 'server.sqlite'));
    try {
      edit(db);
    } finally {
      db.close();
    }
  }
  return runCliAsync(['audit', 'verify', '--data-dir', dir, ...extra]);
}

const rows = (db: Database.Database) => db.prepare('select * from srv_audit order by seq').all() as Row[];

describe('audit trail', () => {
  it('records the bootstrap, logins (and the failure), folder and data-source changes, logout', () => {
    const db = new Database(path.join(pristine, 'server.sqlite'), { readonly: true });
    try {
      const actions = rows(db).map((r) => `${r.user_name}:${r.action}`);
      expect(actions).toEqual(
        expect.arrayContaining(['system:user.create', 'system:folder.create', 'system:template.create', 'null:login.failed', 'admin:login', 'admin:folder.create', 'admin:datasource.create', 'admin:logout']),
      );
      const ds = rows(db).find((r) => r.action === 'datasource.create')!;
      expect(ds.after).toContain('lims');
      expect(ds.after).not.toContain('s3cret');
      expect(ds.address).toBeTruthy();
      expect(rows(db).map((r) => r.seq)).toEqual(rows(db).map((_, i) => i + 1));
    } finally {
      db.close();
    }
  });

  it('verify: OK (exit 0) on the untouched chain', async () => {
    const r = await verifyAfter('untouched');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^OK: \d+ audit rows/);
  });

  it('verify: an edited row is reported as changed (exit 1)', async () => {
    const r = await verifyAfter('edited', (db) => db.prepare("update srv_audit set object = 'folder:999' where seq = 3").run());
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('row 3: changed');
  });

  it('verify: a deleted row is reported as removed before the next row (exit 1)', async () => {
    const r = await verifyAfter('deleted', (db) => db.prepare('delete from srv_audit where seq = 4').run());
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('row 5: removed');
  });

  it('verify: the last rows deleted are caught against the recorded head', async () => {
    const r = await verifyAfter('truncated', (db) => db.prepare('delete from srv_audit where seq = (select max(seq) from srv_audit)').run());
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/removed: rows \d+–\d+ were removed/);
  });

  it('verify: a row inserted in the middle (later rows renumbered, forged plain SHA-256) is reported as inserted', async () => {
    const r = await verifyAfter('inserted', (db) => {
      const all = rows(db);
      const before = all[2]!; // seq 3
      db.prepare('update srv_audit set seq = seq + 100000 where seq > 3').run();
      db.prepare('update srv_audit set seq = seq - 99999 where seq > 100000').run();
      const forged = { at: before.at, user_name: 'admin', address: '127.0.0.1', action: 'template.delete', object: 'template:1', params: null, before: null, after: null, prev_hash: before.hash };
      const hash = createHash('sha256').update(JSON.stringify(forged)).digest('hex');
      db.prepare('insert into srv_audit (seq, at, user_name, address, action, object, params, before, after, prev_hash, hash) values (4, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        forged.at, forged.user_name, forged.address, forged.action, forged.object, forged.params, forged.before, forged.after, forged.prev_hash, hash,
      );
      db.prepare('update srv_audit_head set seq = seq + 1').run();
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('row 4: inserted');
    expect(r.stdout.match(/^ {2}row /gm)).toHaveLength(1);
  });

  it('verify: a row appended after the head with a correct-looking SHA-256 is reported as inserted', async () => {
    const r = await verifyAfter('appended', (db) => {
      const last = rows(db).at(-1)!;
      const hash = createHash('sha256').update(last.hash + 'forged').digest('hex');
      db.prepare("insert into srv_audit (seq, at, user_name, address, action, object, prev_hash, hash) values (?, ?, 'admin', '127.0.0.1', 'report.export', 'template:2', ?, ?)").run(
        last.seq + 1, new Date().toISOString(), last.hash, hash,
      );
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/row \d+: inserted/);
  });

  it('verify --json gives the problems as data', async () => {
    const r = await verifyAfter('json', (db) => db.prepare("update srv_audit set user_name = 'mallory' where seq = 2").run(), ['--json']);
    const out = parseJson(r.stdout) as { ok: boolean; problems: { seq: number; kind: string }[] };
    expect(out.ok).toBe(false);
    expect(out.problems[0]).toMatchObject({ seq: 2, kind: 'changed' });
  });
});
