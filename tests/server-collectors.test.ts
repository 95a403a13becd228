/**
 * A collector and a server, two processes sharing one SQLite trace store: `tracereport collect --mqtt` (built CLI,
 * the local Mosquitto at 127.0.0.1:1883, a topic prefix of its own, broker credentials in the URL) and a server
 * on the same store. GET /api/collectors shows the collector up with its driver connected and the readings
 * counted after some publishes, /metrics has the collector gauges, and after SIGTERM the collector shows as
 * stopped (and down). A role without collectors.read gets 403; nothing shown holds the broker password.
 * And /metrics when the store cannot be read: the collector gauges are left out, the scrape still answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCollectorId, writeCollectorStatus } from '../collectors/heartbeat.js';
import type { CollectorStatus } from '../collectors/collector.js';
import { ServerMetrics } from '../server/metrics.js';
import { openTraceStore } from '../trace/store.js';
import { BIN, requireBuild, ROOT } from './support/cli.js';
import { Client, startTestServer, usersByRole, type TestServer } from './server-support.js';

const SECRET = `pw-${randomBytes(6).toString('hex')}`;
const BROKER = `mqtt://collector-user:${SECRET}@127.0.0.1:1883`;
const PREFIX = `t${randomBytes(5).toString('hex')}`;
const NAME = `line-7-${PREFIX}`;
const N = 60;

let dir: string;
let db: string;
let server: TestServer;
let clients: Record<string, Client>;
let child: ChildProcess;
let stderr = '';
let exited: Promise<number | null>;
let publisher: MqttClient;

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 40_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}; collector: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function collector(): Promise<any> {
  const r = await clients.admin!.request('GET', '/api/collectors');
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  expect(r.bytes.toString('utf8')).not.toContain(SECRET);
  return r.json.collectors.find((c: { id: string }) => c.id === NAME);
}

/** /metrics without a session: sample lines as name{labels} → value. */
async function scrape(): Promise<Map<string, number>> {
  const r = await new Client(server.url).request('GET', '/metrics');
  expect(r.status).toBe(200);
  const text = r.bytes.toString('utf8');
  expect(text).not.toContain(SECRET);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const label = `collector="${NAME}"`;

const emptyStatus = (): CollectorStatus => ({
  pipeline: {
    state: 'running', readingsIn: 0, rejected: 0, refused: 0, alarmsIn: 0, written: 0, duplicates: 0, alarmsWritten: 0,
    batchesSealed: 0, batchesWritten: 0, journalBytes: 0, journalSegments: 0, replayBytes: 0, db: 'up',
  },
  drivers: [],
  rules: { enabled: false, limits: 0, openAlarms: 0, alarmChanges: 0 },
});

beforeAll(async () => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-server-collectors-'));
  db = path.join(dir, 'trace.sqlite');
  child = spawn(BIN, ['collect', '--mqtt', BROKER, '--topic-prefix', PREFIX, '--client-id', PREFIX, '--db', db, '--journal', path.join(dir, 'journal'), '--name', NAME], {
    cwd: ROOT,
    env: { ...process.env, CI: 'true' },
  });
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const end = Date.now() + 30_000;
  while (!/collecting from/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`collect exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > end) throw new Error(`collect did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(stderr).toContain(`status as "${NAME}"`);
  server = await startTestServer({ traceDb: db });
  clients = await usersByRole(server.url, ['viewer', 'operator']);
  publisher = await connectAsync('mqtt://127.0.0.1:1883', { clientId: `pub-${PREFIX}`, clean: true });
}, 90_000);

afterAll(async () => {
  await publisher?.endAsync();
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('collectors seen by the server through the trace store', () => {
  it('roles without collectors.read get 403 FORBIDDEN', async () => {
    for (const role of ['viewer', 'operator']) {
      const r = await clients[role]!.request('GET', '/api/collectors');
      expect(r.status, role).toBe(403);
      expect(r.json.error.code).toBe('FORBIDDEN');
      expect(r.json.error.details.permission).toBe('collectors.read');
    }
    expect((await new Client(server.url).request('GET', '/api/collectors')).status).toBe(401);
  });

  it('the running collector is up, its MQTT driver connected, the published readings counted', async () => {
    for (let i = 0; i < N; i++) {
      await publisher.publishAsync(`${PREFIX}/HB-1/temp`, JSON.stringify({ ts: new Date(Date.UTC(2026, 2, 1, 8) + i * 1000).toISOString(), value: i }), { qos: 1 });
    }
    const c = await until('the heartbeat to count every reading', collector, (c) => c?.pipeline.readingsIn === N && c?.pipeline.written === N);
    expect(c).toMatchObject({ id: NAME, host: os.hostname(), up: true, state: 'running', intervalMs: 5000 });
    expect(c.pid).toBe(child.pid);
    expect(c.ageMs).toBeLessThanOrEqual(15_000);
    expect(Date.parse(c.updatedAt)).toBeGreaterThanOrEqual(Date.parse(c.startedAt));
    expect(c.drivers).toEqual([expect.objectContaining({ name: 'mqtt', type: 'mqtt', state: 'connected', readings: N, reconnects: 0 })]);
    expect(c.pipeline).toMatchObject({ readingsIn: N, written: N, duplicates: 0, refused: 0, db: 'up' });
    expect(c.pipeline.journalBytes).toBeGreaterThanOrEqual(0);
    expect(c.rules).toEqual({ enabled: true, openAlarms: 0, alarmChanges: 0 });
  });

  it('/metrics has the collector gauges, read from the store at scrape time', async () => {
    const m = await until('the gauges to show every reading', scrape, (m) => m.get(`tracereport_collector_written_total{${label}}`) === N);
    expect(m.get(`tracereport_collector_up{${label}}`)).toBe(1);
    expect(m.get(`tracereport_collector_readings_in_total{${label}}`)).toBe(N);
    expect(m.get(`tracereport_collector_store_up{${label}}`)).toBe(1);
    expect(m.get(`tracereport_collector_journal_bytes{${label}}`)).toBeGreaterThanOrEqual(0);
    expect(m.get(`tracereport_collector_driver_connected{${label},driver="mqtt"}`)).toBe(1);
  });

  it('a running collector cannot be removed: 409 CONFLICT naming its host; roles without collectors.manage get 403', async () => {
    const path = `/api/collectors/${encodeURIComponent(NAME)}`;
    const r = await clients.admin!.request('DELETE', path);
    expect(r.status, JSON.stringify(r.json)).toBe(409);
    expect(r.json.error.code).toBe('CONFLICT');
    expect(r.json.error.message).toMatch(new RegExp(`"${NAME}" is up .*${os.hostname()} process ${child.pid}.*stop it first`));
    for (const role of ['viewer', 'operator']) {
      const f = await clients[role]!.request('DELETE', path);
      expect(f.status, role).toBe(403);
      expect(f.json.error.details.permission).toBe('collectors.manage');
    }
    expect((await collector()).up).toBe(true);
  });

  it('after SIGTERM the collector shows as stopped and down, with its final figures', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const c = await collector();
    expect(c).toMatchObject({ up: false, state: 'stopped' });
    expect(c.pipeline).toMatchObject({ state: 'stopped', readingsIn: N, written: N, journalBytes: 0 });
    expect(c.drivers).toEqual([expect.objectContaining({ name: 'mqtt', state: 'stopped', readings: N })]);
    const m = await until('the gauges to show it down', scrape, (m) => m.get(`tracereport_collector_up{${label}}`) === 0);
    expect(m.get(`tracereport_collector_driver_connected{${label},driver="mqtt"}`)).toBe(0);
    expect(m.get(`tracereport_collector_store_up{${label}}`)).toBe(0);
    expect(m.get(`tracereport_collector_readings_in_total{${label}}`)).toBe(N);
  });

  it('once stopped an admin removes it (audited): gone from the list and /metrics; an unknown id is 404', async () => {
    const unknown = await clients.admin!.request('DELETE', `/api/collectors/${encodeURIComponent(`${NAME}-other`)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('NOT_FOUND');
    const r = await clients.admin!.request('DELETE', `/api/collectors/${encodeURIComponent(NAME)}`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toEqual({ deleted: NAME });
    expect(await collector()).toBeUndefined();
    expect([...(await scrape()).keys()].filter((k) => k.includes(label))).toEqual([]);
    const a = await clients.admin!.request('GET', '/api/audit?action=collector.delete');
    expect(a.json.rows).toEqual([
      expect.objectContaining({ user: 'admin', action: 'collector.delete', object: `collector:${NAME}`, params: expect.objectContaining({ host: os.hostname(), pid: child.pid, state: 'stopped' }) }),
    ]);
    // Twice: nothing left to remove.
    expect((await clients.admin!.request('DELETE', `/api/collectors/${encodeURIComponent(NAME)}`)).status).toBe(404);
  });

  it('a collector whose clock is 2 minutes behind: down at first sight, then up with its clock offset once seen writing', async () => {
    const id = `slow-clock-${PREFIX}`;
    const behind = 120_000;
    const store = await openTraceStore(db);
    const started = new Date(Date.now() - behind - 60_000);
    // A beat by the gateway's clock: 2 minutes behind the server's.
    const beat = () => writeCollectorStatus(store, { id, host: 'gw-slow', pid: 31, startedAt: started, updatedAt: new Date(Date.now() - behind), intervalMs: 5000, state: 'running', status: emptyStatus() });
    const find = async () => (await clients.admin!.request('GET', '/api/collectors')).json.collectors.find((c: { id: string }) => c.id === id);
    try {
      await beat();
      const first = await find();
      expect(first.up).toBe(false);
      expect(first.clockOffsetMs).toBeUndefined();
      await new Promise((r) => setTimeout(r, 20));
      await beat();
      const seen = await find();
      expect(seen.up).toBe(true);
      expect(seen.clockOffsetMs).toBeGreaterThanOrEqual(behind);
      expect(seen.clockOffsetMs).toBeLessThan(behind + 5_000);
      const m = await until('/metrics to read the rows again', scrape, (m) => m.get(`tracereport_collector_up{collector="${id}"}`) === 1);
      expect(m.get(`tracereport_collector_up{collector="${id}"}`)).toBe(1);
    } finally {
      await store.knex('collector_status').where({ id }).delete();
      await store.close();
    }
  });

  it('a default id (<host>:<journal folder>, slashes and all) is removed by its URL-encoded form', async () => {
    const id = defaultCollectorId(path.join(dir, 'old journal'), 'edge-9');
    expect(id).toMatch(/^edge-9:\/.*\/old journal$/);
    const store = await openTraceStore(db);
    try {
      const long = new Date(Date.now() - 3_600_000);
      await writeCollectorStatus(store, { id, host: 'edge-9', pid: 12, startedAt: long, updatedAt: long, intervalMs: 5000, state: 'running', status: emptyStatus() });
    } finally {
      await store.close();
    }
    const r = await clients.admin!.request('DELETE', `/api/collectors/${encodeURIComponent(id)}`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toEqual({ deleted: id });
    const list = await clients.admin!.request('GET', '/api/collectors');
    expect(list.json.collectors.map((c: { id: string }) => c.id)).not.toContain(id);
  });
});

describe('collector gauges when the trace store cannot be read', () => {
  const hasCollectorSeries = (text: string) => /^tracereport_collector_\w+\{/m.test(text);

  it('a read that fails leaves the collector series out; the scrape still answers', async () => {
    const m = new ServerMetrics(undefined, undefined, async () => {
      throw new Error('connect ECONNREFUSED');
    });
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE tracereport_collector_up gauge');
    expect(hasCollectorSeries(text)).toBe(false);
  });

  it('a read that hangs gives no series, and no second read starts while it hangs', async () => {
    let reads = 0;
    const m = new ServerMetrics(undefined, undefined, () => {
      reads++;
      return new Promise(() => undefined);
    });
    expect(hasCollectorSeries(await m.registry.metrics())).toBe(false);
    // Past the 2 s the answer is cached for: the next scrape waits on the same read.
    await new Promise((r) => setTimeout(r, 2100));
    expect(hasCollectorSeries(await m.registry.metrics())).toBe(false);
    expect(reads).toBe(1);
  });
});
