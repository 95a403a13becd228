/**
 * XLSX output: the resolved report through exceljs's streaming WorkbookWriter. Rows go into the
 * worksheet stream as XML as soon as they are read (row-xml.ts; exceljs writes the rest of the file),
 * so memory stays flat however long the report is.
 *
 * - Typed values: numbers, text, booleans, dates (with the cell's format or the default date format),
 *   Excel errors; formula cells carry the value the engine computed.
 * - One XLSX style per (style id, number format), built once. Cells covered by a merge carry the merged
 *   cell's style (so borders go round the whole area).
 * - Merges, column widths and hidden columns, row heights, frozen panes, hyperlinks (linkHref), page
 *   setup (paper, orientation, margins, print titles, header/footer), charts as PNG pictures.
 * - A sheet longer than Excel's 1,048,576 rows continues on `Name (2)`, `Name (3)` ..., each starting
 *   with the sheet's repeated header rows; a merge never crosses into the next sheet.
 */
import { once } from 'node:events';
import ExcelJS from 'exceljs';
import { TraceReportError } from '../../datasources/errors.js';
import { defaultDateFormat } from '../format/number-format.js';
import { linkHref } from '../link-href.js';
import type { ResolvedChart, ResolvedReport, ResolvedRow, ResolvedSheet } from '../resolved.js';
import { addHyperlink, addMerge, startSheetData, StreamingDrawings, styleIndex, writeSheetXml, zipBacklog, type SheetImage, type WorksheetWriter } from './exceljs-stream.js';
import { openOutput, outputError, type OutputTarget } from './output-target.js';
import { xlsxHeaderFooter, xlsxPageSetup } from './page-setup.js';
import { cellXml, colLetter, rowOpenXml } from './row-xml.js';
import { SheetNames } from './sheet-names.js';
import { XlsxStyleCache } from './styles.js';

/** Rows of one Excel worksheet (Excel 2007 and later). */
export const EXCEL_MAX_ROWS = 1_048_576;
/** Columns of one Excel worksheet (A..XFD). */
export const EXCEL_MAX_COLS = 16_384;
/** Characters Excel keeps in one cell. */
export const EXCEL_MAX_TEXT = 32_767;
/** Widest column Excel takes (characters) and tallest row (points); larger values are clamped. */
export const EXCEL_MAX_COL_WIDTH = 255;
export const EXCEL_MAX_ROW_HEIGHT = 409;
/** Hyperlinks Excel keeps in one worksheet (more and it repairs the file, dropping them). */
export const EXCEL_MAX_LINKS = 65_530;

export interface XlsxOptions {
  /** Prefix of report links (`https://host`), so links work outside the viewer. */
  linkBase?: string;
  /** Rows per worksheet before the sheet continues on a new one (default and maximum: Excel's 1,048,576). */
  maxRowsPerSheet?: number;
  /** Draws a chart as PNG (default: renderChartPng of renderer/charts/render.ts). */
  chartPng?: (chart: ResolvedChart) => Promise<Buffer>;
  /** zlib level of the zip (0-9; default 1: the XML compresses well at any level and level 1 is the fastest). */
  compression?: number;
}

export interface XlsxSummary {
  /** The file written, or `<stream>`. */
  file: string;
  /** Worksheets written, with the report rows each holds (continuation sheets listed on their own, not counting their repeated header rows). */
  sheets: { name: string; rows: number }[];
  /** Pictures (charts) embedded. */
  images: number;
}

/** Yield to the event loop after this many rows, so the zip stream drains and memory stays flat. */
const ROWS_PER_YIELD = 500;
/** Bytes of XML that may wait for the zip before the writer waits for it. */
const ZIP_BACKLOG = 8 * 2 ** 20;
/** Compressed bytes the output may hold before the writer waits for it. */
const OUTPUT_BUFFER = 4 * 2 ** 20;

export async function writeXlsx(report: ResolvedReport, out: string | NodeJS.WritableStream, opts: XlsxOptions = {}): Promise<XlsxSummary> {
  const target = openOutput(out);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: target.stream as unknown as import('node:stream').Stream,
    useStyles: true,
    useSharedStrings: false,
    zip: { zlib: { level: opts.compression ?? 1 } },
  });
  const writer = new XlsxReportWriter(report, workbook, target, opts);
  try {
    await Promise.race([writer.writeAll(), target.failed]);
    await Promise.race([workbook.commit(), target.failed]);
    await target.complete();
  } catch (e) {
    await target.discard().catch(() => {});
    throw outputError('XLSX', target, e);
  }
  return { file: target.name, sheets: writer.written, images: writer.images };
}

type ChartPng = (chart: ResolvedChart) => Promise<Buffer>;

class XlsxReportWriter {
  readonly written: { name: string; rows: number }[] = [];
  images = 0;
  private readonly styles: XlsxStyleCache;
  private readonly names = new SheetNames();
  private readonly drawings: StreamingDrawings;
  private readonly maxRows: number;
  private chartPng?: ChartPng;

  constructor(
    private readonly report: ResolvedReport,
    private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter,
    private readonly target: OutputTarget,
    private readonly opts: XlsxOptions,
  ) {
    this.styles = new XlsxStyleCache(report.styles, (style) => styleIndex(workbook, style));
    this.drawings = new StreamingDrawings(workbook);
    this.maxRows = Math.min(EXCEL_MAX_ROWS, Math.max(1, Math.floor(opts.maxRowsPerSheet ?? EXCEL_MAX_ROWS)));
    this.chartPng = opts.chartPng;
  }

  async writeAll(): Promise<void> {
    for await (const sheet of this.report.sheets) await this.writeSheet(sheet);
    if (this.written.length === 0) this.workbook.addWorksheet(this.names.take(this.report.name)).commit();
  }

  private async writeSheet(sheet: ResolvedSheet): Promise<void> {
    const header = sheet.repeatRows && sheet.repeatRows.last >= sheet.repeatRows.first ? sheet.repeatRows : undefined;
    const headerCount = header ? header.last - header.first + 1 : 0;
    // Header rows repeated at the top of continuation sheets (only when they leave room for data).
    const repeat = header && headerCount < this.maxRows ? header : undefined;
    const headerRows: ResolvedRow[] = [];
    let part = this.openPart(sheet, 1, 0, 0);
    let sinceYield = 0;
    for await (const band of sheet.bands) {
      for (const row of band.rows) {
        let span = 1;
        for (const c of row.cells) if (c.rowSpan && c.rowSpan > span) span = c.rowSpan;
        if (part.outRow(row.row) + span > this.maxRows && row.row > part.start) {
          await this.closePart(part, sheet, row.row);
          part = this.openPart(sheet, part.number + 1, row.row, repeat ? headerCount : 0);
          if (repeat) for (const h of headerRows) this.writeRow(part, h, h.row - repeat.first, headerCount);
        }
        this.writeRow(part, row, part.outRow(row.row), this.maxRows);
        if (repeat && part.number === 1 && row.row >= repeat.first && row.row <= repeat.last) headerRows.push(row);
        if (++sinceYield >= ROWS_PER_YIELD) {
          sinceYield = 0;
          part.flush();
          await this.drain(part.ws);
        }
      }
    }
    await this.closePart(part, sheet, Infinity);
  }

  /**
   * Lets the zip and the output catch up: one turn of the event loop, then waits while more than
   * ZIP_BACKLOG bytes of XML wait for the zip (it compresses on the thread pool; exceljs's worksheet
   * stream would otherwise buffer without limit) or the output holds more than OUTPUT_BUFFER bytes.
   */
  private async drain(ws: WorksheetWriter): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.throwIfFailed();
    while (zipBacklog(ws) > ZIP_BACKLOG) {
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
      this.throwIfFailed();
    }
    const out = this.target.stream as NodeJS.WritableStream & { writableLength?: number };
    if ((out.writableLength ?? 0) > OUTPUT_BUFFER) await Promise.race([once(out as unknown as import('node:events').EventEmitter, 'drain'), this.target.failed]);
  }

  /** Stops reading the report once the output has failed (writeXlsx has already rejected). */
  private throwIfFailed(): void {
    const failed = this.target.error();
    if (failed) throw failed;
  }

  private openPart(sheet: ResolvedSheet, number: number, start: number, offset: number): SheetPart {
    const name = this.names.take(sheet.name, number);
    const first = number === 1;
    const rr = sheet.repeatRows;
    const titleRows = rr ? (first ? { first: rr.first + 1, last: rr.last + 1 } : offset > 0 ? { first: 1, last: offset } : undefined) : undefined;
    const frozenRows = sheet.frozen ? (first ? sheet.frozen.rows : rr ? Math.max(0, Math.min(offset, sheet.frozen.rows - rr.first)) : 0) : 0;
    const frozenCols = sheet.frozen?.cols ?? 0;
    const ws = this.workbook.addWorksheet(name, {
      views: frozenRows > 0 || frozenCols > 0 ? [{ state: 'frozen', xSplit: frozenCols, ySplit: frozenRows }] : [],
      pageSetup: xlsxPageSetup(this.report.page, titleRows),
      headerFooter: xlsxHeaderFooter(this.report.page, this.report.params),
    });
    sheet.columns.forEach((c, i) => {
      if (c.width === undefined && !c.hidden) return;
      const col = ws.getColumn(i + 1);
      if (c.width !== undefined) col.width = Math.min(c.width, EXCEL_MAX_COL_WIDTH);
      if (c.hidden) col.hidden = true;
    });
    startSheetData(ws);
    return new SheetPart(ws, name, number, start, offset);
  }

  /** Adds the part's pictures (its cells' charts and the floats anchored in rows start..end-1) and commits it. */
  private async closePart(part: SheetPart, sheet: ResolvedSheet, end: number): Promise<void> {
    part.finishRows();
    for (const f of sheet.floats) {
      if ((f.row >= part.start || part.number === 1) && f.row < end) part.charts.push({ row: Math.max(0, part.outRow(f.row)), col: f.col, chart: f.chart });
    }
    const images: SheetImage[] = [];
    for (const c of part.charts) {
      const png = await this.renderChart(c.chart);
      images.push({ row: c.row, col: c.col, width: c.chart.width, height: c.chart.height, png });
    }
    this.drawings.attach(part.ws, images);
    this.images += images.length;
    part.ws.commit();
    this.written.push({ name: part.name, rows: part.rows });
  }

  private async renderChart(chart: ResolvedChart): Promise<Buffer> {
    // Loaded on first use, so reports without charts do not load ECharts and resvg.
    this.chartPng ??= (await import('../charts/render.js')).renderChartPng;
    return this.chartPng(chart);
  }

  /** Writes one resolved row at 0-based worksheet row `at`; merges are clipped to the first `limit` worksheet rows. */
  private writeRow(part: SheetPart, row: ResolvedRow, at: number, limit: number): void {
    part.coverGapsBefore(at);
    const r = at + 1;
    let pieces: [number, string][] | undefined = part.coveredIn(at);
    let xml = '';
    for (const c of row.cells) {
      if (c.col >= EXCEL_MAX_COLS) {
        throw new TraceReportError('OUTPUT_FAILED', `sheet "${part.name}" row ${r} has a cell in column ${c.col + 1}; an Excel sheet has at most ${EXCEL_MAX_COLS} columns (XFD)`, { sheet: part.name, row: r, col: c.col + 1 });
      }
      const v = c.value;
      let numFmt = c.numFmt;
      if (v instanceof Date && (numFmt === undefined || numFmt === 'General')) numFmt = Number.isNaN(v.getTime()) ? undefined : defaultDateFormat(v);
      const xf = this.styles.get(c.style, numFmt);
      const ref = colLetter(c.col) + r;
      let cx = cellXml(ref, xf, typeof v === 'string' && v.length > EXCEL_MAX_TEXT ? this.truncate(v, part, ref) : v);
      if (c.link) this.link(part, ref, linkHref(c.link, this.opts.linkBase));
      const rowSpan = c.rowSpan ?? 1;
      const colSpan = c.colSpan ?? 1;
      if (rowSpan > 1 || colSpan > 1) {
        const bottom = Math.min(at + rowSpan, limit) - 1;
        const right = Math.min(c.col + colSpan, EXCEL_MAX_COLS) - 1;
        if (bottom > at || right > c.col) {
          addMerge(part.ws, `${ref}:${colLetter(right)}${bottom + 1}`);
          for (let col = c.col + 1; col <= right; col++) cx += `<c r="${colLetter(col)}${r}"${xf ? ` s="${xf}"` : ''}/>`;
          if (bottom > at) part.cover(at, bottom, c.col, right, xf);
        }
      }
      if (c.chart) part.charts.push({ row: at, col: c.col, chart: c.chart });
      if (pieces) pieces.push([c.col, cx]);
      else xml += cx;
    }
    if (pieces) {
      pieces.sort((a, b) => a[0] - b[0]);
      for (const p of pieces) xml += p[1];
      pieces = undefined;
    }
    if (xml || row.height !== undefined) part.write(`${rowOpenXml(r, row.height === undefined ? undefined : Math.min(row.height, EXCEL_MAX_ROW_HEIGHT))}${xml}</row>`, at);
    else part.skip(at);
    if (row.row >= part.start) part.rows++;
  }

  private link(part: SheetPart, ref: string, target: string): void {
    if (part.links < EXCEL_MAX_LINKS) {
      addHyperlink(part.ws, ref, target);
    } else if (part.links === EXCEL_MAX_LINKS) {
      this.report.meta.warnings.push({
        code: 'XLSX_LINKS_LIMIT',
        message: `sheet "${part.name}": Excel keeps at most ${EXCEL_MAX_LINKS} hyperlinks per sheet; cells from ${ref} on are written without their links`,
        sheet: part.name,
      });
    }
    part.links++;
  }

  private truncate(v: string, part: SheetPart, ref: string): string {
    this.report.meta.warnings.push({
      code: 'XLSX_TEXT_TRUNCATED',
      message: `sheet "${part.name}" cell ${ref}: text of ${v.length} characters cut to Excel's ${EXCEL_MAX_TEXT}`,
      sheet: part.name,
    });
    return v.slice(0, EXCEL_MAX_TEXT);
  }
}

/** A merge's rows below its first: cells left..right of rows top+1..bottom are covered (0-based, inclusive). */
interface Cover {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
  readonly xf: number;
}

/** Characters of row XML buffered before they go to the worksheet stream. */
const FLUSH_CHARS = 256 * 1024;

/** One worksheet being written: a whole resolved sheet, or the rows of it that fit (split sheets). */
class SheetPart {
  rows = 0;
  /** Cells with a link (written as hyperlinks up to EXCEL_MAX_LINKS). */
  links = 0;
  readonly charts: { row: number; col: number; chart: ResolvedChart }[] = [];
  private buffer = '';
  /** Merges still covering rows below the last one written. */
  private covers: Cover[] = [];
  /** Last worksheet row written (0-based). */
  private last = -1;

  constructor(
    readonly ws: WorksheetWriter,
    readonly name: string,
    readonly number: number,
    /** First source row of this part. */
    readonly start: number,
    /** Worksheet rows before the first source row (repeated header rows). */
    readonly offset: number,
  ) {}

  /** 0-based worksheet row of a source row. */
  outRow(sourceRow: number): number {
    return sourceRow - this.start + this.offset;
  }

  cover(top: number, bottom: number, left: number, right: number, xf: number): void {
    this.covers.push({ top, bottom, left, right, xf });
  }

  /** Covered cells of worksheet row `at` as [column, xml] pieces, or undefined when none. */
  coveredIn(at: number): [number, string][] | undefined {
    if (this.covers.length === 0) return undefined;
    let pieces: [number, string][] | undefined;
    for (const c of this.covers) {
      if (c.top >= at || c.bottom < at) continue;
      pieces ??= [];
      const s = c.xf ? ` s="${c.xf}"` : '';
      for (let col = c.left; col <= c.right; col++) pieces.push([col, `<c r="${colLetter(col)}${at + 1}"${s}/>`]);
    }
    return pieces;
  }

  /** Writes the covered cells of rows between the last row written and `at` that have no cells of their own. */
  coverGapsBefore(at: number): void {
    if (this.covers.length === 0) return;
    const until = Math.min(at, 1 + Math.max(...this.covers.map((c) => c.bottom)));
    for (let r = this.last + 1; r < until; r++) {
      const pieces = this.coveredIn(r);
      if (pieces) {
        pieces.sort((a, b) => a[0] - b[0]);
        this.write(`${rowOpenXml(r + 1, undefined)}${pieces.map((p) => p[1]).join('')}</row>`, r);
      }
    }
    this.covers = this.covers.filter((c) => c.bottom >= at);
  }

  write(rowXml: string, at: number): void {
    this.buffer += rowXml;
    this.last = at;
    if (this.buffer.length > FLUSH_CHARS) this.flush();
  }

  /** A row with nothing to write. */
  skip(at: number): void {
    this.last = at;
  }

  flush(): void {
    if (this.buffer) {
      writeSheetXml(this.ws, this.buffer);
      this.buffer = '';
    }
  }

  /** Writes what is left: covered rows of merges reaching past the last row, and the buffer. */
  finishRows(): void {
    if (this.covers.length) this.coverGapsBefore(1 + Math.max(...this.covers.map((c) => c.bottom)));
    this.flush();
  }
}
