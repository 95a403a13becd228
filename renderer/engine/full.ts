/**
 * Full mode: every dataset's rows in memory, every feature of DESIGN §4. Builds the instance trees
 * of both axes, lays them out, evaluates each template cell once per (row instance, column instance)
 * and emits the output rows.
 */
import type { Row } from '../../datasources/data-source.js';
import { bindChart } from '../charts/bind.js';
import type { CellValue, RenderWarning, ResolvedCell, ResolvedColumn, ResolvedFloat, ResolvedRow } from '../resolved.js';
import type { StyleTable } from '../style-table.js';
import { evaluateFormula, FormulaRefError, type CompiledFormula, type FormulaHost } from '../formula/evaluate.js';
import { columnLetters, formatAddress, parseAddress, type FormulaRef, type HierStep } from '../formula/references.js';
import type { AxisNode, CellPlan, SheetPlan } from './plan.js';
import { posKey } from './plan.js';
import { Decorator } from './decorate.js';
import { chainInst, commonScope, inChain, instancesUnder, layout, realize, rootInst, rowSet, splitRows, type Inst } from './tree.js';
import { aggregate, cellValue, finalValue, groupKey, joinValues } from './values.js';

export interface SheetRun {
  readonly plan: SheetPlan;
  readonly sheetName: string;
  readonly rows: ReadonlyMap<string, readonly Row[]>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly styles: StyleTable;
  warn(w: RenderWarning): void;
}

export interface ExpandedSheet {
  readonly columns: ResolvedColumn[];
  readonly frozen?: { rows: number; cols: number };
  readonly repeatRows?: { first: number; last: number };
  readonly floats: ResolvedFloat[];
  readonly rows: ResolvedRow[];
  readonly outputRows: number;
}

export function expandSheetFull(run: SheetRun, repeatRows: string | undefined): ExpandedSheet {
  return new FullExpansion(run).expand(repeatRows);
}

const IN_PROGRESS: CellValue = { error: '#REF!' };
/** Shared by instances of cells that have no expanding children (never written). */
const NO_CHILDREN: Map<AxisNode, Inst[]> = new Map();

class FullExpansion {
  private readonly plan: SheetPlan;
  private readonly vRoot: Inst;
  private readonly hRoot: Inst;
  private readonly instancesOf = new Map<AxisNode, Inst[]>();
  private readonly memo = new Map<CellPlan, Map<unknown, unknown>>();
  private readonly vhKeys = new WeakMap<Inst, object>();

  /** A key for a row instance's map of column instances, distinct from the row instance itself. */
  private vhKey(vi: Inst): object {
    let k = this.vhKeys.get(vi);
    if (!k) this.vhKeys.set(vi, (k = {}));
    return k;
  }
  private readonly decorator: Decorator;

  constructor(private readonly run: SheetRun) {
    this.plan = run.plan;
    this.vRoot = rootInst(this.plan.vRoot);
    this.hRoot = rootInst(this.plan.hRoot);
    this.instancesOf.set(this.plan.vRoot, [this.vRoot]);
    this.instancesOf.set(this.plan.hRoot, [this.hRoot]);
    this.decorator = new Decorator(run.styles, (c, m) => this.warn(c, m));
  }

  expand(repeatRows: string | undefined): ExpandedSheet {
    const packed: { parent: Inst; node: AxisNode }[] = [];
    this.build(this.vRoot, 'v', packed);
    this.build(this.hRoot, 'h', packed);
    // packed nodes once the instances of their contexts (on the other axis) exist
    for (const p of packed) this.buildPacked(p.parent, p.node);
    layout(this.vRoot, 0);
    layout(this.hRoot, 0);

    const byRow = new Map<number, ResolvedCell[]>();
    for (const c of this.plan.cells) {
      if (c.kind === 'empty' && c.styleId === undefined) continue;
      const vs = this.instancesOf.get(c.vAnchor) ?? [];
      const hs = this.instancesOf.get(c.hAnchor) ?? [];
      for (const vi of vs) {
        const r0 = vi.lineStart[c.row - c.vAnchor.start]!;
        // a root cell keeps its line unless merged; a cell under an expanding parent stretches with it
        const rLast = c.row + c.rowSpan - 1 - c.vAnchor.start;
        const r1 = c.rowSpan > 1 || c.vAnchor.cell ? vi.lineEnd[rLast]! : vi.lineStart[rLast]!;
        for (const hi of hs) {
          // a packed line with no value in this context stays blank
          const at = vi.pack || hi.pack ? realize(vi, hi) : undefined;
          if ((vi.pack || hi.pack) && !at) continue;
          const c0 = hi.lineStart[c.col - c.hAnchor.start]!;
          const cLast = c.col + c.colSpan - 1 - c.hAnchor.start;
          const c1 = c.colSpan > 1 || c.hAnchor.cell ? hi.lineEnd[cLast]! : hi.lineStart[cLast]!;
          const cell = this.resolveCell(c, at ? at[0] : vi, at ? at[1] : hi, c0, r1 - r0 + 1, c1 - c0 + 1);
          let list = byRow.get(r0);
          if (!list) byRow.set(r0, (list = []));
          list.push(cell);
        }
      }
    }

    const sheet = this.plan.sheet;
    // template line of every output line, for heights and widths
    const rowLine = lineMap(this.vRoot);
    const colLine = lineMap(this.hRoot);
    const columns: ResolvedColumn[] = [];
    for (let k = 0; k < colLine.length; k++) {
      const t = sheet.columns[columnLetters(colLine[k]!)];
      columns.push(t ? { ...(t.width !== undefined ? { width: t.width } : {}), ...(t.hidden ? { hidden: true } : {}) } : {});
    }
    const rows: ResolvedRow[] = [];
    const outputRows = this.vRoot.size;
    for (let r = 0; r < outputRows; r++) {
      const cells = byRow.get(r);
      const height = sheet.rows[String(rowLine[r])]?.height;
      if (!cells && height === undefined) continue;
      const sorted = cells ? dedupeSorted(cells) : [];
      rows.push(height !== undefined ? { row: r, height, cells: sorted } : { row: r, cells: sorted });
    }

    let frozen: ExpandedSheet['frozen'];
    if (sheet.freeze) {
      const p = parseAddress(sheet.freeze);
      frozen = { rows: this.vRoot.lineStart[p.row - 1]!, cols: this.hRoot.lineStart[p.col - 1]! };
    }
    let repeat: ExpandedSheet['repeatRows'];
    if (repeatRows) {
      const [a, b] = repeatRows.split(':').map(Number) as [number, number];
      repeat = { first: this.vRoot.lineStart[a - 1]!, last: this.vRoot.lineEnd[b - 1]! };
    }
    const floats: ResolvedFloat[] = sheet.floats.map((f) => {
      const p = parseAddress(f.anchor);
      const data = f.chart.dataset !== undefined ? (this.run.rows.get(f.chart.dataset) ?? []) : [];
      return { row: this.vRoot.lineStart[p.row - 1]!, col: this.hRoot.lineStart[p.col - 1]!, chart: bindChart(f.chart, data, { ...this.run.params }) };
    });
    return { columns, frozen, repeatRows: repeat, floats, rows, outputRows };
  }

  // ------------------------------------------------------------ instance trees

  private build(inst: Inst, axis: 'v' | 'h', packed: { parent: Inst; node: AxisNode }[]): void {
    for (const child of inst.node.children) {
      if (child.pack) {
        packed.push({ parent: inst, node: child });
        continue;
      }
      const cell = child.cell!;
      const rows = axis === 'v' ? this.rowsFor(cell, inst, this.hRoot) : this.rowsFor(cell, this.vRoot, inst);
      const parts = splitRows(cell, rows);
      const list: Inst[] = parts.map((p, k) => ({
        node: child,
        value: p.value,
        rows: p.rows,
        parent: inst,
        index: k + 1,
        children: child.children.length > 0 ? new Map() : NO_CHILDREN,
        lineStart: [],
        lineEnd: [],
        start: 0,
        size: 0,
      }));
      inst.children.set(child, list);
      let all = this.instancesOf.get(child);
      if (!all) this.instancesOf.set(child, (all = []));
      for (const i of list) {
        all.push(i);
        this.build(i, axis, packed);
      }
    }
  }

  /**
   * A packed node under one laid-out parent instance: its instances (and their descendants') are built
   * in each instance of its context on the other axis, then merged by position into the instances
   * that are laid out (as many as the context with the most).
   */
  private buildPacked(parent: Inst, node: AxisNode): void {
    const ctxNode = node.pack!;
    const slots: Inst[] = [];
    parent.children.set(node, slots);
    for (const ctx of this.instancesOf.get(ctxNode) ?? []) {
      const real = this.buildInContext(node, parent, ctx);
      this.mergeSlots(slots, real, ctx, ctxNode, parent, node);
    }
    const register = (list: Inst[]) => {
      for (const s of list) {
        let all = this.instancesOf.get(s.node);
        if (!all) this.instancesOf.set(s.node, (all = []));
        all.push(s);
        for (const kids of s.children.values()) register(kids);
      }
    };
    register(slots);
  }

  /** The instances of `node` under `parent` in one context instance on the other axis. */
  private buildInContext(node: AxisNode, parent: Inst, ctx: Inst): Inst[] {
    const cell = node.cell!;
    const rows = node.axis === 'h' ? this.rowsFor(cell, ctx, parent) : this.rowsFor(cell, parent, ctx);
    const list: Inst[] = splitRows(cell, rows).map((p, k) => ({
      node,
      value: p.value,
      rows: p.rows,
      parent,
      index: k + 1,
      children: node.children.length > 0 ? new Map() : NO_CHILDREN,
      lineStart: [],
      lineEnd: [],
      start: 0,
      size: 0,
    }));
    for (const i of list) {
      i.siblings = list;
      for (const child of node.children) i.children.set(child, this.buildInContext(child, i, ctx));
    }
    return list;
  }

  private mergeSlots(slots: Inst[], real: readonly Inst[], ctx: Inst, ctxNode: AxisNode, parent: Inst, node: AxisNode): void {
    real.forEach((r, k) => {
      let s = slots[k];
      if (!s) {
        s = {
          node,
          value: null,
          rows: [],
          parent,
          index: k + 1,
          children: node.children.length > 0 ? new Map() : NO_CHILDREN,
          lineStart: [],
          lineEnd: [],
          start: 0,
          size: 0,
          pack: { ctx: ctxNode, real: new Map() },
        };
        slots.push(s);
      }
      const rows = s.rows as Row[];
      for (const row of r.rows ?? []) rows.push(row);
      s.pack!.real.set(ctx, r);
      for (const child of node.children) {
        let list = s.children.get(child);
        if (!list) s.children.set(child, (list = []));
        this.mergeSlots(list, r.children.get(child) ?? [], ctx, ctxNode, s, child);
      }
    });
  }

  /** The rows of a cell's dataset in a context: filtered by same-dataset ancestors on both axes and by its `filter`. */
  private rowsFor(cell: Pick<CellPlan, 'dataset' | 'filter'>, vi: Inst, hi: Inst): readonly Row[] {
    const ds = cell.dataset!;
    const iv = chainInst(ds, vi);
    const ih = chainInst(ds, hi);
    let rows: readonly Row[];
    if (iv && ih) {
      const [small, big] = iv.rows!.length <= ih.rows!.length ? [iv, ih] : [ih, iv];
      const s = rowSet(big);
      rows = small.rows!.filter((r) => s.has(r));
    } else rows = (iv ?? ih)?.rows ?? this.run.rows.get(ds) ?? [];
    const f = cell.filter;
    if (f) {
      const other = chainInst(f.otherDataset, vi) ?? chainInst(f.otherDataset, hi);
      if (other) {
        const allowed = new Set(other.rows!.map((r) => groupKey(r[f.otherField])));
        rows = rows.filter((r) => allowed.has(groupKey(r[f.field])));
      }
    }
    return rows;
  }

  // ------------------------------------------------------------ values

  value(c: CellPlan, vi: Inst, hi: Inst): CellValue {
    // values that need no work are not memoised
    if (c.expand === 'down' && hi === this.hRoot) return vi.value;
    if (c.expand === 'right' && vi === this.vRoot) return hi.value;
    if (c.kind === 'text') return c.text ?? null;
    // one map per cell, keyed by the row instance (and the column instance when there are several)
    let byV = this.memo.get(c);
    if (!byV) this.memo.set(c, (byV = new Map()));
    let byH: Map<Inst, CellValue>;
    if (hi === this.hRoot) byH = byV as Map<Inst, CellValue>;
    else {
      const key = this.vhKey(vi);
      let m = byV.get(key) as Map<Inst, CellValue> | undefined;
      if (!m) byV.set(key, (m = new Map()));
      byH = m;
    }
    const slot = hi === this.hRoot ? vi : hi;
    const known = byH.get(slot);
    if (known === IN_PROGRESS) {
      // a formula that needs its own value (directly or through others)
      this.warn(c, `${c.cell.formula ?? c.address}: the formula refers to itself (circular reference)`);
      return { error: '#REF!' };
    }
    if (known !== undefined || byH.has(slot)) return known!;
    byH.set(slot, IN_PROGRESS);
    const v = this.compute(c, vi, hi);
    byH.set(slot, v);
    return v;
  }

  private compute(c: CellPlan, vi: Inst, hi: Inst): CellValue {
    switch (c.kind) {
      case 'empty':
      case 'chart':
        return null;
      case 'text':
        return c.text ?? null;
      case 'formula':
        return this.evaluate(c, c.formula!, vi, hi);
      case 'field': {
        if (c.expand === 'down' || c.expand === 'right') {
          const own = c.expand === 'down' ? vi : hi;
          const other = c.expand === 'down' ? hi : vi;
          const cross = other.node.cell ? chainInst(c.dataset!, other) : undefined;
          if (cross && own.rows && own.rows.length > 0) {
            const s = rowSet(cross);
            if (!own.rows.some((r) => s.has(r))) return null;
          }
          return own.value;
        }
        const rows = this.rowsFor(c, vi, hi);
        if (c.display === 'summary') return aggregate(c.cell.aggregate!, rows, c.field!);
        const field = c.field!;
        if (c.display === 'list') return joinValues(rows.map((r) => cellValue(r[field])), c.format.numFmt);
        const seen = new Map<unknown, CellValue>();
        for (const r of rows) {
          const v = r[field];
          const k = groupKey(v);
          if (!seen.has(k)) seen.set(k, cellValue(v));
        }
        return joinValues([...seen.values()], c.format.numFmt);
      }
    }
  }

  private evaluate(c: CellPlan, formula: CompiledFormula, vi: Inst, hi: Inst): CellValue {
    const r = evaluateFormula(formula, { row: c.row, col: c.col, sheet: this.run.sheetName }, this.host(vi, hi));
    if (r.problem !== undefined) this.warn(c, r.problem);
    return r.value;
  }

  private host(vi: Inst, hi: Inst): FormulaHost {
    return {
      values: (ref) => this.refValues(ref, vi, hi),
      index: (cell) => {
        const p = this.plan.byPos.get(posKey(cell.row, cell.col));
        const node = p?.vNode ?? p?.hNode;
        const cur = node && (inChain(vi, node) ?? inChain(hi, node));
        if (!cur) throw new FormulaRefError(`&${formatAddress(cell)}: ${formatAddress(cell)} is not an expanding parent of this cell`);
        return cur.index;
      },
      param: (name) => this.run.params[name],
    };
  }

  private refValues(ref: FormulaRef, vi: Inst, hi: Inst): CellValue[] {
    switch (ref.kind) {
      case 'cell': {
        const y = this.plan.byPos.get(posKey(ref.cell.row, ref.cell.col));
        if (!y) throw new FormulaRefError(`${formatAddress(ref.cell)} is not a cell of the template`);
        return this.valuesIn(y, vi, hi);
      }
      case 'range': {
        const out: CellValue[] = [];
        for (const y of this.plan.cells) {
          if (y.row >= ref.from.row && y.row <= ref.to.row && y.col >= ref.from.col && y.col <= ref.to.col) out.push(...this.valuesIn(y, vi, hi));
        }
        return out;
      }
      case 'hier': {
        const y = this.plan.byPos.get(posKey(ref.cell.row, ref.cell.col));
        if (!y) throw new FormulaRefError(`${formatAddress(ref.cell)} is not a cell of the template`);
        let vs = ref.everywhere ? [this.vRoot] : [vi];
        let hs = ref.everywhere ? [this.hRoot] : [hi];
        for (const step of ref.left) vs = vs.flatMap((s) => this.step(step, s, 'v'));
        for (const step of ref.top) hs = hs.flatMap((s) => this.step(step, s, 'h'));
        const out: CellValue[] = [];
        for (const sv of vs) for (const sh of hs) out.push(...this.valuesIn(y, sv, sh));
        return out;
      }
      case 'index':
      case 'param':
        throw new FormulaRefError('not a cell reference');
    }
  }

  /** Moves a scope to other instances of an expanding cell (a hierarchical coordinate step). */
  private step(step: HierStep, scope: Inst, axis: 'v' | 'h'): Inst[] {
    const p = this.plan.byPos.get(posKey(step.at.row, step.at.col));
    const node = axis === 'v' ? p?.vNode : p?.hNode;
    const addr = formatAddress(step.at);
    if (!node) throw new FormulaRefError(`${addr} does not expand ${axis === 'v' ? 'down' : 'right'}`);
    const cur = inChain(scope, node);
    const siblings = cur
      ? (cur.siblings ?? (cur.parent ? (cur.parent.children.get(node) ?? [cur]) : [cur]))
      : instancesUnder(commonScope(scope, node), node);
    switch (step.kind) {
      case 'relative': {
        if (!cur) throw new FormulaRefError(`${addr}:${step.offset}: ${addr} is not a parent of this cell`);
        const t = siblings[cur.index - 1 + step.offset];
        return t ? [t] : [];
      }
      case 'absolute': {
        const t = siblings[step.index > 0 ? step.index - 1 : siblings.length + step.index];
        if (!t) throw new FormulaRefError(`${addr}:${step.index}: there are ${siblings.length} instances of ${addr}`);
        return [t];
      }
      case 'all':
        return [...siblings];
    }
  }

  /** The values of a cell's instances within a scope (its own instance when the scope is under it). */
  private valuesIn(y: CellPlan, vScope: Inst, hScope: Inst): CellValue[] {
    const vs = this.scopeInstances(y.vAnchor, vScope);
    const hs = this.scopeInstances(y.hAnchor, hScope);
    const out: CellValue[] = [];
    for (const v of vs) {
      for (const h of hs) {
        if (v.pack || h.pack) {
          // packed instances: the values in this context (none where it has fewer)
          const at = realize(v, h);
          if (at) out.push(this.value(y, at[0], at[1]));
        } else out.push(this.value(y, v, h));
      }
    }
    return out;
  }

  private scopeInstances(node: AxisNode, scope: Inst): Inst[] {
    const own = inChain(scope, node);
    if (own) return [own];
    return instancesUnder(commonScope(scope, node), node);
  }

  // ------------------------------------------------------------ output cells

  private resolveCell(c: CellPlan, vi: Inst, hi: Inst, col: number, rowSpan: number, colSpan: number): ResolvedCell {
    const raw = this.value(c, vi, hi);
    let value = raw;
    let numFmt = c.format.numFmt;
    if (c.format.isDate || raw instanceof Date) ({ value, numFmt } = finalValue(raw, c.format));
    const out: { -readonly [K in keyof ResolvedCell]: ResolvedCell[K] } = { col, value };
    if (numFmt !== undefined) out.numFmt = numFmt;
    const evaluate = (f: CompiledFormula) => evaluateFormula(f, { row: c.row, col: c.col, sheet: this.run.sheetName }, this.host(vi, hi));
    const style = c.conditions.length > 0 ? this.decorator.style(c, evaluate) : c.styleId;
    if (style !== undefined) out.style = style;
    if (rowSpan > 1) out.rowSpan = rowSpan;
    if (colSpan > 1) out.colSpan = colSpan;
    if (c.link) out.link = this.decorator.link(c, evaluate);
    if (c.chart) {
      const rows = c.chart.dataset !== undefined ? this.rowsFor({ dataset: c.chart.dataset }, vi, hi) : [];
      out.chart = bindChart(c.chart, rows, { ...this.run.params });
    }
    return out;
  }

  private warn(c: CellPlan, message: string): void {
    this.run.warn({ code: 'FORMULA_ERROR', sheet: this.run.sheetName, cell: c.address, message });
  }
}

/** The template line (1-based) of every output line of a laid-out root. */
function lineMap(root: Inst): number[] {
  const out = new Array<number>(root.size).fill(0);
  const visit = (i: Inst) => {
    const n = i.node;
    for (let line = n.start; line <= n.end; line++) {
      const a = i.lineStart[line - n.start]!;
      const b = i.lineEnd[line - n.start]!;
      for (let k = a; k <= b; k++) out[k] = line;
    }
    for (const kids of i.children.values()) for (const k of kids) visit(k);
  };
  visit(root);
  return out;
}

/** Cells of one row sorted by column; a position filled twice keeps the first. */
function dedupeSorted(cells: ResolvedCell[]): ResolvedCell[] {
  cells.sort((a, b) => a.col - b.col);
  const out: ResolvedCell[] = [];
  for (const c of cells) if (out.length === 0 || out[out.length - 1]!.col !== c.col) out.push(c);
  return out;
}

export { parseAddress };
