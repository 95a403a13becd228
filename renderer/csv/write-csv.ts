/**
 * CSV output of one sheet of a resolved report: RFC 4180 (CRLF line ends; a field with a quote,
 * comma, CR or LF is quoted and its quotes doubled), UTF-8, optionally with a byte order mark so Excel
 * reads it as UTF-8.
 *
 * - Values are formatted as Excel shows them (the cell's number format: `1,234.50`, `2024-03-01`) by
 *   default; `raw` writes plain values: numbers as JavaScript writes them, dates in ISO 8601 (`2024-03-01`,
 *   or `2024-03-01T08:30:00` with a time; the wall-clock time the report shows, no zone), booleans
 *   `true`/`false`, errors as their code (`#DIV/0!`).
 * - A merged cell's value is in its top-left field; the fields it covers are empty, as are gaps.
 *   Every record has at least as many fields as the sheet has columns (and as the widest record before it).
 * - Formatted output guards against spreadsheet formula injection: a text value that starts with `=`, `+`,
 *   `-`, `@`, tab or CR gets a leading `'` (OWASP's advice), so Excel shows it as text and never runs it.
 *   Numbers are never changed; raw output (for programs) writes text exactly.
 * - Streams: one write per band, waiting whenever the output asks to (backpressure).
 * - Writes the first sheet unless `sheet` names another (0-based index or name); sheets before it are
 *   read and skipped, sheets after it are not read.
 */
import { once } from 'node:events';
import { TraceReportError } from '../../datasources/errors.js';
import { formatValue } from '../format/number-format.js';
import { isExcelError, type CellValue, type ResolvedReport, type ResolvedSheet } from '../resolved.js';
import { openOutput, outputError, type OutputTarget } from '../xlsx/output-target.js';

export interface CsvOptions {
  /** Start with a UTF-8 byte order mark (for Excel). */
  bom?: boolean;
  /** Plain values instead of what Excel shows. */
  raw?: boolean;
  /** The sheet to write: 0-based index or name (default: the first). */
  sheet?: number | string;
}

export interface CsvSummary {
  /** The file written, or `<stream>`. */
  file: string;
  /** The sheet written. */
  sheet: string;
  /** Records written. */
  rows: number;
}

const CRLF = '\r\n';
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field (RFC 4180 quoting). */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A value as raw CSV text. */
export function rawText(v: CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '#NUM!';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return isoWallClock(v);
  if (isExcelError(v)) return v.error;
  return String(v);
}

function isoWallClock(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const iso = d.toISOString();
  if (d.getTime() % 86_400_000 === 0) return iso.slice(0, 10);
  return iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
}

export async function writeCsv(report: ResolvedReport, out: string | NodeJS.WritableStream, opts: CsvOptions = {}): Promise<CsvSummary> {
  const target = openOutput(out);
  try {
    const written = await Promise.race([writeReport(report, target, opts), target.failed]);
    target.stream.end();
    await target.complete();
    return { file: target.name, ...written };
  } catch (e) {
    await target.discard().catch(() => {});
    throw outputError('CSV', target, e);
  }
}

async function writeReport(report: ResolvedReport, target: OutputTarget, opts: CsvOptions): Promise<{ sheet: string; rows: number }> {
  const wanted = opts.sheet ?? 0;
  const seen: string[] = [];
  let index = 0;
  for await (const sheet of report.sheets) {
    if (wanted === index || wanted === sheet.name) {
      const rows = await writeSheet(sheet, target, opts);
      return { sheet: sheet.name, rows };
    }
    seen.push(sheet.name);
    for await (const band of sheet.bands) void band; // consumed in order, as the resolved report requires
    index++;
  }
  throw new TraceReportError(
    'ARGUMENT_INVALID',
    `the report has no sheet ${typeof wanted === 'number' ? `number ${wanted} (0-based)` : `"${wanted}"`}; its sheets are ${seen.map((s) => `"${s}"`).join(', ') || 'none'}`,
    { sheet: wanted, sheets: seen },
  );
}

const FORMULA_START = /^[=+\-@\t\r]/;

async function writeSheet(sheet: ResolvedSheet, target: OutputTarget, opts: CsvOptions): Promise<number> {
  const text = opts.raw ? rawText : formatValue;
  const stream = target.stream;
  let width = sheet.columns.length;
  let next = 0; // next output row
  let records = 0;
  let chunk = opts.bom ? '\uFEFF' : '';
  for await (const band of sheet.bands) {
    for (const row of band.rows) {
      for (; next < row.row; next++, records++) chunk += ','.repeat(Math.max(0, width - 1)) + CRLF;
      const fields: string[] = [];
      for (const c of row.cells) {
        while (fields.length < c.col) fields.push('');
        const t = text(c.value, c.numFmt);
        fields.push(csvField(!opts.raw && typeof c.value === 'string' && FORMULA_START.test(t) ? `'${t}` : t));
        const end = c.col + (c.colSpan ?? 1);
        while (fields.length < end) fields.push('');
      }
      if (fields.length > width) width = fields.length;
      while (fields.length < width) fields.push('');
      const line = fields.join(',');
      chunk += line + CRLF;
      next = row.row + 1;
      records++;
    }
    if (chunk) {
      if (!stream.write(chunk)) await Promise.race([once(stream as unknown as import('node:events').EventEmitter, 'drain'), target.failed]);
      chunk = '';
    }
  }
  if (chunk && !stream.write(chunk)) await Promise.race([once(stream as unknown as import('node:events').EventEmitter, 'drain'), target.failed]);
  return records;
}
