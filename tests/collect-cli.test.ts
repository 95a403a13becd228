/**
 * `tracereport collect` through the built CLI against the local Mosquitto (127.0.0.1:1883) and real stores:
 * zero-config MQTT into SQLite and PostgreSQL, the collector killed with SIGKILL mid-stream and restarted,
 * PostgreSQL cut off for seconds behind a TCP proxy, and a bad config. Every test counts every published
 * sample in and every stored row out: 0 lost, 0 duplicated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from '../datasources/data-source.js';
import { BIN, requireBuild, ROOT, runCliAsync } from './support/cli.js';
import { dialectTargets, type DialectTarget } from './support/databases.js';

const BROKER = 'mqtt://127.0.0.1:1883';
const T0 = Date.UTC(2026, 2, 1, 8);

let pg: DialectTarget;
beforeAll(async () => {
  requireBuild();
  pg = (await dialectTargets()).find((t) => t.dialect === 'postgres')!;
});

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-collect-cli-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const unique = () => `t${randomBytes(5).toString('hex')}`;

interface Running {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

/** Starts `tracereport collect …` and resolves once it says it is collecting. */
async function startCollect(args: string[]): Promise<Running> {
  const child = spawn(BIN, ['collect', ...args], { cwd: ROOT, env: { ...process.env, CI: 'true' } });
  const run: Running = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await until('the collector to start', () => /collecting from/.test(run.stderr) || child.exitCode !== null, 30_000);
  if (child.exitCode !== null) throw new Error(`collect exited ${child.exitCode}: ${run.stderr}`);
  return run;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function publisher(): Promise<MqttClient> {
  const c = await connectAsync(BROKER, { clientId: `pub-${unique()}`, clean: true });
  cleanups.push(() => c.endAsync());
  return c;
}

/** Publishes samples i in [from, to) on `<prefix>/<equipment>/temp` with value i at T0 + i s (QoS 1). */
async function publish(c: MqttClient, prefix: string, equipment: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const payload = JSON.stringify({ ts: new Date(T0 + i * 1000).toISOString(), value: i });
    await c.publishAsync(`${prefix}/${equipment}/temp`, payload, { qos: 1 });
  }
}

/**
 * Publishes like `publish`, but never more than `ahead` samples beyond what `db` holds for `equipment`: the system
 * Mosquitto queues at most 1,000 messages per session and drops the rest (a broker setting, docs/collectors.md), and a
 * loaded machine can fall that far behind a publisher that does not wait. Stops early once `stop()` says so; a collector
 * that cannot catch up within 60 s is left to the caller's final count to report.
 */
async function publishPaced(c: MqttClient, prefix: string, equipment: string, db: string, from: number, to: number, ahead = 300, stop = () => false): Promise<number> {
  let i = from;
  for (; i < to && !stop(); i++) {
    if ((i - from) % 100 === 0) {
      const deadline = Date.now() + 60_000;
      while (!stop() && Date.now() < deadline && i - (await stored(db, equipment).catch(() => [])).length > ahead) await new Promise((r) => setTimeout(r, 50));
    }
    await publish(c, prefix, equipment, i, i + 1);
  }
  return i;
}

async function stored(db: string, equipment: string): Promise<number[]> {
  const ds = new DataSource('check', db);
  try {
    const rows = await ds.query<{ value: number }>(
      'select s.value as value from sample s join equipment e on e.id = s.equipment_id where e.code = :eq order by s.ts',
      { eq: equipment },
    );
    return rows.map((r) => Number(r.value));
  } catch {
    return []; // not migrated yet
  } finally {
    await ds.close();
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function sigterm(run: Running): Promise<number | null> {
  run.child.kill('SIGTERM');
  return run.exited;
}

describe('tracereport collect', () => {
  it.each(['sqlite', 'postgres'])('zero-config MQTT into %s: every published sample stored once, SIGTERM flushes and exits 0', async (dialect) => {
    const dir = tmpDir();
    let db = path.join(dir, 'trace.sqlite');
    if (dialect === 'postgres') {
      const t = await pg.create();
      cleanups.push(() => t.drop());
      db = t.url;
    }
    const prefix = unique();
    const run = await startCollect(['--mqtt', BROKER, '--topic-prefix', prefix, '--client-id', prefix, '--db', db, '--journal', path.join(dir, 'journal')]);
    const c = await publisher();
    const N = 3000;
    // In steps of 500, each stored before the next: the system Mosquitto keeps at most 1,000 queued messages per
    // client and drops the rest (a broker setting, docs/collectors.md), and a loaded machine can fall that far behind.
    for (let from = 0; from < N; from += 500) {
      await publish(c, prefix, 'ZC-1', from, from + 500);
      await until(`samples up to ${from + 500} stored`, async () => (await stored(db, 'ZC-1')).length >= from + 500);
    }
    // A bare number is stamped on receipt.
    await c.publishAsync(`${prefix}/ZC-2/rpm`, '1200', { qos: 1 });
    // The broker has them (PUBACK); wait until the collector has stored them before stopping it.
    await until('every sample stored', async () => (await stored(db, 'ZC-1')).length >= N && (await stored(db, 'ZC-2')).length === 1);
    expect(await sigterm(run)).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`collected ${N + 1} readings: ${N + 1} written, 0 already stored`));
    expect(await stored(db, 'ZC-1')).toEqual(range(N));
    expect(await stored(db, 'ZC-2')).toEqual([1200]);
    // A clean stop leaves an empty journal.
    expect(fs.readdirSync(path.join(dir, 'journal'))).toEqual([]);
  });

  it('killed with SIGKILL mid-stream and restarted: journal replay plus the broker session, 0 lost, 0 duplicated', async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'trace.sqlite');
    const journal = path.join(dir, 'journal');
    const prefix = unique();
    const args = ['--mqtt', BROKER, '--topic-prefix', prefix, '--client-id', prefix, '--db', db, '--journal', journal];
    let run = await startCollect(args);
    const c = await publisher();
    const N = 4000;
    let killed = false;
    // At most 300 ahead of what is stored: with the 500 sent while it is down, under the broker's 1,000 per session.
    const stream = publishPaced(c, prefix, 'KILL-1', db, 0, 3000, 300, () => killed);
    // Kill once some batches are written and more are in flight (the open batch is journaled, not sealed).
    await until('some rows stored', async () => (await stored(db, 'KILL-1')).length >= 300);
    run.child.kill('SIGKILL');
    await run.exited;
    killed = true;
    let sent = await stream;
    const before = (await stored(db, 'KILL-1')).length;
    expect(before).toBeLessThan(sent);
    // While it is down the broker keeps the session's messages (up to its queue limit, 1000 by default).
    await publish(c, prefix, 'KILL-1', sent, sent + 500);
    sent += 500;
    run = await startCollect(args);
    expect(run.stderr).toMatch(/replaying \d+ unwritten journal bytes|collecting from/);
    // The restarted collector first takes the ≤ 900 the broker kept: the rest waits for it to catch up, as above.
    await publishPaced(c, prefix, 'KILL-1', db, sent, N);
    await until('every sample stored', async () => (await stored(db, 'KILL-1')).length >= N).catch(async (e) => {
      const have = new Set(await stored(db, 'KILL-1'));
      const missing = range(N).filter((v) => !have.has(v));
      await sigterm(run);
      throw new Error(`stdout ${run.stdout} ` + `${(e as Error).message}: ${missing.length} missing (${missing.slice(0, 20).join(', ')} …); collector: ${run.stderr}`);
    });
    expect(await sigterm(run)).toBe(0);
    expect(await stored(db, 'KILL-1')).toEqual(range(N));
  });

  it('PostgreSQL cut off for seconds behind a proxy: collection goes on into the journal and drains in order when it returns', async () => {
    const t = await pg.create();
    cleanups.push(() => t.drop());
    const proxy = await tcpProxy(5432);
    cleanups.push(() => proxy.close());
    const url = new URL(t.url);
    url.port = String(proxy.port);
    const db = url.toString();
    const dir = tmpDir();
    const prefix = unique();
    const run = await startCollect(['--mqtt', BROKER, '--topic-prefix', prefix, '--client-id', prefix, '--db', db, '--journal', path.join(dir, 'journal')]);
    const c = await publisher();
    await publish(c, prefix, 'OUT-1', 0, 500);
    await until('the first rows', async () => (await stored(t.url, 'OUT-1')).length === 500);
    proxy.cut();
    // Readings keep arriving during the outage (published and acknowledged by the collector).
    const outageEnds = Date.now() + 4000;
    let i = 500;
    while (Date.now() < outageEnds) {
      await publish(c, prefix, 'OUT-1', i, i + 50);
      i += 50;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await stored(t.url, 'OUT-1')).length).toBe(500);
    proxy.restore();
    await publish(c, prefix, 'OUT-1', i, i + 500);
    i += 500;
    await until('the journal to drain', async () => (await stored(t.url, 'OUT-1')).length >= i, 60_000);
    expect(await sigterm(run)).toBe(0);
    expect(run.stderr).toMatch(/cannot write to the trace store .*collecting into the journal and retrying/);
    expect(run.stderr).toMatch(/trace store back after/);
    expect(await stored(t.url, 'OUT-1')).toEqual(range(i));
  });

  it('a bad config: exit 2, every error with its path, nothing started', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'collectors.yaml');
    fs.writeFileSync(
      file,
      [
        'journal: { dir: ' + JSON.stringify(path.join(dir, 'journal')) + ', maxBytes: -1 }',
        'drivers:',
        '  - { type: mqtt, name: line1, url: "http://x", tags: [{ topic: "a/+", equipment: "{1}", parameter: p }] }',
        '  - { type: modbus, name: plc, host: h, registers: [{ area: holding, address: 0, type: float64, equipment: E, parameter: p }] }',
      ].join('\n'),
    );
    const r = await runCliAsync(['collect', '--config', file, '--db', path.join(dir, 'trace.sqlite')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/journal\.maxBytes: /);
    expect(r.stderr).toMatch(/drivers\[0\]\.url: a broker URL/);
    expect(r.stderr).toMatch(/drivers\[1\]\.registers\[0\]\.type/);
    expect(fs.existsSync(path.join(dir, 'journal'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'trace.sqlite'))).toBe(false);
    const neither = await runCliAsync(['collect']);
    expect(neither.status).toBe(2);
    expect(neither.stderr).toMatch(/--config FILE .* or --mqtt URL/);
  });
});

/** A TCP proxy to 127.0.0.1:target that can be cut (listener closed, connections reset) and restored on the same port. */
async function tcpProxy(target: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    cut() {
      server.close();
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
    },
    restore() {
      server.listen(port, '127.0.0.1');
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
