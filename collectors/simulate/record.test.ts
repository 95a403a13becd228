/**
 * The recorder of the simulated line's operations: the events it writes (table-driven), that its codes
 * never take the demo plant's forms, and against a real SQLite demo store: the operations with their
 * products, a restart that duplicates nothing and ends what the previous run left running, and a store
 * that fails and comes back (logged once, everything written at the next change).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../../datasources/data-source.js';
import { demoPlant } from '../../trace/demo/plant.js';
import { loadDemoPlant } from '../../trace/demo/load.js';
import { traceEvent } from '../../trace/ingest/events.js';
import { openTraceStore } from '../../trace/store.js';
import { createLine, type MachineState } from './line.js';
import { endEvents, openOperationRecorder, operationCode, startEvents, workOrderCode } from './record.js';

/** Compounding cycles of a few seconds, moulding of about half a minute. */
const TIME_SCALE = 0.002;
const line = createLine({ lines: ['L1', 'L2', 'L3'], timeScale: TIME_SCALE, excursion: false });

describe('the events of an operation of the simulation', () => {
  const T = new Date(Date.UTC(2026, 2, 1, 8));
  const states = line.state(T);
  it.each(states.map((s) => ({ equipment: s.equipment, s })))('$equipment: work order, lot, operation; valid ingest events with stable ids', ({ s }) => {
    const start = startEvents(s);
    expect(start.map((e) => e.type)).toEqual(['workOrder', 'lot', 'operation']);
    for (const e of [...start, ...endEvents(s)]) expect(traceEvent.parse(e)).toEqual(e);
    expect(start[0]).toMatchObject({ workOrder: workOrderCode(s), product: s.product, route: s.route, routeVersion: s.routeVersion });
    expect(start[1]).toMatchObject({ lot: s.lot, material: s.product, workOrder: workOrderCode(s) });
    expect(start[2]).toMatchObject({ operation: operationCode(s), lot: s.lot, step: s.step, equipment: s.equipment, start: s.startedAt.toISOString() });
    expect(start[2]).not.toHaveProperty('end');
    expect(endEvents(s)[2]).toMatchObject({ operation: operationCode(s), start: s.startedAt.toISOString(), end: s.endsAt.toISOString() });
    // Same state, same ids (a restart writes duplicates); another time, another operation id.
    expect(startEvents(line.state(T).find((x) => x.equipment === s.equipment)!).map((e) => e.id)).toEqual(start.map((e) => e.id));
    const later = line.state(new Date(s.endsAt.getTime() + 1)).find((x) => x.equipment === s.equipment)!;
    expect(startEvents(later)[2]!.id).not.toBe(start[2]!.id);
  });

  it('the codes never take the forms of the demo plant’s lots, work orders and operations', () => {
    const demo = { lot: new Set<string>(), workOrder: new Set<string>(), operation: new Set<string>() };
    for (const e of demoPlant({ lots: 150 }).events()) {
      if (e.type === 'lot') demo.lot.add(e.lot);
      else if (e.type === 'workOrder') demo.workOrder.add(e.workOrder);
      else if (e.type === 'operation') demo.operation.add(e.operation);
    }
    const forms = { lot: /^(RM|CP|MB|FG)-\d+$/, workOrder: /^WO-\d+$/, operation: /^OP-\d+$/ };
    for (const k of ['lot', 'workOrder', 'operation'] as const) {
      expect(demo[k].size).toBeGreaterThan(10);
      for (const c of demo[k]) expect(c).toMatch(forms[k]);
    }
    // Every line and machine over a day of the simulation, at both time scales.
    for (const l of [line, createLine()]) {
      for (let ms = 0; ms < 86_400_000; ms += 600_000) {
        for (const s of l.state(new Date(Date.UTC(2026, 2, 1) + ms))) {
          expect(s.lot).not.toMatch(forms.lot);
          expect(workOrderCode(s)).not.toMatch(forms.workOrder);
          expect(operationCode(s)).not.toMatch(forms.operation);
          expect(operationCode(s).length).toBeLessThanOrEqual(64);
        }
      }
    }
  });
});

describe('recording into a SQLite demo store', () => {
  let dir: string;
  let storePath: string;
  let db: DataSource;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-sim-record-'));
    storePath = path.join(dir, 'demo.sqlite');
    const store = await openTraceStore(storePath);
    await loadDemoPlant(store, demoPlant({ lots: 150 }));
    await store.close();
    // A pristine copy for the outage test.
    fs.copyFileSync(storePath, path.join(dir, 'pristine.sqlite'));
    db = await openTraceStore(storePath);
  });

  afterAll(async () => {
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  interface OpRow {
    code: string;
    equipment: string;
    started_at: string;
    ended_at: string | null;
    lot: string;
    material: string;
    work_order: string;
    product: string;
    route: string;
    version: number;
  }
  const simulated = (store: DataSource) =>
    store.query<OpRow & Record<string, unknown>>(
      `select o.code as code, e.code as equipment, o.started_at as started_at, o.ended_at as ended_at, l.code as lot, lm.code as material,
              wo.code as work_order, wm.code as product, r.code as route, r.version as version
       from operation o join equipment e on e.id = o.equipment_id join lot l on l.id = o.lot_id join material lm on lm.id = l.material_id
         join work_order wo on wo.id = o.work_order_id join material wm on wm.id = wo.product_id join route r on r.id = wo.route_id
       where wo.code like 'WO-S%' order by e.code, o.started_at`,
    );
  const states = (at: number): MachineState[] => line.state(new Date(at));

  it('writes each operation a machine starts with its product, and ends it at the next one; a restart duplicates nothing and ends what it left running', async () => {
    const log: string[] = [];
    const t0 = Date.now() - 120_000;
    const first = await openOperationRecorder({ db: storePath, line, log: (l) => log.push(l) });
    // Every second for 40 s of simulated time: compounding changes several times, moulding once or twice.
    const times = Array.from({ length: 41 }, (_, i) => t0 + i * 1000);
    for (const t of times) await first.observe(states(t));
    expect(first.observe(states(times.at(-1)!))).toBeUndefined(); // nothing changed
    await first.close();
    const s1 = first.status();
    expect(s1).toMatchObject({ failures: 0, pending: 0, dropped: 0 });
    expect(s1.recorded).toBe(s1.changes);

    const rows = await simulated(db);
    const expected = new Map<string, MachineState>();
    for (const t of times) for (const s of states(t)) expected.set(operationCode(s), s);
    expect(rows.map((r) => r.code).sort()).toEqual([...expected.keys()].sort());
    for (const r of rows) {
      const s = expected.get(r.code)!;
      expect(r).toMatchObject({ equipment: s.equipment, lot: s.lot, material: s.product, product: s.product, route: s.route, version: s.routeVersion });
      expect(Date.parse(r.started_at)).toBe(s.startedAt.getTime());
    }
    // Ended: every operation but the last one per machine, at its successor's start.
    const open = rows.filter((r) => r.ended_at === null).map((r) => r.equipment).sort();
    expect(open).toEqual([...new Set(rows.map((r) => r.equipment))].sort());
    for (let i = 1; i < rows.length; i++) {
      if (rows[i]!.equipment === rows[i - 1]!.equipment) expect(rows[i - 1]!.ended_at).toBe(rows[i]!.started_at);
    }

    // A restart a minute later (in the simulation's time): the operations the first run left open have ended since.
    const second = await openOperationRecorder({ db: storePath, line, log: (l) => log.push(l) });
    await second.observe(states(Date.now()));
    await second.close();
    const s2 = second.status();
    expect(s2.failures).toBe(0);
    expect(s2.closed).toBeGreaterThan(0);
    const after = await simulated(db);
    const byMachine = new Map<string, OpRow[]>();
    for (const r of after) byMachine.set(r.equipment, [...(byMachine.get(r.equipment) ?? []), r]);
    for (const [equipment, ops] of byMachine) {
      // One open operation per machine (the running one); none overlaps the next.
      expect(ops.filter((o) => o.ended_at === null), equipment).toHaveLength(1);
      expect(ops.at(-1)!.ended_at, equipment).toBeNull();
      for (let i = 1; i < ops.length; i++) expect(Date.parse(ops[i - 1]!.ended_at!)).toBeLessThanOrEqual(Date.parse(ops[i]!.started_at));
    }
    expect(new Set(after.map((r) => r.code)).size).toBe(after.length);

    // The same states again from a third run: all duplicates, nothing new.
    const third = await openOperationRecorder({ db: storePath, line, log: (l) => log.push(l) });
    for (const t of times) await third.observe(states(t));
    await third.close();
    expect(third.status()).toMatchObject({ written: 0, failures: 0 });
    expect((await simulated(db)).length).toBe(after.length);
    expect(log).toEqual([]);
  });

  it('a store that fails: the simulation goes on, logged once; the next change after it is back writes every change that waited', async () => {
    const broken = path.join(dir, 'broken.sqlite');
    fs.writeFileSync(broken, 'this is not a database, but it will be one\n'.repeat(200));
    const log: string[] = [];
    const rec = await openOperationRecorder({ db: broken, line, log: (l) => log.push(l) });
    const t0 = Date.now() - 600_000;
    const times = Array.from({ length: 20 }, (_, i) => t0 + i * 1000);
    for (const t of times) await rec.observe(states(t));
    const failing = rec.status();
    expect(failing.failures).toBeGreaterThan(2);
    expect(failing.recorded).toBe(0);
    expect(failing.pending).toBe(failing.changes);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^simulate: cannot record the running operations in the trace store sqlite:.*broken\.sqlite \(.*\); the simulation goes on/);

    // The store comes back; the next change writes all of them.
    fs.copyFileSync(path.join(dir, 'pristine.sqlite'), broken);
    let t = times.at(-1)! + 1000;
    while (!rec.observe(states(t))) t += 1000;
    await rec.close();
    expect(rec.status()).toMatchObject({ pending: 0, recorded: rec.status().changes });
    expect(log).toHaveLength(2);
    expect(log[1]).toMatch(/answers again after [\d.]+ s; recorded the \d+ operation changes that waited/);
    const store = await openTraceStore(broken);
    try {
      const codes = new Set((await simulated(store)).map((r) => r.code));
      for (const at of [...times, t]) for (const s of states(at)) expect(codes).toContain(operationCode(s));
    } finally {
      await store.close();
    }
  });

  it('a store that does not answer at all: the start and every tick go on after their bounds, logged once', async () => {
    // A peer that takes connections and never answers (as an unreachable database host looks to a client).
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((c) => (sockets.add(c), c.on('error', () => {})));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const log: string[] = [];
    try {
      const rec = await openOperationRecorder({ db: `postgres://postgres@127.0.0.1:${port}/test`, line, openTimeoutMs: 300, waitMs: 200, log: (l) => log.push(l) });
      expect(log).toHaveLength(1);
      expect(log[0]).toMatch(/cannot record the running operations in the trace store postgres:\/\/postgres@127\.0\.0\.1:\d+\/test \(no answer within 0\.3 s\)/);
      const t0 = Date.now() - 600_000;
      for (let i = 0; i < 3; i++) await rec.observe(states(t0 + i * 5000));
      expect(rec.status()).toMatchObject({ recorded: 0 });
      expect(rec.status().pending).toBe(rec.status().changes);
      await rec.close(200);
      expect(log).toHaveLength(1);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it.each([
    { name: 'a SQLite file that does not exist', db: () => path.join(dir, 'nothing-here.sqlite'), error: /--db: there is no trace store at .*nothing-here\.sqlite; generate the demo plant there first/ },
    { name: 'a store without the demo plant', db: () => path.join(dir, 'empty.sqlite'), error: /does not hold the demo plant the simulated line runs on \(no equipment MIX-L1-01, .*\)/ },
    { name: 'a bad URL', db: () => 'postgres://[bad', error: /not a valid URL/ },
  ])('refuses $name', async ({ db: url, error }) => {
    if (url().endsWith('empty.sqlite')) await (await openTraceStore(url())).close();
    await expect(openOperationRecorder({ db: url(), line, log: () => {} })).rejects.toThrow(error);
    expect(fs.existsSync(path.join(dir, 'nothing-here.sqlite'))).toBe(false);
  });
});
