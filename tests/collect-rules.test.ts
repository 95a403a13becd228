/**
 * Limit alarms per running product, end to end: samples published to the local Mosquitto (127.0.0.1:1883),
 * collected by the MQTT driver into a SQLite trace store that holds the operations of two products with
 * adjacent windows on one oven (A 200–220 °C, B 220–240 °C). The alarm rows must follow the product
 * running at each sample's time, fall back to the widest window (200–240) when none is known, take in an
 * operation that MES ingest writes while the collector runs, and carry an open alarm across a restart.
 * The SPC charts are per product too: a series in control for A raises only under B, and after a restart
 * the chart primed from the stored samples (B's, the last) sees the product change and clears its alarm.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import { startCollector, type Collector } from '../collectors/collector.js';
import { collectorConfigSchema } from '../collectors/config.js';
import { traceEvent } from '../trace/ingest/events.js';
import { ingestEvents } from '../trace/ingest/ingest.js';
import { openTraceStore } from '../trace/store.js';

const BROKER = 'mqtt://127.0.0.1:1883';
const T0 = Date.UTC(2026, 2, 1, 8);
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const events = (list: object[]) => list.map((e) => traceEvent.parse(e));

const PLANT = events([
  { type: 'equipment', id: 'e1', equipment: 'OVEN-1', class: 'oven' },
  { type: 'material', id: 'm1', material: 'PROD-A', kind: 'finished' },
  { type: 'material', id: 'm2', material: 'PROD-B', kind: 'finished' },
  { type: 'route', id: 'r1', route: 'RT-A', version: 1, steps: [{ seq: 10, operation: 'bake', equipmentClass: 'oven' }] },
  { type: 'route', id: 'r2', route: 'RT-B', version: 1, steps: [{ seq: 10, operation: 'bake', equipmentClass: 'oven' }] },
  { type: 'parameterSpec', id: 's1', route: 'RT-A', version: 1, step: 10, parameter: 'temp', lsl: 200, target: 210, usl: 220, unit: 'C' },
  { type: 'parameterSpec', id: 's2', route: 'RT-B', version: 1, step: 10, parameter: 'temp', lsl: 220, target: 230, usl: 240, unit: 'C' },
  { type: 'workOrder', id: 'w1', workOrder: 'WO-A', product: 'PROD-A', route: 'RT-A', routeVersion: 1 },
  { type: 'workOrder', id: 'w2', workOrder: 'WO-B', product: 'PROD-B', route: 'RT-B', routeVersion: 1 },
  { type: 'operation', id: 'o1', operation: 'OP-A1', lot: 'LOT-A1', workOrder: 'WO-A', step: 10, equipment: 'OVEN-1', start: at(0), end: at(99) },
  { type: 'operation', id: 'o2', operation: 'OP-B1', lot: 'LOT-B1', workOrder: 'WO-B', step: 10, equipment: 'OVEN-1', start: at(100), end: at(199) },
]);

/** Written by "MES" while the collector runs. */
const LATER = events([{ type: 'operation', id: 'o3', operation: 'OP-A3', lot: 'LOT-A3', workOrder: 'WO-A', step: 10, equipment: 'OVEN-1', start: at(300) }]);

async function until<T>(what: string, cond: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface AlarmRow {
  rule: string;
  limit: number;
  raised: number;
  cleared: number | null;
  message: string;
}

async function alarms(db: DataSource): Promise<AlarmRow[]> {
  const rows = await db.query<{ rule: string; limit_value: number; raised_at: string; cleared_at: string | null; message: string }>(
    `select a.rule as rule, a.limit_value as limit_value, a.raised_at as raised_at, a.cleared_at as cleared_at, a.message as message
     from alarm a join equipment e on e.id = a.equipment_id where e.code = 'OVEN-1' and a.parameter = 'temp' order by a.raised_at, a.id`,
  );
  const sec = (t: string) => (Date.parse(t) - T0) / 1000;
  return rows.map((r) => ({ rule: r.rule, limit: Number(r.limit_value), raised: sec(r.raised_at), cleared: r.cleared_at === null ? null : sec(r.cleared_at), message: r.message }));
}

async function sampleCount(db: DataSource): Promise<number> {
  const rows = await db.query<{ n: number }>("select count(*) as n from sample s join equipment e on e.id = s.equipment_id where e.code = 'OVEN-1'");
  return Number(rows[0]!.n);
}

describe('collect: limit alarms per running product (MQTT → SQLite)', () => {
  it('alarm rows follow the product running at each sample’s time, the widest window when none is known, an operation ingested meanwhile and a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-collect-rules-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const db = await openTraceStore(path.join(dir, 'trace.sqlite'));
    cleanups.push(() => db.close());
    await ingestEvents(db, PLANT);

    const prefix = `trr${randomBytes(5).toString('hex')}`;
    const config = collectorConfigSchema.parse({
      batch: { size: 100, maxDelayMs: 50 },
      drivers: [{ type: 'mqtt', name: 'line', url: BROKER, clientId: prefix, tags: [{ topic: `${prefix}/+/+`, equipment: '{1}', parameter: '{2}' }] }],
      rules: { spc: { enabled: false } },
    });
    const log: string[] = [];
    const start = async (): Promise<Collector> => {
      const c = await startCollector({ config, db, journalDir: path.join(dir, 'journal'), log: (m) => log.push(m) });
      cleanups.push(() => c.stop());
      return c;
    };
    const pub: MqttClient = await connectAsync(BROKER, { clientId: `pub-${prefix}`, clean: true });
    cleanups.push(() => pub.endAsync());
    let sent = 0;
    const publish = async (points: [number, number][]) => {
      for (const [sec, value] of points) await pub.publishAsync(`${prefix}/OVEN-1/temp`, JSON.stringify({ ts: at(sec), value }), { qos: 1 });
      sent += points.length;
      await until(`${sent} samples stored`, async () => (await sampleCount(db)) >= sent);
    };

    let collector = await start();
    await publish([
      [10, 210], // A: in spec
      [20, 225], // A: above USL 220 (in spec for B)
      [30, 230],
      [40, 215], // A: back below 220 by more than the hysteresis band (0.4)
      [50, 215],
      [90, 235], // A: above 220 …
      [100, 235], // … B starts: in spec for B, the alarm clears
      [110, 215], // B: below LSL 220 (in spec for A)
      [120, 230],
      [130, 215], // B: below 220, open when B ends
    ]);
    // MES ingest records the next operation (from 300 s) while the collector runs.
    await ingestEvents(db, LATER);
    await publish([
      [250, 215], // no operation: widest window 200–240; the alarm raised on B's LSL 220 clears
      [260, 245], // above the widest window's USL 240
    ]);
    await until('the alarm at 260 s', async () => (await alarms(db)).some((a) => a.raised === 260));
    const first = await collector.stop();
    expect(first.rules).toMatchObject({ enabled: true, limits: 1, openAlarms: 1, runningProduct: { failures: 0, held: 0 } });
    expect(first.rules.runningProduct!.loads).toBeGreaterThanOrEqual(3);

    // Restarted with the alarm raised on 240 open; A runs from 300 s: it is raised again on A's USL 220, then clears.
    collector = await start();
    await publish([
      [300, 245],
      [310, 210],
    ]);
    await until('the last clear', async () => (await alarms(db)).every((a) => a.cleared !== null) && (await alarms(db)).length >= 6);
    await collector.stop();

    const rows = await alarms(db);
    expect(rows.map(({ message: _m, ...r }) => r)).toEqual([
      { rule: 'limit_high', limit: 220, raised: 20, cleared: 40 },
      { rule: 'limit_high', limit: 220, raised: 90, cleared: 100 },
      { rule: 'limit_low', limit: 220, raised: 110, cleared: 120 },
      { rule: 'limit_low', limit: 220, raised: 130, cleared: 250 },
      { rule: 'limit_high', limit: 240, raised: 260, cleared: 300 },
      { rule: 'limit_high', limit: 220, raised: 300, cleared: 310 },
    ]);
    // Each row names the product it was judged on; the widest window names none.
    expect(rows.map((r) => r.message)).toEqual([
      'temp 225 C above USL 220 (product PROD-A, RT-A v1 step 10, operation OP-A1)',
      'temp 235 C above USL 220 (product PROD-A, RT-A v1 step 10, operation OP-A1)',
      'temp 215 C below LSL 220 (product PROD-B, RT-B v1 step 10, operation OP-B1)',
      'temp 215 C below LSL 220 (product PROD-B, RT-B v1 step 10, operation OP-B1)',
      'temp 245 C above USL 240',
      'temp 245 C above USL 220 (product PROD-A, RT-A v1 step 10, operation OP-A3)',
    ]);
    expect(log.filter((l) => /running operations|rules:/.test(l))).toEqual([]);
  });

  it('SPC charts per product: a series in control for A raises only under B; after a restart the primed chart of B sees the product change', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-collect-spc-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const db = await openTraceStore(path.join(dir, 'trace.sqlite'));
    cleanups.push(() => db.close());
    await ingestEvents(db, PLANT);
    const prefix = `trs${randomBytes(5).toString('hex')}`;
    // Spec limits, n = 5: A's chart 205.53–214.47, B's 225.53–234.47.
    const config = collectorConfigSchema.parse({
      batch: { size: 100, maxDelayMs: 50 },
      drivers: [{ type: 'mqtt', name: 'line', url: BROKER, clientId: prefix, tags: [{ topic: `${prefix}/+/+`, equipment: '{1}', parameter: '{2}' }] }],
      rules: { spc: { n: 5, limitsFrom: 'spec', nelson: [1] } },
    });
    const start = async (): Promise<Collector> => {
      const c = await startCollector({ config, db, journalDir: path.join(dir, 'journal'), log: () => undefined });
      cleanups.push(() => c.stop());
      return c;
    };
    const pub: MqttClient = await connectAsync(BROKER, { clientId: `pub-${prefix}`, clean: true });
    cleanups.push(() => pub.endAsync());
    let sent = 0;
    const publish = async (points: [number, number][]) => {
      for (const [sec, value] of points) await pub.publishAsync(`${prefix}/OVEN-1/temp`, JSON.stringify({ ts: at(sec), value }), { qos: 1 });
      sent += points.length;
      await until(`${sent} samples stored`, async () => (await sampleCount(db)) >= sent);
    };
    const subgroup = (from: number, xbar: number): [number, number][] => [-1, -0.5, 0, 0.5, 1].map((o, i) => [from + i, xbar + o]);
    const spc = async () => (await alarms(db)).filter((a) => a.rule.startsWith('spc_'));

    let collector = await start();
    await publish([...subgroup(10, 212), ...subgroup(110, 212)]); // A1, then B1
    await until('the SPC alarm under B', async () => (await spc()).length === 1);
    await collector.stop();
    // Restarted: the stored samples prime A's and B's charts, B's last. No operation runs at 250 s.
    collector = await start();
    await publish([[250, 230]]);
    await until('the SPC alarm cleared', async () => (await spc())[0]?.cleared != null);
    await collector.stop();
    const rows = await spc();
    expect(rows.map(({ message: _m, limit: _l, ...r }) => r)).toEqual([{ rule: 'spc_nelson_1', raised: 114, cleared: 250 }]);
    expect(rows[0]!.limit).toBeCloseTo(225.528, 3);
    expect(rows[0]!.message).toBe('temp X̄ 212 C: Nelson rule 1, subgroup mean beyond 3σ (LCL 225.528, UCL 234.472; product PROD-B, RT-B v1 step 10, operation OP-B1)');
  });
});
