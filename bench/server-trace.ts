/**
 * The trace API on the 1M-lot plant under 50 concurrent connections (issue 5: p95; DESIGN §10: the
 * genealogy itself p95 < 50 ms, genealogy + detail p95 < 300 ms).
 *
 *   node dist/bench/server-trace.js [--db data/bench-genealogy.sqlite] [--connections 50] [--duration 10] [--runs 2] [--lots-per-case 2000] [--warmup 3] [--pick P] [--json] [--keep]
 *
 * The store is the one bench/genealogy.ts builds (the same default path); it is reused, never generated
 * here: an empty or missing store is refused with the command that makes it. Lot codes are picked at
 * random (seeded by --pick) in the bench process before the server starts; `tracereport serve` runs as
 * a child over a temporary config folder; autocannon cycles through the picked lots per case:
 *   backward   GET /api/trace/:lot?direction=backward            finished lots
 *   forward    GET /api/trace/:lot?direction=forward             raw lots (the recall direction, the wide one)
 *   detail     GET /api/trace/:lot?direction=backward&detail=1   finished lots (operations, parameters, inspections, alarms)
 * Each request also checks the session and appends an audit row. A --warmup run (seconds, not
 * reported) precedes each case. Prints req/s, p50/p95/p99 per response, non-2xx, the server's CPU, the load.
 */
import fs from 'node:fs';
import { openTraceStore } from '../trace/store.js';
import { Random } from '../trace/demo/random.js';
import type { DataSource } from '../datasources/data-source.js';
import { fmt, ms, parseArgs, table } from './common.js';
import { load, loadRun, log, spread, startServerProcess, tempDir, type LoadRun } from './server-process.js';

const args = parseArgs(process.argv.slice(2), {
  db: 'string',
  connections: 'number',
  duration: 'number',
  runs: 'number',
  'lots-per-case': 'number',
  warmup: 'number',
  pick: 'string',
  json: 'flag',
  keep: 'flag',
});
const dbUrl = String(args.db ?? 'data/bench-genealogy.sqlite');
const connections = Number(args.connections ?? 50);
const duration = Number(args.duration ?? 10);
const runs = Number(args.runs ?? 2);
const perCase = Number(args['lots-per-case'] ?? 2000);
const warmup = Number(args.warmup ?? 3);

interface Case {
  name: string;
  kind: 'raw' | 'finished';
  query: string;
}
const CASES: Case[] = [
  { name: 'backward, finished lot', kind: 'finished', query: 'direction=backward' },
  { name: 'forward, raw lot', kind: 'raw', query: 'direction=forward' },
  { name: 'backward + detail, finished lot', kind: 'finished', query: 'direction=backward&detail=1' },
];

/** Random lot codes of a kind, by random ids (no scan of the lot table). */
async function pickLots(db: DataSource, kind: 'raw' | 'finished', count: number, rng: Random): Promise<string[]> {
  const [range] = await db.query<{ lo: number; hi: number }>('select min(id) as lo, max(id) as hi from lot');
  const lo = Number(range!.lo);
  const hi = Number(range!.hi);
  const picked = new Set<string>();
  for (let attempt = 0; picked.size < count && attempt < 200; attempt++) {
    const ids = Array.from({ length: Math.min(1000, count * 4) }, () => rng.int(lo, hi));
    const rows = await db.query<{ code: string }>('select l.code as code from lot l join material m on m.id = l.material_id where l.id in (:ids) and m.kind = :kind', { ids, kind });
    for (const r of rows) if (picked.size < count) picked.add(String(r.code));
  }
  if (picked.size < count) throw new Error(`found only ${picked.size} ${kind} lots in the store`);
  return [...picked];
}

async function lotsOf(): Promise<{ lots: number; raw: string[]; finished: string[] }> {
  if (!dbUrl.includes('://') && !fs.existsSync(dbUrl.replace(/^sqlite:/, ''))) {
    throw new Error(`no trace store at ${dbUrl}; build the 1M-lot plant once with: node dist/bench/genealogy.js --db ${dbUrl} --lots 1000000 (or tracereport demo generate --db ${dbUrl} --lots 1000000 --samples 1)`);
  }
  const db = await openTraceStore(dbUrl);
  try {
    const [count] = await db.query<{ n: number }>('select count(*) as n from lot');
    const lots = Number(count!.n);
    if (!lots) throw new Error(`the trace store ${dbUrl} has no lots; build it with: node dist/bench/genealogy.js --db ${dbUrl} --lots 1000000`);
    const rng = new Random(`tracereport/${String(args.pick ?? 'server-bench')}`);
    return { lots, finished: await pickLots(db, 'finished', perCase, rng), raw: await pickLots(db, 'raw', perCase, rng) };
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const picked = await lotsOf();
  log(`store ${dbUrl}: ${fmt(picked.lots)} lots; ${fmt(perCase)} lots per case`);
  const dir = tempDir('trace');
  const server = await startServerProcess({ dir, traceDb: dbUrl }).catch((e: unknown) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const results: { case: string; run: number; r: LoadRun }[] = [];
  try {
    log(`server ${server.url} (pid ${server.pid}), log ${server.logFile}`);
    const headers = { cookie: server.session.cookie };
    for (const c of CASES) {
      const codes = c.kind === 'raw' ? picked.raw : picked.finished;
      let next = 0;
      const requests = [
        {
          method: 'GET',
          headers,
          setupRequest: (req: object) => ({ ...req, path: `/api/trace/${encodeURIComponent(codes[next++ % codes.length]!)}?${c.query}` }),
        },
      ];
      const check = await fetch(`${server.url}/api/trace/${encodeURIComponent(codes[0]!)}?${c.query}`, { headers });
      if (check.status !== 200) throw new Error(`${c.name}: ${check.status} ${(await check.text()).slice(0, 300)}`);
      if (warmup > 0) await loadRun(server, '/', { connections, duration: warmup, requests, route: '/api/trace/:lot' });
      for (let run = 1; run <= runs; run++) {
        const r = await loadRun(server, '/', { connections, duration, requests, route: '/api/trace/:lot' });
        results.push({ case: c.name, run, r });
        log(`${c.name}, run ${run}: ${fmt(r.rps)} req/s, p50 ${ms(r.measured.p50)} / p95 ${ms(r.measured.p95)} / p99 ${ms(r.measured.p99)} ms, non-2xx ${r.non2xx}, errors ${r.errors}, load ${r.loadBefore[0]} → ${r.loadAfter[0]}`);
      }
    }
  } finally {
    await server.stop();
    if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
  const summary = { bench: 'server-trace', db: dbUrl, lots: picked.lots, connections, duration, lotsPerCase: perCase, results: results.map((x) => ({ case: x.case, run: x.run, ...x.r })) };
  if (!args.json) {
    const head = ['case', 'run', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors', 'server p95 ≤ ms', 'loop lag mean/max ms', 'server cores', 'load before → after'];
    const lines = results.map(({ case: name, run, r }) => [
      name,
      String(run),
      fmt(r.rps),
      ms(r.measured.p50),
      ms(r.measured.p95),
      ms(r.measured.p99),
      ms(r.measured.max),
      String(r.non2xx),
      String(r.errors + r.timeouts),
      ms(r.serverMs.p95),
      `${ms(r.eventLoopLagMs.mean)} / ${ms(r.eventLoopLagMs.max)}`,
      r.serverCores.toFixed(2),
      `${r.loadBefore.join(' ')} → ${r.loadAfter.join(' ')}`,
    ]);
    process.stdout.write(`trace API on ${dbUrl} (${fmt(picked.lots)} lots), ${connections} connections, ${duration} s per run, latency per response\n${table([head, ...lines])}\n`);
    for (const c of CASES) {
      const rs = results.filter((x) => x.case === c.name).map((x) => x.r);
      process.stdout.write(`  ${c.name}: p95 ${spread(rs.map((r) => r.measured.p95), ms)} ms, ${spread(rs.map((r) => r.rps), fmt)} req/s over ${rs.length} runs\n`);
    }
    process.stdout.write(`load now ${load().join(' ')}\n`);
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench/server-trace: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
