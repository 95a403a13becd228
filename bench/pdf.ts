/**
 * PDF of a grouped report with Chinese text (DESIGN §10: about 60 pages from 2,000 rows, warm render
 * < 1.5 s with the browser pool).
 *
 *   node dist/bench/pdf.js [--rows 2000] [--runs 10] [--cold 3] [--out FILE] [--json]
 *
 * cold: a new pool each time (Chromium launch + first render). warm: the pool already launched and
 * its page reused. Each render is split into the print HTML (Node) and Chromium's part (setContent +
 * page.pdf), and Chromium's CPU time (its whole process tree, from /proc) is printed beside the wall
 * time: on this shared 2-core machine wall time swings with the other work, CPU time much less.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { renderHtml } from '../renderer/html/write-html.js';
import { BrowserPool } from '../renderer/pdf/browser-pool.js';
import { printPdf } from '../renderer/pdf/print-pdf.js';
import { fmt, ms, parseArgs, stats, table } from './common.js';
import { groupedChineseReport } from './pdf-report.js';

const args = parseArgs(process.argv.slice(2), { rows: 'number', runs: 'number', cold: 'number', out: 'string', json: 'flag' });
const rows = Number(args.rows ?? 2000);
const runs = Number(args.runs ?? 10);
const coldRuns = Number(args.cold ?? 3);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** CPU milliseconds used so far by a process and its descendants (Linux /proc; clock ticks of 10 ms). */
function treeCpuMs(root: number | undefined): number {
  if (root === undefined) return NaN;
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(d);
      const ppid = Number(f[1]);
      cpu.set(pid, (Number(f[11]) + Number(f[12])) * 10);
      const list = children.get(ppid);
      if (list) list.push(pid);
      else children.set(ppid, [pid]);
    } catch {
      // the process ended while we read
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    total += cpu.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

interface Run {
  totalMs: number;
  htmlMs: number;
  chromiumMs: number;
  chromiumCpuMs: number;
  pages: number;
  bytes: number;
  htmlBytes: number;
}

async function once(pool: BrowserPool): Promise<{ run: Run; pdf: Uint8Array }> {
  const report = groupedChineseReport({ rows });
  const t0 = performance.now();
  const { html } = await renderHtml(report, { layout: 'print' });
  const t1 = performance.now();
  const cpu0 = treeCpuMs(pool.browserPid);
  const { bytes, pages } = await printPdf(pool, html, report.page, report.params);
  const t2 = performance.now();
  const cpu1 = treeCpuMs(pool.browserPid);
  return {
    run: { totalMs: t2 - t0, htmlMs: t1 - t0, chromiumMs: t2 - t1, chromiumCpuMs: cpu1 - cpu0, pages, bytes: bytes.byteLength, htmlBytes: Buffer.byteLength(html) },
    pdf: bytes,
  };
}

const cold: number[] = [];
for (let i = 0; i < coldRuns; i++) {
  const pool = new BrowserPool({ maxPages: 1 });
  const t0 = performance.now();
  await once(pool);
  cold.push(performance.now() - t0);
  await pool.close();
}

const pool = new BrowserPool({ maxPages: 1 });
await pool.warm();
const first = await once(pool); // the page's first render (page creation, fonts) is not a warm one
log(`first render on a launched browser: ${ms(first.run.totalMs)} ms`);
const warm: Run[] = [];
let last: Uint8Array = first.pdf;
for (let i = 0; i < runs; i++) {
  const r = await once(pool);
  warm.push(r.run);
  last = r.pdf;
}
await pool.close();
if (args.out) writeFileSync(String(args.out), last);

const pick = (f: (r: Run) => number) => stats(warm.map(f));
const result = {
  rows,
  pages: warm[0]?.pages ?? first.run.pages,
  fileBytes: warm[0]?.bytes ?? first.run.bytes,
  htmlBytes: first.run.htmlBytes,
  coldMs: stats(cold),
  warmMs: pick((r) => r.totalMs),
  htmlMs: pick((r) => r.htmlMs),
  chromiumMs: pick((r) => r.chromiumMs),
  chromiumCpuMs: pick((r) => r.chromiumCpuMs),
  loadAverage: (await import('node:os')).loadavg()[0],
};

if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  const line = (name: string, s: ReturnType<typeof stats>) => [name, String(s.n), ms(s.p50), ms(s.p95), ms(s.max)];
  process.stdout.write(
    `PDF of a grouped report with Chinese text: ${fmt(rows)} rows -> ${result.pages} pages, ${fmt(result.fileBytes / 1024)} KB (print HTML ${fmt(result.htmlBytes / 1024)} KB)\n` +
      `${table([
        ['ms', 'n', 'p50', 'p95', 'max'],
        line('cold (launch + render)', result.coldMs),
        line('warm total', result.warmMs),
        line('  print HTML (node)', result.htmlMs),
        line('  chromium wall', result.chromiumMs),
        line('  chromium CPU', result.chromiumCpuMs),
      ])}\n` +
      `target: warm < 1,500 ms. Load average ${result.loadAverage.toFixed(1)} on ${(await import('node:os')).cpus().length} cores: other work on the machine inflates wall times.\n`,
  );
}
