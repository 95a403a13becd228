/**
 * XLSX output read back with exceljs: typed values, merges, number formats, styles, column widths,
 * row heights, frozen panes, hyperlinks, error values, sheet names, sheet split, page setup, pictures,
 * and OUTPUT_FAILED on a failed write. Reports are built by hand (tests/support/resolved.ts).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, test } from 'vitest';
import { TraceReportError } from '../datasources/errors.js';
import { linkHref } from '../renderer/link-href.js';
import type { ResolvedReport, ResolvedRow } from '../renderer/resolved.js';
import { EXCEL_MAX_LINKS, EXCEL_MAX_ROWS, writeXlsx, type XlsxOptions } from '../renderer/xlsx/write-xlsx.js';
import { cellXml, colLetter, escapeXml } from '../renderer/xlsx/row-xml.js';
import { toXlsxStyle, XlsxStyleCache } from '../renderer/xlsx/styles.js';
import { StyleTable } from '../renderer/style-table.js';
import { reportOf, rowsOf, type ReportSpec } from './support/resolved.js';

const dir = mkdtempSync(join(tmpdir(), 'tracereport-xlsx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A 1×1 PNG, standing in for a rendered chart. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

async function roundTrip(spec: ReportSpec | ResolvedReport, opts: XlsxOptions = {}): Promise<{ wb: ExcelJS.Workbook; file: string; summary: Awaited<ReturnType<typeof writeXlsx>> }> {
  const file = join(dir, `out-${++n}.xlsx`);
  const report = 'sheets' in spec && !(Symbol.asyncIterator in (spec.sheets as object)) ? reportOf(spec as ReportSpec) : (spec as ResolvedReport);
  const summary = await writeXlsx(report, file, opts);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  return { wb, file, summary };
}

const sheet1 = (wb: ExcelJS.Workbook) => wb.worksheets[0]!;

describe('values', () => {
  test('numbers, text, booleans, dates, errors and blanks keep their types', async () => {
    const { wb } = await roundTrip({
      sheets: [
        {
          name: 'Values',
          rows: [
            {
              row: 0,
              cells: [
                { col: 0, value: 1234.5 },
                { col: 1, value: 'Lot 中文' },
                { col: 2, value: true },
                { col: 3, value: new Date(Date.UTC(2024, 2, 1)) },
                { col: 4, value: new Date(Date.UTC(2024, 2, 1, 8, 30)) },
                { col: 5, value: { error: '#DIV/0!' } },
                { col: 6, value: null },
                { col: 7, value: 'after a blank' },
                { col: 8, value: new Date(Date.UTC(2024, 2, 1)), numFmt: 'dd/mm/yyyy' },
              ],
            },
          ],
        },
      ],
    });
    const ws = sheet1(wb);
    expect(ws.name).toBe('Values');
    const c = (col: number) => ws.getRow(1).getCell(col);
    expect(c(1).type).toBe(ExcelJS.ValueType.Number);
    expect(c(1).value).toBe(1234.5);
    expect(c(2).value).toBe('Lot 中文');
    expect(c(3).type).toBe(ExcelJS.ValueType.Boolean);
    expect(c(3).value).toBe(true);
    expect(c(4).type).toBe(ExcelJS.ValueType.Date);
    expect((c(4).value as Date).toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(c(4).numFmt).toBe('yyyy-mm-dd');
    expect((c(5).value as Date).toISOString()).toBe('2024-03-01T08:30:00.000Z');
    expect(c(5).numFmt).toBe('yyyy-mm-dd hh:mm:ss');
    expect(c(6).type).toBe(ExcelJS.ValueType.Error);
    expect(c(6).value).toEqual({ error: '#DIV/0!' });
    expect(c(7).type).toBe(ExcelJS.ValueType.Null);
    expect(c(8).value).toBe('after a blank');
    expect(c(9).numFmt).toBe('dd/mm/yyyy');
  });

  test('text keeps markup characters, line breaks, edge spaces and emoji; characters XML cannot hold are dropped', async () => {
    const texts = ['<b>a & b</b>', 'line1\nline2\r\nline3', '  padded  ', 'tab\there', '😀 批次', 'bell\u0007 nul\u0000 lone\uD800 end'];
    const { wb } = await roundTrip({ sheets: [{ name: 'T', rows: [{ row: 0, cells: texts.map((value, col) => ({ col, value })) }] }] });
    const row = sheet1(wb).getRow(1);
    expect(texts.slice(0, 5).map((_, i) => row.getCell(i + 1).value)).toEqual(texts.slice(0, 5));
    expect(row.getCell(6).value).toBe('bell nul lone end');
  });

  test('every Excel error code is written as an error value', async () => {
    const codes = ['#DIV/0!', '#NAME?', '#REF!', '#VALUE!', '#N/A', '#NUM!', '#NULL!'] as const;
    const { wb } = await roundTrip({ sheets: [{ name: 'E', rows: [{ row: 0, cells: codes.map((error, col) => ({ col, value: { error } })) }] }] });
    const row = sheet1(wb).getRow(1);
    codes.forEach((error, i) => expect(row.getCell(i + 1).value).toEqual({ error }));
  });

  test('number formats are written natively', async () => {
    const { wb } = await roundTrip({
      sheets: [{ name: 'F', rows: [{ row: 0, cells: [{ col: 0, value: 1234.5, numFmt: '#,##0.00' }, { col: 1, value: 0.125, numFmt: '0.0%' }, { col: 2, value: 7 }] }] }],
    });
    const row = sheet1(wb).getRow(1);
    expect(row.getCell(1).numFmt).toBe('#,##0.00');
    expect(row.getCell(1).value).toBe(1234.5);
    expect(row.getCell(2).numFmt).toBe('0.0%');
    expect(row.getCell(3).numFmt).toBeUndefined();
  });

  test('rows keep their indices: gaps are empty rows', async () => {
    const { wb } = await roundTrip({ sheets: [{ name: 'G', rows: [{ row: 0, cells: [{ col: 0, value: 'a' }] }, { row: 3, cells: [{ col: 2, value: 'b' }] }] }] });
    const ws = sheet1(wb);
    expect(ws.getRow(4).getCell(3).value).toBe('b');
    expect(ws.getRow(2).hasValues).toBe(false);
    expect(ws.actualRowCount).toBe(2);
  });

  test('text longer than Excel keeps is cut to 32,767 characters with a warning', async () => {
    const report = reportOf({ sheets: [{ name: 'Long', rows: [{ row: 0, cells: [{ col: 0, value: 'x'.repeat(40_000) }] }] }] });
    const { wb } = await roundTrip(report);
    expect((sheet1(wb).getRow(1).getCell(1).value as string).length).toBe(32_767);
    expect(report.meta.warnings.map((w) => w.code)).toEqual(['XLSX_TEXT_TRUNCATED']);
  });
});

describe('row XML', () => {
  test.each([
    [0, 'A'],
    [25, 'Z'],
    [26, 'AA'],
    [701, 'ZZ'],
    [702, 'AAA'],
    [16_383, 'XFD'],
  ])('column %i is %s', (col, letters) => expect(colLetter(col)).toBe(letters));

  test.each([
    ['plain', 'plain'],
    ['a<b>&c', 'a&lt;b&gt;&amp;c'],
    ['"quoted"', '"quoted"'],
    ['cr\r\nlf', 'cr&#13;\nlf'],
    ['x\u0001\u001Fy', 'xy'],
    ['😀', '😀'],
    ['\uDC00lone\uD800', 'lone'],
    ['\uFFFE\uFFFF', ''],
  ])('%j as XML text is %j', (text, xml) => expect(escapeXml(text)).toBe(xml));

  test('cells by value type', () => {
    expect(cellXml('A1', 0, null)).toBe('');
    expect(cellXml('A1', 3, null)).toBe('<c r="A1" s="3"/>');
    expect(cellXml('B2', 0, 1.5)).toBe('<c r="B2"><v>1.5</v></c>');
    expect(cellXml('B2', 0, Number.POSITIVE_INFINITY)).toBe('<c r="B2" t="e"><v>#NUM!</v></c>');
    expect(cellXml('C3', 2, ' x')).toBe('<c r="C3" s="2" t="inlineStr"><is><t xml:space="preserve"> x</t></is></c>');
    expect(cellXml('D4', 0, false)).toBe('<c r="D4" t="b"><v>0</v></c>');
    expect(cellXml('E5', 1, new Date(Date.UTC(2024, 0, 1, 12)))).toBe('<c r="E5" s="1"><v>45292.5</v></c>');
    expect(cellXml('F6', 0, { error: '#N/A' })).toBe('<c r="F6" t="e"><v>#N/A</v></c>');
  });
});

describe('layout', () => {
  test('rowSpan and colSpan become merges; covered cells carry the merged cell style', async () => {
    const { wb } = await roundTrip({
      styles: [{ border: 'thin' }],
      sheets: [
        {
          name: 'M',
          rows: [
            { row: 0, cells: [{ col: 0, value: 'East', rowSpan: 2, style: 0 }, { col: 1, value: 'Ann' }] },
            { row: 1, cells: [{ col: 1, value: 'Bob' }] },
            { row: 2, cells: [{ col: 0, value: 'Total', colSpan: 3, rowSpan: 2 }] },
            { row: 4, cells: [{ col: 0, value: 'after' }] },
          ],
        },
      ],
    });
    const ws = sheet1(wb);
    expect([...(ws.model.merges ?? [])].sort()).toEqual(['A1:A2', 'A3:C4']);
    expect(ws.getCell('A2').isMerged).toBe(true);
    expect(ws.getCell('A2').master.address).toBe('A1');
    expect(ws.getCell('A2').border?.left?.style).toBe('thin');
    expect(ws.getCell('B2').value).toBe('Bob');
    expect(ws.getCell('A5').value).toBe('after');
  });

  test('a merge over rows that have no cells of their own still covers them', async () => {
    const { wb } = await roundTrip({
      styles: [{ border: 'thin' }],
      sheets: [{ name: 'M', rows: [{ row: 0, cells: [{ col: 1, value: 'tall', rowSpan: 4, colSpan: 2, style: 0 }] }, { row: 2, cells: [{ col: 0, value: 'left' }, { col: 3, value: 'right' }] }] }],
    });
    const ws = sheet1(wb);
    expect(ws.model.merges).toEqual(['B1:C4']);
    for (const ref of ['C1', 'B2', 'C2', 'B3', 'C3', 'B4', 'C4']) {
      expect(ws.getCell(ref).master.address).toBe('B1');
      expect(ws.getCell(ref).border?.bottom?.style).toBe('thin');
    }
    expect(ws.getCell('A3').value).toBe('left');
    expect(ws.getCell('D3').value).toBe('right');
  });

  test('column widths, hidden columns and row heights', async () => {
    const { wb } = await roundTrip({
      sheets: [
        {
          name: 'L',
          columns: [{ width: 14 }, {}, { width: 30, hidden: true }, { width: 400 }],
          rows: [{ row: 0, height: 22, cells: [{ col: 0, value: 'a' }, { col: 2, value: 'c' }] }, { row: 1, cells: [{ col: 0, value: 'b' }] }, { row: 2, height: 600, cells: [] }],
        },
      ],
    });
    const ws = sheet1(wb);
    expect(ws.getColumn(1).width).toBe(14);
    expect(ws.getColumn(3).width).toBe(30);
    expect(ws.getColumn(3).hidden).toBe(true);
    expect(ws.getColumn(2).hidden).toBe(false);
    expect(ws.getRow(1).height).toBe(22);
    expect(ws.getRow(2).height).toBeUndefined();
    // clamped to Excel's largest
    expect(ws.getColumn(4).width).toBe(255);
    expect(ws.getRow(3).height).toBe(409);
  });

  test('frozen rows and columns', async () => {
    const { wb } = await roundTrip({ sheets: [{ name: 'Z', frozen: { rows: 2, cols: 1 }, rows: rowsOf([['a', 'b'], ['c', 'd'], ['e', 'f']]) }] });
    expect(sheet1(wb).views[0]).toMatchObject({ state: 'frozen', xSplit: 1, ySplit: 2 });
  });

  test('one worksheet per resolved sheet, with its name made valid and unique', async () => {
    const { wb, summary } = await roundTrip({
      sheets: [
        { name: 'Sales', rows: rowsOf([['s']]) },
        { name: 'Q1/Q2: [draft]?', rows: rowsOf([['q']]) },
        { name: 'sales', rows: rowsOf([['dup']]) },
        { name: "Bob's lots", repeatRows: { first: 0, last: 0 }, rows: rowsOf([['b']]) },
        { name: 'History', rows: rowsOf([['h']]) },
      ],
    });
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Sales', 'Q1_Q2_ _draft__', 'sales (2)', 'Bob’s lots', 'History_']);
    expect(wb.worksheets.map((w) => w.getCell('A1').value)).toEqual(['s', 'q', 'dup', 'b', 'h']);
    expect(wb.worksheets[3]!.pageSetup.printTitlesRow).toBe('1:1');
    expect(summary.sheets).toEqual([
      { name: 'Sales', rows: 1 },
      { name: 'Q1_Q2_ _draft__', rows: 1 },
      { name: 'sales (2)', rows: 1 },
      { name: 'Bob’s lots', rows: 1 },
      { name: 'History_', rows: 1 },
    ]);
  });
});

describe('styles', () => {
  test('font, fill, alignment and borders from the style table', async () => {
    const { wb } = await roundTrip({
      styles: [
        { font: { bold: true, italic: true, underline: true, color: '#FFFFFF', size: 14, name: 'Arial' }, fill: '#1F4E79', align: 'center', valign: 'middle', wrap: true },
        { border: { top: { style: 'thick', color: '#FF0000' }, bottom: { style: 'dashed' } } },
        { border: 'medium' },
      ],
      sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: 'hdr', style: 0 }, { col: 1, value: 1, style: 1, numFmt: '0.0' }, { col: 2, value: 2, style: 2 }, { col: 3, value: 'plain' }] }] }],
    });
    const row = sheet1(wb).getRow(1);
    const a = row.getCell(1);
    expect(a.font).toMatchObject({ bold: true, italic: true, underline: true, size: 14, name: 'Arial', color: { argb: 'FFFFFFFF' } });
    expect(a.fill).toMatchObject({ type: 'pattern', pattern: 'solid', fgColor: { argb: 'FF1F4E79' } });
    expect(a.alignment).toMatchObject({ horizontal: 'center', vertical: 'middle', wrapText: true });
    const b = row.getCell(2);
    expect(b.border.top).toEqual({ style: 'thick', color: { argb: 'FFFF0000' } });
    expect(b.border.bottom).toMatchObject({ style: 'dashed' });
    expect(b.border.left).toBeUndefined();
    expect(b.numFmt).toBe('0.0');
    const c = row.getCell(3);
    for (const side of ['top', 'bottom', 'left', 'right'] as const) expect(c.border[side]?.style).toBe('medium');
    expect(row.getCell(4).font?.bold).toBeUndefined();
  });

  test('one XLSX style per (style id, number format), built once', () => {
    const table = new StyleTable();
    const bold = table.intern({ font: { bold: true } });
    const registered: unknown[] = [];
    const cache = new XlsxStyleCache(table, (style) => registered.push(style));
    const a = cache.get(bold, '0.00');
    expect(cache.get(bold, '0.00')).toBe(a);
    expect(cache.get(bold, undefined)).not.toBe(a);
    expect(cache.get(undefined, undefined)).toBe(0);
    expect(cache.get(undefined, '0.0%')).toBeGreaterThan(0);
    expect(registered).toEqual([toXlsxStyle({ font: { bold: true } }, '0.00'), toXlsxStyle({ font: { bold: true } }, undefined), { numFmt: '0.0%' }]);
  });

});

describe('links', () => {
  test('report links and URLs are hyperlinks; the cell keeps its value and type', async () => {
    const reportLink = { report: 'lot-detail', params: { lot: 'L-0001', step: 3 } };
    const { wb } = await roundTrip(
      {
        sheets: [
          {
            name: 'H',
            rows: [{ row: 0, cells: [{ col: 0, value: 'L-0001', link: reportLink }, { col: 1, value: 42, link: { url: 'https://example.com/a?b=1&c=2' } }] }],
          },
        ],
      },
      { linkBase: 'https://reports.plant.local' },
    );
    const row = sheet1(wb).getRow(1);
    expect(row.getCell(1).hyperlink).toBe(linkHref(reportLink, 'https://reports.plant.local'));
    expect(row.getCell(1).hyperlink).toBe('https://reports.plant.local/view/lot-detail?lot=L-0001&step=3');
    expect(row.getCell(1).text).toBe('L-0001');
    expect(row.getCell(2).hyperlink).toBe('https://example.com/a?b=1&c=2');
    expect((row.getCell(2).value as ExcelJS.CellHyperlinkValue).text).toBe(42);
  });
});

describe('hyperlink limit', () => {
  test(`links past Excel's ${EXCEL_MAX_LINKS.toLocaleString('en-US')} per sheet are left out with a warning; values stay`, async () => {
    const total = EXCEL_MAX_LINKS + 20;
    const rows: ResolvedRow[] = Array.from({ length: total }, (_, r) => ({ row: r, cells: [{ col: 0, value: `L${r}`, link: { report: 'lot', params: { lot: `L${r}` } } }] }));
    const report = reportOf({ sheets: [{ name: 'Links', rows, bandSize: 5000 }] });
    const { wb } = await roundTrip(report);
    const ws = sheet1(wb);
    expect(ws.getCell(`A${EXCEL_MAX_LINKS}`).hyperlink).toBe(`/view/lot?lot=L${EXCEL_MAX_LINKS - 1}`);
    expect(ws.getCell(`A${EXCEL_MAX_LINKS + 1}`).hyperlink).toBeUndefined();
    expect(ws.getCell(`A${total}`).value).toBe(`L${total - 1}`);
    expect(report.meta.warnings.map((w) => w.code)).toEqual(['XLSX_LINKS_LIMIT']);
  });
});

describe('page setup', () => {
  test('paper, orientation, margins in inches, print titles and header/footer codes', async () => {
    const { wb } = await roundTrip({
      page: { size: 'A3', orientation: 'landscape', margins: { top: 25.4, bottom: 12.7, left: 10, right: 10 }, header: 'Lot {{lot}} & more', footer: 'Page {{page}} of {{pages}}' },
      params: { lot: 'L-7' },
      sheets: [{ name: 'P', repeatRows: { first: 0, last: 1 }, rows: rowsOf([['title'], ['hdr'], ['data']]) }],
    });
    const ws = sheet1(wb);
    expect(ws.pageSetup.paperSize).toBe(8);
    expect(ws.pageSetup.orientation).toBe('landscape');
    expect(ws.pageSetup.margins).toMatchObject({ top: 1, bottom: 0.5, left: 0.3937, right: 0.3937 });
    expect(ws.pageSetup.printTitlesRow).toBe('1:2');
    expect(ws.headerFooter.oddHeader).toBe('&CLot L-7 && more');
    expect(ws.headerFooter.oddFooter).toBe('&CPage &P of &N');
  });

  test('A4 portrait by default', async () => {
    const { wb } = await roundTrip({ sheets: [{ name: 'P', rows: rowsOf([['x']]) }] });
    expect(sheet1(wb).pageSetup).toMatchObject({ paperSize: 9, orientation: 'portrait' });
    expect(sheet1(wb).headerFooter?.oddFooter).toBeFalsy();
  });
});

describe('sheet split', () => {
  // Excel's limit is EXCEL_MAX_ROWS (1,048,576 rows per sheet); the tests use a small limit.
  test('the real limit is Excel’s row count', () => expect(EXCEL_MAX_ROWS).toBe(1_048_576));

  test('rows past the limit continue on "Name (2)", "Name (3)" with the header rows repeated', async () => {
    const rows: ResolvedRow[] = [{ row: 0, cells: [{ col: 0, value: 'Lot' }, { col: 1, value: 'Qty' }] }];
    for (let i = 1; i <= 25; i++) rows.push({ row: i, cells: [{ col: 0, value: `L${i}` }, { col: 1, value: i }] });
    const { wb, summary } = await roundTrip(
      { page: { footer: 'p {{page}}' }, sheets: [{ name: 'Report', repeatRows: { first: 0, last: 0 }, frozen: { rows: 1, cols: 0 }, rows, bandSize: 7 }] },
      { maxRowsPerSheet: 10 },
    );
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Report', 'Report (2)', 'Report (3)']);
    expect(summary.sheets).toEqual([
      { name: 'Report', rows: 10 },
      { name: 'Report (2)', rows: 9 },
      { name: 'Report (3)', rows: 7 },
    ]);
    const lots: string[] = [];
    for (const ws of wb.worksheets) {
      expect(ws.rowCount).toBeLessThanOrEqual(10);
      expect(ws.getCell('A1').value).toBe('Lot');
      expect(ws.getCell('B1').value).toBe('Qty');
      expect(ws.pageSetup.printTitlesRow).toBe('1:1');
      expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      expect(ws.headerFooter.oddFooter).toBe('&Cp &P');
      ws.eachRow((r, i) => {
        if (i > 1) lots.push(String(r.getCell(1).value));
      });
    }
    expect(lots).toEqual(Array.from({ length: 25 }, (_, i) => `L${i + 1}`));
  });

  test('a merge that would cross the limit starts the next sheet instead', async () => {
    const rows: ResolvedRow[] = [{ row: 0, cells: [{ col: 0, value: 'Region' }, { col: 1, value: 'Person' }] }];
    let r = 1;
    for (let g = 0; g < 4; g++) {
      rows.push({ row: r, cells: [{ col: 0, value: `G${g}`, rowSpan: 3 }, { col: 1, value: `p${g}a` }] });
      rows.push({ row: r + 1, cells: [{ col: 1, value: `p${g}b` }] });
      rows.push({ row: r + 2, cells: [{ col: 1, value: `p${g}c` }] });
      r += 3;
    }
    // 1 header + 13 rows; limit 8: sheet 1 = header + G0 + G1 (7 rows), G2 would reach row 10.
    const { wb } = await roundTrip({ sheets: [{ name: 'Groups', repeatRows: { first: 0, last: 0 }, rows, bandSize: 3 }] }, { maxRowsPerSheet: 8 });
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Groups', 'Groups (2)']);
    expect([...(wb.worksheets[0]!.model.merges ?? [])].sort()).toEqual(['A2:A4', 'A5:A7']);
    expect([...(wb.worksheets[1]!.model.merges ?? [])].sort()).toEqual(['A2:A4', 'A5:A7']);
    expect(wb.worksheets[1]!.getCell('A2').value).toBe('G2');
    expect(wb.worksheets[1]!.getCell('A1').value).toBe('Region');
  });

  test('without repeated rows the continuation starts with data', async () => {
    const { wb } = await roundTrip({ sheets: [{ name: 'Plain', rows: rowsOf(Array.from({ length: 5 }, (_, i) => [i])) }] }, { maxRowsPerSheet: 3 });
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Plain', 'Plain (2)']);
    expect(wb.worksheets[1]!.getCell('A1').value).toBe(3);
    expect(wb.worksheets[1]!.pageSetup.printTitlesRow).toBeUndefined();
  });
});

describe('charts as pictures', () => {
  test('a chart cell and a floating chart become PNG pictures anchored at their cells', async () => {
    const chart = { option: { series: [] }, width: 480, height: 300 };
    const drawn: number[] = [];
    const { wb, summary } = await roundTrip(
      {
        sheets: [
          {
            name: 'C',
            rows: [{ row: 0, cells: [{ col: 0, value: 'title' }] }, { row: 2, cells: [{ col: 1, value: null, chart, rowSpan: 2, colSpan: 2 }] }],
            floats: [{ row: 5, col: 3, chart: { ...chart, width: 200 } }],
          },
        ],
      },
      { chartPng: async (c) => (drawn.push(c.width), PNG) },
    );
    expect(drawn.sort()).toEqual([200, 480]);
    expect(summary.images).toBe(2);
    const images = sheet1(wb).getImages();
    expect(images.map((i) => [i.range.tl.nativeRow, i.range.tl.nativeCol]).sort()).toEqual([
      [2, 1],
      [5, 3],
    ]);
    const media = wb.getImage(Number(images[0]!.imageId)) as { buffer?: Buffer; extension: string };
    expect(media.extension).toBe('png');
    expect(Buffer.compare(media.buffer!, PNG)).toBe(0);
    expect(sheet1(wb).model.merges).toEqual(['B3:C4']);
  });
});

describe('charts drawn by the chart renderer', () => {
  test('an ECharts option becomes a PNG of its size', async () => {
    const chart = { option: { xAxis: { type: 'category', data: ['A', 'B'] }, yAxis: {}, series: [{ type: 'bar', data: [3, 5] }] }, width: 320, height: 200 };
    const { wb } = await roundTrip({ sheets: [{ name: 'Chart', rows: [{ row: 0, cells: [{ col: 0, value: null, chart }] }] }] });
    const [image] = sheet1(wb).getImages();
    const png = (wb.getImage(Number(image!.imageId)) as unknown as { buffer: Buffer }).buffer;
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // IHDR width and height (the renderer may draw at a higher pixel ratio, keeping the aspect)
    const w = png.readUInt32BE(16);
    const h = png.readUInt32BE(20);
    expect(w / h).toBeCloseTo(320 / 200, 2);
    expect(image!.range.tl.nativeRow).toBe(0);
  });
});

describe('output', () => {
  test('a report without sheets gives a workbook with one empty sheet named after the report', async () => {
    const { wb, summary } = await roundTrip({ name: 'Empty report', sheets: [] });
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Empty report']);
    expect(summary.sheets).toEqual([]);
  });

  test('an output stream that fails mid-way is OUTPUT_FAILED and the writer stops', async () => {
    let written = 0;
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        cb(written > 200_000 ? new Error('disk full') : null);
      },
    });
    let bands = 0;
    let closed = false;
    const report = reportOf({ sheets: [{ name: 'Big', rows: [] }] });
    async function* sheets() {
      for await (const sheet of report.sheets) {
        yield {
          ...sheet,
          bands: (async function* () {
            try {
              for (let b = 0; b < 400; b++, bands++) yield { rows: rowsOf(Array.from({ length: 500 }, (_, i) => [b * 500 + i, `lot ${b * 500 + i}`, i * 1.5])).map((r) => ({ ...r, row: r.row + b * 500 })) };
            } finally {
              closed = true; // a dataset cursor would be closed here
            }
          })(),
        };
      }
    }
    const err = await writeXlsx({ ...report, sheets: sheets() }, out).catch((e: unknown) => e);
    expect((err as TraceReportError).code).toBe('OUTPUT_FAILED');
    expect((err as TraceReportError).message).toMatch(/<stream>: disk full/);
    // The writer stops reading the report soon after (once the zip in front of the dead stream is full)
    // and closes its bands.
    for (let waited = 0; !closed && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(true);
    expect(bands).toBeLessThan(400);
  });

  test('writes to a stream', async () => {
    const chunks: Buffer[] = [];
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    const summary = await writeXlsx(reportOf({ sheets: [{ name: 'S', rows: rowsOf([['streamed', 1]]) }] }), out);
    expect(summary.file).toBe('<stream>');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.concat(chunks) as unknown as ExcelJS.Buffer);
    expect(sheet1(wb).getCell('A1').value).toBe('streamed');
  });

  test('a file that cannot be written is OUTPUT_FAILED naming it, and leaves nothing behind', async () => {
    const file = join(dir, 'no-such-dir', 'out.xlsx');
    const err = await writeXlsx(reportOf({ sheets: [{ name: 'S', rows: rowsOf([['x']]) }] }), file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceReportError);
    expect((err as TraceReportError).code).toBe('OUTPUT_FAILED');
    expect((err as TraceReportError).message).toContain(file);
    expect((err as TraceReportError).message).toMatch(/ENOENT/);
  });

  test('a report that fails while streaming keeps its error and leaves no partial file', async () => {
    const sub = mkdtempSync(join(dir, 'fail-'));
    const boom = new TraceReportError('SOURCE_QUERY_FAILED', 'the source went away');
    const report = reportOf({ sheets: [{ name: 'S', rows: rowsOf([['x']]) }] });
    async function* sheets() {
      for await (const s of report.sheets) {
        yield {
          ...s,
          bands: (async function* () {
            yield { rows: rowsOf(Array.from({ length: 2000 }, (_, i) => [i])) };
            throw boom;
          })(),
        };
      }
    }
    const file = join(sub, 'partial.xlsx');
    const err = await writeXlsx({ ...report, sheets: sheets() }, file).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(sub)).toEqual([]);
  });
});
