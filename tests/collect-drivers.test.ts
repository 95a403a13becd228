/**
 * `tracereport collect --config` end to end with the OPC UA and Modbus drivers: the built CLI's own
 * simulators serve the line, the collector reads it through a YAML config, samples reach the trace
 * store and a limit rule raises an alarm in the `alarm` table. SIGTERM stops the collector with exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, requireBuild, runCli } from './support/cli.js';

let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-collect-drivers-'));
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function start(args: string[]): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn(BIN, args, { cwd: ROOT, env: { ...process.env, CI: 'true', TRACEREPORT_DATA: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  children.push(child);
  return Object.assign(child, { out: () => out, err: () => err });
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 40_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The first complete JSON value printed on stdout (the simulators print their driver section). */
function firstJson(text: string): Record<string, unknown> | undefined {
  const startAt = text.indexOf('{');
  if (startAt < 0) return undefined;
  let depth = 0;
  for (let i = startAt; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return JSON.parse(text.slice(startAt, i + 1)) as Record<string, unknown>;
  }
  return undefined;
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

interface Counts {
  samples: number;
  alarms: { rule: string; parameter: string; cleared_at: string | null }[];
}

function counts(db: string, equipment: string, parameter: string): Counts {
  if (!fs.existsSync(db)) return { samples: 0, alarms: [] };
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const has = sqlite.prepare("select count(*) as n from sqlite_master where name = 'sample'").get() as { n: number };
    if (!has.n) return { samples: 0, alarms: [] };
    const samples = (
      sqlite.prepare('select count(*) as n from sample s join equipment e on e.id = s.equipment_id where e.code = ? and s.parameter = ?').get(equipment, parameter) as { n: number }
    ).n;
    const alarms = sqlite
      .prepare('select a.rule, a.parameter, a.cleared_at from alarm a join equipment e on e.id = a.equipment_id where e.code = ? and a.parameter = ?')
      .all(equipment, parameter) as Counts['alarms'];
    return { samples, alarms };
  } finally {
    sqlite.close();
  }
}

describe.each([
  {
    kind: 'modbus',
    // `--map` prints the register map (with a driver section) and exits; the simulator then serves without it.
    simArgs: (port: number) => ['simulate', 'modbus', '--port', String(port), '--lines', 'L1'],
    mapArgs: (port: number) => ['simulate', 'modbus', '--port', String(port), '--lines', 'L1', '--map'],
    section: (j: Record<string, unknown>) => ({ ...(j.driver as object), pollMs: 250 }),
  },
  { kind: 'opcua', simArgs: (port: number) => ['simulate', 'opcua', '--port', String(port), '--lines', 'L1', '--config'], mapArgs: undefined, section: (j: Record<string, unknown>) => j },
])('collect from the $kind simulator', ({ kind, simArgs, mapArgs, section }) => {
  it('stores samples and raises a limit alarm; SIGTERM exits 0', async () => {
    const port = await freePort();
    const printed = mapArgs ? runCli(mapArgs(port)).stdout : undefined;
    const sim = start(simArgs(port));
    const driver = await until(`${kind} simulator's driver section`, () => firstJson(printed ?? sim.out()));
    const db = path.join(dir, `${kind}.sqlite`);
    const config = path.join(dir, `${kind}.yaml`);
    fs.writeFileSync(
      config,
      YAML.stringify({
        batch: { size: 50, maxDelayMs: 200 },
        drivers: [section(driver)],
        // Any mix_temp is above this USL: the first reading raises the alarm.
        rules: { fromSpec: false, limits: [{ equipment: 'MIX-L1-01', parameter: 'mix_temp', usl: -1000 }], spc: { enabled: false } },
      }),
    );
    const collector = start(['collect', '--config', config, '--db', db, '--journal', path.join(dir, `${kind}-journal`)]);
    const seen = await until(`${kind} samples and an alarm in the store`, () => {
      const c = counts(db, 'MIX-L1-01', 'mix_temp');
      return c.samples >= 3 && c.alarms.length > 0 ? c : undefined;
    });
    collector.kill('SIGTERM');
    expect(await exited(collector), collector.err()).toBe(0);
    sim.kill('SIGTERM');
    await exited(sim);
    expect(seen.alarms).toEqual([{ rule: 'limit_high', parameter: 'mix_temp', cleared_at: null }]);
    const after = counts(db, 'MIX-L1-01', 'mix_temp');
    expect(after.samples).toBeGreaterThanOrEqual(seen.samples);
    expect(after.alarms).toHaveLength(1); // one open alarm per (equipment, parameter, rule)
    const sqlite = new Database(db, { readonly: true });
    const values = sqlite
      .prepare("select s.value from sample s join equipment e on e.id = s.equipment_id where e.code = 'MIX-L1-01' and s.parameter = 'mix_temp'")
      .all() as { value: number }[];
    sqlite.close();
    for (const { value } of values) expect(value).toBeGreaterThan(40), expect(value).toBeLessThan(100);
  });
});

describe('zero-config MQTT over the demo plant', () => {
  it('the simulated line reaches the store and only its planted excursion raises a limit alarm (limits from the specs)', async () => {
    const db = path.join(dir, 'demo.sqlite');
    const gen = runCli(['demo', 'generate', '--lots', '200', '--db', db]);
    expect(gen.status, gen.stderr).toBe(0);
    const prefix = `trzc${process.pid}${Date.now() % 100000}`;
    const collector = start(['collect', '--mqtt', 'mqtt://127.0.0.1:1883', '--topic-prefix', prefix, '--client-id', prefix, '--db', db, '--journal', path.join(dir, 'zc-journal')]);
    await until('the collector to subscribe', () => (/collecting from mqtt/.test(collector.err()) ? true : undefined));
    // The excursion started 10 s ago: its plateau (out of every product's spec) is under way while the line publishes.
    const sim = start(['simulate', 'mqtt', '--broker', 'mqtt://127.0.0.1:1883', '--prefix', prefix, '--rate', '2', '--duration', '4', '--excursion-at', new Date(Date.now() - 10_000).toISOString(), '--excursion-for', '60']);
    expect(await exited(sim), sim.err()).toBe(0);
    // The demo plant's history has alarms of its own (rule SPEC_HIGH, in 2025): only the collector's count here.
    const excursion = await until('the excursion alarm', () => {
      const c = counts(db, 'EXT-L1-01', 'melt_pressure');
      const live = c.alarms.filter((a) => a.rule.startsWith('limit'));
      return live.length > 0 ? { ...c, alarms: live } : undefined;
    });
    collector.kill('SIGTERM');
    expect(await exited(collector), collector.err()).toBe(0);
    expect(excursion.alarms).toEqual([{ rule: 'limit_high', parameter: 'melt_pressure', cleared_at: null }]);
    const sqlite = new Database(db, { readonly: true });
    const since = "'2026-01-01'";
    const alarms = sqlite
      .prepare(`select e.code, a.parameter, a.rule from alarm a join equipment e on e.id = a.equipment_id where a.raised_at > ${since} and a.rule like 'limit%'`)
      .all();
    const live = sqlite.prepare(`select count(*) as n from sample where ts > ${since}`).get() as { n: number };
    sqlite.close();
    expect(alarms).toEqual([{ code: 'EXT-L1-01', parameter: 'melt_pressure', rule: 'limit_high' }]);
    expect(live.n).toBeGreaterThan(36 * 4);
  });
});
