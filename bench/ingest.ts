/**
 * NDJSON ingest throughput (DESIGN §10: ≥ 100,000 events/s into SQLite, ≥ 50,000 into PostgreSQL).
 *
 *   node dist/bench/ingest.js [--events 500000] [--db URL] [--pg-admin URL] [--runs 1] [--batch-size 5000]
 *                             [--samples-per-lot 40] [--json] [--out FILE]
 *
 * Writes N realistic events to a temporary NDJSON file (mostly process samples, plus master data, lots,
 * operations, consumes, inspections, alarms, shipments, in plant order, with consumes naming lots before their
 * own events now and then), then times `ingestFiles` in its default mode (all or nothing: on SQLite one pass that
 * validates and writes in one transaction; on PostgreSQL a validating pass, then the writing pass) into a fresh
 * SQLite file and into a fresh PostgreSQL database (created through the admin URL, dropped afterwards). With --db,
 * only that store is used, as it is (not emptied). Prints events/s per store and run (wall time of the whole
 * ingest, including the statistics refresh at its end), the CPU time of this process per event and, for a
 * PostgreSQL server on this machine, the CPU time of the backends serving the bench's database per event (read
 * from /proc when the run ends; background processes such as the WAL writer are not in it): on a shared machine
 * the wall figure moves with the load, the CPU figures much less. `--out FILE` only writes the events to FILE (kept).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { DataSource } from '../datasources/data-source.js';
import { ingestFiles, type IngestSummary } from '../trace/ingest/ingest.js';
import { openTraceStore } from '../trace/store.js';
import { fmt, parseArgs, table } from './common.js';

const args = parseArgs(process.argv.slice(2), {
  events: 'number',
  db: 'string',
  'pg-admin': 'string',
  runs: 'number',
  'batch-size': 'number',
  'samples-per-lot': 'number',
  out: 'string',
  json: 'flag',
});
/**
 * An experiment, not a setting: PostgreSQL checks the sample → equipment foreign key once per sample row (a
 * query per row, ~40 % of the server's ingest work); this drops it in the bench database to show what it costs.
 */
const N = Number(args.events ?? 500_000);
const runs = Number(args.runs ?? 1);
const batchSize = args['batch-size'] === undefined ? undefined : Number(args['batch-size']);
/** Process samples per produced lot: 40 (the default) makes samples ~87% of the events; real plants have far more. */
const samplesPerLot = Number(args['samples-per-lot'] ?? 40);
const pgAdmin = String(args['pg-admin'] ?? process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Target {
  label: string;
  /** Makes a fresh store; returns its URL and how to remove it. */
  create(): Promise<{ url: string; drop(): Promise<void>; serverCpu?: () => Promise<number> }>;
}

interface Result {
  store: string;
  run: number;
  events: number;
  written: number;
  seconds: number;
  validateSeconds: number;
  writeSeconds: number;
  eventsPerSecond: number;
  /** CPU seconds of this process (user + system) per event, in microseconds. */
  cpuMicrosPerEvent: number;
  /** PostgreSQL: CPU of the server processes serving the bench's database, per event, in microseconds. */
  serverCpuMicrosPerEvent?: number;
  /** 1-minute load average at the end of the run. */
  load: number;
}

/** A small plant, day by day: per produced lot an operation, a consume of 2-3 input lots and ~40 samples. */
async function writeEvents(file: string, n: number): Promise<Record<string, number>> {
  const out = fs.createWriteStream(file, { highWaterMark: 1 << 20 });
  const mix: Record<string, number> = {};
  let written = 0;
  let buf: string[] = [];
  const emit = async (e: Record<string, unknown>) => {
    if (written >= n) return;
    written++;
    mix[e.type as string] = (mix[e.type as string] ?? 0) + 1;
    buf.push(JSON.stringify(e));
    if (buf.length >= 10_000) await flush();
  };
  const flush = async () => {
    if (!out.write(buf.join('\n') + '\n')) await new Promise<void>((r) => out.once("drain", () => r()));
    buf = [];
  };
  const EQUIPMENT = 40;
  const PARAMS = ['temp', 'pressure', 'speed', 'torque'];
  let seq = 0;
  const id = () => `bench-${++seq}`;
  const t0 = Date.UTC(2026, 2, 1);
  let clock = t0;
  const iso = (ms: number) => new Date(ms).toISOString();

  for (const [i, s] of ['ACME', 'BOLT', 'CHEM', 'DURA'].entries()) await emit({ type: 'supplier', id: id(), supplier: s, name: `${s} Ltd`, country: ['DE', 'FR', 'CN', 'US'][i] });
  for (const m of ['RESIN', 'HARDENER', 'PIGMENT']) await emit({ type: 'material', id: id(), material: m, kind: 'raw', uom: 'kg' });
  await emit({ type: 'material', id: id(), material: 'BASE', kind: 'intermediate', uom: 'kg' });
  await emit({ type: 'material', id: id(), material: 'PAINT', kind: 'finished', uom: 'l' });
  for (let e = 0; e < EQUIPMENT; e++) await emit({ type: 'equipment', id: id(), equipment: `EQ-${e}`, name: `Machine ${e}`, class: e % 2 ? 'mixer' : 'filler', line: `L${e % 4}`, area: 'A1', plant: 'P1' });
  for (let p = 0; p < 20; p++) await emit({ type: 'personnel', id: id(), person: `OP-${p}`, name: `Operator ${p}`, role: 'operator' });
  await emit({ type: 'route', id: id(), route: 'RT-PAINT', version: 1, product: 'PAINT', steps: [{ seq: 10, operation: 'mix', equipmentClass: 'mixer' }, { seq: 20, operation: 'fill', equipmentClass: 'filler' }] });
  for (const p of PARAMS) await emit({ type: 'parameterSpec', id: id(), route: 'RT-PAINT', version: 1, step: 10, parameter: p, lsl: 10, target: 50, usl: 90, unit: 'u' });

  let lotNo = 0;
  while (written < n) {
    const wo = `WO-${Math.floor(lotNo / 20)}`;
    if (lotNo % 20 === 0) await emit({ type: 'workOrder', id: id(), workOrder: wo, product: 'PAINT', qty: 2000, route: 'RT-PAINT', routeVersion: 1, status: 'running', erpRef: `ERP-${lotNo}` });
    const lot = `F-${lotNo}`;
    const inputs = [0, 1, 2].slice(0, 2 + (lotNo % 2)).map((k) => ({ lot: `R-${lotNo}-${k}`, qty: 10 + k }));
    const op = `OPN-${lotNo}`;
    const eq = lotNo % EQUIPMENT;
    const start = clock;
    // Every other consume comes before its input lots' own events (placeholders, filled just after).
    if (lotNo % 2 === 0) await emit({ type: 'consume', id: id(), output: lot, inputs, operation: op, at: iso(start) });
    for (const [k, input] of inputs.entries()) {
      await emit({ type: 'lot', id: id(), lot: input.lot, material: ['RESIN', 'HARDENER', 'PIGMENT'][k], qty: 500, uom: 'kg', supplier: ['ACME', 'BOLT', 'CHEM', 'DURA'][(lotNo + k) % 4], supplierLot: `SL-${lotNo}-${k}`, at: iso(start - 86_400_000) });
    }
    if (lotNo % 2 === 1) await emit({ type: 'consume', id: id(), output: lot, inputs, operation: op, at: iso(start) });
    await emit({ type: 'operation', id: id(), operation: op, lot, workOrder: wo, step: 10, equipment: `EQ-${eq}`, operator: `OP-${lotNo % 20}`, start: iso(start), end: iso(start + 600_000), result: 'ok' });
    for (let t = 0; t < samplesPerLot / PARAMS.length; t++) {
      for (const p of PARAMS) await emit({ type: 'sample', id: id(), equipment: `EQ-${eq}`, parameter: p, ts: iso(start + t * 60_000), value: Math.round((50 + Math.sin(lotNo + t) * 30) * 100) / 100, quality: 'good' });
    }
    await emit({ type: 'lot', id: id(), lot, material: 'PAINT', qty: 100, uom: 'l', status: 'released', workOrder: wo, at: iso(start + 600_000) });
    if (lotNo % 5 === 0) await emit({ type: 'inspection', id: id(), lot, characteristic: 'viscosity', value: 2 + (lotNo % 7) / 10, lsl: 1.5, usl: 2.5, inspector: `OP-${lotNo % 20}`, at: iso(start + 700_000) });
    if (lotNo % 25 === 0) await emit({ type: 'alarm', id: id(), rule: 'USL', equipment: `EQ-${eq}`, parameter: 'temp', value: 91, limit: 90, severity: 'warning', raisedAt: iso(start + 300_000) });
    if (lotNo % 3 === 0) await emit({ type: 'shipment', id: id(), lot, customer: `C-${lotNo % 50}`, qty: 100, at: iso(start + 86_400_000) });
    clock += 660_000;
    lotNo++;
  }
  await flush();
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return mix;
}

function sqliteTarget(dir: string): Target {
  let n = 0;
  return {
    label: 'sqlite',
    async create() {
      const file = path.join(dir, `bench-${++n}.sqlite`);
      return { url: file, drop: async () => ['', '-wal', '-shm'].forEach((s) => fs.rmSync(file + s, { force: true })) };
    },
  };
}

function postgresTarget(adminUrl: string): Target {
  return {
    label: 'postgres',
    async create() {
      const name = `tr_bench_ingest_${process.pid}_${Date.now()}`;
      const admin = knexFactory(new DataSource('admin', adminUrl).spec.knexConfig);
      try {
        await admin.raw(`create database ${name}`);
      } finally {
        await admin.destroy();
      }
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return {
        url: u.toString(),
        serverCpu: () => backendCpu(adminUrl, name),
        async drop() {
          const a = knexFactory(new DataSource('admin', adminUrl).spec.knexConfig);
          try {
            await a.raw(`drop database if exists ${name} with (force)`);
          } finally {
            await a.destroy();
          }
        },
      };
    },
  };
}

/**
 * CPU seconds (user + system, from /proc) used so far by the PostgreSQL backends connected to database `name`
 * (the server runs on this machine). Backends that ended are not counted: sample it while they live.
 */
async function backendCpu(adminUrl: string, name: string): Promise<number> {
  const admin = knexFactory(new DataSource('admin', adminUrl).spec.knexConfig);
  try {
    const r = (await admin.raw('select pid from pg_stat_activity where datname = ?', [name])) as { rows: Array<{ pid: number }> };
    let sum = 0;
    for (const { pid } of r.rows) {
      try {
        const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        sum += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      } catch {
        // not on this machine, or ended
      }
    }
    return sum;
  } finally {
    await admin.destroy();
  }
}
/** Linux clock ticks per second (USER_HZ), in which /proc reports CPU times. */
const CLOCK_TICKS = 100;

async function measure(target: Target, file: string, run: number): Promise<Result> {
  const store = await target.create();
  try {
    const db = await openTraceStore(store.url);
    try {
      let validateAt = 0;
      let writeAt = 0;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const summary: IngestSummary = await ingestFiles(db, [file], {
        batchSize,
        onPhase: (phase) => {
          if (phase === 'validate') validateAt = performance.now();
          else writeAt = performance.now();
        },
      });
      const t1 = performance.now();
      const cpu = process.cpuUsage(c0);
      const seconds = (t1 - t0) / 1000;
      const serverCpu = store.serverCpu ? await store.serverCpu() : undefined;
      return {
        store: target.label,
        run,
        events: summary.read,
        written: summary.written,
        seconds,
        // SQLite validates while it writes (one pass): no validate phase.
        validateSeconds: validateAt ? (writeAt - validateAt) / 1000 : 0,
        writeSeconds: (t1 - writeAt) / 1000,
        eventsPerSecond: summary.read / seconds,
        cpuMicrosPerEvent: (cpu.user + cpu.system) / summary.read,
        serverCpuMicrosPerEvent: serverCpu === undefined ? undefined : (serverCpu * 1e6) / summary.read,
        load: os.loadavg()[0]!,
      };
    } finally {
      await db.close();
    }
  } finally {
    if (!args.db) await store.drop();
  }
}

async function main(): Promise<void> {
  if (args.out) {
    const mix = await writeEvents(String(args.out), N);
    log(`wrote ${fmt(N)} events to ${String(args.out)}: ${JSON.stringify(mix)}`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-bench-ingest-'));
  try {
    const file = path.join(dir, 'events.ndjson');
    const g0 = performance.now();
    const mix = await writeEvents(file, N);
    log(
      `wrote ${fmt(N)} events (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MB) in ${((performance.now() - g0) / 1000).toFixed(1)} s: ` +
        Object.entries(mix)
          .sort((a, b) => b[1] - a[1])
          .map(([t, c]) => `${t} ${((c / N) * 100).toFixed(1)}%`)
          .join(', '),
    );
    const targets: Target[] = args.db
      ? [{ label: new DataSource('x', String(args.db)).dialect, create: async () => ({ url: String(args.db), drop: async () => undefined }) }]
      : [sqliteTarget(dir), postgresTarget(pgAdmin)];
    const results: Result[] = [];
    for (const t of targets) {
      for (let run = 1; run <= runs; run++) {
        try {
          const r = await measure(t, file, run);
          results.push(r);
          log(
            `${t.label} run ${run}: ${fmt(r.eventsPerSecond)} events/s (${r.seconds.toFixed(2)} s; validate ${r.validateSeconds.toFixed(2)} s, ` +
              `write ${r.writeSeconds.toFixed(2)} s; ${r.cpuMicrosPerEvent.toFixed(1)} µs CPU per event` +
              (r.serverCpuMicrosPerEvent === undefined ? '' : `, server ${r.serverCpuMicrosPerEvent.toFixed(1)} µs`) +
              `; load ${r.load.toFixed(1)})`,
          );
        } catch (e) {
          log(`${t.label} run ${run}: failed: ${(e as Error).message}`);
        }
      }
    }
    if (args.json) {
      process.stdout.write(JSON.stringify({ events: N, samplesPerLot, mix, cpus: os.cpus().length, node: process.version, results }) + '\n');
      return;
    }
    process.stdout.write(
      table([
        ['store', 'run', 'events', 'written', 'seconds', 'validate s', 'write s', 'events/s', 'CPU µs/event', 'server µs/event', 'load'],
        ...results.map((r) => [
          r.store, String(r.run), fmt(r.events), fmt(r.written), r.seconds.toFixed(2), r.validateSeconds.toFixed(2), r.writeSeconds.toFixed(2), fmt(r.eventsPerSecond),
          r.cpuMicrosPerEvent.toFixed(1), r.serverCpuMicrosPerEvent?.toFixed(1) ?? '', r.load.toFixed(1),
        ]),
      ]) + '\n',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
