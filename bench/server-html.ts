/**
 * Cached small report HTML through the viewer API (issue 5: requests/s and p99 with 50 connections).
 *
 *   node dist/bench/server-html.js [--connections 50] [--duration 10] [--runs 2] [--lots 2000] [--db TRACE_DB] [--json] [--keep]
 *
 * `tracereport serve` runs as a child process over a temporary data folder and a small demo plant
 * (generated with --lots, or --db an existing store); the bench logs in once as admin, posts a
 * bench-only template (the material list: one dataset with cacheTtl, one page), then autocannon
 * sends POST /api/reports/:id/page with the session cookie and CSRF header from 50 connections for
 * --duration seconds, --runs times. Each request passes the session lookup, the folder grant, the
 * query cache (a hit after the first), the page render and an audit row. Prints requests/s, latency
 * p50/p99 (and p95 measured per response), non-2xx and errors (expected 0), the server's CPU, the load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fmt, ms, parseArgs, table } from './common.js';
import { generateDemoPlant, load, loadRun, log, metricValue, spread, startServerProcess, tempDir, type LoadRun } from './server-process.js';

const args = parseArgs(process.argv.slice(2), { connections: 'number', duration: 'number', runs: 'number', lots: 'number', db: 'string', json: 'flag', keep: 'flag' });
const connections = Number(args.connections ?? 50);
const duration = Number(args.duration ?? 10);
const runs = Number(args.runs ?? 2);
const lots = Number(args.lots ?? 2000);

/** A small report: the plant's materials, one page, its dataset cached for 5 minutes. */
const TEMPLATE = {
  format: 1,
  kind: 'grid',
  name: 'bench materials',
  datasets: [{ name: 'm', source: 'trace', sql: 'select code, name, kind, uom from material order by code', cacheTtl: 300 }],
  sheets: [
    {
      name: 'Materials',
      cells: {
        A1: { text: 'Code' },
        B1: { text: 'Name' },
        C1: { text: 'Kind' },
        D1: { text: 'Unit' },
        A2: { field: 'm.code', display: 'list' },
        B2: { field: 'm.name' },
        C2: { field: 'm.kind' },
        D2: { field: 'm.uom' },
      },
    },
  ],
};

async function main(): Promise<void> {
  const dir = tempDir('html');
  const traceDb = String(args.db ?? path.join(dir, 'trace.sqlite'));
  if (!args.db) {
    log(`generating a ${fmt(lots)}-lot demo plant into ${traceDb}`);
    generateDemoPlant(traceDb, lots);
  }
  const server = await startServerProcess({ dir, traceDb }).catch((e: unknown) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  try {
    log(`server ${server.url} (pid ${server.pid}), log ${server.logFile}`);
    const folder = (await server.api('POST', '/api/folders', { name: 'Bench' })).folder.id as number;
    const id = (await server.api('POST', '/api/templates', { folderId: folder, template: TEMPLATE })).template.id as number;
    const body = JSON.stringify({ params: {}, page: 1 });
    const first = await server.api('POST', `/api/reports/${id}/page`, JSON.parse(body));
    const rows = (String(first.html).match(/<tr/g) ?? []).length;
    log(`report ${id}: page 1 of ${first.pages}, ${rows} table rows, ${fmt(String(first.html).length)} characters of HTML`);

    const results: LoadRun[] = [];
    for (let run = 1; run <= runs; run++) {
      const r = await loadRun(server, `/api/reports/${id}/page`, { connections, duration, method: 'POST', headers: server.headers(), body, route: '/api/reports/:id/page' });
      results.push(r);
      log(`run ${run}: ${fmt(r.rps)} req/s, p50 ${ms(r.latency.p50)} ms, p99 ${ms(r.latency.p99)} ms, non-2xx ${r.non2xx}, errors ${r.errors}, load ${r.loadBefore[0]} → ${r.loadAfter[0]}`);
    }
    const metrics = await server.metrics();
    const cache = { hit: metricValue(metrics, 'tracereport_query_cache_lookups_total{result="hit"}'), miss: metricValue(metrics, 'tracereport_query_cache_lookups_total{result="miss"}') };

    if (args.json) {
      process.stdout.write(`${JSON.stringify({ bench: 'server-html', connections, duration, lots: args.db ? undefined : lots, db: args.db, rows, cache, results })}\n`);
    } else {
      const head = ['run', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'requests', 'non-2xx', 'errors', 'server p95 ≤ ms', 'loop lag mean/max ms', 'server cores', 'load before → after'];
      const lines = results.map((r, i) => [
        String(i + 1),
        fmt(r.rps),
        ms(r.latency.p50),
        ms(r.measured.p95),
        ms(r.latency.p99),
        ms(r.latency.max),
        fmt(r.requests),
        String(r.non2xx),
        String(r.errors + r.timeouts),
        ms(r.serverMs.p95),
        `${ms(r.eventLoopLagMs.mean)} / ${ms(r.eventLoopLagMs.max)}`,
        r.serverCores.toFixed(2),
        `${r.loadBefore.join(' ')} → ${r.loadAfter.join(' ')}`,
      ]);
      process.stdout.write(`cached small report HTML: POST /api/reports/${id}/page, ${connections} connections, ${duration} s per run, ${rows} rows per page\n`);
      process.stdout.write(`${table([head, ...lines])}\n`);
      process.stdout.write(`spread over ${runs} runs: ${spread(results.map((r) => r.rps), fmt)} req/s, p99 ${spread(results.map((r) => r.latency.p99), ms)} ms\n`);
      process.stdout.write(`query cache: ${fmt(cache.hit)} hits, ${fmt(cache.miss)} misses; load now ${load().join(' ')}\n`);
      process.stdout.write(`${JSON.stringify({ bench: 'server-html', connections, duration, rows, cache, results })}\n`);
    }
  } finally {
    await server.stop();
    if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench/server-html: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
