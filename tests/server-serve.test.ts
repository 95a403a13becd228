/**
 * `tracereport serve` as a user runs it: first start creates the admin with a random password printed
 * once and a 0600 key file, loads the built-in templates; a second start prints no password; with
 * --tls-cert/--tls-key it serves HTTPS with HSTS and Secure cookies. `tracereport routes --json`
 * prints the table the server enforces.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../server/routes/table.js';
import { BIN, ROOT, requireBuild, runCliAsync } from './support/cli.js';
import { Client, parseJson } from './server-support.js';

let dir: string;
let adminPassword: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-serve-'));
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts `tracereport serve ARGS` and waits for the line with the URL; returns the output so far. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const env = { ...process.env };
  delete env.TRACEREPORT_ADMIN_PASSWORD;
  delete env.TRACEREPORT_SECRET_KEY;
  delete env.TRACEREPORT_CONFIG_DB;
  const child = spawn(BIN, ['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', path.join(dir, 'data'), '--db', path.join(dir, 'trace.sqlite'), ...args], {
    cwd: ROOT,
    env,
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', () => undefined);
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const m = /serving on (\S+)/.exec(out);
      // The lines after the URL are written in the same write; wait for the newline ending them.
      if (m && out.endsWith('\n')) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  return { child, url, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

describe('tracereport serve', () => {
  it('first start: admin with a random password printed once, a 0600 key file, the built-in templates; second start: no password', async () => {
    const first = await serve([]);
    const m = /user "admin", password "([^"]+)"/.exec(first.output());
    expect(m, first.output()).not.toBeNull();
    adminPassword = m![1]!;
    expect(first.output()).toContain('built-in templates loaded: ');
    expect(first.output()).toContain('Recall');
    const mode = fs.statSync(path.join(dir, 'data', 'secret.key')).mode & 0o777;
    expect(mode).toBe(0o600);
    const c = new Client(first.url);
    expect((await c.login('admin', m![1]!)).status).toBe(200);
    expect((await c.request('GET', '/healthz')).json).toEqual({ status: 'ok' });
    const t = await c.request('GET', '/api/templates');
    expect(t.json.templates.length).toBe(fs.readdirSync(path.join(ROOT, 'templates')).filter((f) => f.endsWith('.json')).length);
    expect(await stop(first.child)).toBe(0);

    const second = await serve([]);
    expect(second.output()).not.toContain('password');
    expect(second.output()).not.toContain('built-in templates loaded');
    expect((await new Client(second.url).login('admin', m![1]!)).status).toBe(200);
    expect(await stop(second.child)).toBe(0);
  });

  it('HTTPS with --tls-cert/--tls-key: HSTS and a Secure session cookie', async () => {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const s = await serve(['--tls-cert', cert, '--tls-key', key]);
    expect(s.url).toMatch(/^https:\/\//);
    const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const req = https.request(
        `${s.url}/api/auth/login`,
        { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
        (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ username: 'admin', password: adminPassword }));
    });
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/tr_session=[^;]+;/);
    expect(cookie.toLowerCase()).toMatch(/; secure/);
    expect(cookie.toLowerCase()).toContain('httponly');
    expect(await stop(s.child)).toBe(0);
  });

  it('bad arguments exit 2 with a message', async () => {
    const r = await runCliAsync(['serve', '--tls-cert', 'x.pem']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--tls-key');
  });
});

describe('tracereport routes', () => {
  it('--json prints the same table the server is built from', async () => {
    const r = await runCliAsync(['routes', '--json']);
    expect(r.status).toBe(0);
    const table = parseJson(r.stdout) as { method: string; path: string; permission: string }[];
    expect(table.map((x) => `${x.method} ${x.path} ${x.permission}`)).toEqual(ROUTES.map((x) => `${x.method} ${x.path} ${x.permission}`));
  });

  it('docs/api.md documents every route of the table with its permission', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');
    const missing = ROUTES.filter((r) => !doc.includes(`### \`${r.method} ${r.path}\` — ${r.permission}`)).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('prints a table with a header', async () => {
    const r = await runCliAsync(['routes']);
    expect(r.stdout.split('\n')[0]).toMatch(/^METHOD\s+PATH\s+PERMISSION/);
    expect(r.stdout).toMatch(/POST\s+\/api\/auth\/login\s+public/);
  });
});
