/**
 * Genealogy and trace-detail latency on a demo plant (DESIGN §10: genealogy p95 < 50 ms, genealogy +
 * detail p95 < 300 ms on 1,000,000 lots, SQLite and PostgreSQL).
 *
 *   node dist/bench/genealogy.js --db URL [--lots 1000000] [--runs 200] [--seed S] [--samples N] [--pick P] [--analyze] [--json]
 *
 * When the store has no lots the demo plant is generated into it first (timed: events/s). Then, with
 * lots picked at random (seeded) from the store: backward genealogy of finished lots, forward genealogy
 * of raw lots, and genealogy + detail of finished lots. Prints p50/p95/p99/max ms and genealogy sizes.
 * `--pick` seeds the choice of lots (another value: other lots, colder caches). `--analyze` refreshes the planner statistics first (a store loaded by other means may have none yet).
 */
import type { DataSource } from '../datasources/data-source.js';
import { demoPlant } from '../trace/demo/index.js';
import { loadDemoPlant, refreshStatistics } from '../trace/demo/load.js';
import { Random } from '../trace/demo/random.js';
import { traceDetail } from '../trace/detail.js';
import { traceGenealogy } from '../trace/genealogy.js';
import { openTraceStore } from '../trace/store.js';
import { fmt, ms, parseArgs, stats, table, type Stats } from './common.js';

const args = parseArgs(process.argv.slice(2), { db: 'string', lots: 'number', runs: 'number', seed: 'string', samples: 'number', warmup: 'number', json: 'flag', analyze: 'flag', pick: 'string' });
const dbUrl = String(args.db ?? 'data/bench-genealogy.sqlite');
const lots = Number(args.lots ?? 1_000_000);
const runs = Number(args.runs ?? 200);
const warmup = Number(args.warmup ?? 20);
const seed = String(args.seed ?? 'tracereport');
const samples = Number(args.samples ?? (lots > 100_000 ? 1 : 3));
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Measure {
  name: string;
  ms: Stats;
  lots: Stats;
  extra?: Record<string, Stats>;
}

async function generateIfEmpty(db: DataSource): Promise<Record<string, number> | null> {
  const any = await db.query('select id from lot where id = (select min(id) from lot)');
  if (any.length) return null;
  log(`store ${db.display} is empty: generating a demo plant of ${fmt(lots)} lots (seed "${seed}", ${samples} samples per parameter)`);
  const t0 = performance.now();
  const plant = demoPlant({ lots, seed, samplesPerParameter: samples });
  const planMs = performance.now() - t0;
  log(`planned in ${(planMs / 1000).toFixed(1)} s: about ${fmt(plant.estimatedEvents)} events`);
  let last = performance.now();
  const r = await loadDemoPlant(db, plant, {
    onProgress: (done) => {
      const now = performance.now();
      if (now - last < 10_000) return;
      last = now;
      const mem = process.memoryUsage();
      log(`  ${fmt(done)} / ${fmt(plant.estimatedEvents)} events, ${fmt((done / (now - t0 - planMs)) * 1000)} events/s, rss ${fmt(mem.rss / 2 ** 20)} MB, heap ${fmt(mem.heapUsed / 2 ** 20)} MB`);
    },
  });
  const rate = (r.events / r.ms) * 1000;
  log(`generated ${fmt(r.events)} events (${fmt(r.written)} written) in ${(r.ms / 1000).toFixed(1)} s: ${fmt(rate)} events/s; rss ${fmt(process.memoryUsage().rss / 2 ** 20)} MB`);
  return { lots, events: r.events, written: r.written, planSeconds: planMs / 1000, loadSeconds: r.ms / 1000, eventsPerSecond: rate };
}

/** Random lot codes of a kind, by random ids (no scan of the lot table). */
async function pickLots(db: DataSource, kind: 'raw' | 'finished', count: number, rng: Random): Promise<string[]> {
  const [range] = await db.query<{ lo: number; hi: number }>('select min(id) as lo, max(id) as hi from lot');
  const lo = Number(range!.lo);
  const hi = Number(range!.hi);
  const picked: string[] = [];
  for (let attempt = 0; picked.length < count && attempt < 200; attempt++) {
    const ids = Array.from({ length: Math.min(1000, count * 4) }, () => rng.int(lo, hi));
    const rows = await db.query<{ code: string }>(
      'select l.code as code from lot l join material m on m.id = l.material_id where l.id in (:ids) and m.kind = :kind',
      { ids, kind },
    );
    for (const r of rows) if (picked.length < count) picked.push(String(r.code));
  }
  if (picked.length < count) throw new Error(`found only ${picked.length} ${kind} lots in the store`);
  return picked;
}

async function measure(name: string, codes: string[], fn: (lot: string) => Promise<{ lots: number; extra?: Record<string, number> }>): Promise<Measure> {
  for (const lot of codes.slice(0, warmup)) await fn(lot);
  const times: number[] = [];
  const sizes: number[] = [];
  const extras: Record<string, number[]> = {};
  for (const lot of codes.slice(warmup)) {
    const t = performance.now();
    const r = await fn(lot);
    times.push(performance.now() - t);
    sizes.push(r.lots);
    for (const [k, v] of Object.entries(r.extra ?? {})) (extras[k] ??= []).push(v);
  }
  return { name, ms: stats(times), lots: stats(sizes), extra: Object.fromEntries(Object.entries(extras).map(([k, v]) => [k, stats(v)])) };
}

async function main(): Promise<void> {
  const db = await openTraceStore(dbUrl, { statementTimeoutMs: 600_000 });
  try {
    const generated = await generateIfEmpty(db);
    if (args.analyze && !generated) {
      const t = performance.now();
      await refreshStatistics(db);
      log(`statistics refreshed in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const [count] = await db.query<{ n: number }>('select count(*) as n from lot');
    const storeLots = Number(count!.n);
    const rng = new Random(`${seed}/${String(args.pick ?? 'bench')}`);
    const n = runs + warmup;
    const finished = await pickLots(db, 'finished', n, rng);
    const raw = await pickLots(db, 'raw', n, rng);
    const finished2 = await pickLots(db, 'finished', n, rng);
    log(`store ${db.display}: ${fmt(storeLots)} lots; ${runs} timed runs each after ${warmup} warm-up runs`);

    const results: Measure[] = [];
    results.push(
      await measure('backward genealogy, finished lot', finished, async (lot) => {
        const g = await traceGenealogy(db, lot, { direction: 'backward' });
        return { lots: g.lots.length, extra: { edges: g.edges.length } };
      }),
    );
    results.push(
      await measure('forward genealogy, raw lot', raw, async (lot) => {
        const g = await traceGenealogy(db, lot, { direction: 'forward' });
        return { lots: g.lots.length, extra: { edges: g.edges.length, shipments: g.shipments.length } };
      }),
    );
    results.push(
      await measure('backward genealogy + detail, finished lot', finished2, async (lot) => {
        const g = await traceGenealogy(db, lot, { direction: 'backward' });
        const d = await traceDetail(db, g.lots.map((l) => l.lot));
        const ops = d.reduce((a, l) => a + l.operations.length, 0);
        const samples = d.reduce((a, l) => a + l.operations.reduce((b, o) => b + o.parameters.reduce((c, p) => c + p.count, 0), 0), 0);
        return { lots: g.lots.length, extra: { operations: ops, samples } };
      }),
    );

    if (args.json) {
      process.stdout.write(`${JSON.stringify({ db: db.display, dialect: db.dialect, lots: storeLots, runs, warmup, generated, results })}\n`);
      return;
    }
    const rows = [['', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'lots p50', 'lots p95', 'lots max']];
    for (const r of results) rows.push([r.name, ms(r.ms.p50), ms(r.ms.p95), ms(r.ms.p99), ms(r.ms.max), fmt(r.lots.p50), fmt(r.lots.p95), fmt(r.lots.max)]);
    process.stdout.write(`genealogy benchmark on ${db.display} (${db.dialect}, ${fmt(storeLots)} lots, ${runs} runs)\n${table(rows)}\n`);
    for (const r of results) {
      const e = Object.entries(r.extra ?? {}).map(([k, s]) => `${k} p50 ${fmt(s.p50)} / p95 ${fmt(s.p95)} / max ${fmt(s.max)}`);
      if (e.length) process.stdout.write(`  ${r.name}: ${e.join('; ')}\n`);
    }
    process.stdout.write(`targets: genealogy p95 < 50 ms, genealogy + detail p95 < 300 ms\n`);
  } finally {
    await db.close();
  }
}

main().catch((e) => {
  process.stderr.write(`bench/genealogy: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
