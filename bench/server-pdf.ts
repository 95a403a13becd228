/**
 * PDF renders per minute through the server's browser pool (issue 5).
 *
 *   node dist/bench/server-pdf.js [--clients 1,2,4] [--duration 40] [--runs 2] [--lots 2000] [--db TRACE_DB] [--lot FG-…] [--json] [--keep]
 *
 * `tracereport serve` runs as a child process over a temporary data folder and the demo plant
 * (generated with --lots, or --db an existing store). For each number of clients, that many clients
 * each render the built-in "Batch trace" report of the planted incident's finished lot as PDF
 * (POST /api/reports/:id/render {format: "pdf"}) one after another for --duration seconds, --runs
 * times; a render is counted when its file starts with %PDF-. One render before the runs launches the
 * pool. The pool renders on 2 pages at once (one per core); more clients queue for a page. While a
 * run goes, /metrics is read each second for the pool's busy and queued gauges. Prints renders/min,
 * p50/p95 per render (as the client waits: queueing included), the server's CPU (Node + Chromium), the load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fmt, ms, parseArgs, stats, table, type Stats } from './common.js';
import { generateDemoPlant, load, log, metricValue, spread, startServerProcess, tempDir, treeCpuSeconds, type BenchServer } from './server-process.js';

const args = parseArgs(process.argv.slice(2), { clients: 'string', duration: 'number', runs: 'number', lots: 'number', db: 'string', lot: 'string', json: 'flag', keep: 'flag' });
const clientCounts = String(args.clients ?? '1,2,4')
  .split(',')
  .map((v) => Number(v.trim()));
if (clientCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--clients takes whole numbers separated by commas, got "${String(args.clients)}"`);
const duration = Number(args.duration ?? 40);
const runs = Number(args.runs ?? 2);
const lots = Number(args.lots ?? 2000);

interface PdfRun {
  clients: number;
  run: number;
  renders: number;
  failed: number;
  seconds: number;
  perMinute: number;
  ms: Stats;
  bytes: number;
  /** CPU seconds of the server's tree (Node and Chromium) per second: 2 = both cores. */
  serverCores: number;
  poolBusyMax: number;
  poolQueuedMax: number;
  pages: number;
  loadBefore: [number, number, number];
  loadAfter: [number, number, number];
}

async function renderOnce(server: BenchServer, id: number, lot: string): Promise<{ ms: number; bytes: number; ok: boolean; pages: number }> {
  const t = performance.now();
  const r = await fetch(`${server.url}/api/reports/${id}/render`, { method: 'POST', headers: server.headers(), body: JSON.stringify({ format: 'pdf', params: { lot } }) });
  const body = Buffer.from(await r.arrayBuffer());
  const elapsed = performance.now() - t;
  const ok = r.status === 200 && body.subarray(0, 5).toString('latin1') === '%PDF-';
  const pages = ok ? (body.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length : 0; // page objects of Chromium's PDF
  if (!ok) log(`render failed: ${r.status} ${body.subarray(0, 300).toString('utf8')}`);
  return { ms: elapsed, bytes: body.length, ok, pages };
}

async function pdfRun(server: BenchServer, id: number, lot: string, clients: number, run: number): Promise<PdfRun> {
  const loadBefore = load();
  const cpu0 = treeCpuSeconds(server.pid);
  const t0 = performance.now();
  const end = t0 + duration * 1000;
  const times: number[] = [];
  let failed = 0;
  let bytes = 0;
  let pages = 0;
  let busyMax = 0;
  let queuedMax = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const m = await server.metrics();
      busyMax = Math.max(busyMax, metricValue(m, 'tracereport_pdf_pool_busy'));
      queuedMax = Math.max(queuedMax, metricValue(m, 'tracereport_pdf_pool_queued'));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const r = await renderOnce(server, id, lot);
        if (r.ok) {
          times.push(r.ms);
          bytes = r.bytes;
          pages = r.pages;
        } else failed++;
      }
    }),
  );
  watching = false;
  await watcher;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = treeCpuSeconds(server.pid) - cpu0;
  return {
    clients,
    run,
    renders: times.length,
    failed,
    seconds,
    perMinute: (times.length / seconds) * 60,
    ms: stats(times),
    bytes,
    serverCores: cpu / seconds,
    poolBusyMax: busyMax,
    poolQueuedMax: queuedMax,
    pages,
    loadBefore,
    loadAfter: load(),
  };
}

async function main(): Promise<void> {
  const dir = tempDir('pdf');
  const traceDb = String(args.db ?? path.join(dir, 'trace.sqlite'));
  let lot = args.lot === undefined ? undefined : String(args.lot);
  if (!args.db) {
    log(`generating a ${fmt(lots)}-lot demo plant into ${traceDb}`);
    lot ??= String(generateDemoPlant(traceDb, lots).incident.sampleFinishedLot);
  }
  lot ??= 'FG-000437';
  const server = await startServerProcess({ dir, traceDb }).catch((e: unknown) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const results: PdfRun[] = [];
  try {
    log(`server ${server.url} (pid ${server.pid}), log ${server.logFile}`);
    const list = (await server.api('GET', '/api/templates')).templates as { id: number; name: string }[];
    const id = list.find((t) => t.name === 'Batch trace')?.id;
    if (id === undefined) throw new Error(`no built-in "Batch trace" template among ${list.map((t) => t.name).join(', ')}`);
    const cold = await renderOnce(server, id, lot);
    if (!cold.ok) throw new Error('the first render failed; see above');
    log(`Batch trace of ${lot}: ${cold.pages} pages, ${fmt(cold.bytes / 1024)} KB; first render (launches Chromium) ${ms(cold.ms)} ms`);
    for (const clients of clientCounts) {
      for (let run = 1; run <= runs; run++) {
        const r = await pdfRun(server, id, lot, clients, run);
        results.push(r);
        log(`${clients} client(s), run ${run}: ${r.perMinute.toFixed(0)} renders/min, p50 ${ms(r.ms.p50)} / p95 ${ms(r.ms.p95)} ms, failed ${r.failed}, pool busy ≤ ${r.poolBusyMax}, queued ≤ ${r.poolQueuedMax}, load ${r.loadBefore[0]} → ${r.loadAfter[0]}`);
      }
    }
    const summary = { bench: 'server-pdf', lot, duration, firstRenderMs: cold.ms, pages: cold.pages, bytes: cold.bytes, results };
    if (!args.json) {
      const head = ['clients', 'run', 'renders/min', 'renders', 'p50 ms', 'p95 ms', 'max ms', 'failed', 'busy ≤', 'queued ≤', 'server cores', 'load before → after'];
      const lines = results.map((r) => [
        String(r.clients),
        String(r.run),
        r.perMinute.toFixed(0),
        String(r.renders),
        ms(r.ms.p50),
        ms(r.ms.p95),
        ms(r.ms.max),
        String(r.failed),
        String(r.poolBusyMax),
        String(r.poolQueuedMax),
        r.serverCores.toFixed(2),
        `${r.loadBefore.join(' ')} → ${r.loadAfter.join(' ')}`,
      ]);
      process.stdout.write(`PDF renders through the pool: Batch trace of ${lot} (${cold.pages} pages, ${fmt(cold.bytes / 1024)} KB), ${duration} s per run\n${table([head, ...lines])}\n`);
      for (const c of clientCounts) {
        const rs = results.filter((r) => r.clients === c);
        process.stdout.write(`  ${c} client(s): ${spread(rs.map((r) => r.perMinute), (v) => v.toFixed(0))} renders/min, p95 ${spread(rs.map((r) => r.ms.p95), ms)} ms over ${rs.length} runs\n`);
      }
      process.stdout.write(`load now ${load().join(' ')}\n`);
    }
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await server.stop();
    if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench/server-pdf: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
