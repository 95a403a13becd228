/**
 * Resolved cell styles as exceljs style objects. Each (style id, number format) pair is converted
 * once and the same object is given to every cell that uses it: exceljs remembers the XLSX style
 * index of an object it has seen (a WeakMap keyed by the object), so a shared object costs one map
 * lookup per cell instead of building and hashing a style per cell.
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

/** Style objects of one workbook by (style id, number format), each built on first use. */
export class XlsxStyleCache {
  /** Index: style id + 1 (0 = no style). */
  private readonly byId: Map<string | undefined, XlsxStyle>[] = [];

  constructor(private readonly styles: StyleLookup) {}

  get(styleId: number | undefined, numFmt: string | undefined): XlsxStyle {
    const i = styleId === undefined ? 0 : styleId + 1;
    let byFmt = this.byId[i];
    if (!byFmt) this.byId[i] = byFmt = new Map();
    let s = byFmt.get(numFmt);
    if (!s) {
      s = toXlsxStyle(styleId === undefined ? undefined : this.styles.get(styleId), numFmt);
      byFmt.set(numFmt, s);
    }
    return s;
  }
}
