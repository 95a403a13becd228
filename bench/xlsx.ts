/**
 * XLSX output speed and memory (DESIGN §10: 100,000 rows × 10 columns within 1.3× of plain exceljs
 * streaming on the same rows, peak RSS < 250 MB; 1,000,000 rows with flat memory).
 *
 *   node dist/bench/xlsx.js [--rows 100000] [--runs 3] [--cases plain,writer,engine] [--million]
 *                           [--compression 1] [--no-conditions] [--keep DIR] [--json]
 *
 * Cases, each run in its own child process so its peak RSS (VmHWM) is its own:
 *   plain   exceljs streaming WorkbookWriter, written as a careful exceljs user would: one shared style
 *           object per column and row kind, each row committed, a yield to the event loop every 500 rows
 *   writer  the same rows as a resolved report (bands of 500 rows) through writeXlsx
 *   engine  a list template over an inline dataset (rows from a generator) → expandGrid → writeXlsx,
 *           alarm rows by a condition formula on every cell (`--no-conditions`: without them)
 * `--million` adds the writer and engine cases on 1,000,000 rows (one run each), with RSS sampled after
 * every 10% of the rows, to show memory stays flat. Prints the median, min and max time per case, the ratio of medians to
 * plain, peak RSS and file size. The machine has 2 shared cores: expect ±10-20% between runs.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { expandGrid } from '../renderer/engine/expand.js';
import type { ResolvedReport } from '../renderer/resolved.js';
import { parseTemplate } from '../renderer/template/load.js';
import { writeXlsx } from '../renderer/xlsx/write-xlsx.js';
import { fmt, ms, parseArgs, table } from './common.js';
import { benchReport, benchValues, COLUMNS, FORMATS, isAlarm, plainStyles, WIDTHS } from './xlsx-data.js';

const args = parseArgs(process.argv.slice(2), {
  rows: 'number',
  runs: 'number',
  cases: 'string',
  million: 'flag',
  compression: 'number',
  keep: 'string',
  json: 'flag',
  'no-conditions': 'flag',
  // internal: run one case in this process and print its result as JSON
  child: 'string',
  out: 'string',
});

type CaseName = 'plain' | 'writer' | 'engine';

interface CaseResult {
  case: string;
  rows: number;
  ms: number;
  /** CPU time of the case's process (user + system): moves less than wall time on a shared machine. */
  cpuMs: number;
  peakRssMb: number;
  bytes: number;
  /** RSS (MB) after each tenth of the rows (only with --million). */
  rssTrail?: number[];
}

const compression = Number(args.compression ?? 1);
/** Engine case without the alarm conditions (separates formula evaluation from expansion). */
const noConditions = Boolean(args['no-conditions']);

/** Peak resident set size of this process so far (Linux), in MB. */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 2 ** 20;
}

const YIELD_EVERY = 500;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runPlain(rows: number, file: string, trail?: number[]): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useStyles: true, useSharedStrings: false, zip: { zlib: { level: compression } } });
  const ws = wb.addWorksheet('Report', { views: [{ state: 'frozen', ySplit: 1 }] });
  WIDTHS.forEach((w, i) => (ws.getColumn(i + 1).width = w));
  const st = plainStyles();
  const header = ws.getRow(1);
  COLUMNS.forEach((v, c) => {
    const cell = header.getCell(c + 1);
    cell.value = v;
    cell.style = st.header;
  });
  header.commit();
  for (let i = 0; i < rows; i++) {
    const row = ws.getRow(i + 2);
    const values = benchValues(i);
    const styles = isAlarm(i) ? st.alarm : st.cell;
    for (let c = 0; c < values.length; c++) {
      const cell = row.getCell(c + 1);
      cell.value = values[c]!;
      cell.style = styles[c]!;
    }
    row.commit();
    if ((i + 1) % YIELD_EVERY === 0) await tick();
    if (trail && (i + 1) % (rows / 10) === 0) trail.push(process.memoryUsage().rss / 2 ** 20);
  }
  ws.commit();
  await wb.commit();
}

/** The report with RSS sampled after each tenth of its rows has been read. */
function withRssTrail(report: ResolvedReport, rows: number, trail: number[]): ResolvedReport {
  const sheets = report.sheets;
  return {
    ...report,
    meta: report.meta,
    sheets: (async function* () {
      for await (const s of sheets) {
        yield {
          ...s,
          bands: (async function* () {
            let done = 0;
            for await (const b of s.bands) {
              yield b;
              done += b.rows.length;
              if (done % (rows / 10) < b.rows.length && done > 1) trail.push(process.memoryUsage().rss / 2 ** 20);
            }
          })(),
        };
      }
    })(),
  };
}

async function runWriter(rows: number, file: string, trail?: number[]): Promise<void> {
  const report = benchReport(rows);
  await writeXlsx(trail ? withRssTrail(report, rows, trail) : report, file, { compression });
}

async function runEngine(rows: number, file: string, trail?: number[]): Promise<void> {
  const fields = ['lot', 'step', 'equipment', 'parameter', 'value', 'count', 'time', 'yield', 'passed', 'operator'];
  // The engine streams a row of list cells when conditions reference cells at or left of their own
  // (each cell's left parent is the cell before it): Passed goes first in this case, so every cell's
  // alarm condition can read it. Same values and styles, another column order.
  const order = [8, 0, 1, 2, 3, 4, 5, 6, 7, 9];
  const letters = 'ABCDEFGHIJ';
  const cells: Record<string, unknown> = {};
  order.forEach((src, c) => {
    cells[`${letters[c]}1`] = { text: COLUMNS[src], style: 'hdr' };
    cells[`${letters[c]}2`] = { field: `ds.${fields[src]}`, display: 'list', style: 'cell', ...(noConditions ? {} : { conditions: [{ when: '=A2=FALSE', style: 'alarm' }] }), ...(FORMATS[src] ? { numFmt: FORMATS[src] } : {}) };
  });
  const template = parseTemplate(
    {
      format: 1,
      kind: 'grid',
      name: 'XLSX bench',
      datasets: [{ name: 'ds', rows: [] }],
      styles: {
        hdr: { font: { bold: true, color: '#FFFFFF' }, fill: '#1F4E79', align: 'center', border: 'thin' },
        cell: { border: 'thin' },
        alarm: { fill: '#FFC7CE', font: { color: '#9C0006' }, border: 'thin' },
      },
      sheets: [{ name: 'Report', columns: Object.fromEntries(order.map((src, c) => [letters[c], { width: WIDTHS[src] }])), freeze: 'A2', cells }],
      page: { orientation: 'landscape', repeatRows: '1:1' },
    },
    'bench',
  );
  async function* dataset() {
    for (let i = 0; i < rows; i++) {
      const v = benchValues(i);
      yield Object.fromEntries(fields.map((f, c) => [f, v[c]]));
    }
  }
  if (template.kind !== 'grid') throw new Error('the bench template is a grid');
  const report = expandGrid({ template, params: {}, openDataset: () => dataset() });
  await writeXlsx(trail ? withRssTrail(report, rows, trail) : report, file, { compression });
  if (report.meta.mode !== 'streaming') process.stderr.write(`engine case ran in ${report.meta.mode} mode\n`);
}

async function child(name: CaseName, rows: number, file: string): Promise<void> {
  const trail: number[] | undefined = rows >= 1_000_000 ? [] : undefined;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (name === 'plain') await runPlain(rows, file, trail);
  else if (name === 'writer') await runWriter(rows, file, trail);
  else await runEngine(rows, file, trail);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result: CaseResult = { case: name, rows, ms: elapsed, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMb: peakRssMb(), bytes: statSync(file).size, rssTrail: trail };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(name: CaseName, rows: number, file: string): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const argv = ['--child', name, '--rows', String(rows), '--out', file, '--compression', String(compression)];
    if (noConditions) argv.push('--no-conditions');
    const p = fork(fileURLToPath(import.meta.url), argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`case ${name} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as CaseResult);
      } catch (e) {
        reject(e);
      }
    });
  });
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)]!;

async function main(): Promise<void> {
  if (args.child) {
    await child(String(args.child) as CaseName, Number(args.rows), String(args.out));
    return;
  }
  const rows = Number(args.rows ?? 100_000);
  const runs = Number(args.runs ?? 3);
  const cases = String(args.cases ?? 'plain,writer,engine').split(',') as CaseName[];
  const dir = args.keep ? String(args.keep) : mkdtempSync(join(tmpdir(), 'tracereport-bench-xlsx-'));
  process.stderr.write(`XLSX bench: ${fmt(rows)} rows × ${COLUMNS.length} columns, ${runs} runs per case (interleaved), zlib level ${compression}\n`);
  const results: Record<string, CaseResult[]> = {};
  try {
    for (let run = 0; run < runs; run++) {
      for (const c of cases) {
        const r = await runChild(c, rows, join(dir, `${c}.xlsx`));
        (results[c] ??= []).push(r);
        process.stderr.write(`  run ${run + 1} ${c.padEnd(6)} ${ms(r.ms)} ms (CPU ${ms(r.cpuMs)} ms), peak RSS ${r.peakRssMb.toFixed(0)} MB\n`);
      }
    }
    if (args.million) {
      for (const c of cases.filter((k) => k !== 'plain')) results[`${c} 1M`] = [await runChild(c, 1_000_000, join(dir, `${c}-1m.xlsx`))];
    }
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
  const plain = results.plain ? median(results.plain.map((r) => r.ms)) : NaN;
  const plainCpu = results.plain ? median(results.plain.map((r) => r.cpuMs)) : NaN;
  const lines = [['case', 'rows', 'median ms', 'min', 'max', '× plain', 'CPU ms', '× plain', 'peak RSS MB', 'file MB']];
  for (const [name, rs] of Object.entries(results)) {
    const t = rs.map((r) => r.ms);
    const m = median(t);
    const cm = median(rs.map((r) => r.cpuMs));
    const vsPlain = !name.endsWith(' 1M') && Number.isFinite(plain);
    lines.push([
      name,
      fmt(rs[0]!.rows),
      ms(m),
      ms(Math.min(...t)),
      ms(Math.max(...t)),
      vsPlain ? (m / plain).toFixed(2) : '',
      ms(cm),
      vsPlain ? (cm / plainCpu).toFixed(2) : '',
      Math.max(...rs.map((r) => r.peakRssMb)).toFixed(0),
      (rs[0]!.bytes / 2 ** 20).toFixed(1),
    ]);
  }
  console.log(table(lines));
  for (const [name, rs] of Object.entries(results)) {
    const trail = rs[0]?.rssTrail;
    if (trail?.length) console.log(`${name} RSS after each 10% of the rows (MB): ${trail.map((v) => v.toFixed(0)).join(' ')}`);
  }
  if (args.json) console.log(JSON.stringify(results));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
