/**
 * The OPC UA driver against a real node-opcua server (the line server the simulator uses), started here:
 * node ids and browse paths, values and source timestamps, deadband, SignAndEncrypt with certificates and
 * username login, a refused login in the status, and a server restart mid-stream.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opcuaDriverSchema, type OpcuaDriverConfig } from '../collectors/config.js';
import { OpcuaDriver } from '../collectors/opcua/driver.js';
import { freePort, startLineServer, type LineServer, type LineTag } from '../collectors/opcua/line-server.js';
import { opcuaDriverSection, simulateOpcua } from '../collectors/simulate/opcua.js';
import { AttributeIds, OPCUACertificateManager, OPCUAClient } from 'node-opcua';
import { quietOpcuaLogs } from '../collectors/opcua/quiet.js';
import type { Reading } from '../collectors/types.js';

quietOpcuaLogs();

const TAGS: LineTag[] = [
  { kind: 'number', line: 'L1', equipment: 'MIX-1', parameter: 'mix_temp', unit: 'degC' },
  { kind: 'number', line: 'L1', equipment: 'MIX-1', parameter: 'mixer_speed', unit: 'rpm' },
  { kind: 'number', line: 'L1', equipment: 'EXT-1', parameter: 'melt_pressure', unit: 'bar' },
  { kind: 'number', line: 'L1', equipment: 'EXT-1', parameter: 'melt_temp', unit: 'degC' },
  { kind: 'number', line: 'L2', equipment: 'MLD-1', parameter: 'cycle_time', unit: 's' },
  { kind: 'number', line: 'L2', equipment: 'MLD-1', parameter: 'barrel_temp', unit: 'degC' },
  { kind: 'string', line: 'L1', equipment: 'MIX-1', parameter: 'lot' },
];
const USERS = { operator: 'correct horse' };

let dir: string;
let server: LineServer;
const drivers: OpcuaDriver[] = [];

function driverConfig(over: Partial<Record<keyof OpcuaDriverConfig, unknown>> & { items: unknown[] }): OpcuaDriverConfig {
  return opcuaDriverSchema.parse({ type: 'opcua', name: 'opc', endpoint: server.endpoint, publishingInterval: 50, pkiDir: path.join(dir, 'client-pki'), ...over });
}

/** Starts a driver collecting into an array. */
async function collect(config: OpcuaDriverConfig): Promise<{ driver: OpcuaDriver; readings: Reading[] }> {
  const driver = new OpcuaDriver(config, { initialDelayMs: 200, maxDelayMs: 1000, keepAliveCount: 5 });
  drivers.push(driver);
  const readings: Reading[] = [];
  await driver.start((rs) => readings.push(...rs));
  return { driver, readings };
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const of = (readings: readonly Reading[], equipment: string, parameter: string) => readings.filter((r) => r.equipment === equipment && r.parameter === parameter);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-opcua-'));
  server = await startLineServer({ port: await freePort(), pkiDir: path.join(dir, 'server-pki'), tags: TAGS, users: USERS, allowAnonymous: true });
}, 30_000);

afterAll(async () => {
  await Promise.all(drivers.map((d) => d.stop()));
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('OPC UA driver', () => {
  it('delivers readings for node ids and browse paths: scaled values, source timestamps, quality from the status code', async () => {
    const t0 = new Date('2026-03-01T08:00:00.123Z');
    server.set('MIX-1', 'mix_temp', 70.5, t0);
    server.set('EXT-1', 'melt_pressure', 101.25, t0);
    const { driver, readings } = await collect(
      driverConfig({
        items: [
          { nodeId: server.nodeId('MIX-1', 'mix_temp'), equipment: 'MIX-1', parameter: 'mix_temp', unit: 'degC', samplingInterval: 0 },
          { browsePath: server.browsePath('EXT-1', 'melt_pressure'), equipment: 'EXT-1', parameter: 'melt_pressure', unit: 'bar', scale: 10, offset: -5, samplingInterval: 0 },
        ],
      }),
    );
    expect(server.browsePath('EXT-1', 'melt_pressure')).toBe('/Objects/2:L1/2:EXT-1/2:melt_pressure');
    await until('the initial values', () => of(readings, 'MIX-1', 'mix_temp').length > 0 && of(readings, 'EXT-1', 'melt_pressure').length > 0);
    expect(of(readings, 'MIX-1', 'mix_temp')[0]).toEqual({ equipment: 'MIX-1', parameter: 'mix_temp', ts: t0, value: 70.5, unit: 'degC' });
    expect(of(readings, 'EXT-1', 'melt_pressure')[0]).toEqual({ equipment: 'EXT-1', parameter: 'melt_pressure', ts: t0, value: 101.25 * 10 - 5, unit: 'bar' });

    const t1 = new Date('2026-03-01T08:00:01.456Z');
    const t2 = new Date('2026-03-01T08:00:02.789Z');
    server.set('MIX-1', 'mix_temp', 71.25, t1, 'uncertain');
    server.set('EXT-1', 'melt_pressure', 99.5, t2, 'bad');
    await until('the changed values', () => of(readings, 'MIX-1', 'mix_temp').length > 1 && of(readings, 'EXT-1', 'melt_pressure').length > 1);
    expect(of(readings, 'MIX-1', 'mix_temp')[1]).toMatchObject({ ts: t1, value: 71.25, quality: 'uncertain' });
    expect(of(readings, 'EXT-1', 'melt_pressure')[1]).toMatchObject({ ts: t2, value: 99.5 * 10 - 5, quality: 'bad' });

    const status = driver.status();
    expect(status).toMatchObject({ name: 'opc', type: 'opcua', state: 'connected', reconnects: 0, monitoredItems: 2 });
    expect(status.readings).toBe(readings.length);
    expect(status.lastError).toBeUndefined();
    expect(server.logins[0]).toEqual({ securityMode: 'None', securityPolicy: 'None' });
    await driver.stop();
    expect(driver.status().state).toBe('stopped');
  });

  it('drops changes within the deadband (absolute, in reading units after scaling)', async () => {
    const base = Date.parse('2026-03-01T09:00:00Z');
    server.set('MIX-1', 'mixer_speed', 300, new Date(base));
    const { driver, readings } = await collect(
      driverConfig({
        items: [{ nodeId: server.nodeId('MIX-1', 'mixer_speed'), equipment: 'MIX-1', parameter: 'mixer_speed', scale: 2, deadband: 1, samplingInterval: 0, queueSize: 100 }],
      }),
    );
    await until('the first value', () => readings.length > 0);
    // Raw values; readings are ×2, so the deadband of 1 is 0.5 raw.
    const raw = [300.2, 300.4, 300.6, 300.9, 301.2, 301.25, 250, 250.5, 250.6];
    raw.forEach((v, k) => server.set('MIX-1', 'mixer_speed', v, new Date(base + 1000 * (k + 1))));
    const sentinel = new Date(base + 60_000);
    server.set('MIX-1', 'mixer_speed', 400, sentinel);
    await until('the last value', () => readings.some((r) => r.ts.getTime() === sentinel.getTime()));
    expect(readings.map((r) => r.value)).toEqual([600, 601.2, 602.4, 500, 501.2, 800]);
    await driver.stop();
  });

  it('connects with SignAndEncrypt (made and configured certificates, Basic256Sha256 and Aes128_Sha256_RsaOaep) and a username', async () => {
    const t = new Date('2026-03-01T10:00:00Z');
    server.set('MLD-1', 'cycle_time', 30.5, t);
    const item = { nodeId: server.nodeId('MLD-1', 'cycle_time'), equipment: 'MLD-1', parameter: 'cycle_time' };
    const signed = await collect(
      driverConfig({ name: 'secure', securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', username: 'operator', password: USERS.operator, items: [item] }),
    );
    await until('a reading over SignAndEncrypt', () => signed.readings.length > 0, 30_000);
    expect(signed.readings[0]).toMatchObject({ ts: t, value: 30.5 });
    expect(signed.driver.status()).toMatchObject({ state: 'connected' });
    // The certificate the first driver made lives in its PKI folder; a second client uses it from config paths.
    const pki = path.join(dir, 'client-pki');
    const certificate = path.join(pki, 'own', 'certs', 'client_certificate.pem');
    const privateKey = path.join(pki, 'own', 'private', 'private_key.pem');
    expect(fs.existsSync(certificate) && fs.existsSync(privateKey)).toBe(true);
    const configured = await collect(
      driverConfig({
        name: 'secure2',
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Aes128_Sha256_RsaOaep',
        certificate,
        privateKey,
        pkiDir: path.join(dir, 'client-pki-2'),
        username: 'operator',
        password: USERS.operator,
        items: [item],
      }),
    );
    await until('a reading with the configured certificate', () => configured.readings.length > 0, 30_000);
    expect(configured.readings[0]).toMatchObject({ ts: t, value: 30.5 });
    // The server saw both sessions encrypted, under the user's name.
    expect(server.logins.filter((l) => l.user === 'operator')).toEqual([
      { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', user: 'operator' },
      { securityMode: 'SignAndEncrypt', securityPolicy: 'Aes128_Sha256_RsaOaep', user: 'operator' },
    ]);
    expect(fs.existsSync(path.join(dir, 'client-pki-2', 'own', 'certs', 'client_certificate.pem'))).toBe(false);
    await Promise.all([signed.driver.stop(), configured.driver.stop()]);
  }, 40_000);

  it('reports a refused login in its status, without the password, and delivers nothing', async () => {
    const { driver, readings } = await collect(
      driverConfig({
        name: 'badlogin',
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Basic256Sha256',
        username: 'operator',
        password: 'wrong-password',
        items: [{ nodeId: server.nodeId('MLD-1', 'cycle_time'), equipment: 'MLD-1', parameter: 'cycle_time' }],
      }),
    );
    const status = await until('the login error', () => (driver.status().state === 'error' ? driver.status() : undefined), 30_000);
    expect(status.lastError).toMatch(/login as "operator" refused by opc\.tcp:\/\/127\.0\.0\.1:\d+\/UA\/TraceReport \(Bad\w+\): check the username and password/);
    expect(status.lastError).not.toContain('wrong-password');
    expect(readings).toEqual([]);
    await driver.stop();
  }, 40_000);

  it('rejects a bad configuration at construction', () => {
    expect(() => new OpcuaDriver(driverConfig({ items: [{ nodeId: 'not a node id ;;', equipment: 'E', parameter: 'p' }] }))).toThrow(/items\[0\]\.nodeId "not a node id ;;" is not an OPC UA node id/);
    expect(() => new OpcuaDriver(driverConfig({ items: [{ browsePath: 'Objects/2:L1', equipment: 'E', parameter: 'p' }] }))).toThrow(/items\[0\]\.browsePath .* must start with \//);
    expect(() => new OpcuaDriver(driverConfig({ securityMode: 'SignAndEncrypt', items: [{ nodeId: 'ns=2;s=x', equipment: 'E', parameter: 'p' }] }))).toThrow(/securityPolicy must be/);
    expect(() => new OpcuaDriver(driverConfig({ certificate: 'a.pem', items: [{ nodeId: 'ns=2;s=x', equipment: 'E', parameter: 'p' }] }))).toThrow(/both certificate and privateKey/);
  });

  it('starts before the server is up: retries in the background and subscribes once it is there', async () => {
    const port = await freePort();
    const endpoint = `opc.tcp://127.0.0.1:${port}/UA/TraceReport`;
    const { driver, readings } = await collect(
      driverConfig({ name: 'early', endpoint, items: [{ browsePath: server.browsePath('MLD-1', 'barrel_temp'), equipment: 'MLD-1', parameter: 'barrel_temp', samplingInterval: 0 }] }),
    );
    const waiting = await until('a failed first attempt', () => (driver.status().lastError ? driver.status() : undefined));
    expect(waiting.state).toBe('starting');
    expect(waiting.lastError).toContain(endpoint);
    const late = await startLineServer({ port, pkiDir: path.join(dir, 'server-pki'), tags: TAGS });
    try {
      const t = new Date('2026-03-01T11:00:00Z');
      late.set('MLD-1', 'barrel_temp', 225.5, t);
      await until('a reading from the late server', () => readings.find((r) => r.ts.getTime() === t.getTime()), 20_000);
      expect(driver.status()).toMatchObject({ state: 'connected', reconnects: 0, monitoredItems: 1 });
    } finally {
      await driver.stop();
      await late.stop();
    }
  }, 30_000);

  it('the simulator serves the line: every numeric tag by browse path with the line\'s value at its source timestamp, lot and operation as text', async () => {
    const sim = await simulateOpcua({ port: 0, lines: ['L1'], rateHz: 10, seed: 'opcua-test', pkiDir: path.join(dir, 'sim-pki') });
    try {
      const section = opcuaDriverSection(sim.line, sim.server);
      const numeric = sim.line.tags().filter((t) => t.kind === 'number');
      expect(section.items).toHaveLength(numeric.length);
      const { driver, readings } = await collect({ ...section, publishingInterval: 100, pkiDir: path.join(dir, 'client-pki') });
      await until('two readings from every tag', () => numeric.every((t) => of(readings, t.equipment, t.parameter).length >= 2), 20_000);
      for (const r of readings) expect(r.value).toBe(sim.line.value(r.equipment, r.parameter, r.ts));
      expect(readings.every((r) => r.ts.getTime() % 100 === 0)).toBe(true);
      await driver.stop();

      const client = OPCUAClient.create({
        endpointMustExist: false,
        connectionStrategy: { maxRetry: 0 },
        clientCertificateManager: new OPCUACertificateManager({ rootFolder: path.join(dir, 'reader-pki'), disableFileWatchers: true }),
      });
      await client.connect(sim.endpoint);
      try {
        const session = await client.createSession();
        const machine = sim.line.state(new Date())[0]!;
        const before = sim.line.state(sim.updatedAt).find((s) => s.equipment === machine.equipment)!;
        const [lot, operation] = await session.read([
          { nodeId: sim.server.nodeId(machine.equipment, 'lot'), attributeId: AttributeIds.Value },
          { nodeId: sim.server.nodeId(machine.equipment, 'operation'), attributeId: AttributeIds.Value },
        ]);
        const after = sim.line.state(sim.updatedAt).find((s) => s.equipment === machine.equipment)!;
        expect([before.lot, after.lot]).toContain(lot!.value.value);
        expect(operation!.value.value).toBe(after.operation);
        await session.close();
      } finally {
        await client.disconnect();
      }
    } finally {
      await sim.stop();
    }
  }, 40_000);

  it('reconnects after the server restarts: the subscription is re-created and every monitored item delivers again', async () => {
    const numeric = TAGS.filter((t) => t.kind === 'number');
    const { driver, readings } = await collect(
      driverConfig({
        items: numeric.map((t, k) =>
          k % 2 === 0
            ? { nodeId: server.nodeId(t.equipment, t.parameter), equipment: t.equipment, parameter: t.parameter, samplingInterval: 0 }
            : { browsePath: server.browsePath(t.equipment, t.parameter), equipment: t.equipment, parameter: t.parameter, samplingInterval: 0 },
        ),
      }),
    );
    let clock = Date.parse('2026-03-02T00:00:00Z');
    let live: LineServer | undefined = server;
    const publish = setInterval(() => {
      clock += 1000;
      for (const t of numeric) live?.set(t.equipment, t.parameter, (clock / 1000) % 1000, new Date(clock));
    }, 50);
    try {
      await until('readings from every item', () => numeric.every((t) => of(readings, t.equipment, t.parameter).length >= 3));
      expect(driver.status().monitoredItems).toBe(numeric.length);

      const port = server.port;
      live = undefined;
      await server.stop();
      await until('the driver to notice', () => driver.status().state === 'reconnecting');
      const cut = clock;
      server = await startLineServer({ port, pkiDir: path.join(dir, 'server-pki'), tags: TAGS, users: USERS, allowAnonymous: true });
      live = server;

      await until('readings from every item after the restart', () => numeric.every((t) => of(readings, t.equipment, t.parameter).some((r) => r.ts.getTime() > cut)), 30_000);
      const status = driver.status();
      expect(status.state).toBe('connected');
      expect(status.reconnects).toBeGreaterThanOrEqual(1);
      expect(status.lastError).toBeUndefined();
      expect(status.monitoredItems).toBe(numeric.length);
      // Per item: readings keep coming in order after the restart.
      const before = readings.length;
      await until('more readings', () => readings.length >= before + numeric.length * 3);
      for (const t of numeric) {
        const ts = of(readings, t.equipment, t.parameter).map((r) => r.ts.getTime());
        expect(ts.filter((x) => x > cut).length).toBeGreaterThanOrEqual(2);
      }
    } finally {
      clearInterval(publish);
      await driver.stop();
    }
  }, 60_000);
});
