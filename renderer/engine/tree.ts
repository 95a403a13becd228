/**
 * Instances of expanding cells and their layout on one axis. An instance is one value of an
 * expanding cell in its parent instance (a group, or one row of a list) with the dataset rows it
 * stands for. Laying an instance out maps each template line of its node to output lines.
 */
import type { Row } from '../../datasources/data-source.js';
import type { CellValue } from '../resolved.js';
import type { AxisNode, CellPlan } from './plan.js';
import { cellValue, groupKey } from './values.js';

export interface Inst {
  readonly node: AxisNode;
  readonly value: CellValue;
  /** Rows of the node cell's dataset in this instance; null for the root (every row). */
  readonly rows: readonly Row[] | null;
  readonly parent: Inst | null;
  /** 1-based among the instances of the same node under the same parent instance. */
  readonly index: number;
  readonly children: Map<AxisNode, Inst[]>;
  /** Output line where each template line of the node starts and ends (indexed by line - node.start). */
  lineStart: number[];
  lineEnd: number[];
  start: number;
  size: number;
  rowSet?: Set<Row>;
  /**
   * Set on the instances of a packed node (plan.ts AxisNode.pack) that are laid out: the k-th
   * instance stands for the k-th value of every context instance (`real`, by the instance of the
   * context node), and holds the union of their rows.
   */
  pack?: { readonly ctx: AxisNode; readonly real: Map<Inst, Inst> };
  /** Instances of a packed node in one context: their siblings (their parent holds the laid-out ones). */
  siblings?: readonly Inst[];
}

export function rootInst(node: AxisNode): Inst {
  return { node, value: null, rows: null, parent: null, index: 1, children: new Map(), lineStart: [], lineEnd: [], start: 0, size: 0 };
}

/** The rows of `dataset` a cell sees through one axis chain: those of the nearest same-dataset instance (null: all). */
export function chainRows(dataset: string, inst: Inst): readonly Row[] | null {
  for (let i: Inst | null = inst; i && i.node.cell; i = i.parent) {
    if (i.node.cell.dataset === dataset) return i.rows;
  }
  return null;
}

/** The nearest instance of a cell of `dataset` in a chain. */
export function chainInst(dataset: string, inst: Inst): Inst | undefined {
  for (let i: Inst | null = inst; i && i.node.cell; i = i.parent) {
    if (i.node.cell.dataset === dataset) return i;
  }
  return undefined;
}

export function rowSet(inst: Inst): Set<Row> {
  if (!inst.rowSet) inst.rowSet = new Set(inst.rows ?? []);
  return inst.rowSet;
}

/** Splits rows into the instances of an expanding cell: groups (first appearance or adjacent runs) or one per row. */
export function splitRows(cell: CellPlan, rows: readonly Row[]): { value: CellValue; rows: Row[] }[] {
  const field = cell.field!;
  if (rows.length === 0) return [{ value: null, rows: [] }];
  if (cell.display === 'list') return rows.map((r) => ({ value: cellValue(r[field]), rows: [r] }));
  if (cell.adjacent) {
    const out: { value: CellValue; rows: Row[] }[] = [];
    let lastKey: unknown = Symbol('none');
    for (const r of rows) {
      const v = r[field];
      const k = groupKey(v);
      if (out.length > 0 && k === lastKey) out[out.length - 1]!.rows.push(r);
      else {
        out.push({ value: cellValue(v), rows: [r] });
        lastKey = k;
      }
    }
    return out;
  }
  const groups = new Map<unknown, { value: CellValue; rows: Row[] }>();
  for (const r of rows) {
    const v = r[field];
    const k = groupKey(v);
    const g = groups.get(k);
    if (g) g.rows.push(r);
    else groups.set(k, { value: cellValue(v), rows: [r] });
  }
  return [...groups.values()];
}

/**
 * Lays an instance out from output line `at`: segments of lines without children take one line each;
 * a segment with children takes the longest child run (plus the lines of the segment outside it).
 */
export function layout(inst: Inst, at: number): void {
  const node = inst.node;
  const n = node.end - node.start + 1;
  const lineStart = new Array<number>(n);
  const lineEnd = new Array<number>(n);
  let p = at;
  for (const seg of node.segments) {
    if (seg.children.length === 0) {
      lineStart[seg.from - node.start] = p;
      lineEnd[seg.from - node.start] = p;
      p++;
      continue;
    }
    let h = seg.to - seg.from + 1;
    for (const child of seg.children) {
      let q = p + (child.start - seg.from);
      for (const ci of inst.children.get(child) ?? []) {
        layout(ci, q);
        q += ci.size;
      }
      h = Math.max(h, q - p + (seg.to - child.end));
    }
    for (let line = seg.from; line <= seg.to; line++) {
      lineStart[line - node.start] = p + (line - seg.from);
      lineEnd[line - node.start] = line === seg.to ? p + h - 1 : p + (line - seg.from);
    }
    p += h;
  }
  inst.lineStart = lineStart;
  inst.lineEnd = lineEnd;
  inst.start = at;
  inst.size = p - at;
}

/**
 * The instances that hold the values where a row instance and a column instance meet: a laid-out
 * packed instance on one axis stands for the instance of the same position in the context of the
 * other; undefined when that context has fewer values (the crossing is blank).
 */
export function realize(v: Inst, h: Inst): [Inst, Inst] | undefined {
  let rv = v;
  let rh = h;
  if (h.pack) {
    const ctx = inChain(v, h.pack.ctx);
    if (ctx) {
      const r = h.pack.real.get(ctx);
      if (!r) return undefined;
      rh = r;
    }
  }
  if (v.pack) {
    const ctx = inChain(rh, v.pack.ctx);
    if (ctx) {
      const r = v.pack.real.get(ctx);
      if (!r) return undefined;
      rv = r;
    }
  }
  return [rv, rh];
}

/** Every instance of `node` in the subtree of `scope` (scope's node must be an ancestor of node, or node itself). */
export function instancesUnder(scope: Inst, node: AxisNode): Inst[] {
  if (scope.node === node) return [scope];
  if (node.parent === scope.node) return scope.children.get(node) ?? [];
  const path: AxisNode[] = [];
  for (let n: AxisNode | null = node; n && n !== scope.node; n = n.parent) path.unshift(n);
  let list: Inst[] = [scope];
  for (const step of path) {
    const next: Inst[] = [];
    for (const i of list) {
      const kids = i.children.get(step);
      if (kids) for (const k of kids) next.push(k);
    }
    list = next;
  }
  return list;
}

/** The instance of `node` in the chain of `inst` (inst itself or an ancestor). */
export function inChain(inst: Inst, node: AxisNode): Inst | undefined {
  for (let i: Inst | null = inst; i; i = i.parent) if (i.node === node) return i;
  return undefined;
}

/** The deepest instance in the chain of `inst` whose node is `node` or an ancestor of it. */
export function commonScope(inst: Inst, node: AxisNode): Inst {
  let i: Inst = inst;
  while (i.parent && !isAncestor(i.node, node)) i = i.parent;
  return i;
}

function isAncestor(a: AxisNode, node: AxisNode): boolean {
  for (let n: AxisNode | null = node; n; n = n.parent) if (n === a) return true;
  return false;
}
