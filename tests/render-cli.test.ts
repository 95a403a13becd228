/**
 * `tracereport render` end to end: the sales example over a SQLite source, read back from all
 * four outputs (XLSX with exceljs, CSV, HTML through a DOM, PDF with pdftotext), and the documented
 * errors for bad templates and parameters.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatValue } from '../renderer/format/number-format.js';
import type { CellValue } from '../renderer/resolved.js';
import { requireBuild, runCli, runCliAsync } from './support/cli.js';

let dir: string;
let db: string;
let template: string;

const salesTemplate = {
  format: 1,
  kind: 'grid',
  name: 'Sales by region',
  parameters: [{ name: 'region', type: 'string', multi: true, required: false }],
  datasets: [{ name: 'ds1', source: 'main', sql: 'select region, person, qty from sales where 1=1 {{#if region}} and region in (:region){{/if}} order by id' }],
  styles: { hdr: { font: { bold: true, color: '#FFFFFF' }, fill: '#1F4E79', align: 'center' }, bad: { fill: '#FFC7CE' } },
  sheets: [
    {
      name: 'Report',
      columns: { A: { width: 14 } },
      rows: { '1': { height: 22 } },
      merges: ['A2:A3'],
      cells: {
        A1: { text: 'Region', style: 'hdr' },
        B1: { text: 'Person', style: 'hdr' },
        C1: { text: 'Qty', style: 'hdr' },
        D1: { text: '销售员', style: 'hdr' },
        A2: { field: 'ds1.region', display: 'group' },
        B2: { field: 'ds1.person', display: 'group' },
        C2: { field: 'ds1.qty', display: 'summary', aggregate: 'sum', numFmt: '#,##0', conditions: [{ when: '=C2>100', style: 'bad' }] },
        B3: { text: 'Subtotal' },
        C3: { formula: '=SUM(C2)', numFmt: '#,##0' },
        A4: { text: 'Total' },
        C4: { formula: '=SUM(C2)', numFmt: '#,##0' },
        D2: { field: 'ds1.person', link: { report: 'person-detail', params: { person: '=B2' } } },
      },
    },
  ],
  page: { size: 'A4', orientation: 'portrait', margins: { top: 15, bottom: 15, left: 10, right: 10 }, repeatRows: '1:1', footer: 'Page {{page}} of {{pages}}' },
};

/** What the report shows, cell by cell (merged cells: value in the top-left cell, blank elsewhere). */
const EXPECTED = [
  ['Region', 'Person', 'Qty', '销售员'],
  ['East', 'Ann', '1,110', 'Ann'],
  ['', 'Bob', '70', 'Bob'],
  ['', 'Subtotal', '1,180', ''],
  ['West', 'Cid', '30', 'Cid'],
  ['', 'Subtotal', '30', ''],
  ['Total', '', '1,210', ''],
];

beforeAll(() => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-render-'));
  db = path.join(dir, 'sales.sqlite');
  const sqlite = new Database(db);
  sqlite.exec('create table sales (id integer primary key, region text, person text, qty real)');
  const ins = sqlite.prepare('insert into sales (id, region, person, qty) values (?, ?, ?, ?)');
  [
    [1, 'East', 'Ann', 1050],
    [2, 'East', 'Bob', 70],
    [3, 'East', 'Ann', 60],
    [4, 'West', 'Cid', 30],
  ].forEach((r) => ins.run(...r));
  sqlite.close();
  template = path.join(dir, 'sales.json');
  fs.writeFileSync(template, JSON.stringify(salesTemplate));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function render(format: string, extra: string[] = []): string {
  const out = path.join(dir, `sales-${extra.length}.${format}`);
  const r = runCli(['render', template, '--source', `main=${db}`, '--format', format, '-o', out, ...extra]);
  expect(r.stderr).not.toMatch(/tracereport: /);
  expect(r.status).toBe(0);
  return out;
}

/** A grid of texts from an HTML table, spreading rowspan/colspan like a merge (text in the top-left cell). */
function htmlGrid(html: string): string[][] {
  const { document } = parseHTML(html);
  const table = document.querySelector('table');
  if (!table) throw new Error('no table in the HTML');
  const grid: string[][] = [];
  const taken: boolean[][] = [];
  [...table.querySelectorAll('tr')].forEach((tr, r) => {
    grid[r] ??= [];
    taken[r] ??= [];
    let c = 0;
    for (const td of [...tr.querySelectorAll('td,th')]) {
      while (taken[r]![c]) c++;
      const rs = Number(td.getAttribute('rowspan') ?? 1);
      const cs = Number(td.getAttribute('colspan') ?? 1);
      for (let i = 0; i < rs; i++) {
        for (let j = 0; j < cs; j++) {
          grid[r + i] ??= [];
          taken[r + i] ??= [];
          taken[r + i]![c + j] = true;
          grid[r + i]![c + j] = i === 0 && j === 0 ? (td.textContent ?? '').trim() : '';
        }
      }
      c += cs;
    }
  });
  return grid.map((row) => Array.from({ length: 4 }, (_, i) => row[i] ?? ''));
}

function csvGrid(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += ch;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows.map((r) => Array.from({ length: 4 }, (_, i) => r[i] ?? ''));
}

describe('tracereport render: the sales example', () => {
  it('XLSX: values, merges, number formats, styles, row height, column width, link', async () => {
    const file = render('xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.getWorksheet('Report')!;
    expect(ws).toBeDefined();
    const grid = EXPECTED.map((_, r) =>
      EXPECTED[0]!.map((__, c) => {
        const cell = ws.getCell(r + 1, c + 1);
        if (cell.isMerged && cell.master.address !== cell.address) return '';
        let v = cell.value as unknown;
        if (v && typeof v === 'object' && 'text' in (v as object)) v = (v as { text: string }).text;
        return formatValue((v ?? null) as CellValue, cell.numFmt);
      }),
    );
    expect(grid).toEqual(EXPECTED);
    expect(ws.getCell('A2').isMerged && ws.getCell('A4').isMerged).toBe(true);
    expect(ws.getCell('A5').master.address).toBe('A5');
    expect(ws.getCell('C2').numFmt).toBe('#,##0');
    expect(typeof ws.getCell('C2').value).toBe('number');
    expect(ws.getCell('A1').font?.bold).toBe(true);
    expect(ws.getCell('C2').fill).toMatchObject({ type: 'pattern', fgColor: { argb: expect.stringMatching(/FFC7CE$/i) } });
    expect(JSON.stringify(ws.getCell('C3').fill ?? {})).not.toMatch(/FFC7CE/i);
    expect(ws.getRow(1).height).toBe(22);
    expect(ws.getColumn(1).width).toBe(14);
    const link = ws.getCell('D2').value as { hyperlink?: string };
    expect(link.hyperlink).toContain('/view/person-detail?person=Ann');
  });

  it('CSV, HTML and PDF show the same values as XLSX', async () => {
    expect(csvGrid(fs.readFileSync(render('csv'), 'utf8'))).toEqual(EXPECTED);
    const html = fs.readFileSync(render('html'), 'utf8');
    expect(htmlGrid(html)).toEqual(EXPECTED);
    const { document } = parseHTML(html);
    const a = document.querySelector('a');
    expect(a?.getAttribute('href')).toBe('/view/person-detail?person=Ann');
    const pdf = render('pdf');
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    // Merged group cells are centred vertically over their rows, so rows are checked without column A.
    const esc = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const row of EXPECTED) {
      const want = (row === EXPECTED[0] ? row : row.slice(1)).filter(Boolean);
      expect(text, `PDF line with ${want.join(' | ')}`).toMatch(new RegExp(want.map(esc).join('[ \\t]+')));
    }
    for (const group of ['East', 'West', 'Total']) expect(text).toContain(group);
    expect(text).toContain('Page 1 of 1');
  });

  it('a multi-value parameter takes the flag repeated', () => {
    const out = path.join(dir, 'west.csv');
    const r = runCli(['render', template, '--source', `main=${db}`, '--param', 'region=West', '--param', 'region=North', '-o', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(csvGrid(fs.readFileSync(out, 'utf8'))).toEqual([EXPECTED[0], ['West', 'Cid', '30', 'Cid'], ['', 'Subtotal', '30', ''], ['Total', '', '30', '']]);
    const meta = JSON.parse(r.stdout) as { mode: string; rowCounts: Record<string, number>; warnings: unknown[] };
    expect(meta.rowCounts.ds1).toBe(1);
    expect(meta.mode).toBe('full');
    expect(meta.warnings).toEqual([]);
  });

  it('CSV raw values and BOM', () => {
    const out = path.join(dir, 'raw.csv');
    const r = runCli(['render', template, '--source', `main=${db}`, '-o', out, '--raw', '--bom']);
    expect(r.status, r.stderr).toBe(0);
    const buf = fs.readFileSync(out);
    expect([...buf.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(buf.toString('utf8')).toContain('East,Ann,1110,Ann');
  });
});

describe('tracereport render: CSV of a chosen sheet', () => {
  it('--sheet picks a sheet by name or number, and refuses one that is not there', () => {
    const two = path.join(dir, 'two-sheets.json');
    const second = { name: 'Persons', cells: { A1: { text: 'Who' }, A2: { field: 'ds1.person' } } };
    fs.writeFileSync(two, JSON.stringify({ ...salesTemplate, sheets: [...salesTemplate.sheets, second] }));
    for (const sheet of ['Persons', '2']) {
      const out = path.join(dir, `persons-${sheet}.csv`);
      const r = runCli(['render', two, '--source', `main=${db}`, '-o', out, '--sheet', sheet]);
      expect(r.status, r.stderr).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe('Who\r\nAnn\r\nBob\r\nCid\r\n');
    }
    const r = runCli(['render', two, '--source', `main=${db}`, '-o', path.join(dir, 'x.csv'), '--sheet', '3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--sheet "3": template "Sales by region" has sheets 1 "Report", 2 "Persons"/);
  });
});

describe('tracereport render: row-level $user values', () => {
  it('--user-value binds $user.<name>; without it the filtered dataset has no rows; --param cannot set it', () => {
    const file = path.join(dir, 'by-region.json');
    const sql = 'select region, person from sales where region in (:$user.region) order by id';
    fs.writeFileSync(file, JSON.stringify({ ...salesTemplate, parameters: [], datasets: [{ name: 'ds1', source: 'main', sql }], sheets: [{ name: 'R', cells: { A1: { field: 'ds1.person' } } }] }));
    const out = path.join(dir, 'by-region.csv');
    let r = runCli(['render', file, '--source', `main=${db}`, '-o', out, '--user-value', 'region=West', '--user-value', 'region=North']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe('Cid\r\n');
    r = runCli(['render', file, '--source', `main=${db}`, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8').trim()).toBe('');
    r = runCli(['render', file, '--source', `main=${db}`, '-o', out, '--param', '$user.region=East']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/come from the logged-in user/);
  });
});

describe('tracereport render: errors before any query runs', () => {
  // The source is unreachable: these errors must come from the checks, not from a connection attempt.
  const dead = 'main=postgres://nobody@127.0.0.1:9/none';

  it.each([
    ['a missing required parameter', { parameters: [{ name: 'region', required: true }] }, [], /PARAM_MISSING: missing required parameter "region"/],
    ['an unknown parameter', {}, ['--param', 'plant=P1'], /PARAM_UNKNOWN: unknown parameter "plant"; this report takes "region"/],
    ['a bad number', { parameters: [{ name: 'region', type: 'number' }] }, ['--param', 'region=ten'], /PARAM_INVALID: parameter "region" \(number\): got "ten", expected a number/],
    ['an undefined source', { datasets: [{ name: 'ds1', source: 'erp', sql: 'select region, person, qty from sales' }] }, [], /SOURCE_UNKNOWN: .*"erp".*--source erp=URL/],
    ['an invalid template', { sheets: [{ name: 'Report', cells: { A2: { field: 'ds1.region', display: 'grouped' } } }] }, [], /TEMPLATE_INVALID: [\s\S]*\$\.sheets\[0\]\.cells\.A2\.display/],
    ['a dataset that does not exist', { sheets: [{ name: 'Report', cells: { A2: { field: 'ds9.region' } } }] }, [], /TEMPLATE_INVALID: [\s\S]*\$\.sheets\[0\]\.cells\.A2\.field: no dataset named "ds9"/],
  ])('%s: exit 2 and a message naming it', async (_name, patch, args, message) => {
    const file = path.join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...salesTemplate, ...patch }));
    const out = path.join(dir, 'never.xlsx');
    const r = await runCliAsync(['render', file, '--source', dead, '-o', out, ...(args as string[])]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an unknown field: exit 2 naming the cell and the columns', () => {
    const file = path.join(dir, 'bad-field.json');
    fs.writeFileSync(file, JSON.stringify({ ...salesTemplate, sheets: [{ name: 'Report', cells: { A2: { field: 'ds1.regoin' } } }] }));
    const r = runCli(['render', file, '--source', `main=${db}`, '-o', path.join(dir, 'never.xlsx')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/FIELD_UNKNOWN: cell Report!A2 reads field "regoin" of dataset "ds1", which has no such column; it has "region", "person", "qty"/);
  });

  it('an unknown template lists the built-in ones', () => {
    const r = runCli(['render', 'no-such-report', '-o', path.join(dir, 'x.pdf')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TEMPLATE_NOT_FOUND: no template file "no-such-report"/);
  });

  it('a render that fails part-way leaves no file behind, not even a temporary one', () => {
    const file = path.join(dir, 'fails.json');
    fs.writeFileSync(file, JSON.stringify({ ...salesTemplate, datasets: [{ name: 'ds1', source: 'main', sql: 'select region, person, qty from sales union all select 1, 2, abs(-9223372036854775808)' }] }));
    const outDir = fs.mkdtempSync(path.join(dir, 'out-'));
    const out = path.join(outDir, 'partial.xlsx');
    const r = runCli(['render', file, '--source', `main=${db}`, '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/SOURCE_QUERY_FAILED|integer overflow/);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });
});
