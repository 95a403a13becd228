/**
 * First viewer page of a 1M-row list report (DESIGN §10: < 300 ms). A SQLite table of 1,000,000 rows ×
 * 10 columns (made once and kept), a styled list template over it, and the code the viewer's
 * `POST /api/reports/:id/page` runs (server/render/html-page.ts): parameters checked, columns checked,
 * the engine in streaming mode, paged HTML of page N. Page 1 reads only its rows; a later page reads up
 * to it. Each page is rendered `--runs` times (a new source each time, as the server does per request).
 *
 *   node dist/bench/viewer-page.js [--rows 1000000] [--runs 20] [--pages 1,10,100] [--db FILE] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { renderHtmlPage } from '../server/render/html-page.js';
import { parseTemplate } from '../renderer/template/load.js';
import { fmt, ms, parseArgs, stats, table } from './common.js';
import { benchValues, COLUMNS, FORMATS } from './xlsx-data.js';

const args = parseArgs(process.argv.slice(2), { rows: 'number', runs: 'number', pages: 'string', db: 'string', json: 'flag' });
const rows = (args.rows as number | undefined) ?? 1_000_000;
const runs = (args.runs as number | undefined) ?? 20;
const pages = String(args.pages ?? '1,10,100')
  .split(',')
  .map(Number);
const db = (args.db as string | undefined) ?? path.join(os.tmpdir(), 'tracereport-bench', `viewer-list-${rows}.sqlite`);

const FIELDS = ['lot', 'step', 'equipment', 'parameter', 'value', 'count', 'at', 'yield', 'passed', 'operator'];

function ensureTable(): void {
  if (fs.existsSync(db)) return;
  fs.mkdirSync(path.dirname(db), { recursive: true });
  const tmp = `${db}.tmp`;
  fs.rmSync(tmp, { force: true });
  const sqlite = new Database(tmp);
  sqlite.pragma('journal_mode = OFF');
  sqlite.pragma('synchronous = OFF');
  sqlite.exec(`create table list (id integer primary key, ${FIELDS.map((f) => `${f} ${['value', 'yield'].includes(f) ? 'real' : ['count', 'passed'].includes(f) ? 'integer' : 'text'}`).join(', ')})`);
  const ins = sqlite.prepare(`insert into list (id, ${FIELDS.join(', ')}) values (?, ${FIELDS.map(() => '?').join(', ')})`);
  const started = performance.now();
  sqlite.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const v = benchValues(i).map((x) => (x instanceof Date ? x.toISOString() : typeof x === 'boolean' ? Number(x) : x));
      ins.run(i + 1, ...v);
      if (process.stderr.isTTY && i % 100_000 === 0) process.stderr.write(`\rmaking ${fmt(rows)} rows: ${Math.round((i / rows) * 100)}%`);
    }
  })();
  sqlite.close();
  fs.renameSync(tmp, db);
  process.stderr.write(`\rmade ${fmt(rows)} rows in ${db} in ${ms((performance.now() - started) / 1000)} s\n`);
}

const template = parseTemplate(
  {
    format: 1,
    kind: 'grid',
    name: 'Trace list',
    parameters: [],
    datasets: [{ name: 'l', source: 'main', sql: `select ${FIELDS.join(', ')} from list order by id` }],
    styles: { hdr: { font: { bold: true, color: '#FFFFFF' }, fill: '#1F4E79', align: 'center', border: 'thin' }, cell: { border: 'thin' }, bad: { fill: '#FFC7CE', border: 'thin' } },
    sheets: [
      {
        name: 'List',
        cells: Object.fromEntries([
          ...COLUMNS.map((c, i) => [`${String.fromCharCode(65 + i)}1`, { text: c, style: 'hdr' }]),
          ...FIELDS.map((f, i) => [
            `${String.fromCharCode(65 + i)}2`,
            { field: `l.${f}`, display: 'list', style: 'cell', ...(FORMATS[i] && f !== 'at' ? { numFmt: FORMATS[i] } : {}), ...(f === 'passed' ? { conditions: [{ when: '=I2=0', style: 'bad' }] } : {}) },
          ]),
        ]),
      },
    ],
    page: { repeatRows: '1:1' },
  },
  'bench',
);

async function main(): Promise<void> {
  ensureTable();
  const results: { page: number; p50: number; p95: number; max: number; mode: string; bytes: number }[] = [];
  for (const page of pages) {
    const times: number[] = [];
    let mode = '';
    let bytes = 0;
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const out = await renderHtmlPage(template, {}, { sources: { main: db } }, { page });
      times.push(performance.now() - t);
      mode = out.meta.mode;
      bytes = out.html.length;
    }
    // The first run of the first page includes loading the driver and warming the engine: shown apart.
    const s = stats(page === pages[0] ? times.slice(1) : times);
    results.push({ page, p50: s.p50, p95: s.p95, max: s.max, mode, bytes });
    if (page === pages[0]) process.stdout.write(`first render of page ${page} (cold process): ${ms(times[0]!)} ms\n`);
  }
  process.stdout.write(`viewer page of a ${fmt(rows)}-row list report (${runs} runs each; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})\n`);
  process.stdout.write(table([['page', 'p50 ms', 'p95 ms', 'max ms', 'mode', 'html bytes'], ...results.map((r) => [String(r.page), ms(r.p50), ms(r.p95), ms(r.max), r.mode, fmt(r.bytes)])]) + '\n');
  if (args.json) process.stdout.write(JSON.stringify({ bench: 'viewer-page', rows, runs, results, load: os.loadavg() }) + '\n');
}

await main();
