/**
 * HTML output of a resolved report: a `<table>` per sheet, streamed band by band.
 *
 * Layouts:
 * - `continuous`: one table per sheet; frozen rows in a sticky `<thead>`.
 * - `paged`: tables of `rowsPerPage` rows (from the options, the page setup, or the printable height of
 *   the paper); pages after the first repeat the header rows (the sheet's repeat rows, else its frozen
 *   rows). `page` emits only that page (1-based, counted across sheets) and the result says how many there are.
 * - `print`: the input of the PDF: lean, fixed table layout, `@page` from the page setup, the repeat rows in
 *   `<thead>` (Chromium repeats it on every printed page), rows never split across pages.
 *
 * Styles become classes `.s<id>`; rules for ids that appear while bands stream are emitted in a
 * `<style>` just before the rows that first use them.
 */
import type { Writable } from 'node:stream';
import type { ResolvedChart, ResolvedReport, ResolvedRow, ResolvedSheet, RowBand } from '../resolved.js';
import { escapeHtml } from './escape.js';
import { RowHtml, frozenColumnCss, type CellContext } from './row-html.js';
import { BASE_CSS, PRINT_CSS, SCREEN_CSS, columnPixels, pageRule, paperMm, styleRules } from './style-css.js';
import { TraceReportError } from '../../datasources/errors.js';
import { renderChartSvg } from '../charts/render.js';

export type HtmlLayout = 'continuous' | 'paged' | 'print';

export interface HtmlOptions {
  /** Default `continuous`. */
  layout?: HtmlLayout;
  /** `paged`: emit only this page (1-based, counted across sheets). */
  page?: number;
  /** `paged`: rows per page (including the repeated header rows); default the page setup's, else what fits the paper. */
  rowsPerPage?: number;
  /** `paged` with `page`: read the rest of the report to count the pages (default true). */
  countPages?: boolean;
  /** Only the tables (with their `<style>`), for embedding in a page; no html/head/body. */
  fragment?: boolean;
  /** Prefix of report link addresses (e.g. `https://host`). */
  linkBase?: string;
  /** Draws a chart as inline SVG (default: ECharts server-side rendering, renderer/charts). */
  chartSvg?: (chart: ResolvedChart) => string;
}

export interface HtmlResult {
  /** Pages (`paged`: in the whole report, or as far as read when `countPages` is false); 1 for the other layouts. */
  pages: number;
  /** False when reading stopped after the requested page (`countPages: false`). */
  complete: boolean;
}

/** Receives the markup in order; a returned promise is awaited before more is produced (backpressure). */
export type HtmlSink = (chunk: string) => void | Promise<void>;

/** Writes the report to a stream, waiting for `drain` when it is full; ends the stream unless `end` is false. */
export async function writeHtml(report: ResolvedReport, out: Writable, options: HtmlOptions & { end?: boolean } = {}): Promise<HtmlResult> {
  const result = await renderHtmlTo(report, streamSink(out), options);
  if (options.end !== false) await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
  return result;
}

/** The whole document as one string (for the PDF, or small reports). */
export async function renderHtml(report: ResolvedReport, options: HtmlOptions = {}): Promise<HtmlResult & { html: string }> {
  const parts: string[] = [];
  const result = await renderHtmlTo(report, (s) => void parts.push(s), options);
  return { ...result, html: parts.join('') };
}

export function streamSink(out: Writable): HtmlSink {
  return (chunk) => {
    if (out.write(chunk)) return;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: unknown) => {
        out.off('drain', done);
        out.off('error', done);
        out.off('close', closed);
        if (err) reject(err);
        else resolve();
      };
      const closed = () => done(new TraceReportError('OUTPUT_FAILED', 'the HTML output stream closed before the report was written'));
      out.on('drain', done);
      out.on('error', done);
      out.on('close', closed);
    });
  };
}

/** Default rows per page: what fits the printable height at the default row height (20 px). */
export function derivedRowsPerPage(report: ResolvedReport): number {
  const [, heightMm] = paperMm(report.page);
  const printableMm = heightMm - report.page.margins.top - report.page.margins.bottom;
  return Math.max(5, Math.floor(((printableMm / 25.4) * 96) / 20) - 2);
}

interface Part {
  readonly start: number;
  readonly end: number;
  readonly open: string;
  readonly close: string;
  readonly visible: boolean;
}

export async function renderHtmlTo(report: ResolvedReport, sink: HtmlSink, options: HtmlOptions = {}): Promise<HtmlResult> {
  const layout = options.layout ?? 'continuous';
  if (options.page !== undefined && (!Number.isInteger(options.page) || options.page < 1)) {
    throw new TraceReportError('ARGUMENT_INVALID', `page must be a whole number from 1, got ${options.page}`);
  }
  const ctx: CellContext = {
    linkBase: options.linkBase ?? '',
    chartSvg: options.chartSvg ?? renderChartSvg,
    keepRow: layout === 'print' ? (id) => report.styles.get(id).wrap === true : undefined,
    style: (id) => report.styles.get(id),
  };
  let stylesDone = 0;
  const newStyles = (): string => {
    const size = report.styles.size;
    if (size <= stylesDone) return '';
    const css = styleRules((id) => report.styles.get(id), stylesDone, size);
    stylesDone = size;
    return css ? `<style>${css}</style>` : '';
  };
  const css = BASE_CSS + (layout === 'print' ? PRINT_CSS + pageRule(report.page) : SCREEN_CSS);
  await sink(
    options.fragment
      ? `<style>${css}</style>`
      : `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(report.name)}</title><style>${css}</style></head><body>`,
  );

  const rowsPerPage = options.rowsPerPage ?? report.page.rowsPerPage ?? derivedRowsPerPage(report);
  const wanted = layout === 'paged' ? options.page : undefined;
  let pagesBefore = 0; // pages of earlier sheets
  let stopped = false;
  let sheetIndex = 0;

  for await (const sheet of report.sheets) {
    const it = sheet.bands[Symbol.asyncIterator]();
    let step = await it.next();
    const { colgroup, width, px } = columnsOf(sheet, step.done ? undefined : step.value);
    // Print: each sheet starts on a new page, as Excel prints a workbook.
    if (layout === 'print') await sink(`<div class="sheet" data-sheet="${escapeHtml(sheet.name)}">`);
    // Frozen columns stay in view on screen (sticky, per-sheet offsets); print has no sideways scrolling.
    const frozenCols = layout === 'print' ? 0 : Math.max(0, sheet.frozen?.cols ?? 0);
    const sheetClass = `q${sheetIndex++}`;
    if (frozenCols > 0) await sink(`<style>${frozenColumnCss(sheetClass, px, frozenCols)}</style>`);
    const tableOpen = (page?: number) =>
      `<table class="${page ? 'tr page' : 'tr'}${frozenCols ? ` ${sheetClass}` : ''}"${page ? ` data-page="${page}"` : ''} data-sheet="${escapeHtml(sheet.name)}" style="width:${width}px">${colgroup}`;
    const rows = new RowHtml(ctx, sheet.floats, px, frozenCols);

    // The parts of the sheet, made as rows reach them.
    let makePart: (k: number) => Part;
    let lastPart = Infinity;
    const head = headerRows(sheet, layout);
    const headerKept = new Map<number, ResolvedRow>();
    if (layout === 'paged') {
      const repeat = head && head.last < rowsPerPage ? head : undefined;
      const later = repeat ? Math.max(1, rowsPerPage - (repeat.last - repeat.first + 1)) : rowsPerPage;
      const start = (k: number) => (k === 0 ? 0 : rowsPerPage + (k - 1) * later);
      let headerHtml: string | undefined;
      makePart = (k) => {
        const page = pagesBefore + k + 1;
        const visible = wanted === undefined || wanted === page;
        if (visible && repeat && k > 0 && headerHtml === undefined) headerHtml = renderHeader(ctx, repeat, headerKept, px, frozenCols);
        const thead = k > 0 && headerHtml ? `<thead>${headerHtml}</thead>` : '';
        return {
          start: start(k),
          end: start(k + 1) - 1,
          open: `${tableOpen(page)}${thead}<tbody>`,
          close: '</tbody></table>',
          visible,
        };
      };
    } else {
      const theadOpen = layout === 'print' ? '<thead>' : '<thead class="frozen">';
      const parts: Omit<Part, 'visible'>[] = [];
      if (!head) parts.push({ start: 0, end: Infinity, open: `${tableOpen()}<tbody>`, close: '</tbody></table>' });
      else {
        if (head.first > 0) parts.push({ start: 0, end: head.first - 1, open: `${tableOpen()}<tbody>`, close: '</tbody></table>' });
        parts.push({ start: head.first, end: head.last, open: tableOpen() + theadOpen, close: '</thead>' });
        parts.push({ start: head.last + 1, end: Infinity, open: '<tbody>', close: '</tbody></table>' });
      }
      lastPart = parts.length - 1;
      makePart = (k) => ({ ...parts[k]!, visible: true });
    }

    let k = -1;
    let part: Part | undefined;
    const enter = (index: number): string => {
      let html = '';
      while (!part || index > part.end) {
        if (part?.visible) html += part.close;
        k++;
        part = makePart(k);
        if (wanted !== undefined && options.countPages === false && pagesBefore + k + 1 > wanted) stopped = true;
        rows.startPart(part.start);
        if (part.visible) html += part.open;
      }
      return html;
    };

    let next = 0;
    const bandHtml = (band: RowBand): string => {
      let html = '';
      const add = (index: number, row: ResolvedRow | undefined) => {
        html += enter(index);
        if (head && index >= head.first && index <= head.last && row) headerKept.set(index, row);
        if (part!.visible) html += rows.render(index, row, part!.end);
        else rows.skip(index, row);
      };
      for (const row of band.rows) {
        for (; next < row.row; next++) add(next, undefined);
        add(row.row, row);
        next = row.row + 1;
      }
      return html ? newStyles() + html : html;
    };

    while (!step.done && !stopped) {
      const html = bandHtml(step.value);
      if (html) await sink(html);
      if (stopped) break;
      step = await it.next();
    }
    // Floating charts anchored below the last row still get their rows.
    const lastFloat = Math.max(-1, ...sheet.floats.map((f) => f.row));
    if (!stopped && lastFloat >= next) {
      const html = bandHtml({ rows: [{ row: lastFloat, cells: [] }] });
      if (html) await sink(html);
    }
    if (stopped) {
      await it.return?.();
      pagesBefore += k + 1;
      break;
    }
    // Close the sheet: open (empty) parts still to come in a static layout, then the last one.
    let tail = part ? '' : enter(0);
    while (k < lastPart && lastPart !== Infinity) {
      if (part!.visible) tail += part!.close;
      k++;
      part = makePart(k);
      if (part.visible) tail += part.open;
    }
    if (part!.visible) tail += part!.close;
    if (layout === 'print') tail += '</div>';
    if (tail) await sink(newStyles() + tail);
    pagesBefore += layout === 'paged' ? k + 1 : 1;
  }
  if (!options.fragment) await sink('</body></html>');
  return { pages: layout === 'paged' ? pagesBefore : 1, complete: !stopped };
}

/** The `<colgroup>` of a sheet (widths from its columns, count from its first band) and the table width. */
function columnsOf(sheet: ResolvedSheet, first: RowBand | undefined): { colgroup: string; width: number; px: number[] } {
  let count = sheet.columns.length;
  for (const row of first?.rows ?? []) {
    const last = row.cells[row.cells.length - 1];
    if (last) count = Math.max(count, last.col + (last.colSpan ?? 1));
  }
  for (const f of sheet.floats) count = Math.max(count, f.col + 1);
  let colgroup = '<colgroup>';
  let width = 0;
  const widths: number[] = [];
  for (let c = 0; c < count; c++) {
    const col = sheet.columns[c];
    if (col?.hidden) {
      colgroup += '<col style="width:0;visibility:collapse">';
      widths.push(0);
    } else {
      const px = columnPixels(col?.width);
      width += px;
      widths.push(px);
      colgroup += `<col style="width:${px}px">`;
    }
  }
  return { colgroup: `${colgroup}</colgroup>`, width, px: widths };
}

/** Rows that head every page (print, paged) or stay on screen (continuous: frozen rows). */
function headerRows(sheet: ResolvedSheet, layout: HtmlLayout): { first: number; last: number } | undefined {
  const frozen = sheet.frozen && sheet.frozen.rows > 0 ? { first: 0, last: sheet.frozen.rows - 1 } : undefined;
  const repeat = sheet.repeatRows && sheet.repeatRows.last >= sheet.repeatRows.first && sheet.repeatRows.first >= 0 ? sheet.repeatRows : undefined;
  if (layout === 'continuous') return frozen;
  return repeat ?? (layout === 'paged' ? frozen : undefined);
}

function renderHeader(ctx: CellContext, head: { first: number; last: number }, kept: ReadonlyMap<number, ResolvedRow>, px: readonly number[], frozenCols: number): string {
  const rows = new RowHtml(ctx, [], px, frozenCols);
  rows.startPart(head.first);
  let html = '';
  for (let i = head.first; i <= head.last; i++) html += rows.render(i, kept.get(i), head.last);
  return html;
}
