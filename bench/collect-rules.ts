/**
 * The cost of the limit rules per reading, in process (no broker): a SQLite trace store with 100 ovens ×
 * 10 parameters (1,000 tags) and two products with adjacent windows whose operations alternate every
 * 60 s of data time on each oven; one reading per tag per second, handed over one per call as the MQTT
 * driver does.
 *
 *  1. rules only: the readings through the rules (with the running product when the build has it,
 *     collectors/rules/product-rules.js; else the table limits);
 *  2. collector sink: through `startCollector`'s sink (journal append + rules) with a driver of the
 *     bench's own, then until everything is written.
 *
 *   npm run build && node dist/bench/collect-rules.js [--seconds 200] [--op-seconds 60]
 *
 * Prints figures (with the load); not a test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from '../datasources/data-source.js';
import { startCollector } from '../collectors/collector.js';
import { collectorConfigSchema, rulesSchema } from '../collectors/config.js';
import { RuleEngine } from '../collectors/rules/engine.js';
import { loadLimits } from '../collectors/rules/limits.js';
import type { AlarmChange, Driver, DriverStatus, Reading, ReadingSink } from '../collectors/types.js';
import { traceEvent } from '../trace/ingest/events.js';
import { ingestEvents } from '../trace/ingest/ingest.js';
import { openTraceStore } from '../trace/store.js';

const T0 = Date.UTC(2026, 2, 1);
const OVENS = 100;
const PARAMS = 10;
let OP_SECONDS = 60;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const oven = (i: number) => `OVEN-${String(i).padStart(3, '0')}`;

async function plant(db: DataSource, seconds: number): Promise<void> {
  const ev: object[] = [];
  for (const p of ['A', 'B']) {
    ev.push({ type: 'material', id: `m${p}`, material: `PROD-${p}`, kind: 'finished' });
    ev.push({ type: 'route', id: `r${p}`, route: `RT-${p}`, version: 1, steps: [{ seq: 10, operation: 'bake', equipmentClass: 'oven' }] });
    ev.push({ type: 'workOrder', id: `w${p}`, workOrder: `WO-${p}`, product: `PROD-${p}`, route: `RT-${p}`, routeVersion: 1 });
    for (let k = 0; k < PARAMS; k++) {
      const lsl = p === 'A' ? 200 : 220;
      ev.push({ type: 'parameterSpec', id: `s${p}${k}`, route: `RT-${p}`, version: 1, step: 10, parameter: `p${k}`, lsl, target: lsl + 10, usl: lsl + 20 });
    }
  }
  for (let e = 0; e < OVENS; e++) {
    ev.push({ type: 'equipment', id: `e${e}`, equipment: oven(e), class: 'oven' });
    for (let o = 0; o * OP_SECONDS < seconds; o++) {
      const p = (o + e) % 2 ? 'B' : 'A';
      const start = T0 + o * OP_SECONDS * 1000;
      ev.push({
        type: 'operation', id: `o${e}-${o}`, operation: `OP-${e}-${o}`, lot: `L-${e}-${o}`, workOrder: `WO-${p}`, step: 10, equipment: oven(e),
        start: new Date(start).toISOString(), end: new Date(start + OP_SECONDS * 1000 - 1).toISOString(),
      });
    }
  }
  await ingestEvents(db, ev.map((x) => traceEvent.parse(x)));
}

/** Reading i: second ⌊i / 1000⌋, tag i mod 1000; values in the running product's window, with a rare excursion. */
function reading(i: number): Reading {
  const sec = Math.floor(i / (OVENS * PARAMS));
  const tag = i % (OVENS * PARAMS);
  const e = Math.floor(tag / PARAMS);
  const o = Math.floor(sec / OP_SECONDS);
  const lsl = (o + e) % 2 ? 220 : 200;
  const value = lsl + 10 + 6 * Math.sin(i * 0.37) + (i % 9973 === 0 ? 15 : 0);
  return { equipment: oven(e), parameter: `p${tag % PARAMS}`, ts: new Date(T0 + sec * 1000), value };
}

const yieldNow = () => new Promise((r) => setImmediate(r));

async function rulesOnly(db: DataSource, readings: readonly Reading[]): Promise<void> {
  const rules = rulesSchema.parse({ spc: { enabled: false } });
  const limits = await loadLimits(db, rules);
  const engine = new RuleEngine(rules, limits);
  let changes = 0;
  let loads = '';
  let judge: (r: Reading) => void;
  let close = async () => undefined as void;
  let label = 'table limits (widest window)';
  try {
    const { ProductRules } = await import('../collectors/rules/product-rules.js' as string);
    const { RunningOperations, storeOperationSource } = await import('../collectors/rules/running-product.js' as string);
    const ops = new RunningOperations(storeOperationSource(db));
    const gate = new ProductRules(engine, ops, (cs: AlarmChange[]) => (changes += cs.length));
    judge = (r) => gate.onReadings([r]);
    close = async () => {
      await gate.close();
      const st = ops.status();
      loads = `, ${st.loads} operation reads, ${st.checks} checks`;
    };
    label = 'running product';
  } catch {
    judge = (r) => (changes += engine.onReadings([r]).length);
  }
  const start = performance.now();
  for (let i = 0; i < readings.length; i++) {
    judge(readings[i]!);
    if (i % 10_000 === 9_999) await yieldNow(); // let operation reads complete, as between MQTT messages
  }
  await close();
  const s = (performance.now() - start) / 1000;
  console.log(
    `rules only (${label}): ${readings.length.toLocaleString('en-US')} readings in ${s.toFixed(2)} s = ${Math.round(readings.length / s).toLocaleString('en-US')} readings/s, ` +
      `${changes} alarm changes${loads}; load ${loadavg()}`,
  );
}

class BenchDriver implements Driver {
  readonly name = 'bench';
  readonly type = 'mqtt' as const;
  sink: ReadingSink | undefined;
  async start(sink: ReadingSink): Promise<void> {
    this.sink = sink;
  }
  async stop(): Promise<void> {
    this.sink = undefined;
  }
  status(): DriverStatus {
    return { name: this.name, type: this.type, state: 'connected', readings: 0, reconnects: 0 };
  }
}

async function sink(db: DataSource, dir: string, readings: readonly Reading[]): Promise<void> {
  const driver = new BenchDriver();
  // The driver section is required by the config; the bench's own driver runs instead (`drivers`).
  const config = collectorConfigSchema.parse({
    drivers: [{ type: 'mqtt', name: 'unused', url: 'mqtt://127.0.0.1:1', tags: [{ topic: 'x/+/+', equipment: '{1}', parameter: '{2}' }] }],
    rules: { spc: { enabled: false } },
  });
  const c = await startCollector({ config, db, journalDir: path.join(dir, 'journal'), drivers: [driver], log: () => undefined });
  const start = performance.now();
  for (let i = 0; i < readings.length; i++) {
    driver.sink!([readings[i]!]);
    if (i % 5_000 === 4_999) await yieldNow();
  }
  const fed = (performance.now() - start) / 1000;
  const s = await c.stop({ drainTimeoutMs: 600_000 });
  const total = (performance.now() - start) / 1000;
  console.log(
    `collector sink (journal + rules): ${readings.length.toLocaleString('en-US')} readings handed over in ${fed.toFixed(2)} s = ${Math.round(readings.length / fed).toLocaleString('en-US')} readings/s; ` +
      `all written in ${total.toFixed(2)} s = ${Math.round(s.pipeline.written / total).toLocaleString('en-US')} samples/s; ${s.rules.alarmChanges} alarm changes; load ${loadavg()}`,
  );
}

async function main(): Promise<void> {
  const seconds = Number(arg('--seconds', '200'));
  OP_SECONDS = Number(arg('--op-seconds', '60'));
  const n = seconds * OVENS * PARAMS;
  console.log(`collector rules bench: ${OVENS * PARAMS} tags, ${n.toLocaleString('en-US')} readings, product change every ${OP_SECONDS} s of data; ${os.cpus().length} cores, load ${loadavg()}`);
  const readings = Array.from({ length: n }, (_, i) => reading(i));
  for (const run of ['rules', 'sink'] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-rules-'));
    const db = await openTraceStore(path.join(dir, 'trace.sqlite'));
    try {
      await plant(db, seconds);
      if (run === 'rules') await rulesOnly(db, readings);
      else await sink(db, dir, readings);
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
