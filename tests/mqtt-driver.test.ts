/**
 * The MQTT driver against real brokers: the local Mosquitto (127.0.0.1:1883) for mapping and persistent
 * sessions, and a Mosquitto child process of our own for a broker restart in the middle of a stream.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mqttDriverSchema, type MqttDriverConfig } from '../collectors/config.js';
import { MqttDriver } from '../collectors/mqtt/driver.js';
import type { Reading, ReadingSink } from '../collectors/types.js';

const LOCAL = 'mqtt://127.0.0.1:1883';
const uid = () => randomUUID().slice(0, 8);

function config(input: Record<string, unknown>): MqttDriverConfig {
  return mqttDriverSchema.parse({ type: 'mqtt', name: `t-${uid()}`, url: LOCAL, ...input });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A started driver collecting into an array; stopped after each test. */
const running: MqttDriver[] = [];
const clients: MqttClient[] = [];
/** Persistent sessions left on the shared local broker, removed after each test. */
const sessions = new Set<string>();
async function started(cfg: MqttDriverConfig, logs: string[] = []) {
  const readings: Reading[] = [];
  const driver = new MqttDriver(cfg, { log: (l) => logs.push(l), reconnectMinMs: 100, reconnectMaxMs: 1000 });
  running.push(driver);
  if (cfg.url === LOCAL && cfg.qos === 1) sessions.add(cfg.clientId ?? `tracereport-${cfg.name}`);
  await driver.start((rs) => readings.push(...rs));
  expect(driver.status().state).toBe('connected');
  return { driver, readings, logs };
}
async function publisher(url = LOCAL, opts: Parameters<typeof connectAsync>[1] = {}) {
  const c = await connectAsync(url, { clientId: `trpub-${uid()}`, ...opts });
  clients.push(c);
  return c;
}
/** Removes a persistent session from the broker (connect clean, disconnect). */
async function dropSession(clientId: string, url = LOCAL) {
  const c = await connectAsync(url, { clientId, clean: true });
  await c.endAsync();
}

afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
  for (const c of clients.splice(0)) await c.endAsync(true);
  for (const id of sessions) await dropSession(id);
  sessions.clear();
});

describe('mqtt driver: mapping (local Mosquitto)', () => {
  it('maps wildcard levels to equipment and parameter, literals stay literal', async () => {
    const p = `trtest/${uid()}`;
    const { readings } = await started(
      config({
        tags: [
          { topic: `${p}/conv/+/+`, equipment: '{1}', parameter: '{2}' },
          { topic: `${p}/line/+/ext/#`, equipment: 'EXT-{1}-01', parameter: '{2}', unit: 'bar' },
          { topic: `${p}/fixed`, equipment: 'MIX-L1-01', parameter: 'mix_temp' },
        ],
      }),
    );
    const pub = await publisher();
    await pub.publishAsync(`${p}/conv/EXT-L1-01/melt_pressure`, '{"ts":"2026-03-01T08:00:00.000Z","value":101.5}', { qos: 1 });
    await pub.publishAsync(`${p}/line/L2/ext/melt/pressure`, '{"ts":"2026-03-01T08:00:01.000Z","value":99}', { qos: 1 });
    await pub.publishAsync(`${p}/fixed`, '{"ts":"2026-03-01T08:00:02.000Z","value":70.25}', { qos: 1 });
    await pub.publishAsync(`${p}/conv/only-one-level`, '1', { qos: 1 });
    await waitFor('3 readings', () => readings.length >= 3);
    expect(readings).toEqual([
      { equipment: 'EXT-L1-01', parameter: 'melt_pressure', ts: new Date('2026-03-01T08:00:00.000Z'), value: 101.5 },
      { equipment: 'EXT-L2-01', parameter: 'melt/pressure', ts: new Date('2026-03-01T08:00:01.000Z'), value: 99, unit: 'bar' },
      { equipment: 'MIX-L1-01', parameter: 'mix_temp', ts: new Date('2026-03-01T08:00:02.000Z'), value: 70.25 },
    ]);
  });

  it('reads values and times at JSON paths; one message can feed several tags', async () => {
    const p = `trtest/${uid()}`;
    const { readings } = await started(
      config({
        tags: [
          { topic: `${p}/+`, equipment: '{1}', parameter: 'melt_temp', unit: 'degC', path: 'data.temp', tsPath: 'meta.time' },
          { topic: `${p}/+`, equipment: '{1}', parameter: 'melt_pressure', unit: 'bar', path: 'data.p.0' },
        ],
      }),
    );
    const pub = await publisher();
    await pub.publishAsync(`${p}/EXT-L3-01`, JSON.stringify({ meta: { time: Date.parse('2026-03-01T09:00:00Z') }, data: { temp: 214.5, p: [104.25] } }), { qos: 1 });
    await waitFor('2 readings', () => readings.length >= 2);
    expect(readings[0]).toEqual({ equipment: 'EXT-L3-01', parameter: 'melt_temp', unit: 'degC', value: 214.5, ts: new Date('2026-03-01T09:00:00Z') });
    // No tsPath and no `ts` in the payload: stamped on receipt.
    expect(readings[1]).toMatchObject({ equipment: 'EXT-L3-01', parameter: 'melt_pressure', unit: 'bar', value: 104.25 });
    expect(Math.abs(readings[1]!.ts.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('a bare number is stamped on receipt; {ts, value} keeps the device time', async () => {
    const p = `trtest/${uid()}`;
    const { readings } = await started(config({ tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }));
    const pub = await publisher();
    const before = Date.now();
    await pub.publishAsync(`${p}/PCK-L1-01/line_speed`, '51.5', { qos: 1 });
    await waitFor('1 reading', () => readings.length >= 1);
    const after = Date.now();
    await pub.publishAsync(`${p}/PCK-L1-01/line_speed`, '{"ts":"2020-01-01T00:00:00Z","value":49}', { qos: 1 });
    await waitFor('2 readings', () => readings.length >= 2);
    expect(readings[0]!.value).toBe(51.5);
    expect(readings[0]!.ts.getTime()).toBeGreaterThanOrEqual(before);
    expect(readings[0]!.ts.getTime()).toBeLessThanOrEqual(after);
    expect(readings[1]).toEqual({ equipment: 'PCK-L1-01', parameter: 'line_speed', value: 49, ts: new Date('2020-01-01T00:00:00Z') });
  });

  it('scales, offsets and drops changes inside the deadband', async () => {
    const p = `trtest/${uid()}`;
    const { driver, readings } = await started(
      config({ tags: [{ topic: `${p}/raw`, equipment: 'EXT-L1-01', parameter: 'melt_pressure', scale: 0.1, offset: -10, deadband: 0.5 }] }),
    );
    const pub = await publisher();
    const raws = [1000, 1002, 1010, 1011, 1000];
    for (const [i, raw] of raws.entries()) {
      await pub.publishAsync(`${p}/raw`, JSON.stringify({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), value: raw }), { qos: 1 });
    }
    await pub.publishAsync(`${p}/raw`, '{"ts":"2026-01-01T00:01:00Z","value":2000}', { qos: 1 }); // marks the end
    await waitFor('the end marker', () => readings.some((r) => r.value === 190));
    // 90 kept; 90.2 within 0.5 of 90; 91 kept; 91.1 within 0.5 of 91; 90 kept (1 from 91); 190 kept.
    expect(readings.map((r) => Math.round(r.value * 1000) / 1000)).toEqual([90, 91, 90, 190]);
    expect(driver.status().suppressed).toBe(2);
  });

  it('ignores bad payloads: counted and logged at a limited rate, the driver keeps running', async () => {
    const p = `trtest/${uid()}`;
    const logs: string[] = [];
    const { driver, readings } = await started(config({ tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }), logs);
    const pub = await publisher();
    const bad = ['garbage', '{"value":"x"}', '{"ts":"not a time","value":1}', '{"no":"value"}', '', '\u0000\u0001'];
    for (const b of bad) await pub.publishAsync(`${p}/MLD-L1-01/cycle_time`, b, { qos: 1 });
    await pub.publishAsync(`${p}/MLD-L1-01/cycle_time`, '{"ts":"2026-03-01T08:00:00Z","value":30.1}', { qos: 1 });
    await waitFor('the good reading', () => readings.length >= 1);
    expect(readings).toEqual([{ equipment: 'MLD-L1-01', parameter: 'cycle_time', ts: new Date('2026-03-01T08:00:00Z'), value: 30.1 }]);
    const s = driver.status();
    expect(s.badPayloads).toBe(bad.length);
    expect(s.state).toBe('connected');
    expect(s.readings).toBe(1);
    // Rate-limited: one warning now (the rest are summed up at the next warning or at stop).
    expect(logs.filter((l) => l.includes('ignored a message'))).toHaveLength(1);
    expect(logs[0]).toMatch(/ignored a message on trtest\/.+\/MLD-L1-01\/cycle_time: not JSON or a number/);
    await driver.stop();
    expect(logs.at(-1)).toMatch(/5 more bad payload\(s\) ignored since the last warning \(6 in all\)/);
  });

  it('ignores a retained value without a time of its own, keeps a retained one with its time', async () => {
    const p = `trtest/${uid()}`;
    const pub = await publisher();
    await pub.publishAsync(`${p}/EXT-L1-01/melt_temp`, '215', { qos: 1, retain: true });
    await pub.publishAsync(`${p}/EXT-L1-01/melt_pressure`, '{"ts":"2026-03-01T08:00:00Z","value":101}', { qos: 1, retain: true });
    try {
      const { driver, readings } = await started(config({ tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }));
      await pub.publishAsync(`${p}/END/marker`, '{"ts":"2026-03-01T08:00:01Z","value":1}', { qos: 1 });
      await waitFor('the marker', () => readings.some((r) => r.equipment === 'END'));
      expect(readings.map((r) => `${r.parameter}=${r.value}`)).toEqual(['melt_pressure=101', 'marker=1']);
      expect(driver.status().staleRetained).toBe(1);
    } finally {
      for (const t of ['melt_temp', 'melt_pressure']) await pub.publishAsync(`${p}/EXT-L1-01/${t}`, '', { qos: 1, retain: true });
    }
  });

  it('rejects a placeholder without a wildcard level and an unreadable TLS file, naming the tag', async () => {
    expect(() => new MqttDriver(config({ tags: [{ topic: 'a/+', equipment: '{1}', parameter: '{2}' }] }))).toThrow(
      /tags\[0\]\.parameter "\{2\}" uses \{2\} but topic "a\/\+" has 1 wildcard level/,
    );
    expect(() => new MqttDriver(config({ tags: [{ topic: 'a/#/b', equipment: 'E', parameter: 'P' }] }))).toThrow(/tags\[0\]\.topic: .*# must be/);
    const d = new MqttDriver(config({ url: 'mqtts://127.0.0.1:8883', tls: { ca: '/nonexistent/ca.pem' }, tags: [{ topic: 'a', equipment: 'E', parameter: 'P' }] }));
    await expect(d.start(() => {})).rejects.toThrow(/cannot read tls\.ca \/nonexistent\/ca\.pem/);
  });
});

describe('mqtt driver: persistent session (local Mosquitto)', () => {
  it('messages published while the driver is stopped arrive when it starts again with the same client id', async () => {
    const p = `trtest/${uid()}`;
    const clientId = `trtest-collector-${uid()}`;
    const cfg = config({ clientId, tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] });
    const first = await started(cfg);
    await first.driver.stop();
    running.splice(running.indexOf(first.driver), 1);
    const pub = await publisher();
    const t0 = Date.UTC(2026, 2, 1, 8);
    for (let i = 0; i < 100; i++) {
      await pub.publishAsync(`${p}/EXT-L1-01/melt_pressure`, JSON.stringify({ ts: new Date(t0 + i * 1000).toISOString(), value: 100 + i / 10 }), { qos: 1 });
    }
    const second = await started(cfg);
    await waitFor('100 readings', () => second.readings.length >= 100);
    // A marker published now arrives after the queue: nothing else is still on its way.
    await pub.publishAsync(`${p}/END/marker`, '1', { qos: 1 });
    await waitFor('the marker', () => second.readings.some((r) => r.equipment === 'END'));
    const data = second.readings.filter((r) => r.equipment !== 'END');
    expect(data).toHaveLength(100);
    expect(new Set(data.map((r) => r.ts.getTime())).size).toBe(100);
    expect(data.map((r) => r.value)).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i / 10));
    await second.driver.stop();
    running.splice(running.indexOf(second.driver), 1);
    await dropSession(clientId);
  });
});

// ------------------------------------------------------------------ a broker of our own, restarted mid-stream

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
  });
}

class Broker {
  private child: ChildProcess | undefined;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trmqtt-'));
  /** `security`: config lines after the listener (default: anonymous access). */
  constructor(
    readonly port: number,
    security: (dir: string) => string[] = () => ['allow_anonymous true'],
    private readonly scheme = 'mqtt',
  ) {
    // Mosquitto started as root drops to its own user: it must be able to write its persistence file here.
    fs.chmodSync(this.dir, 0o777);
    fs.writeFileSync(
      path.join(this.dir, 'mosquitto.conf'),
      [`listener ${port} 127.0.0.1`, ...security(this.dir), 'persistence true', `persistence_location ${this.dir}/`, 'max_queued_messages 100000', 'log_dest none', ''].join('\n'),
    );
  }
  get url() {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn('mosquitto', ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    const until = Date.now() + 10_000;
    while (!(await portOpen(this.port))) {
      if (this.child.exitCode !== null) throw new Error(`mosquitto exited with ${this.child.exitCode}`);
      if (Date.now() > until) throw new Error(`mosquitto did not listen on ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** SIGTERM: Mosquitto saves its persistence file (sessions and queued messages) and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('mqtt driver: broker restarted mid-stream', () => {
  const brokers: Broker[] = [];
  afterAll(async () => {
    for (const b of brokers) await b.stop(), b.remove();
  });

  it('starts while the broker is down (retrying with backoff) and collects once it comes up', async () => {
    const broker = new Broker(await freePort());
    brokers.push(broker);
    const p = `trtest/${uid()}`;
    const readings: Reading[] = [];
    const driver = new MqttDriver(config({ url: broker.url, clientId: `trtest-collector-${uid()}`, tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }), {
      log: () => {},
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
    });
    running.push(driver);
    await driver.start((rs) => readings.push(...rs));
    expect(driver.status().state).toBe('reconnecting');
    expect(driver.status().lastError).toMatch(/ECONNREFUSED/);
    await waitFor('two failed reconnects', () => driver.status().reconnects >= 2);
    await broker.start();
    await waitFor('connected', () => driver.status().state === 'connected');
    const pub = await publisher(broker.url);
    await pub.publishAsync(`${p}/MIX-L1-01/mix_temp`, '{"ts":"2026-03-01T08:00:00Z","value":70}', { qos: 1 });
    await waitFor('the reading', () => readings.length >= 1);
    expect(readings).toEqual([{ equipment: 'MIX-L1-01', parameter: 'mix_temp', ts: new Date('2026-03-01T08:00:00Z'), value: 70 }]);
    expect(driver.status().lastError).toBeUndefined();
  }, 30_000);

  it('a message the pipeline refuses is not acknowledged: the broker delivers it again after the reconnect', async () => {
    const broker = new Broker(await freePort());
    brokers.push(broker);
    await broker.start();
    const p = `trtest/${uid()}`;
    const readings: Reading[] = [];
    const logs: string[] = [];
    let refuse = 2;
    const driver = new MqttDriver(config({ url: broker.url, clientId: `trtest-collector-${uid()}`, tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }), {
      log: (l) => logs.push(l),
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
    });
    running.push(driver);
    await driver.start((rs) => {
      if (refuse-- > 0) throw new Error('journal full');
      readings.push(...rs);
    });
    const pub = await publisher(broker.url);
    for (let i = 0; i < 5; i++) await pub.publishAsync(`${p}/EXT-L1-01/melt_pressure`, JSON.stringify({ ts: new Date(Date.UTC(2026, 2, 1, 8, 0, i)).toISOString(), value: i }), { qos: 1 });
    await waitFor('5 distinct readings', () => new Set(readings.map((r) => r.value)).size >= 5);
    expect([...new Set(readings.map((r) => r.value))].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(driver.status().reconnects).toBeGreaterThanOrEqual(2);
    expect(logs.some((l) => /the pipeline refused readings \(journal full\)/.test(l))).toBe(true);
  }, 30_000);

  it('acknowledges only what reached the journal: when the end-of-turn journal write fails, the messages come again', async () => {
    const broker = new Broker(await freePort());
    brokers.push(broker);
    await broker.start();
    const p = `trtest/${uid()}`;
    const taken: Reading[] = [];
    const journaled: Reading[] = [];
    const logs: string[] = [];
    let failWrites = 1;
    const driver = new MqttDriver(config({ url: broker.url, clientId: `trtest-collector-${uid()}`, tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }), {
      log: (l) => logs.push(l),
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
    });
    running.push(driver);
    const sink: ReadingSink = (rs) => void taken.push(...rs);
    sink.journaled = () => {
      const turn = taken.splice(0);
      if (turn.length && failWrites-- > 0) throw new Error('ENOSPC: no space left on device');
      journaled.push(...turn);
    };
    await driver.start(sink);
    const pub = await publisher(broker.url);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => pub.publishAsync(`${p}/EXT-L1-01/melt_pressure`, JSON.stringify({ ts: new Date(Date.UTC(2026, 2, 1, 8, 0, i)).toISOString(), value: i }), { qos: 1 })),
    );
    await waitFor('20 distinct journaled readings', () => new Set(journaled.map((r) => r.value)).size >= 20);
    expect([...new Set(journaled.map((r) => r.value))].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(driver.status().reconnects).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => /could not journal readings \(ENOSPC/.test(l))).toBe(true);
  }, 30_000);

  it('N samples published at a steady rate across a broker restart arrive as exactly N distinct readings', async () => {
    const broker = new Broker(await freePort());
    brokers.push(broker);
    await broker.start();
    const N = 400;
    const p = `trtest/${uid()}`;
    const { driver, readings } = await started(
      config({ url: broker.url, clientId: `trtest-collector-${uid()}`, tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }),
    );
    // The publisher queues QoS 1 messages while disconnected and resends unacknowledged ones on reconnect.
    const pub = await publisher(broker.url, { clientId: `trtest-line-${uid()}`, clean: false, reconnectPeriod: 100 });
    const t0 = Date.UTC(2026, 2, 1, 8);
    const published: Promise<unknown>[] = [];
    let restarted: Promise<void> | undefined;
    for (let i = 0; i < N; i++) {
      const topic = `${p}/${i % 2 ? 'EXT-L1-01' : 'MIX-L1-01'}/${i % 2 ? 'melt_pressure' : 'mix_temp'}`;
      published.push(pub.publishAsync(topic, JSON.stringify({ ts: new Date(t0 + i * 100).toISOString(), value: i }), { qos: 1 }));
      if (i === N / 4) {
        restarted = (async () => {
          await broker.stop();
          await new Promise((r) => setTimeout(r, 700));
          await broker.start();
        })();
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await restarted;
    await Promise.all(published);
    await waitFor(`${N} distinct readings`, () => new Set(readings.map((r) => r.value)).size >= N, 30_000).catch((e) => {
      const got = new Set(readings.map((r) => r.value));
      const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !got.has(i));
      throw new Error(`${(e as Error).message}: ${got.size} distinct of ${readings.length}; missing ${missing.length}: ${missing.slice(0, 20).join(',')}; status ${JSON.stringify(driver.status())}`);
    });
    // Every key (equipment, parameter, ts) carries one value: duplicates from redelivery are identical,
    // so the store's unique key absorbs them.
    const byKey = new Map<string, Set<number>>();
    for (const r of readings) {
      const k = `${r.equipment}|${r.parameter}|${r.ts.toISOString()}`;
      byKey.set(k, (byKey.get(k) ?? new Set()).add(r.value));
    }
    expect(byKey.size).toBe(N);
    for (const [k, values] of byKey) expect(values.size, k).toBe(1);
    expect([...new Set(readings.map((r) => r.value))].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    const s = driver.status();
    expect(s.reconnects).toBeGreaterThanOrEqual(1);
    expect(s.state).toBe('connected');
    console.log(`broker restart: ${N} published, ${readings.length} delivered (${readings.length - N} duplicates), ${s.reconnects} reconnect(s)`);
  }, 60_000);
});

// ------------------------------------------------------------------ TLS with client certificates and a password

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl into `dir`. */
function makeCertificates(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=trtest-ca');
  for (const [name, ext] of [['server', ['-extfile', 'san.ext']], ['client', []]] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=trtest-${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...ext);
  }
  execFileSync('mosquitto_passwd', ['-b', '-c', path.join(dir, 'passwd'), 'line', 's3cret'], { stdio: 'ignore' });
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o644);
}

describe('mqtt driver: TLS with client certificates and credentials', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = new Broker(
      await freePort(),
      (dir) => {
        makeCertificates(dir);
        return [`cafile ${dir}/ca.pem`, `certfile ${dir}/server.pem`, `keyfile ${dir}/server.key`, 'require_certificate true', 'allow_anonymous false', `password_file ${dir}/passwd`];
      },
      'mqtts',
    );
    await broker.start();
  }, 30_000);
  afterAll(async () => {
    await broker.stop();
    broker.remove();
  });
  const tls = () => ({ ca: path.join(broker.dir, 'ca.pem'), cert: path.join(broker.dir, 'client.pem'), key: path.join(broker.dir, 'client.key') });

  it('connects with the CA, a client certificate, user and password, and collects', async () => {
    const p = `trtest/${uid()}`;
    const { readings } = await started(
      config({ url: broker.url, username: 'line', password: 's3cret', tls: tls(), tags: [{ topic: `${p}/+/+`, equipment: '{1}', parameter: '{2}' }] }),
    );
    const files = tls();
    const pub = await publisher(broker.url, { username: 'line', password: 's3cret', ca: fs.readFileSync(files.ca), cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) });
    await pub.publishAsync(`${p}/EXT-L1-01/melt_temp`, '{"ts":"2026-03-01T08:00:00Z","value":215}', { qos: 1 });
    await waitFor('the reading', () => readings.length >= 1);
    expect(readings).toEqual([{ equipment: 'EXT-L1-01', parameter: 'melt_temp', ts: new Date('2026-03-01T08:00:00Z'), value: 215 }]);
  });

  it.each([
    { what: 'a wrong password', cfg: () => ({ username: 'line', password: 'wrong', tls: tls() }), error: /Not authorized|Bad User Name or Password/i },
    { what: 'an unknown CA', cfg: () => ({ username: 'line', password: 's3cret', tls: { cert: tls().cert, key: tls().key } }), error: /self[- ]signed|unable to (get|verify)/i },
  ])('with $what: keeps retrying and says why', async ({ cfg, error }) => {
    const driver = new MqttDriver(config({ url: broker.url, ...cfg(), tags: [{ topic: 'x/+', equipment: '{1}', parameter: 'p' }] }), { log: () => {}, reconnectMinMs: 100, reconnectMaxMs: 400 });
    running.push(driver);
    await driver.start(() => {});
    await waitFor('a reconnect', () => driver.status().reconnects >= 1);
    expect(driver.status().state).not.toBe('connected');
    expect(driver.status().lastError).toMatch(error);
  });
});
