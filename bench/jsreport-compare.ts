/**
 * TraceReport vs jsreport, side by side on the same rows (bench/jsreport/README.md). bench/jsreport/run.sh runs the
 * jsreport side first (its own packages, bench/jsreport/jsreport-side.mjs, figures as JSON), then this: for each
 * jsreport case, the same rows through TraceReport's own path (a grid template with the rows inline → expandGrid →
 * writeXlsx / writePdf, the grid branch of renderToFile that `tracereport render` takes), each case in a fresh process
 * so its peak RSS is its own, and prints both times and the ratio. Benchmarks print; they never assert.
 *
 *   node dist/bench/jsreport-compare.js --jsreport bench/out/jsreport/jsreport-xlsx.json,bench/out/jsreport/jsreport-pdf.json
 *   node dist/bench/jsreport-compare.js --one xlsx --rows 100000 --runs 3      (one case, TraceReport only, JSON out)
 */
import { execFileSync, execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { ms, parseArgs, table } from './common.js';
import { expandGrid } from '../renderer/engine/expand.js';
import { writeXlsx } from '../renderer/xlsx/write-xlsx.js';
import { writePdf } from '../renderer/pdf/write-pdf.js';
import { BrowserPool } from '../renderer/pdf/browser-pool.js';
import { parseTemplate } from '../renderer/template/load.js';
import type { GridTemplate, Template } from '../renderer/template/schema.js';

/** The shared rows module (plain JavaScript, so the jsreport side renders exactly the same data). */
interface Column {
  key: string;
  header: string;
  kind: 'string' | 'number' | 'date';
  numFmt?: string;
  width: number;
}
interface RowsModule {
  XLSX_COLUMNS: Column[];
  PDF_COLUMNS: Column[];
  HEADER_STYLE: { bold: boolean; color: string; fill: string; align: 'center' };
  xlsxRows(count: number): Record<string, unknown>[];
  pdfRows(count: number): Record<string, unknown>[];
}

/** What bench/jsreport/jsreport-side.mjs writes. */
interface JsreportFigures {
  tool: 'jsreport';
  versions: Record<string, string>;
  peakRssMb: number;
  results: { case: string; recipe: string; rows: number; runs: number[]; cpuMs?: number[]; coldMs?: number; bytes: number; pages?: number }[];
}

/** What one `--one` child prints as its last line. */
interface OneCase {
  case: string;
  rows: number;
  runs: number[];
  cpuMs: number[];
  coldMs?: number;
  bytes: number;
  pages?: number;
  peakRssMb: number;
  mode: string;
}

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A module of bench/jsreport/ (plain JavaScript shared with the jsreport side), read from the checkout. */
async function loadShared<T>(name: string): Promise<T> {
  const file = join(repoRoot, 'bench', 'jsreport', name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run from a checkout (dist/bench/jsreport-compare.js reads bench/jsreport/${name})`);
  return (await import(new URL(`file://${file}`).href)) as T;
}
const loadRows = () => loadShared<RowsModule>('rows.mjs');
/** CPU milliseconds of this process and its Chromium processes so far (bench/jsreport/tree-cpu.mjs). */
const loadTreeCpu = async () => (await loadShared<{ treeCpuMs(): number }>('tree-cpu.mjs')).treeCpuMs;

const col = (i: number) => String.fromCharCode(65 + i);

/** XLSX case: header row styled, one list row of typed fields with their number formats. */
function xlsxTemplate(m: RowsModule, rows: Record<string, unknown>[]): Template {
  const cells: Record<string, unknown> = {};
  const columns: Record<string, { width: number }> = {};
  m.XLSX_COLUMNS.forEach((c, i) => {
    cells[`${col(i)}1`] = { text: c.header, style: 'hdr' };
    cells[`${col(i)}2`] = { field: `ds.${c.key}`, display: 'list', ...(c.numFmt ? { numFmt: c.numFmt } : {}) };
    columns[col(i)] = { width: c.width };
  });
  const h = m.HEADER_STYLE;
  return parseTemplate({
    format: 1,
    kind: 'grid',
    name: 'jsreport comparison (xlsx)',
    datasets: [{ name: 'ds', rows }],
    styles: { hdr: { font: { bold: h.bold, color: h.color, name: 'Calibri', size: 11 }, fill: h.fill, align: h.align } },
    sheets: [{ name: 'Rows', columns, cells }],
  });
}

/** PDF case: the workshop group merged over its rows and subtotal, list rows, subtotal per group, grand total. */
function pdfTemplate(m: RowsModule, rows: Record<string, unknown>[]): Template {
  const cells: Record<string, unknown> = {};
  const columns: Record<string, { width: number }> = {};
  // The jsreport table is 100% of the printable width (190 mm), its columns in proportion to their millimetres; template
  // widths are Excel characters (7 px each plus 5 px, 96 px per inch), so the same columns are these.
  const totalMm = m.PDF_COLUMNS.reduce((a, c) => a + c.width, 0);
  m.PDF_COLUMNS.forEach((c, i) => {
    cells[`${col(i)}1`] = { text: c.header, style: 'hdr' };
    const px = ((c.width * 190) / totalMm) * (96 / 25.4);
    columns[col(i)] = { width: Math.round(((px - 5) / 7) * 10) / 10 };
    if (i === 0) cells.A2 = { field: `ds.${c.key}`, style: 'grp' };
    else cells[`${col(i)}2`] = { field: `ds.${c.key}`, display: 'list', style: c.kind === 'number' ? 'num' : 'cell', ...(c.numFmt ? { numFmt: c.numFmt } : {}) };
  });
  const qty = col(m.PDF_COLUMNS.findIndex((c) => c.key === 'qty'));
  const yld = col(m.PDF_COLUMNS.findIndex((c) => c.key === 'yield'));
  const last = col(m.PDF_COLUMNS.length - 1);
  Object.assign(cells, {
    B3: { text: '小计', style: 'sub' },
    [`${qty}3`]: { formula: `=SUM(${qty}2)`, numFmt: '#,##0', style: 'subnum' },
    [`${yld}3`]: { formula: `=AVERAGE(${yld}2)`, numFmt: '0.0%', style: 'subnum' },
    [`${last}3`]: { text: '', style: 'sub' },
    A4: { text: '合计', style: 'total' },
    [`${qty}4`]: { formula: `=SUM(${qty}2)`, numFmt: '#,##0', style: 'totalnum' },
    [`${yld}4`]: { text: '', style: 'total' },
    [`${last}4`]: { text: '', style: 'total' },
  });
  const h = m.HEADER_STYLE;
  const base = { font: { size: 9 }, border: 'thin' };
  return parseTemplate({
    format: 1,
    kind: 'grid',
    name: 'jsreport comparison (pdf)',
    datasets: [{ name: 'ds', rows }],
    styles: {
      hdr: { ...base, font: { size: 9, bold: h.bold, color: h.color }, fill: h.fill, align: h.align },
      grp: { ...base, font: { size: 9, bold: true }, valign: 'top' },
      cell: base,
      num: { ...base, align: 'right' },
      sub: { ...base, font: { size: 9, bold: true }, fill: '#EEF3F8' },
      subnum: { ...base, font: { size: 9, bold: true }, fill: '#EEF3F8', align: 'right' },
      total: { ...base, font: { size: 9, bold: true }, fill: '#D9E2F3' },
      totalnum: { ...base, font: { size: 9, bold: true }, fill: '#D9E2F3', align: 'right' },
    },
    // Row height of the jsreport page (9 pt text with 1.4 mm padding: about 34 rows on a page, 60 pages).
    sheets: [{ name: '追溯', columns, rows: { 1: { height: 22 }, 2: { height: 22 }, 3: { height: 22 }, 4: { height: 22 } }, merges: [`A2:A3`, `B3:${col(4)}3`, `A4:${col(4)}4`], cells }],
    page: {
      size: 'A4',
      orientation: 'portrait',
      margins: { top: 15, bottom: 15, left: 10, right: 10 },
      repeatRows: '1:1',
      footer: '第 {{page}} 页 / 共 {{pages}} 页',
    },
  });
}

/** Template → resolved report → file, as renderToFile does for a grid template (no parameters, inline rows). */
async function render(template: Template, format: 'xlsx' | 'pdf', out: string, pool?: BrowserPool): Promise<{ bytes: number; mode: string }> {
  if (template.kind !== 'grid') throw new Error('a grid template is expected');
  const grid: GridTemplate = template;
  const rowsOf = new Map(grid.datasets.map((d) => [d.name, 'rows' in d ? d.rows : []]));
  const report = expandGrid({
    template: grid,
    params: {},
    openDataset: async function* (name) {
      yield* rowsOf.get(name) ?? [];
    },
  });
  if (format === 'xlsx') await writeXlsx(report, out);
  else await writePdf(report, out, { pool: pool! });
  return { bytes: statSync(out).size, mode: report.meta.mode };
}

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

function pdfPages(file: string): number | undefined {
  try {
    return Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }))?.[1]);
  } catch {
    return undefined;
  }
}

/** One case in this process: TraceReport's render path, timed per render. */
async function runOne(kind: 'xlsx' | 'pdf', rowCount: number, runs: number, outDir: string): Promise<OneCase> {
  const m = await loadRows();
  const treeCpuMs = await loadTreeCpu();
  mkdirSync(outDir, { recursive: true });
  const cpu: number[] = [];
  if (kind === 'xlsx') {
    const template = xlsxTemplate(m, m.xlsxRows(rowCount));
    const out = join(outDir, `tracereport-${rowCount}.xlsx`);
    const times: number[] = [];
    let bytes = 0;
    let mode = '';
    for (let i = 0; i < runs; i++) {
      const c0 = treeCpuMs();
      const t0 = performance.now();
      const r = await render(template, 'xlsx', out);
      times.push(performance.now() - t0);
      cpu.push(treeCpuMs() - c0);
      bytes = r.bytes;
      mode = r.mode;
      console.error(`  TraceReport xlsx ${rowCount} rows run ${i + 1}: ${ms(times[i]!)} ms (CPU ${ms(cpu[i]!)} ms), ${(bytes / 1e6).toFixed(1)} MB, peak RSS so far ${peakRssMb().toFixed(0)} MB`);
    }
    return { case: `xlsx-${rowCount}`, rows: rowCount, runs: times, cpuMs: cpu, bytes, peakRssMb: peakRssMb(), mode };
  }
  const template = pdfTemplate(m, m.pdfRows(rowCount));
  const out = join(outDir, `tracereport-${rowCount}.pdf`);
  const pool = new BrowserPool();
  try {
    let t0 = performance.now();
    let r = await render(template, 'pdf', out, pool);
    const coldMs = performance.now() - t0;
    console.error(`  TraceReport pdf ${rowCount} rows cold (first render, browser start): ${ms(coldMs)} ms`);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const c0 = treeCpuMs();
      t0 = performance.now();
      r = await render(template, 'pdf', out, pool);
      times.push(performance.now() - t0);
      cpu.push(treeCpuMs() - c0);
      console.error(`  TraceReport pdf ${rowCount} rows warm run ${i + 1}: ${ms(times[i]!)} ms (CPU ${ms(cpu[i]!)} ms), ${(r.bytes / 1e6).toFixed(1)} MB, peak RSS so far ${peakRssMb().toFixed(0)} MB`);
    }
    return { case: `pdf-${rowCount}`, rows: rowCount, runs: times, cpuMs: cpu, coldMs, bytes: r.bytes, pages: pdfPages(out), peakRssMb: peakRssMb(), mode: r.mode };
  } finally {
    await pool.close();
  }
}

const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const spread = (v: readonly number[]) => (v.length ? `${ms(Math.min(...v))}–${ms(Math.max(...v))}` : '');

async function compare(jsreportFiles: string[], outDir: string): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const rows: string[][] = [
    ['case', 'jsreport ms (median, range)', 'TraceReport ms (median, range)', 'ratio', 'CPU ms js/TR', 'CPU ratio', 'pages js/TR', 'peak RSS MB js/TR', 'MB js/TR'],
  ];
  let versions = '';
  for (const f of jsreportFiles) {
    const figures = JSON.parse(readFileSync(f, 'utf8')) as JsreportFigures;
    versions = Object.entries(figures.versions).map(([k, v]) => `${k} ${v}`).join(', ');
    for (const j of figures.results) {
      const [kind] = j.case.split('-') as ['xlsx' | 'pdf'];
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [self, '--one', kind, '--rows', String(j.rows), '--runs', String(j.runs.length), '--out', outDir],
        { maxBuffer: 1 << 20, encoding: 'utf8' },
      );
      const t = JSON.parse(stdout.trim().split('\n').pop()!) as OneCase;
      const jm = median(j.runs);
      const tm = median(t.runs);
      rows.push([
        `${j.case}${kind === 'pdf' ? ' (warm)' : ''}`,
        `${ms(jm)} (${spread(j.runs)})`,
        `${ms(tm)} (${spread(t.runs)})`,
        `${(jm / tm).toFixed(1)}×`,
        j.cpuMs ? `${ms(median(j.cpuMs))}/${ms(median(t.cpuMs))}` : '',
        j.cpuMs ? `${(median(j.cpuMs) / median(t.cpuMs)).toFixed(1)}×` : '',
        kind === 'pdf' ? `${j.pages ?? '?'}/${t.pages ?? '?'}` : '',
        `${figures.peakRssMb.toFixed(0)}/${t.peakRssMb.toFixed(0)}`,
        `${(j.bytes / 1e6).toFixed(1)}/${(t.bytes / 1e6).toFixed(1)}`,
      ]);
      if (j.coldMs !== undefined && t.coldMs !== undefined) {
        rows.push([`${j.case} (cold, first render)`, ms(j.coldMs), ms(t.coldMs), `${(j.coldMs / t.coldMs).toFixed(1)}×`, '', '', '', '', '']);
      }
    }
  }
  console.log(`\njsreport: ${versions}`);
  console.log('ratio = jsreport median / TraceReport median (above 1: TraceReport is faster). CPU: the node process and its Chromium');
  console.log('processes, median per render (steadier than wall time on a loaded machine). Peak RSS: the node process only.\n');
  console.log(table(rows));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { jsreport: 'string', one: 'string', rows: 'number', runs: 'number', out: 'string' });
  const outDir = resolve(String(args.out ?? join(repoRoot, 'bench', 'out', 'jsreport')));
  if (args.one) {
    if (args.one !== 'xlsx' && args.one !== 'pdf') throw new Error(`--one is xlsx or pdf, got "${args.one}"`);
    const r = await runOne(args.one, Number(args.rows ?? (args.one === 'xlsx' ? 100_000 : 2000)), Number(args.runs ?? 3), outDir);
    console.log(JSON.stringify(r));
    return;
  }
  if (!args.jsreport) throw new Error('--jsreport FILE[,FILE] (written by bench/jsreport/jsreport-side.mjs) or --one xlsx|pdf');
  await compare(String(args.jsreport).split(','), outDir);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
