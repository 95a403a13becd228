/**
 * A sheet template analysed once per render: every cell's kind, expansion, parents, the two axis
 * trees of expanding cells (down: rows, right: columns), interned styles and compiled formulas.
 * Expansion then only walks these plans; nothing here looks at rows.
 */
import Handlebars from 'handlebars';
import { TraceReportError } from '../../datasources/errors.js';
import type { CellStyle } from '../resolved.js';
import { StyleTable } from '../style-table.js';
import type { GridTemplate, TemplateCell, TemplateChart, TemplateSheet } from '../template/schema.js';
import { compileFormula, type CompiledFormula } from '../formula/evaluate.js';
import { formatAddress, parseAddress, type CellPos } from '../formula/references.js';
import { formatPlan, type FormatPlan } from './values.js';

export type Axis = 'v' | 'h';

/** An expanding cell on one axis (or the axis root): the template lines it repeats. */
export interface AxisNode {
  readonly axis: Axis;
  readonly cell: CellPlan | null;
  readonly parent: AxisNode | null;
  readonly children: AxisNode[];
  /** Template lines (rows for `v`, columns for `h`), 1-based inclusive, covering the node and its descendants. */
  start: number;
  end: number;
  /** Lines grouped into segments: children whose ranges overlap share one. */
  segments: Segment[];
  /**
   * Set on a packed node: an expanding cell nested under a parent expanding the other way (right under
   * a left parent that expands down, or down under a top parent that expands right). It is the node of
   * that parent on the other axis: each of its instances gets its own values, packed from the cell's
   * line on, and the lines are shared by position (as many as the instance with the most values).
   * The node's descendants on this axis are packed with it.
   */
  pack?: AxisNode;
}

export interface Segment {
  readonly from: number;
  readonly to: number;
  readonly children: AxisNode[];
}

export interface FilterPlan {
  /** Field of this cell's dataset. */
  readonly field: string;
  readonly otherDataset: string;
  readonly otherField: string;
}

export interface LinkPlan {
  readonly report?: string;
  readonly url?: string;
  readonly params: readonly { name: string; literal?: string | number | boolean; formula?: CompiledFormula }[];
}

export interface CellPlan {
  readonly address: string;
  readonly row: number;
  readonly col: number;
  readonly rowSpan: number;
  readonly colSpan: number;
  readonly cell: TemplateCell;
  readonly kind: 'text' | 'field' | 'formula' | 'chart' | 'empty';
  readonly dataset?: string;
  readonly field?: string;
  readonly expand: 'down' | 'right' | 'none';
  readonly display: 'group' | 'list' | 'summary';
  readonly adjacent: boolean;
  leftParent: CellPlan | null;
  topParent: CellPlan | null;
  /** This cell's own node when it expands (down: v, right: h). */
  vNode?: AxisNode;
  hNode?: AxisNode;
  /** The node whose instances this cell is placed under on each axis (its own node when it expands that way). */
  vAnchor: AxisNode;
  hAnchor: AxisNode;
  readonly baseStyle?: CellStyle;
  readonly styleId?: number;
  readonly format: FormatPlan;
  /** Text with parameters already interpolated. */
  readonly text?: string;
  readonly formula?: CompiledFormula;
  readonly conditions: readonly { formula: CompiledFormula; style: CellStyle; name: string }[];
  readonly link?: LinkPlan;
  readonly filter?: FilterPlan;
  readonly chart?: TemplateChart;
}

export interface SheetPlan {
  readonly sheet: TemplateSheet;
  readonly cells: CellPlan[];
  readonly byPos: Map<number, CellPlan>;
  readonly vRoot: AxisNode;
  readonly hRoot: AxisNode;
  readonly maxRow: number;
  readonly maxCol: number;
  /** Datasets this sheet reads. */
  readonly datasets: Set<string>;
}

export const posKey = (row: number, col: number): number => row * 20000 + col;

function invalid(sheet: string, address: string, message: string): TraceReportError {
  return new TraceReportError('TEMPLATE_INVALID', `sheet "${sheet}" cell ${address}: ${message}`, { sheet, cell: address });
}

const hb = Handlebars.create();

/** Parameter values as text for handlebars: dates as yyyy-mm-dd (or ISO), lists joined. */
export function textView(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = viewValue(v);
  return out;
}

function viewValue(v: unknown): unknown {
  if (v instanceof Date) return v.getTime() % 86_400_000 === 0 ? v.toISOString().slice(0, 10) : v.toISOString();
  if (Array.isArray(v)) return v.map(viewValue).join(', ');
  return v;
}

export function planSheet(
  template: GridTemplate,
  sheet: TemplateSheet,
  params: Readonly<Record<string, unknown>>,
  styles: StyleTable,
): SheetPlan {
  const paramNames = new Set([...template.parameters.map((p) => p.name), ...Object.keys(params)]);
  const isParam = (n: string) => paramNames.has(n);
  const view = textView(params);
  const datasetNames = new Set(template.datasets.map((d) => d.name));
  const datasets = new Set<string>();
  const useDataset = (name: string, address: string) => {
    if (!datasetNames.has(name)) {
      throw new TraceReportError('DATASET_UNKNOWN', `sheet "${sheet.name}" cell ${address}: no dataset "${name}" (the template has ${[...datasetNames].join(', ') || 'none'})`, {
        sheet: sheet.name,
        cell: address,
        dataset: name,
      });
    }
    datasets.add(name);
  };
  const styleOf = (name: string | undefined, address: string): CellStyle | undefined => {
    if (name === undefined) return undefined;
    const s = template.styles[name];
    if (!s) throw invalid(sheet.name, address, `no style "${name}" in styles (has ${Object.keys(template.styles).join(', ') || 'none'})`);
    return s;
  };

  // merges: top-left → spans; covered cells are not cells of their own
  const spans = new Map<number, { rows: number; cols: number }>();
  const covered = new Set<number>();
  for (const m of sheet.merges) {
    const [a, b] = m.split(':') as [string, string];
    const p = parseAddress(a);
    const q = parseAddress(b);
    const r0 = Math.min(p.row, q.row);
    const r1 = Math.max(p.row, q.row);
    const c0 = Math.min(p.col, q.col);
    const c1 = Math.max(p.col, q.col);
    spans.set(posKey(r0, c0), { rows: r1 - r0 + 1, cols: c1 - c0 + 1 });
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) if (r !== r0 || c !== c0) covered.add(posKey(r, c));
  }

  const cells: CellPlan[] = [];
  const byPos = new Map<number, CellPlan>();
  let maxRow = 1;
  let maxCol = 1;
  const vRoot: AxisNode = { axis: 'v', cell: null, parent: null, children: [], start: 1, end: 1, segments: [] };
  const hRoot: AxisNode = { axis: 'h', cell: null, parent: null, children: [], start: 1, end: 1, segments: [] };

  for (const [address, cell] of Object.entries(sheet.cells)) {
    const pos = parseAddress(address);
    const key = posKey(pos.row, pos.col);
    if (covered.has(key)) continue;
    const span = spans.get(key) ?? { rows: 1, cols: 1 };
    maxRow = Math.max(maxRow, pos.row + span.rows - 1);
    maxCol = Math.max(maxCol, pos.col + span.cols - 1);
    let dataset: string | undefined;
    let field: string | undefined;
    if (cell.field !== undefined) {
      const dot = cell.field.indexOf('.');
      dataset = cell.field.slice(0, dot);
      field = cell.field.slice(dot + 1);
      useDataset(dataset, address);
    }
    const kind = cell.field !== undefined ? 'field' : cell.formula !== undefined ? 'formula' : cell.chart !== undefined ? 'chart' : cell.text !== undefined ? 'text' : 'empty';
    const display = cell.display ?? 'group';
    const expand = kind !== 'field' ? 'none' : display === 'summary' ? 'none' : (cell.expand ?? 'down');
    const baseStyle = styleOf(cell.style, address);
    let filter: FilterPlan | undefined;
    if (cell.filter !== undefined) filter = parseFilter(cell.filter, dataset!, sheet.name, address, useDataset);
    if (cell.chart?.dataset !== undefined) useDataset(cell.chart.dataset, address);
    let text: string | undefined;
    if (cell.text !== undefined) {
      try {
        text = cell.text.includes('{{') ? hb.compile(cell.text, { noEscape: true })(view) : cell.text;
      } catch (e) {
        throw invalid(sheet.name, address, `text "${cell.text}": ${(e as Error).message.split('\n')[0]}`);
      }
    }
    let link: LinkPlan | undefined;
    if (cell.link) {
      if ('url' in cell.link) link = { url: cell.link.url, params: [] };
      else {
        link = {
          report: cell.link.report,
          params: Object.entries(cell.link.params).map(([name, v]) =>
            typeof v === 'string' && v.startsWith('=') ? { name, formula: compileFormula(v, isParam) } : { name, literal: v },
          ),
        };
      }
    }
    const plan: CellPlan = {
      address,
      row: pos.row,
      col: pos.col,
      rowSpan: span.rows,
      colSpan: span.cols,
      cell,
      kind,
      dataset,
      field,
      expand,
      display,
      adjacent: cell.adjacent === true,
      leftParent: null,
      topParent: null,
      vAnchor: vRoot,
      hAnchor: hRoot,
      baseStyle,
      styleId: baseStyle ? styles.intern(baseStyle) : undefined,
      format: formatPlan(cell.numFmt),
      text,
      formula: cell.formula !== undefined ? compileFormula(cell.formula, isParam) : undefined,
      conditions: (cell.conditions ?? []).map((c) => ({ formula: compileFormula(c.when, isParam), style: styleOf(c.style, address)!, name: c.style })),
      link,
      filter,
      chart: cell.chart,
    };
    cells.push(plan);
    byPos.set(key, plan);
  }
  for (const f of sheet.floats) if (f.chart.dataset !== undefined) useDataset(f.chart.dataset, f.anchor);

  // which template cell covers a position (a merged cell counts in every row and column it covers)
  const at = (row: number, col: number): CellPlan | undefined => {
    const direct = byPos.get(posKey(row, col));
    if (direct) return direct;
    if (!covered.has(posKey(row, col))) return undefined;
    for (const c of cells) if (row >= c.row && row < c.row + c.rowSpan && col >= c.col && col < c.col + c.colSpan) return c;
    return undefined;
  };
  const byAddress = (address: string, from: CellPlan, which: string): CellPlan => {
    const p = parseAddress(address);
    const c = at(p.row, p.col);
    if (!c) throw invalid(sheet.name, from.address, `${which} ${address} is not a cell of the sheet`);
    return c;
  };

  // parents
  for (const c of cells) {
    const lp = c.cell.leftParent;
    if (lp === 'none') c.leftParent = null;
    else if (lp !== undefined) c.leftParent = byAddress(lp, c, 'leftParent');
    else {
      for (let col = c.col - 1; col >= 1; col--) {
        const p = at(c.row, col);
        if (p && p !== c && p.expand === 'down') {
          c.leftParent = p;
          break;
        }
      }
    }
    const tp = c.cell.topParent;
    if (tp === 'none') c.topParent = null;
    else if (tp !== undefined) c.topParent = byAddress(tp, c, 'topParent');
    else {
      for (let row = c.row - 1; row >= 1; row--) {
        const p = at(row, c.col);
        if (p && p !== c && p.expand === 'right') {
          c.topParent = p;
          break;
        }
      }
    }
  }
  // cycles
  for (const c of cells) {
    for (const which of ['leftParent', 'topParent'] as const) {
      const seen = new Set<CellPlan>([c]);
      for (let p = c[which]; p; p = p[which]) {
        if (seen.has(p)) throw invalid(sheet.name, c.address, `its ${which} chain loops back (${[...seen].map((s) => s.address).join(' → ')})`);
        seen.add(p);
      }
    }
  }

  // axis trees: nodes first (parents before children), then anchors
  const nodeOf = (c: CellPlan, axis: Axis): AxisNode => {
    const dir = axis === 'v' ? 'down' : 'right';
    const key = axis === 'v' ? 'vNode' : 'hNode';
    const existing = c[key];
    if (existing) return existing;
    const parent = owner(c, axis);
    const node: AxisNode = { axis, cell: c, parent, children: [], start: 0, end: 0, segments: [] };
    void dir;
    parent.children.push(node);
    c[key] = node;
    return node;
  };
  /** The nearest ancestor (through this axis's parent chain) expanding in this axis's direction. */
  const owner = (c: CellPlan, axis: Axis): AxisNode => {
    const dir = axis === 'v' ? 'down' : 'right';
    for (let p = axis === 'v' ? c.leftParent : c.topParent; p; p = axis === 'v' ? p.leftParent : p.topParent) {
      if (p.expand === dir) return nodeOf(p, axis);
    }
    return axis === 'v' ? vRoot : hRoot;
  };
  for (const c of cells) {
    c.vAnchor = c.expand === 'down' ? nodeOf(c, 'v') : owner(c, 'v');
    c.hAnchor = c.expand === 'right' ? nodeOf(c, 'h') : owner(c, 'h');
  }

  // ranges: a node covers its own cell and every cell anchored under it
  vRoot.end = Math.max(maxRow, lineOf(sheet.freeze, 'row'), repeatLast(template), ...sheet.floats.map((f) => parseAddress(f.anchor).row));
  hRoot.end = Math.max(maxCol, lineOf(sheet.freeze, 'col'), ...sheet.floats.map((f) => parseAddress(f.anchor).col));
  const initRange = (n: AxisNode) => {
    if (n.cell) {
      n.start = n.axis === 'v' ? n.cell.row : n.cell.col;
      n.end = n.start + (n.axis === 'v' ? n.cell.rowSpan : n.cell.colSpan) - 1;
    }
    n.children.forEach(initRange);
  };
  initRange(vRoot);
  initRange(hRoot);
  for (const c of cells) {
    for (const axis of ['v', 'h'] as const) {
      const lo = axis === 'v' ? c.row : c.col;
      const hi = lo + (axis === 'v' ? c.rowSpan : c.colSpan) - 1;
      for (let n: AxisNode | null = axis === 'v' ? c.vAnchor : c.hAnchor; n && n.cell; n = n.parent) {
        n.start = Math.min(n.start, lo);
        n.end = Math.max(n.end, hi);
      }
    }
  }
  // a child's range extends its parents'
  const widen = (n: AxisNode) => {
    for (const ch of n.children) {
      widen(ch);
      if (n.cell) {
        n.start = Math.min(n.start, ch.start);
        n.end = Math.max(n.end, ch.end);
      }
    }
  };
  widen(vRoot);
  widen(hRoot);
  const segment = (n: AxisNode) => {
    const kids = [...n.children].sort((a, b) => a.start - b.start);
    const segs: Segment[] = [];
    let line = n.start;
    let i = 0;
    while (line <= n.end) {
      if (i < kids.length && kids[i]!.start <= line) {
        const group = [kids[i]!];
        let to = kids[i]!.end;
        i++;
        while (i < kids.length && kids[i]!.start <= to) {
          group.push(kids[i]!);
          to = Math.max(to, kids[i]!.end);
          i++;
        }
        segs.push({ from: line, to, children: group });
        line = to + 1;
      } else {
        segs.push({ from: line, to: line, children: [] });
        line++;
      }
    }
    n.segments = segs;
    n.children.forEach(segment);
  };
  segment(vRoot);
  segment(hRoot);
  markPacked(hRoot, vRoot);

  return { sheet, cells, byPos, vRoot, hRoot, maxRow, maxCol, datasets };
}

/**
 * Marks packed nodes (see AxisNode.pack): first right-expanding cells whose left parents expand down,
 * then down-expanding cells whose top parents expand right, unless that top parent is itself packed
 * or the node holds the context of a packed column (packing both ways at once is not supported: such
 * cells share their lines, as in a cross-tab).
 */
function markPacked(hRoot: AxisNode, vRoot: AxisNode): void {
  const hPacked = new Set<AxisNode>();
  const hContexts = new Set<AxisNode>();
  const markH = (n: AxisNode, inPack: boolean) => {
    for (const ch of n.children) {
      const ctx = ch.cell!.vAnchor;
      if (!inPack && ctx.cell) {
        ch.pack = ctx;
        hContexts.add(ctx);
      }
      const packed = inPack || ch.pack !== undefined;
      if (packed) hPacked.add(ch);
      markH(ch, packed);
    }
  };
  markH(hRoot, false);
  const holdsContext = (n: AxisNode): boolean => hContexts.has(n) || n.children.some(holdsContext);
  const markV = (n: AxisNode) => {
    for (const ch of n.children) {
      const ctx = ch.cell!.hAnchor;
      if (ctx.cell && !hPacked.has(ctx) && !holdsContext(ch)) ch.pack = ctx;
      else markV(ch);
    }
  };
  markV(vRoot);
}

function lineOf(address: string | undefined, which: 'row' | 'col'): number {
  if (!address) return 1;
  const p: CellPos = parseAddress(address);
  return which === 'row' ? p.row : p.col;
}

function repeatLast(template: GridTemplate): number {
  const r = template.page.repeatRows;
  return r ? Number(r.split(':')[1]) : 1;
}

function parseFilter(
  text: string,
  dataset: string,
  sheet: string,
  address: string,
  useDataset: (name: string, address: string) => void,
): FilterPlan {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\.([^\s=]+)\s*==?\s*([A-Za-z_][A-Za-z0-9_]*)\.([^\s=]+)\s*$/.exec(text);
  if (!m) throw invalid(sheet, address, `filter "${text}" is not "thisDataset.field = otherDataset.field"`);
  const [, d1, f1, d2, f2] = m as unknown as [string, string, string, string, string];
  let mine: [string, string];
  let other: [string, string];
  if (d1 === dataset) {
    mine = [d1, f1];
    other = [d2, f2];
  } else if (d2 === dataset) {
    mine = [d2, f2];
    other = [d1, f1];
  } else throw invalid(sheet, address, `filter "${text}" does not name the cell's dataset ${dataset}`);
  useDataset(other[0], address);
  return { field: mine[1], otherDataset: other[0], otherField: other[1] };
}

export { formatAddress };
