/**
 * CSV output read back as bytes and parsed: RFC 4180 quoting, CRLF, UTF-8 with and without BOM,
 * formatted vs raw values, merges and gaps, sheet choice, backpressure, OUTPUT_FAILED.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { TraceReportError } from '../datasources/errors.js';
import { csvField, rawText, writeCsv, type CsvOptions } from '../renderer/csv/write-csv.js';
import type { ResolvedRow } from '../renderer/resolved.js';
import { reportOf, rowsOf, type ReportSpec } from './support/resolved.js';

const dir = mkdtempSync(join(tmpdir(), 'tracereport-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function csvBytes(spec: ReportSpec, opts: CsvOptions = {}): Promise<Buffer> {
  const file = join(dir, `out-${++n}.csv`);
  await writeCsv(reportOf(spec), file, opts);
  return readFileSync(file);
}

/** A strict RFC 4180 parser (CRLF records, quoted fields with doubled quotes), for reading output back. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      const end = text.slice(i).search(/,|\r\n/);
      const stop = end < 0 ? text.length : i + end;
      field = text.slice(i, stop);
      if (/["\r\n]/.test(field)) throw new Error(`unquoted field with a quote or line break: ${JSON.stringify(field)}`);
      i = stop;
    }
    fields.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    records.push(fields);
    fields = [];
    if (text.startsWith('\r\n', i)) i += 2;
    else if (i < text.length) throw new Error(`expected CRLF at ${i}`);
    if (i >= text.length) return records;
  }
}

const one = (name: string, rows: ResolvedRow[], extra: Partial<ReportSpec['sheets'][number]> = {}): ReportSpec => ({ sheets: [{ name, rows, ...extra }] });

describe('RFC 4180', () => {
  test('fields with commas, quotes, CR and LF are quoted; records end with CRLF; Chinese text is UTF-8', async () => {
    const values = ['plain', 'a,b', 'say "hi"', 'line1\nline2', 'cr\rhere', '批次 追溯', ' spaced '];
    const bytes = await csvBytes(one('S', rowsOf([values, ['x', 'y']])));
    const text = bytes.toString('utf8');
    expect(text).toBe('plain,"a,b","say ""hi""","line1\nline2","cr\rhere",批次 追溯, spaced \r\nx,y,,,,,\r\n');
    expect(bytes.includes(Buffer.from('批次 追溯', 'utf8'))).toBe(true);
    expect(parseCsv(text)).toEqual([values, ['x', 'y', '', '', '', '', '']]);
  });

  test('field quoting rules', () => {
    expect(csvField('')).toBe('');
    expect(csvField('abc')).toBe('abc');
    expect(csvField('"')).toBe('""""');
    expect(csvField('a,"b"')).toBe('"a,""b"""');
  });

  test('BOM on and off', async () => {
    const rows = rowsOf([['Lot', '数量']]);
    const withBom = await csvBytes(one('S', rows), { bom: true });
    expect([...withBom.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(withBom.subarray(3).toString('utf8')).toBe('Lot,数量\r\n');
    const without = await csvBytes(one('S', rows));
    expect(without[0]).toBe('L'.charCodeAt(0));
  });
});

describe('values', () => {
  const cells: ResolvedRow[] = [
    {
      row: 0,
      cells: [
        { col: 0, value: 1234.5, numFmt: '#,##0.00' },
        { col: 1, value: new Date(Date.UTC(2024, 2, 1)), numFmt: 'yyyy-mm-dd' },
        { col: 2, value: new Date(Date.UTC(2024, 2, 1, 8, 30)) },
        { col: 3, value: true },
        { col: 4, value: { error: '#DIV/0!' } },
        { col: 5, value: 0.125, numFmt: '0.0%' },
        { col: 6, value: null },
        { col: 7, value: 42 },
        { col: 8, value: new Date(Date.UTC(2024, 2, 1, 8, 30, 15, 250)), numFmt: 'dd/mm/yyyy hh:mm' },
      ],
    },
  ];

  test('formatted by default: what Excel shows', async () => {
    const text = (await csvBytes(one('V', cells))).toString('utf8');
    expect(parseCsv(text)).toEqual([['1,234.50', '2024-03-01', '2024-03-01 08:30:00', 'TRUE', '#DIV/0!', '12.5%', '', '42', '01/03/2024 08:30']]);
  });

  test('raw: plain numbers, ISO 8601 dates, true/false, error codes', async () => {
    const text = (await csvBytes(one('V', cells), { raw: true })).toString('utf8');
    expect(parseCsv(text)).toEqual([['1234.5', '2024-03-01', '2024-03-01T08:30:00', 'true', '#DIV/0!', '0.125', '', '42', '2024-03-01T08:30:15.250']]);
  });

  test('formatted text that a spreadsheet would run as a formula is quoted; numbers and raw output are not', async () => {
    const risky: ResolvedRow[] = [
      { row: 0, cells: ['=HYPERLINK("x")', '+1+2', '-cmd', '@SUM(A1)', 'safe', -3].map((value, col) => ({ col, value })) },
    ];
    expect(parseCsv((await csvBytes(one('F', risky))).toString('utf8'))).toEqual([["'=HYPERLINK(\"x\")", "'+1+2", "'-cmd", "'@SUM(A1)", 'safe', '-3']]);
    expect(parseCsv((await csvBytes(one('F', risky), { raw: true })).toString('utf8'))).toEqual([['=HYPERLINK("x")', '+1+2', '-cmd', '@SUM(A1)', 'safe', '-3']]);
  });

  test('raw text of each value type', () => {
    expect(rawText(-0.000001)).toBe('-0.000001');
    expect(rawText(false)).toBe('false');
    expect(rawText({ error: '#N/A' })).toBe('#N/A');
    expect(rawText(null)).toBe('');
    expect(rawText(new Date(Number.NaN))).toBe('');
  });
});

describe('layout', () => {
  test('merged cells: value in the top-left field, covered fields empty; gaps are empty fields and records', async () => {
    const rows: ResolvedRow[] = [
      { row: 0, cells: [{ col: 0, value: 'East', rowSpan: 2 }, { col: 1, value: 'Ann' }, { col: 2, value: 5 }] },
      { row: 1, cells: [{ col: 1, value: 'Bob' }, { col: 2, value: 7 }] },
      { row: 2, cells: [{ col: 0, value: 'Total', colSpan: 2 }, { col: 2, value: 12 }] },
      { row: 4, cells: [{ col: 2, value: 'gap before' }] },
    ];
    const text = (await csvBytes(one('M', rows))).toString('utf8');
    expect(parseCsv(text)).toEqual([
      ['East', 'Ann', '5'],
      ['', 'Bob', '7'],
      ['Total', '', '12'],
      ['', '', ''],
      ['', '', 'gap before'],
    ]);
  });

  test('records are as wide as the sheet’s columns', async () => {
    const text = (await csvBytes(one('W', rowsOf([['a']]), { columns: [{}, {}, { width: 9 }] }))).toString('utf8');
    expect(text).toBe('a,,\r\n');
  });

  test('the first sheet by default; another by index or name', async () => {
    const spec = (): ReportSpec => ({ sheets: [{ name: 'First', rows: rowsOf([['1st']]) }, { name: 'Second', rows: rowsOf([['2nd']]) }] });
    expect((await csvBytes(spec())).toString()).toBe('1st\r\n');
    expect((await csvBytes(spec(), { sheet: 1 })).toString()).toBe('2nd\r\n');
    expect((await csvBytes(spec(), { sheet: 'Second' })).toString()).toBe('2nd\r\n');
    const err = await csvBytes(spec(), { sheet: 'Third' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceReportError);
    expect((err as TraceReportError).code).toBe('ARGUMENT_INVALID');
    expect((err as TraceReportError).message).toContain('"First", "Second"');
  });
});

describe('output', () => {
  test('waits for a slow stream (backpressure) and writes every record in order', async () => {
    const got: string[] = [];
    let maxBuffered = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        maxBuffered = Math.max(maxBuffered, slow.writableLength);
        got.push(chunk.toString('utf8'));
        setTimeout(cb, 1);
      },
    });
    const rows = rowsOf(Array.from({ length: 3000 }, (_, i) => [i, `row ${i}`]));
    const summary = await writeCsv(reportOf({ sheets: [{ name: 'Big', rows, bandSize: 100 }] }), slow);
    expect(summary).toEqual({ file: '<stream>', sheet: 'Big', rows: 3000 });
    const records = parseCsv(got.join(''));
    expect(records.length).toBe(3000);
    expect(records[2999]).toEqual(['2999', 'row 2999']);
    // About 40 KB in all, in bands of about 1.3 KB: a writer ignoring backpressure would queue nearly all of it.
    expect(got.join('').length).toBeGreaterThan(35_000);
    expect(maxBuffered).toBeLessThan(1024 + 2 * 1500);
  });

  test('a file that cannot be written is OUTPUT_FAILED naming it', async () => {
    const file = join(dir, 'missing', 'out.csv');
    const err = await writeCsv(reportOf(one('S', rowsOf([['x']]))), file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceReportError);
    expect((err as TraceReportError).code).toBe('OUTPUT_FAILED');
    expect((err as TraceReportError).message).toContain(file);
  });
});
