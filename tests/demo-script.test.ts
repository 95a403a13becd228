/**
 * The README's first command, end to end (setup skipped: the suite has built already): `scripts/demo.sh`
 * generates the plant, renders the reports, starts the collector and the simulated line, then the server;
 * it prints the viewer URL of the planted incident's batch trace and the admin login, which work; live
 * samples keep arriving while the server runs; stopping the script stops the server, the collector and
 * the simulator.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild } from './support/cli.js';
import { Client } from './server-support.js';

const root = path.resolve(import.meta.dirname, '..');
let dir: string;
let demo: ChildProcess;
let out = '';
let exited: Promise<number | null>;
let closed: Promise<void>;

function waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      const m = re.exec(out);
      if (m) {
        clearInterval(tick);
        resolve(m);
      } else if (Date.now() - started > ms || demo.exitCode !== null) {
        clearInterval(tick);
        // After the streams are drained, so the last lines (the error) are in the message.
        const fail = () => reject(new Error(`demo.sh did not print ${re} (exit ${demo.exitCode}); output ends with:\n${out.slice(-3000)}`));
        if (demo.exitCode !== null) closed.then(fail, fail);
        else fail();
      }
    }, 200);
  });
}

const samples = (db: string) => {
  const sqlite = new Database(db, { readonly: true });
  try {
    return (sqlite.prepare('select count(*) as n from sample').get() as { n: number }).n;
  } finally {
    sqlite.close();
  }
};

beforeAll(async () => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-demo-'));
  demo = spawn('bash', ['scripts/demo.sh'], {
    cwd: root,
    detached: true, // its own process group, so the test can stop everything it started
    env: { ...process.env, TRACEREPORT_SKIP_SETUP: '1', TRACEREPORT_DEMO_DATA: dir, TRACEREPORT_PORT: '0', TRACEREPORT_ADMIN_PASSWORD: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  exited = new Promise((resolve) => demo.once('exit', (code) => resolve(code)));
  closed = new Promise((resolve) => demo.once('close', () => resolve()));
}, 30_000);

afterAll(async () => {
  if (demo && demo.exitCode === null) {
    try {
      process.kill(-demo.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('bash scripts/demo.sh', () => {
  let url: string;
  let password: string;
  let lot: string;

  it('prints the viewer URL of the planted incident and a login', async () => {
    const m = await waitFor(/open (http:\/\/localhost:\d+)\/view\/batch-trace\?lot=(\S+)[\s\S]*password "([^"]+)"/, 240_000);
    [, url, lot, password] = m as unknown as [string, string, string, string];
    const incident = JSON.parse(fs.readFileSync(path.join(dir, 'demo-incident.json'), 'utf8')).incident;
    expect(lot).toBe(incident.sampleFinishedLot);
    expect(out).toMatch(/live data so far: \d+ samples stored; alarms raised: limit_high/);
    expect(fs.readdirSync(path.join(dir, 'reports')).sort()).toHaveLength(8);
    // The password was made at the first run and kept for the next ones, readable only by its owner.
    expect(fs.readFileSync(path.join(dir, 'demo-admin-password'), 'utf8').trim()).toBe(password);
    expect(fs.statSync(path.join(dir, 'demo-admin-password')).mode & 0o077).toBe(0);
  }, 250_000);

  it('the login works, and the batch trace of that lot renders in the viewer API', async () => {
    const admin = new Client(url);
    expect((await admin.login('admin', password)).status).toBe(200);
    const templates = await admin.request('GET', '/api/templates');
    const batch = templates.json.templates.find((t: { name: string }) => t.name === 'Batch trace');
    const page = await admin.request('POST', `/api/reports/${batch.id}/page`, { params: { lot }, page: 1 });
    expect(page.status, JSON.stringify(page.json)).toBe(200);
    expect(page.json.html).toContain(lot);
    const viewer = await fetch(`${url}/view/batch-trace?lot=${lot}`);
    expect(viewer.status).toBe(200);
    expect(viewer.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('live samples keep arriving while the server runs', async () => {
    const db = path.join(dir, 'tracereport.sqlite');
    const before = samples(db);
    await new Promise((r) => setTimeout(r, 4000));
    expect(samples(db)).toBeGreaterThan(before);
  });

  it('stopping the demo stops the server, the collector and the simulator', async () => {
    process.kill(demo.pid!, 'SIGTERM');
    const code = await exited;
    expect(code).toBe(143);
    await expect(fetch(url)).rejects.toThrow();
    // Nothing it started is left: the process group empties (the log's tee ends a moment after the server).
    const alive = () => {
      try {
        process.kill(-demo.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 200));
    const left = alive() ? execFileSync('ps', ['-o', 'pid,cmd', '-g', String(demo.pid)], { encoding: 'utf8' }) : '';
    expect(left).toBe('');
  }, 60_000);
});
