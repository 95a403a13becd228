/**
 * Resolved cell styles as XLSX styles: each (style id, number format) pair is converted to an exceljs
 * style once and added to the workbook's style table (exceljs dedupes fonts, fills, borders and
 * formats); cells carry the resulting index.
 */
import type ExcelJS from 'exceljs';
import type { CellStyle, StyleLookup } from '../resolved.js';

type XlsxStyle = Partial<ExcelJS.Style>;

const argb = (hex: string) => `FF${hex.slice(1).toUpperCase()}`;

/** One template style (and number format) as an exceljs style. */
export function toXlsxStyle(style: CellStyle | undefined, numFmt: string | undefined): XlsxStyle {
  const out: XlsxStyle = {};
  if (numFmt && numFmt !== 'General') out.numFmt = numFmt;
  if (!style) return out;
  if (style.font) {
    const f = style.font;
    const font: Partial<ExcelJS.Font> = {};
    if (f.name !== undefined) font.name = f.name;
    if (f.size !== undefined) font.size = f.size;
    if (f.bold !== undefined) font.bold = f.bold;
    if (f.italic !== undefined) font.italic = f.italic;
    if (f.underline !== undefined) font.underline = f.underline;
    if (f.color !== undefined) font.color = { argb: argb(f.color) };
    out.font = font;
  }
  if (style.fill) out.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: argb(style.fill) } };
  if (style.align || style.valign || style.wrap) {
    const alignment: Partial<ExcelJS.Alignment> = {};
    if (style.align) alignment.horizontal = style.align;
    if (style.valign) alignment.vertical = style.valign;
    if (style.wrap) alignment.wrapText = true;
    out.alignment = alignment;
  }
  if (style.border) {
    const b = style.border;
    if (typeof b === 'string') {
      out.border = { top: { style: b }, bottom: { style: b }, left: { style: b }, right: { style: b } };
    } else {
      const border: Partial<ExcelJS.Borders> = {};
      for (const side of ['top', 'bottom', 'left', 'right'] as const) {
        const line = b[side];
        if (line) border[side] = line.color ? { style: line.style, color: { argb: argb(line.color) } } : { style: line.style };
      }
      out.border = border;
    }
  }
  return out;
}

/**
 * XLSX style indexes (the `s` of a cell) of one workbook by (style id, number format), each added to
 * the workbook's style table on first use. 0 is the default style.
 */
export class XlsxStyleCache {
  /** Index: style id + 1 (0 = no style). */
  private readonly byId: Map<string | undefined, number>[] = [];

  constructor(
    private readonly styles: StyleLookup,
    /** Adds an exceljs style to the workbook's style table and gives its index. */
    private readonly register: (style: XlsxStyle) => number,
  ) {}

  get(styleId: number | undefined, numFmt: string | undefined): number {
    const i = styleId === undefined ? 0 : styleId + 1;
    let byFmt = this.byId[i];
    if (!byFmt) this.byId[i] = byFmt = new Map();
    let xf = byFmt.get(numFmt);
    if (xf === undefined) {
      const style = toXlsxStyle(styleId === undefined ? undefined : this.styles.get(styleId), numFmt);
      xf = Object.keys(style).length === 0 ? 0 : this.register(style);
      byFmt.set(numFmt, xf);
    }
    return xf;
  }
}
