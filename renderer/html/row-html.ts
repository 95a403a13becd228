/**
 * One sheet's rows as `<tr>` markup. Keeps the bookkeeping that makes merges come out right when a
 * sheet is cut into parts (a page, a `<thead>`): which columns a rowspan from above still covers, and
 * which merges started earlier continue into the next part (they are emitted again there, clipped to
 * the part, so every part is a complete table).
 */
import { isExcelError, type CellStyle, type ResolvedCell, type ResolvedChart, type ResolvedFloat, type ResolvedLink, type ResolvedRow } from '../resolved.js';
import { formatValue } from '../format/number-format.js';
import { linkHref } from '../link-href.js';
import { escapeHtml } from './escape.js';

export interface CellContext {
  /** Prefix of report link addresses. */
  readonly linkBase: string;
  /** Draws a chart as inline SVG markup. */
  readonly chartSvg: (chart: ResolvedChart) => string;
  /** Whether a row with a cell of this style must not be split across printed pages (print layout: wrapped text). */
  readonly keepRow?: (style: number) => boolean;
  readonly style: (id: number) => CellStyle;
}

/** Width of a column nobody set: Excel's default 8.43 characters. */
const DEFAULT_COLUMN_PX = 64;
/** Horizontal padding of a cell (3 px each side). */
const PADDING_PX = 6;
/** Default font size in px (10 pt). */
const FONT_PX = 40 / 3;

/**
 * Whether a text may be wider than its cell, by a generous estimate (ASCII 0.6 em, anything else 1 em,
 * bold 10% wider). Only such cells are clipped (`overflow: hidden`): clipping every cell made Chromium's
 * print of a 2,000-row report take about twice the CPU time.
 */
export function mayOverflow(text: string, widthPx: number, style: CellStyle | undefined): boolean {
  const em = style?.font?.size ? (style.font.size * 4) / 3 : FONT_PX;
  const room = (widthPx - PADDING_PX) / (em * (style?.font?.bold ? 1.1 : 1));
  if (text.length <= room) return false; // fits even if every character is 1 em
  let ems = 0;
  for (let i = 0; i < text.length; i++) {
    ems += text.charCodeAt(i) < 0x80 ? 0.6 : 1;
    if (ems > room) return true;
  }
  return false;
}

interface OpenMerge {
  readonly cell: ResolvedCell;
  /** Last row the merge covers. */
  readonly end: number;
}

export class RowHtml {
  /** Per column: last row covered by a rowspan emitted in the current part (-1: none). */
  private covered: number[] = [];
  /** Merges spanning several rows, by their first column, for continuation into later parts. */
  private readonly open = new Map<number, OpenMerge>();
  /** Cells to add to the first row of a part: merges continuing from before it. */
  private continuing: ResolvedCell[] = [];
  private readonly floats = new Map<number, ResolvedFloat[]>();

  constructor(
    private readonly ctx: CellContext,
    floats: readonly ResolvedFloat[],
    /** Pixel width of each column (0 when hidden); columns past the end have the default width. */
    private readonly columnPx: readonly number[] = [],
    /** Columns kept in view when the table scrolls sideways (classes `fc f<col>`, see frozenColumnCss). */
    private readonly frozenCols = 0,
  ) {
    for (const f of floats) {
      const list = this.floats.get(f.row);
      if (list) list.push(f);
      else this.floats.set(f.row, [f]);
    }
  }

  /** Starts a new part (table, page, head or body) at `row`: merges still open there are emitted again in it. */
  startPart(row: number): void {
    this.covered = [];
    this.continuing = [];
    for (const [col, m] of this.open) {
      if (m.end < row) this.open.delete(col);
      else this.continuing.push({ ...m.cell, rowSpan: m.end - row + 1 });
    }
  }

  /** Records the merges of a row that is not rendered (a page that is not shown). */
  skip(index: number, row: ResolvedRow | undefined): void {
    if (!row) return;
    for (const cell of row.cells) this.remember(index, cell);
  }

  /** The `<tr>` of output row `index` (`row` undefined for an empty row); spans are clipped at `partEnd`. */
  render(index: number, row: ResolvedRow | undefined, partEnd: number): string {
    let cells: readonly ResolvedCell[] = row?.cells ?? [];
    if (this.continuing.length) {
      cells = [...this.continuing, ...cells].sort((a, b) => a.col - b.col);
      this.continuing = [];
    }
    const floats = this.floats.get(index);
    const keep = this.ctx.keepRow && row?.cells.some((c) => c.style !== undefined && this.ctx.keepRow!(c.style));
    let html = `<tr${keep ? ' class="k"' : ''}${row?.height ? ` style="height:${row.height}pt"` : ''}>`;
    let col = 0;
    let empty = 0;
    const flushEmpty = () => {
      if (empty === 1) html += '<td></td>';
      else if (empty > 1) html += `<td colspan="${empty}"></td>`;
      empty = 0;
    };
    for (const cell of cells) {
      if (cell.col < col || this.isCovered(cell.col, index)) continue; // covered by a merge: not drawn
      for (; col < cell.col; col++) {
        if (this.isCovered(col, index)) {
          flushEmpty();
          continue;
        }
        const here = floats && floatsAt(floats, col);
        if (here) {
          flushEmpty();
          html += `<td class="anchor">${this.floatHtml(here)}</td>`;
        } else if (col < this.frozenCols) {
          flushEmpty();
          html += `<td class="fc f${col}"></td>`;
        } else empty++;
      }
      flushEmpty();
      const rowSpan = Math.max(1, Math.min(cell.rowSpan ?? 1, partEnd - index + 1));
      const colSpan = Math.max(1, cell.colSpan ?? 1);
      this.remember(index, cell);
      if (rowSpan > 1) for (let c = cell.col; c < cell.col + colSpan; c++) this.covered[c] = index + rowSpan - 1;
      html += this.cellHtml(cell, rowSpan, colSpan, floats && floatsAt(floats, cell.col));
      col = cell.col + colSpan;
    }
    if (floats) {
      const last = Math.max(...floats.map((f) => f.col));
      for (; col <= last; col++) {
        if (this.isCovered(col, index)) {
          flushEmpty();
          continue;
        }
        const here = floatsAt(floats, col);
        if (here) {
          flushEmpty();
          html += `<td class="anchor">${this.floatHtml(here)}</td>`;
        } else if (col < this.frozenCols) {
          flushEmpty();
          html += `<td class="fc f${col}"></td>`;
        } else empty++;
      }
      flushEmpty();
    }
    return `${html}</tr>`;
  }

  private isCovered(col: number, index: number): boolean {
    const c = this.covered[col];
    return c !== undefined && c >= index;
  }

  private remember(index: number, cell: ResolvedCell): void {
    const span = cell.rowSpan ?? 1;
    if (span > 1) this.open.set(cell.col, { cell: { ...cell, rowSpan: undefined }, end: index + span - 1 });
  }

  private cellHtml(cell: ResolvedCell, rowSpan: number, colSpan: number, floats: ResolvedFloat[] | undefined): string {
    const v = cell.value;
    let cls = cell.style !== undefined ? `s${cell.style}` : '';
    const kind = typeof v === 'number' || v instanceof Date ? 'n' : typeof v === 'boolean' || isExcelError(v) ? 'c' : '';
    if (kind) cls = cls ? `${kind} ${cls}` : kind;
    if (floats) cls = cls ? `${cls} anchor` : 'anchor';
    if (cell.col < this.frozenCols) cls = cls ? `${cls} fc f${cell.col}` : `fc f${cell.col}`;
    if (cell.chart) cls = cls ? `${cls} g` : 'g'; // a chart is drawn whole, over the neighbouring cells if wider
    const text = cell.chart ? '' : formatValue(v, cell.numFmt);
    if (text) {
      const style = cell.style !== undefined ? this.ctx.style(cell.style) : undefined;
      if (!style?.wrap && !floats && mayOverflow(text, this.spanPx(cell.col, colSpan), style)) cls = cls ? `${cls} x` : 'x';
    }
    let attrs = cls ? ` class="${cls}"` : '';
    if (rowSpan > 1) attrs += ` rowspan="${rowSpan}"`;
    if (colSpan > 1) attrs += ` colspan="${colSpan}"`;
    let body = cell.chart ? `<div class="chart">${this.ctx.chartSvg(cell.chart)}</div>` : escapeHtml(text);
    if (cell.link && !cell.chart) body = this.linkHtml(cell.link, body);
    if (floats) body = this.floatHtml(floats) + body;
    return `<td${attrs}>${body}</td>`;
  }

  private spanPx(col: number, span: number): number {
    let px = 0;
    for (let c = col; c < col + span; c++) px += this.columnPx[c] ?? DEFAULT_COLUMN_PX;
    return px;
  }

  private linkHtml(link: ResolvedLink, body: string): string {
    if ('url' in link) return safeUrl(link.url) ? `<a href="${escapeHtml(link.url)}">${body}</a>` : body;
    return (
      `<a href="${escapeHtml(linkHref(link, this.ctx.linkBase))}" data-report="${escapeHtml(link.report)}"` +
      ` data-params="${escapeHtml(JSON.stringify(link.params))}">${body}</a>`
    );
  }

  private floatHtml(floats: readonly ResolvedFloat[]): string {
    return floats.map((f) => `<div class="float">${this.ctx.chartSvg(f.chart)}</div>`).join('');
  }
}

function floatsAt(floats: readonly ResolvedFloat[], col: number): ResolvedFloat[] | undefined {
  const here = floats.filter((f) => f.col === col);
  return here.length ? here : undefined;
}

/** A link address that cannot run script: http(s), mailto, or relative. */
function safeUrl(url: string): boolean {
  const scheme = /^\s*([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  return !scheme || ['http', 'https', 'mailto'].includes(scheme[1]!.toLowerCase());
}

/**
 * Sticky rules for the frozen columns of the table with class `table`: each column's left offset is the
 * width of the columns before it. The white background only applies where a cell style sets none.
 */
export function frozenColumnCss(table: string, columnPx: readonly number[], cols: number): string {
  let css = '';
  let left = 0;
  for (let c = 0; c < cols; c++) {
    css += `.${table} .f${c}{left:${left}px}`;
    left += columnPx[c] ?? DEFAULT_COLUMN_PX;
  }
  return css;
}
