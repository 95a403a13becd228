// The jsreport side of the TraceReport vs jsreport benchmark: renders the rows of rows.mjs with jsreport-core
// (handlebars engine) through the html-to-xlsx and chrome-pdf recipes, times each render, and writes the figures
// as JSON for dist/bench/jsreport-compare.js. Run through run.sh (it installs this folder's dependencies first).
//
//   node bench/jsreport/jsreport-side.mjs [--case xlsx|pdf|all] [--xlsx-rows 100000] [--pdf-rows 2000]
//                                         [--runs 3] [--out bench/out/jsreport] [--json FILE]

import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { XLSX_COLUMNS, PDF_COLUMNS, HEADER_STYLE, xlsxRows, pdfRows } from './rows.mjs';
import { treeCpuMs } from './tree-cpu.mjs';

const require = createRequire(import.meta.url);

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

function parseArgs(argv) {
  const known = { case: 'all', 'xlsx-rows': '100000', 'pdf-rows': '2000', runs: '3', out: 'bench/out/jsreport', json: '' };
  const out = { ...known };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in known) || argv[i + 1] === undefined) {
      throw new Error(`bad argument ${argv[i]}; known: ${Object.keys(known).map((k) => `--${k} VALUE`).join(', ')}`);
    }
    out[name] = argv[i + 1];
  }
  return out;
}

const packageVersion = (name) => require(`${name}/package.json`).version;
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const ms = (v) => (v < 100 ? v.toFixed(1) : v.toFixed(0));

async function startJsreport() {
  const jsreport = require('@jsreport/jsreport-core')({
    loadConfig: false,
    discover: false,
    // The fastest documented setting: helpers run without the SES sandbox.
    trustUserCode: true,
    logger: { silent: true },
    reportTimeout: 30 * 60 * 1000,
    workers: { numberOfWorkers: 1 },
    chrome: {
      // chrome-pdf default strategy in jsreport 4: 'chrome-pool' (the browser stays up between renders).
      launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
    },
    extensions: {
      'html-to-xlsx': { chrome: { launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } } },
    },
  });
  jsreport.use(require('@jsreport/jsreport-handlebars')());
  jsreport.use(require('@jsreport/jsreport-chrome-pdf')());
  jsreport.use(require('@jsreport/jsreport-html-to-xlsx')());
  await jsreport.init();
  return jsreport;
}

// ---------- XLSX: one HTML table, header styled by CSS, typed cells with Excel number formats ----------

function xlsxTemplate() {
  const th = XLSX_COLUMNS.map((c) => `<th style="width:${c.width * 7}px">${c.header}</th>`).join('');
  const td = XLSX_COLUMNS.map((c) => {
    if (c.kind === 'number') return `<td data-cell-type="number" data-cell-format-str="${c.numFmt}">{{${c.key}}}</td>`;
    if (c.kind === 'date') return `<td data-cell-type="datetime" data-cell-format-str="${c.numFmt}">{{${c.key}}}</td>`;
    return `<td>{{${c.key}}}</td>`;
  }).join('');
  return `<html><head><style>
td, th { font-family: Calibri; font-size: 11pt; }
th { font-weight: bold; color: ${HEADER_STYLE.color}; background-color: ${HEADER_STYLE.fill}; text-align: ${HEADER_STYLE.align}; }
</style></head><body>
<table name="Rows">
<tr>${th}</tr>
{{#htmlToXlsxEachRows rows}}<tr>${td}</tr>{{/htmlToXlsxEachRows}}
</table>
</body></html>`;
}

/** jsreport takes JSON data: dates travel as ISO strings (the recipe parses them back for datetime cells). */
function xlsxData(count) {
  return { rows: xlsxRows(count).map((r) => ({ ...r, started: r.started.toISOString() })) };
}

// ---------- PDF: a grouped table (group cell spanning its rows, subtotal per group, grand total), Chinese text ----------

const PDF_HELPERS = `
function eachGroup(rows, options) {
  let out = '';
  for (let i = 0; i < rows.length;) {
    const workshop = rows[i].workshop;
    let j = i, qty = 0, yieldSum = 0;
    while (j < rows.length && rows[j].workshop === workshop) { qty += rows[j].qty; yieldSum += rows[j].yield; j++; }
    out += options.fn({ workshop, span: j - i + 1, rows: rows.slice(i, j), qty, yield: yieldSum / (j - i) });
    i = j;
  }
  return out;
}
function totalQty(rows) { let s = 0; for (const r of rows) s += r.qty; return s; }
function int(v) { return Math.round(v).toLocaleString('en-US'); }
function pct1(v) { return (v * 100).toFixed(1) + '%'; }
function when(v) { return v.slice(0, 10) + ' ' + v.slice(11, 16); }
`;

function pdfTemplate() {
  const cols = PDF_COLUMNS.map((c) => `<col style="width:${c.width}mm">`).join('');
  const th = PDF_COLUMNS.map((c) => `<th>${c.header}</th>`).join('');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body { margin: 0; font-family: 'Noto Sans CJK SC', sans-serif; font-size: 9pt; }
table { border-collapse: collapse; table-layout: fixed; width: 100%; }
th { font-weight: bold; color: ${HEADER_STYLE.color}; background-color: ${HEADER_STYLE.fill}; text-align: center; }
th, td { border: 0.5pt solid #8A8A8A; padding: 1.4mm 1.2mm; white-space: nowrap; overflow: hidden; }
td.n { text-align: right; }
td.g { vertical-align: top; font-weight: bold; }
tr.sub td { background-color: #EEF3F8; font-weight: bold; }
tr.total td { background-color: #D9E2F3; font-weight: bold; }
</style></head><body>
<table><colgroup>${cols}</colgroup>
<thead><tr>${th}</tr></thead>
<tbody>
{{#eachGroup rows}}{{#each rows}}<tr>{{#if @first}}<td class="g" rowspan="{{../span}}">{{../workshop}}</td>{{/if}}<td>{{lot}}</td><td>{{product}}</td><td>{{step}}</td><td>{{operator}}</td><td class="n">{{int qty}}</td><td class="n">{{pct1 yield}}</td><td>{{when started}}</td></tr>
{{/each}}<tr class="sub"><td colspan="4">小计</td><td class="n">{{int qty}}</td><td class="n">{{pct1 yield}}</td><td></td></tr>
{{/eachGroup}}<tr class="total"><td colspan="5">合计</td><td class="n">{{int (totalQty rows)}}</td><td></td><td></td></tr>
</tbody></table>
</body></html>`;
}

const PDF_OPTIONS = {
  format: 'A4',
  landscape: false,
  marginTop: '15mm',
  marginBottom: '15mm',
  marginLeft: '10mm',
  marginRight: '10mm',
  printBackground: true,
  displayHeaderFooter: true,
  headerTemplate: '<div></div>',
  footerTemplate:
    '<div style="width:100%;text-align:center;font-size:8pt;font-family:\'Noto Sans CJK SC\',sans-serif">第 <span class="pageNumber"></span> 页 / 共 <span class="totalPages"></span> 页</div>',
};

function pdfData(count) {
  return { rows: pdfRows(count).map((r) => ({ ...r, started: r.started.toISOString() })) };
}

function pdfPages(file) {
  try {
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    return Number(/Pages:\s+(\d+)/.exec(info)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

// ---------- runs ----------

/** Wall time and CPU time (this process and its Chromium processes) of one render, to the file written. */
async function timeRender(jsreport, request, file) {
  const c0 = treeCpuMs();
  const t0 = performance.now();
  const res = await jsreport.render(request);
  const content = res.content ?? (await res.output.getBuffer());
  writeFileSync(file, content);
  const t = performance.now() - t0;
  return { ms: t, cpuMs: treeCpuMs() - c0, bytes: statSync(file).size };
}

async function runXlsx(jsreport, rows, runs, outDir) {
  const template = { content: xlsxTemplate(), engine: 'handlebars', recipe: 'html-to-xlsx', htmlToXlsx: { htmlEngine: 'chrome' } };
  // Warm-up: loads the recipe and the template engine in the worker (the html-to-xlsx chrome engine starts a browser per render anyway).
  await jsreport.render({ template, data: xlsxData(10) });
  const data = xlsxData(rows);
  const file = join(outDir, `jsreport-${rows}.xlsx`);
  const times = [];
  const cpu = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const r = await timeRender(jsreport, { template, data }, file);
    times.push(r.ms);
    cpu.push(r.cpuMs);
    bytes = r.bytes;
    console.log(`  xlsx ${rows} rows run ${i + 1}: ${ms(r.ms)} ms (CPU ${ms(r.cpuMs)} ms), ${(bytes / 1e6).toFixed(1)} MB, peak RSS so far ${peakRssMb().toFixed(0)} MB`);
  }
  return { case: `xlsx-${rows}`, recipe: 'html-to-xlsx (htmlEngine chrome)', rows, runs: times, cpuMs: cpu, bytes, file };
}

async function runPdf(jsreport, rows, runs, outDir) {
  const template = { content: pdfTemplate(), helpers: PDF_HELPERS, engine: 'handlebars', recipe: 'chrome-pdf', chrome: PDF_OPTIONS };
  const data = pdfData(rows);
  const file = join(outDir, `jsreport-${rows}.pdf`);
  const cold = await timeRender(jsreport, { template, data }, file);
  console.log(`  pdf ${rows} rows cold (first render, browser start): ${ms(cold.ms)} ms`);
  const times = [];
  const cpu = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const r = await timeRender(jsreport, { template, data }, file);
    times.push(r.ms);
    cpu.push(r.cpuMs);
    bytes = r.bytes;
    console.log(`  pdf ${rows} rows warm run ${i + 1}: ${ms(r.ms)} ms (CPU ${ms(r.cpuMs)} ms), ${(bytes / 1e6).toFixed(1)} MB, peak RSS so far ${peakRssMb().toFixed(0)} MB`);
  }
  return { case: `pdf-${rows}`, recipe: 'chrome-pdf (chrome-pool, warm)', rows, coldMs: cold.ms, runs: times, cpuMs: cpu, bytes, pages: pdfPages(file), file };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const runs = Number(args.runs);
  const outDir = resolve(args.out);
  mkdirSync(outDir, { recursive: true });
  const versions = Object.fromEntries(
    ['@jsreport/jsreport-core', '@jsreport/jsreport-chrome-pdf', '@jsreport/jsreport-html-to-xlsx', '@jsreport/jsreport-handlebars', 'handlebars', 'puppeteer'].map(
      (p) => [p, packageVersion(p)],
    ),
  );
  console.log(`jsreport side: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}; ${CHROMIUM}`);
  const jsreport = await startJsreport();
  const results = [];
  try {
    if (args.case === 'xlsx' || args.case === 'all') {
      for (const rows of args['xlsx-rows'].split(',').map(Number)) results.push(await runXlsx(jsreport, rows, runs, outDir));
    }
    if (args.case === 'pdf' || args.case === 'all') {
      for (const rows of args['pdf-rows'].split(',').map(Number)) results.push(await runPdf(jsreport, rows, runs, outDir));
    }
  } finally {
    await jsreport.close();
  }
  const summary = { tool: 'jsreport', versions, peakRssMb: peakRssMb(), results };
  for (const r of results) {
    const sorted = [...r.runs].sort((a, b) => a - b);
    console.log(`${r.case}: ${r.recipe}: median ${ms(sorted[Math.floor(sorted.length / 2)])} ms (runs ${r.runs.map(ms).join(', ')}; CPU ${r.cpuMs.map(ms).join(', ')})${r.pages ? `, ${r.pages} pages` : ''}`);
  }
  console.log(`peak RSS of the jsreport node process (Chromium not counted): ${summary.peakRssMb.toFixed(0)} MB`);
  if (args.json) writeFileSync(resolve(args.json), JSON.stringify(summary, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
