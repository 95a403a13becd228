/**
 * `tracereport simulate … --db` end to end with real peers: a SQLite demo store, the local Mosquitto
 * (127.0.0.1:1883) and `tracereport collect --mqtt` on a topic prefix of its own. The simulator records each
 * operation its machines start (with the product) before publishing the operation's first sample, so the
 * collector's samples belong to those lots and the planted excursion's alarm is raised on the product's
 * spec limit (CMP-PP v2 on EXT-L1-01: USL 125 bar), not on the equipment's widest window (130 bar). A
 * restart duplicates nothing; a store that does not answer does not stop the simulation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, requireBuild, runCli } from './support/cli.js';

const BROKER = 'mqtt://127.0.0.1:1883';
let dir: string;
let store: string;
const children: ChildProcess[] = [];
const prefixes: string[] = [];

beforeAll(() => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-simulate-store-'));
  store = path.join(dir, 'demo.sqlite');
  const gen = runCli(['demo', 'generate', '--lots', '200', '--db', store]);
  expect(gen.status, gen.stderr).toBe(0);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  // The simulators' retained state messages.
  const c = await connectAsync(BROKER, { clientId: `trtest-simstore-clean-${process.pid}` });
  for (const p of prefixes) for (const eq of ['MIX-L1-01', 'EXT-L1-01', 'MLD-L1-01', 'MLD-L1-02', 'PCK-L1-01']) await c.publishAsync(`${p}-state/${eq}`, '', { retain: true, qos: 1 });
  await c.endAsync();
  fs.rmSync(dir, { recursive: true, force: true });
});

function start(args: string[]): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn(BIN, args, { cwd: ROOT, env: { ...process.env, CI: 'true', TRACEREPORT_DATA: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  children.push(child);
  return Object.assign(child, { out: () => out, err: () => err });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
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

function query<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(store, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

interface SimOp {
  code: string;
  equipment: string;
  started_at: string;
  ended_at: string | null;
  lot: string;
  material: string;
  product: string;
  route: string;
  version: number;
  step: number;
}

/** The operations of the simulated line (its work orders are WO-S<line>-<product>). */
const simulatedOps = () =>
  query<SimOp>(
    `select o.code as code, e.code as equipment, o.started_at as started_at, o.ended_at as ended_at, l.code as lot, lm.code as material,
            wm.code as product, r.code as route, r.version as version, o.step_seq as step
     from operation o join equipment e on e.id = o.equipment_id join lot l on l.id = o.lot_id join material lm on lm.id = l.material_id
       join work_order wo on wo.id = o.work_order_id join material wm on wm.id = wo.product_id join route r on r.id = wo.route_id
     where wo.code like 'WO-S%' order by e.code, o.started_at`,
  );

const L1 = {
  'MIX-L1-01': { product: 'CMP-PP', step: 10 },
  'EXT-L1-01': { product: 'CMP-PP', step: 20 },
  'MLD-L1-01': { product: 'PART-A100', step: 10 },
  'MLD-L1-02': { product: 'PART-A100', step: 10 },
  'PCK-L1-01': { product: 'PART-A100', step: 20 },
} as const;

interface LotDetailJson {
  detail: {
    lot: string;
    operations: { operation: string; equipment: string; end: string | null; parameters: { parameter: string; count: number; usl: number | null; outOfSpec: number }[] }[];
    alarms: { rule: string; parameter: string; limit: number; operation: string }[];
  }[];
}

describe('simulate mqtt --db: the running operations in the trace store, the collector on the product’s spec', () => {
  let since: string;

  it('operations with products are in the store before their samples; samples belong to their lots; the excursion’s alarm has the product’s USL', async () => {
    const lotsBefore = query<{ code: string; material_id: number; work_order_id: number | null; qty: number | null }>('select code, material_id, work_order_id, qty from lot order by code');
    since = new Date().toISOString();
    const prefix = `trss${process.pid}${Date.now() % 100000}`;
    prefixes.push(prefix);
    const collector = start(['collect', '--mqtt', BROKER, '--topic-prefix', prefix, '--client-id', prefix, '--db', store, '--journal', path.join(dir, 'journal')]);
    await until('the collector to subscribe', () => (/collecting from mqtt/.test(collector.err()) ? true : undefined));
    // The excursion started 10 s ago: from the first sample, EXT-L1-01's melt pressure is above USL for every product there
    // (≥ 138 bar): an operation the collector did not know yet would raise the alarm on the widest window, 130.
    // Time scale 0.002: compounding operations of 6-10 s, moulding of 22-36 s.
    const simArgs = ['simulate', 'mqtt', '--broker', BROKER, '--prefix', prefix, '--lines', 'L1', '--rate', '2', '--time-scale', '0.002', '--db', store];
    const sim = start([...simArgs, '--duration', '14', '--excursion-at', new Date(Date.now() - 10_000).toISOString(), '--excursion-for', '60']);
    expect(await exited(sim), sim.err()).toBe(0);
    expect(sim.err()).toMatch(/; operations recorded in sqlite:.*demo\.sqlite; stop with/);
    expect(sim.err()).toMatch(/stopped \(duration\): (\d+) messages published, \1 acknowledged, \d+ ticks dropped; (\d+) of \2 operation starts recorded in the trace store\n/);
    expect(sim.err()).not.toMatch(/cannot record/);
    const alarm = await until('the excursion alarm', () => {
      const rows = query<{ rule: string; limit_value: number; message: string; cleared_at: string | null }>(
        `select a.rule, a.limit_value, a.message, a.cleared_at from alarm a join equipment e on e.id = a.equipment_id
         where e.code = 'EXT-L1-01' and a.parameter = 'melt_pressure' and a.raised_at >= ? order by a.id`,
        since,
      );
      return rows.length ? rows : undefined;
    });
    // Let the collector write what it holds, then stop it.
    collector.kill('SIGTERM');
    expect(await exited(collector), collector.err()).toBe(0);

    // Every live limit alarm was judged on the product running: CMP-PP (route RT-CMP-PP v2), USL 125 bar.
    const alarms = query<{ code: string; parameter: string; rule: string; limit_value: number; message: string }>(
      `select e.code, a.parameter, a.rule, a.limit_value, a.message from alarm a join equipment e on e.id = a.equipment_id where a.raised_at >= ? order by a.id`,
      since,
    );
    expect(alarm[0]).toMatchObject({ rule: 'limit_high', limit_value: 125 });
    expect(alarms.length).toBeGreaterThan(0);
    for (const a of alarms) {
      expect(a).toMatchObject({ code: 'EXT-L1-01', parameter: 'melt_pressure', rule: 'limit_high', limit_value: 125 });
      expect(a.message).toMatch(/^melt_pressure [\d.]+ bar above USL 125 \(product CMP-PP, RT-CMP-PP v2 step 20, operation OP-CMP-PP-SL1-\d+-20\)$/);
    }

    // The operations: each machine of L1, its product and route step, lots of that product; all ended but the last per machine.
    const ops = simulatedOps();
    const machines = new Map<string, SimOp[]>();
    for (const o of ops) machines.set(o.equipment, [...(machines.get(o.equipment) ?? []), o]);
    expect([...machines.keys()].sort()).toEqual(Object.keys(L1).sort());
    for (const [equipment, list] of machines) {
      const want = L1[equipment as keyof typeof L1];
      for (const o of list) {
        expect(o).toMatchObject({ product: want.product, material: want.product, step: want.step, version: 2 });
        expect(o.route).toBe(want.product === 'CMP-PP' ? 'RT-CMP-PP' : 'RT-A100');
        expect(o.lot.startsWith(`${want.product}-SL1`)).toBe(true);
      }
      expect(list.filter((o) => o.ended_at === null).map((o) => o.code), equipment).toEqual([list.at(-1)!.code]);
      for (let i = 1; i < list.length; i++) expect(list[i - 1]!.ended_at).toBe(list[i]!.started_at);
    }
    // 14 s at 6-10 s per compounding operation: the extruder started at least one operation while the line ran.
    expect(machines.get('EXT-L1-01')!.length).toBeGreaterThanOrEqual(2);

    // The demo plant's lots are untouched (the simulated lots are new rows).
    const lotsAfter = new Map(query<{ code: string; material_id: number; work_order_id: number | null; qty: number | null }>('select code, material_id, work_order_id, qty from lot').map((l) => [l.code, l]));
    for (const l of lotsBefore) expect(lotsAfter.get(l.code)).toEqual(l);
    expect(lotsAfter.size).toBe(lotsBefore.length + new Set(ops.map((o) => o.lot)).size);

    // The collector's samples belong to the simulated lots: the trace detail of the extruder's first lot finds them
    // during its operation, with the product's spec, out of spec in the excursion, and the alarm raised then.
    const first = machines.get('EXT-L1-01')![0]!;
    const r = runCli(['trace', 'backward', first.lot, '--db', store, '--depth', '0', '--detail', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const detail = (JSON.parse(r.stdout) as LotDetailJson).detail[0]!;
    const extrusion = detail.operations.find((o) => o.operation === first.code)!;
    expect(extrusion.equipment).toBe('EXT-L1-01');
    const pressure = extrusion.parameters.find((p) => p.parameter === 'melt_pressure')!;
    expect(pressure.count).toBeGreaterThan(0);
    expect(pressure.usl).toBe(125);
    expect(pressure.outOfSpec).toBe(pressure.count);
    expect(detail.alarms).toContainEqual(expect.objectContaining({ rule: 'limit_high', parameter: 'melt_pressure', limit: 125, operation: first.code }));
    // Every sample the collector wrote falls within a simulated operation of its machine: it belongs to that lot.
    const orphans = query<{ equipment: string; ts: string }>(
      `select e.code as equipment, s.ts as ts from sample s join equipment e on e.id = s.equipment_id
       where s.ts >= ? and not exists (
         select 1 from operation o join work_order wo on wo.id = o.work_order_id
         where o.equipment_id = s.equipment_id and wo.code like 'WO-S%' and o.started_at <= s.ts and (o.ended_at is null or o.ended_at >= s.ts))`,
      since,
    );
    expect(orphans).toEqual([]);
    const live = query<{ equipment: string; n: number }>(
      `select e.code as equipment, count(*) as n from sample s join equipment e on e.id = s.equipment_id where s.ts >= ? group by e.code order by e.code`,
      since,
    );
    expect(live.map((l) => l.equipment)).toEqual(Object.keys(L1).sort());
  });

  it('a restart writes nothing twice and ends the operations the previous run left running', async () => {
    const before = simulatedOps();
    const prefix = `trss${process.pid}${Date.now() % 100000}r`;
    prefixes.push(prefix);
    const sim = start(['simulate', 'mqtt', '--broker', BROKER, '--prefix', prefix, '--lines', 'L1', '--rate', '2', '--time-scale', '0.002', '--db', store, '--duration', '3', '--no-excursion']);
    expect(await exited(sim), sim.err()).toBe(0);
    expect(sim.err()).not.toMatch(/cannot record/);
    const after = simulatedOps();
    expect(new Set(after.map((o) => o.code)).size).toBe(after.length);
    const byCode = new Map(after.map((o) => [o.code, o]));
    // What the first run wrote stays (an end may have been added to the one that ran when it stopped).
    for (const o of before) expect(byCode.get(o.code)).toMatchObject({ equipment: o.equipment, lot: o.lot, started_at: o.started_at, ...(o.ended_at ? { ended_at: o.ended_at } : {}) });
    for (const equipment of Object.keys(L1)) {
      const list = after.filter((o) => o.equipment === equipment);
      expect(list.filter((o) => o.ended_at === null).map((o) => o.code), equipment).toEqual([list.at(-1)!.code]);
      for (let i = 1; i < list.length; i++) expect(Date.parse(list[i - 1]!.ended_at!)).toBeLessThanOrEqual(Date.parse(list[i]!.started_at));
    }
  });

  it('simulate modbus --db records the operations the same way', async () => {
    // The default time scale: other operations (other lots) than the runs above.
    const before = new Set(simulatedOps().map((o) => o.code));
    const sim = start(['simulate', 'modbus', '--port', '0', '--lines', 'L1', '--db', store]);
    await until('the modbus simulator to serve', () => (/running operations recorded in sqlite:.*demo\.sqlite/.test(sim.out()) ? true : undefined));
    const ops = await until('its operations in the store', () => {
      const fresh = simulatedOps().filter((o) => !before.has(o.code));
      return new Set(fresh.map((o) => o.equipment)).size === 5 ? fresh : undefined;
    });
    sim.kill('SIGTERM');
    expect(await exited(sim), sim.err()).toBe(0);
    for (const o of ops) expect(o).toMatchObject({ product: L1[o.equipment as keyof typeof L1].product, step: L1[o.equipment as keyof typeof L1].step, ended_at: null });
    expect(sim.err()).not.toMatch(/cannot record/);
  });

  it('a store that does not answer does not stop the simulation: logged once, the samples published all the same', async () => {
    const prefix = `trss${process.pid}${Date.now() % 100000}d`;
    prefixes.push(prefix);
    // Nothing listens on port 1: every write is refused. Several operation changes happen within the run.
    const sim = start(['simulate', 'mqtt', '--broker', BROKER, '--prefix', prefix, '--lines', 'L1', '--rate', '2', '--time-scale', '0.0005', '--db', 'postgres://postgres@127.0.0.1:1/test', '--duration', '5']);
    expect(await exited(sim), sim.err()).toBe(0);
    const err = sim.err();
    expect(err.match(/cannot record the running operations/g), err).toHaveLength(1);
    expect(err).toMatch(/simulate: cannot record the running operations in the trace store postgres:\/\/postgres@127\.0\.0\.1:1\/test \(.+\); the simulation goes on and writes them at the next operation change/);
    const stop = /stopped \(duration\): (\d+) messages published, \1 acknowledged, \d+ ticks dropped; 0 of (\d+) operation starts recorded in the trace store \((\d+) not written\)/.exec(err);
    expect(stop, err).not.toBeNull();
    expect(Number(stop![1])).toBeGreaterThan(4 * 12); // samples went on after the first failed writes
    expect(Number(stop![2])).toBeGreaterThan(5); // changes happened (the first tick has 5) and waited
    expect(stop![3]).toBe(stop![2]);
  });

  it.each([
    { name: 'a SQLite file that does not exist', db: () => path.join(dir, 'missing.sqlite'), error: /ARGUMENT_INVALID: --db: there is no trace store at .*missing\.sqlite; generate the demo plant there first/ },
    { name: 'a store without the demo plant', db: () => path.join(dir, 'empty.sqlite'), error: /ARGUMENT_INVALID: --db: the trace store .*empty\.sqlite does not hold the demo plant/ },
  ])('refuses $name with exit 2, before publishing', ({ db, error }) => {
    if (db().endsWith('empty.sqlite')) expect(runCli(['migrate', '--db', db()]).status).toBe(0);
    const r = runCli(['simulate', 'mqtt', '--broker', BROKER, '--prefix', `trss${process.pid}x`, '--lines', 'L1', '--db', db(), '--duration', '2']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(error);
    expect(r.stderr).not.toMatch(/messages published/);
    expect(fs.existsSync(path.join(dir, 'missing.sqlite'))).toBe(false);
  });
});
