/**
 * CSS for a report: cell styles as classes (`.s<id>`), the base rules every layout shares, and the
 * `@page` rule of the print layout.
 */
import type { CellStyle, PageSetup } from '../resolved.js';

/**
 * Fonts tried in order, per character: DejaVu Sans Condensed for Latin text and digits (about as wide as
 * Noto's Latin, so columns fit the same), Noto Sans CJK for Chinese, Japanese and Korean. The order
 * matters for PDF speed: Chromium prints a Noto CJK glyph as a Type 3 glyph from a 20 MB collection, and
 * a batch-trace PDF whose Latin text went through it took twice as long (2.8 s against 1.4 s warm).
 */
export const FONT_STACK = `"DejaVu Sans Condensed","Noto Sans CJK SC","Noto Sans CJK",sans-serif`;

const BORDER: Record<string, string> = {
  thin: '1px solid',
  medium: '2px solid',
  thick: '3px solid',
  dashed: '1px dashed',
  dotted: '1px dotted',
  double: '3px double',
};

/** Excel column width (characters) → CSS pixels, as Excel draws it at 100% zoom. */
export function columnPixels(widthChars: number | undefined): number {
  return Math.round((widthChars ?? 8.43) * 7 + 5);
}

/** The CSS declarations of one cell style (no braces). */
export function styleDeclarations(style: CellStyle): string {
  const d: string[] = [];
  const f = style.font;
  if (f) {
    if (f.bold) d.push('font-weight:bold');
    if (f.italic) d.push('font-style:italic');
    if (f.underline) d.push('text-decoration:underline');
    if (f.color) d.push(`color:${f.color}`);
    if (f.size) d.push(`font-size:${f.size}pt`);
    if (f.name) d.push(`font-family:${JSON.stringify(f.name)},${FONT_STACK}`);
  }
  if (style.fill) d.push(`background:${style.fill}`);
  if (style.align) d.push(`text-align:${style.align}`);
  if (style.valign) d.push(`vertical-align:${style.valign}`);
  if (style.wrap) d.push('white-space:pre-wrap;overflow-wrap:anywhere');
  const b = style.border;
  if (typeof b === 'string') d.push(`border:${BORDER[b]} #000`);
  else if (b) {
    for (const side of ['top', 'bottom', 'left', 'right'] as const) {
      const line = b[side];
      if (line) d.push(`border-${side}:${BORDER[line.style ?? 'thin']} ${line.color ?? '#000'}`);
    }
  }
  return d.join(';');
}

/** Rules for style ids [from, to) of a style table. */
export function styleRules(get: (id: number) => CellStyle, from: number, to: number): string {
  let css = '';
  for (let id = from; id < to; id++) {
    const decl = styleDeclarations(get(id));
    if (decl) css += `.s${id}{${decl}}`;
  }
  return css;
}

/**
 * Rules every layout shares. Cells do not wrap unless their style says so (like Excel); cells whose text
 * may not fit are clipped (`.x`); `.n` (numbers,
 * dates) is right-aligned and `.c` (booleans, errors) centred, before the style classes so a style's
 * alignment wins.
 */
export const BASE_CSS =
  `table.tr{border-collapse:collapse;table-layout:fixed;font:10pt/1.2 ${FONT_STACK};color:#000}` +
  `:where(.tr td){padding:1px 3px;white-space:nowrap;vertical-align:bottom}.x{overflow:hidden}` +
  `:where(.tr tr){height:20px}` +
  `.n{text-align:right}.c{text-align:center}` +
  `.chart{position:relative}.chart svg{display:block}` +
  `.float{position:absolute;left:0;top:0;z-index:1}td.anchor{position:relative;overflow:visible}td.g{overflow:visible}`;

export const SCREEN_CSS = `td.fc{position:sticky;z-index:1}:where(td.fc){background:#fff}thead.frozen{position:sticky;top:0;z-index:2;background:#fff}table.page{margin-bottom:16px}`;

/**
 * Print rules. Only rows with wrapped text are kept from splitting across pages (`tr.k`): single-line
 * rows never split, and `break-inside: avoid` on every row would make Chromium keep whole rowspan groups
 * together (a 2,000-row grouped report took 80 pages instead of 61).
 */
export const PRINT_CSS = `body{margin:0}tr.k{break-inside:avoid}thead{display:table-header-group}table.page{break-after:page}.sheet+.sheet{break-before:page}`;

/** Paper sizes in millimetres (portrait). */
export const PAPER_MM: Record<PageSetup['size'], [number, number]> = {
  A3: [297, 420],
  A4: [210, 297],
  A5: [148, 210],
  Letter: [215.9, 279.4],
  Legal: [215.9, 355.6],
};

/** Width and height of the paper in millimetres, turned for landscape. */
export function paperMm(page: PageSetup): [number, number] {
  const [w, h] = PAPER_MM[page.size];
  return page.orientation === 'landscape' ? [h, w] : [w, h];
}

export function pageRule(page: PageSetup): string {
  const m = page.margins;
  return `@page{size:${page.size} ${page.orientation};margin:${m.top}mm ${m.right}mm ${m.bottom}mm ${m.left}mm}`;
}
