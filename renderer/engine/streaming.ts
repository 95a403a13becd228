/**
 * Streaming mode (DESIGN §4): a list report over one dataset, read one row at a time and emitted in
 * bands, with totals below the list accumulated as rows pass. Memory stays flat (an adjacent group
 * is held until it ends, so its cells can be merged over it).
 *
 * The engine streams a template only when it has this shape:
 * - one template row (the detail row) holds every expanding cell: a chain of cells expanding down,
 *   each `list` or `adjacent` group, all over the same dataset; every other cell of that row hangs
 *   under one of them and is a field, text or a formula over cells of its own instance or above;
 * - rows above it hold only text and formulas without references (headers);
 * - rows below it hold text, `summary` cells, and formulas that reference detail cells only as
 *   `SUM(C2)`, `COUNT(C2)`, `COUNTA(C2)`, `AVERAGE(C2)`, `MIN(C2)` or `MAX(C2)` (totals);
 * - no right expansion, charts, filters, hierarchical coordinates or merges across the detail row.
 * Anything else runs in full mode. The output is the same grid full mode gives.
 */
import type { Row } from '../../datasources/data-source.js';
import type { CellValue, RenderMeta, RenderWarning, ResolvedCell, ResolvedColumn, ResolvedRow, ResolvedSheet, RowBand } from '../resolved.js';
import type { StyleTable } from '../style-table.js';
import type { GridTemplate } from '../template/schema.js';
import { evaluateFormula, FormulaRefError, type CompiledFormula, type FormulaHost, type FormulaResult } from '../formula/evaluate.js';
import { columnLetters, formatAddress, parseAddress, type FormulaRef } from '../formula/references.js';
import { toExcelSerial } from '../format/number-format.js';
import type { EngineInput } from './api.js';
import { Decorator } from './decorate.js';
import { posKey, type AxisNode, type CellPlan, type SheetPlan } from './plan.js';
import { splitRows } from './tree.js';

/** Functions whose result depends on the formula's own cell. */
const POSITIONAL = /\b(ROW|ROWS|COLUMN|COLUMNS|CELL|OFFSET|INDIRECT|ADDRESS)\s*\(/i;
import { Accumulator, aggregate, cellValue, finalValue, groupKey, joinValues } from './values.js';

const BAND_ROWS = 256;
const AGG = /\b(SUM|COUNT|COUNTA|AVERAGE|MIN|MAX)\(TRREF\((\d+)\)\)/g;
const AGG_PREFIX = '\u0000agg';

type AggFn = 'SUM' | 'COUNT' | 'COUNTA' | 'AVERAGE' | 'MIN' | 'MAX';

export interface StreamPlan {
  readonly sheetIndex: number;
  readonly dataset: string;
  readonly detailRow: number;
  /** The expanding cells of the detail row, outermost first. */
  readonly chain: readonly AxisNode[];
  readonly depth: ReadonlyMap<AxisNode, number>;
  /** Cells of the detail row, by column. */
  readonly detail: readonly CellPlan[];
  /** Cells above and below it. */
  readonly header: readonly CellPlan[];
  readonly footer: readonly CellPlan[];
  /** Footer formulas with their aggregates of detail cells replaced by accumulated values. */
  readonly footerFormulas: ReadonlyMap<CompiledFormula, CompiledFormula>;
  /** Accumulated aggregates: name → detail cell and function. */
  readonly aggregates: ReadonlyMap<string, { cell: CellPlan; fn: AggFn }>;
}

/** The streaming plan when the template allows streaming, otherwise undefined (full mode). */
export function streamable(template: GridTemplate, plans: readonly SheetPlan[]): StreamPlan | undefined {
  const withData = plans.map((p, i) => [p, i] as const).filter(([p]) => p.datasets.size > 0);
  if (withData.length !== 1) return undefined;
  const [plan, sheetIndex] = withData[0]!;
  if (plan.datasets.size !== 1) return undefined;
  const dataset = [...plan.datasets][0]!;
  if (plan.hRoot.children.length > 0 || plan.sheet.floats.length > 0) return undefined;
  if (plans.some((p) => p.cells.some((c) => c.chart) || p.sheet.floats.length > 0)) return undefined;

  // the chain of expanding cells
  const chain: AxisNode[] = [];
  for (let n: AxisNode = plan.vRoot; n.children.length > 0; ) {
    if (n.children.length !== 1) return undefined;
    n = n.children[0]!;
    const c = n.cell!;
    if (c.display !== 'list' && !(c.display === 'group' && c.adjacent)) return undefined;
    chain.push(n);
  }
  if (chain.length === 0) return undefined;
  const detailRow = chain[0]!.cell!.row;
  for (const n of chain) if (n.start !== detailRow || n.end !== detailRow) return undefined;
  const depth = new Map<AxisNode, number>(chain.map((n, i) => [n, i]));
  depth.set(plan.vRoot, -1);

  const detail: CellPlan[] = [];
  const header: CellPlan[] = [];
  const footer: CellPlan[] = [];
  for (const c of plan.cells) {
    if (c.filter) return undefined;
    if (c.row <= detailRow && c.row + c.rowSpan - 1 >= detailRow && (c.row !== detailRow || c.rowSpan > 1)) return undefined;
    if (c.row === detailRow) {
      if (c.vAnchor === plan.vRoot) return undefined;
      detail.push(c);
    } else if (c.row < detailRow) {
      if (c.kind === 'field') return undefined;
      header.push(c);
    } else {
      if (c.kind === 'field' && c.display !== 'summary') return undefined;
      footer.push(c);
    }
  }
  detail.sort((a, b) => a.col - b.col);
  const formulasOf = (c: CellPlan): CompiledFormula[] => [
    ...(c.formula ? [c.formula] : []),
    ...c.conditions.map((k) => k.formula),
    ...(c.link?.params ?? []).flatMap((p) => (p.formula ? [p.formula] : [])),
  ];
  const at = (cell: { row: number; col: number }) => plan.byPos.get(posKey(cell.row, cell.col));

  for (const c of detail) {
    const d = depth.get(c.vAnchor)!;
    for (const f of formulasOf(c)) {
      for (const ref of f.refs) {
        if (ref.kind === 'param') continue;
        if (ref.kind !== 'cell' && ref.kind !== 'index') return undefined;
        const y = at(ref.cell);
        if (!y || y.row !== detailRow) return undefined;
        const dy = depth.get(ref.kind === 'index' ? (y.vNode ?? plan.vRoot) : y.vAnchor);
        if (dy === undefined || dy < 0 || dy > d) return undefined;
      }
    }
  }
  for (const c of header) {
    for (const f of formulasOf(c)) if (f.refs.some((r) => r.kind !== 'param')) return undefined;
  }
  const footerFormulas = new Map<CompiledFormula, CompiledFormula>();
  const aggregates = new Map<string, { cell: CellPlan; fn: AggFn }>();
  for (const c of footer) {
    for (const f of formulasOf(c)) {
      if (f.text === undefined) continue;
      const refs: FormulaRef[] = [...f.refs];
      const text = f.text.replace(AGG, (m, fn: AggFn, k: string) => {
        const ref = f.refs[Number(k)]!;
        const y = ref.kind === 'cell' ? at(ref.cell) : undefined;
        if (!y || y.row !== detailRow) return m;
        const name = `${AGG_PREFIX}${y.address}:${fn}`;
        aggregates.set(name, { cell: y, fn });
        refs.push({ kind: 'param', name });
        return `TRPARAM(${refs.length - 1})`;
      });
      // what is left may only reference cells above or below the detail row
      for (const m of text.matchAll(/TRREF\((\d+)\)/g)) {
        const ref = refs[Number(m[1])]!;
        if (ref.kind !== 'cell') return undefined;
        const y = at(ref.cell);
        if (y && y.row === detailRow) return undefined;
      }
      if (/TRIDX\(/.test(text)) return undefined;
      footerFormulas.set(f, { source: f.source, text, refs });
    }
  }
  const sheet = plan.sheet;
  if (sheet.freeze && parseAddress(sheet.freeze).row > detailRow) return undefined;
  const repeat = sheet.repeatRows ?? template.page.repeatRows;
  if (repeat && Number(repeat.split(':')[1]) > detailRow) return undefined;
  return { sheetIndex, dataset, detailRow, chain, depth, detail, header, footer, footerFormulas, aggregates };
}

interface StreamArgs {
  readonly template: GridTemplate;
  readonly plan: SheetPlan;
  readonly stream: StreamPlan;
  readonly input: EngineInput;
  readonly styles: StyleTable;
  readonly meta: RenderMeta;
  readonly warn: (w: RenderWarning) => void;
  /** Checks the fields of the dataset on its first row. */
  readonly checkFirst: (first: Row) => void;
}

/** An instance of a detail-chain cell while its rows stream. */
interface DInst {
  value: CellValue;
  rows: readonly Row[];
  index: number;
  firstRow: number;
  values?: Map<CellPlan, CellValue>;
  pending?: { -readonly [K in keyof ResolvedCell]: ResolvedCell[K] }[];
}

/** Running aggregates of one detail cell's instance values (as Excel's SUM/COUNT/... see them). */
class RangeStats {
  sum = 0;
  count = 0;
  counta = 0;
  min = Infinity;
  max = -Infinity;
  add(v: CellValue): void {
    if (v === null) return;
    this.counta++;
    const x = v instanceof Date ? toExcelSerial(v) : v;
    if (typeof x === 'number') {
      this.sum += x;
      this.count++;
      if (x < this.min) this.min = x;
      if (x > this.max) this.max = x;
    }
  }
  result(fn: AggFn): CellValue {
    switch (fn) {
      case 'SUM':
        return this.sum;
      case 'COUNT':
        return this.count;
      case 'COUNTA':
        return this.counta;
      case 'AVERAGE':
        return this.count === 0 ? { error: '#DIV/0!' } : this.sum / this.count;
      case 'MIN':
        return this.count === 0 ? 0 : this.min;
      case 'MAX':
        return this.count === 0 ? 0 : this.max;
    }
  }
}

export function expandSheetStreaming(args: StreamArgs): ResolvedSheet {
  const { plan, stream, input, template } = args;
  const sheet = plan.sheet;
  const sheetName = sheet.name;
  const d = stream.detailRow;
  const k = stream.chain.length;
  const warnCell = (c: CellPlan, message: string) => args.warn({ code: 'FORMULA_ERROR', sheet: sheetName, cell: c.address, message });
  const decorator = new Decorator(args.styles, warnCell);
  const detailHeight = sheet.rows[String(d)]?.height;

  const columns: ResolvedColumn[] = [];
  for (let col = 1; col <= plan.maxCol; col++) {
    const t = sheet.columns[columnLetters(col)];
    columns.push(t ? { ...(t.width !== undefined ? { width: t.width } : {}), ...(t.hidden ? { hidden: true } : {}) } : {});
  }
  let frozen: ResolvedSheet['frozen'];
  if (sheet.freeze) {
    const p = parseAddress(sheet.freeze);
    frozen = { rows: p.row - 1, cols: p.col - 1 };
  }
  let repeatRows: ResolvedSheet['repeatRows'];
  const repeatSpec = sheet.repeatRows ?? template.page.repeatRows;
  if (repeatSpec) {
    const [a, b] = repeatSpec.split(':').map(Number) as [number, number];
    repeatRows = { first: a - 1, last: b - 1 };
  }

  // ---------------------------------------------------------------- root cells (header, footer)
  const rootValues = new Map<CellPlan, CellValue>();
  const footerSummaries = new Map<CellPlan, Accumulator>();
  for (const c of stream.footer) if (c.kind === 'field') footerSummaries.set(c, new Accumulator(c.cell.aggregate!));
  const stats = new Map<CellPlan, RangeStats>();
  for (const { cell } of stream.aggregates.values()) if (!stats.has(cell)) stats.set(cell, new RangeStats());
  const statsCells = [...stats.keys()];

  const rootHost: FormulaHost = {
    values: (ref) => {
      if (ref.kind !== 'cell') return [];
      const y = plan.byPos.get(posKey(ref.cell.row, ref.cell.col));
      if (!y) throw new FormulaRefError(`${formatAddress(ref.cell)} is not a cell of the template`);
      return [rootValue(y)];
    },
    index: () => 1,
    param: (name) => {
      const agg = stream.aggregates.get(name);
      if (agg) return stats.get(agg.cell)!.result(agg.fn);
      return input.params[name];
    },
  };
  const rootEval = (c: CellPlan) => (f: CompiledFormula) =>
    evaluateFormula(stream.footerFormulas.get(f) ?? f, { row: c.row, col: c.col, sheet: sheetName }, rootHost);
  const inProgress = new Set<CellPlan>();
  function rootValue(c: CellPlan): CellValue {
    if (rootValues.has(c)) return rootValues.get(c)!;
    if (inProgress.has(c)) {
      warnCell(c, `${c.cell.formula ?? c.address}: the formula refers to itself (circular reference)`);
      return { error: '#REF!' };
    }
    inProgress.add(c);
    let v: CellValue = null;
    if (c.kind === 'text') v = c.text ?? null;
    else if (c.kind === 'field') v = footerSummaries.get(c)!.result();
    else if (c.kind === 'formula') {
      const r = rootEval(c)(c.formula!);
      if (r.problem !== undefined) warnCell(c, r.problem);
      v = r.value;
    }
    inProgress.delete(c);
    rootValues.set(c, v);
    return v;
  }
  const rootRows = (cells: readonly CellPlan[], outRow: (templateRow: number) => number, from: number, to: number): ResolvedRow[] => {
    const byRow = new Map<number, ResolvedCell[]>();
    for (const c of cells) {
      if (c.kind === 'empty' && c.styleId === undefined) continue;
      const evaluate = rootEval(c);
      const cell = makeCell(c, rootValue(c), c.col - 1, c.rowSpan, c.colSpan, evaluate, decorator);
      const r = outRow(c.row);
      let list = byRow.get(r);
      if (!list) byRow.set(r, (list = []));
      list.push(cell);
    }
    const out: ResolvedRow[] = [];
    for (let t = from; t <= to; t++) {
      const r = outRow(t);
      const cellsHere = byRow.get(r);
      const height = sheet.rows[String(t)]?.height;
      if (!cellsHere && height === undefined) continue;
      const sorted = (cellsHere ?? []).sort((a, b) => a.col - b.col);
      out.push(height !== undefined ? { row: r, height, cells: sorted } : { row: r, cells: sorted });
    }
    return out;
  };

  // ---------------------------------------------------------------- detail rows
  const chainCells = stream.chain.map((n) => n.cell!);
  let emitted = 0;
  const topIndex = { n: 0 };

  const depthOf = new Map<CellPlan, number>(plan.cells.map((c) => [c, stream.depth.get(c.vAnchor) ?? -1]));

  const detailDepth = stream.detail.map((c) => depthOf.get(c)!);

  function detailValue(c: CellPlan, chain: DInst[]): CellValue {
    const inst = chain[depthOf.get(c)!]!;
    if (c.expand === 'down') return inst.value;
    if (c.kind === 'text') return c.text ?? null;
    if (inst.values?.has(c)) return inst.values.get(c)!;
    let v: CellValue = null;
    switch (c.kind) {
      case 'field':
        if (c.display === 'summary') v = aggregate(c.cell.aggregate!, inst.rows, c.field!);
        else if (c.display === 'list') v = joinValues(inst.rows.map((r) => cellValue(r[c.field!])), c.format.numFmt);
        else {
          const seen = new Map<unknown, CellValue>();
          for (const r of inst.rows) {
            const x = r[c.field!];
            const key = groupKey(x);
            if (!seen.has(key)) seen.set(key, cellValue(x));
          }
          v = joinValues([...seen.values()], c.format.numFmt);
        }
        break;
      case 'formula': {
        const r = detailEval(c, chain)(c.formula!);
        if (r.problem !== undefined) warnCell(c, r.problem);
        v = r.value;
        break;
      }
      default:
        v = null;
    }
    if (c.kind === 'formula' || c.kind === 'field') (inst.values ??= new Map()).set(c, v);
    return v;
  }
  const detailEval = (c: CellPlan, chain: DInst[]) => (f: CompiledFormula) =>
    evaluateFormula(f, { row: c.row, col: c.col, sheet: sheetName }, {
      values: (ref) => (ref.kind === 'cell' ? [detailValue(plan.byPos.get(posKey(ref.cell.row, ref.cell.col))!, chain)] : []),
      index: (cell) => chain[stream.depth.get(plan.byPos.get(posKey(cell.row, cell.col))!.vNode!)!]!.index,
      param: (name) => input.params[name],
    });

  /**
   * Conditions and link parameters of one output row: every cell of the row resolves references through
   * the same chain of instances, so a formula they have in common (a row-level condition repeated on every
   * cell) is evaluated once per row. Formulas that depend on their own cell's position are evaluated per cell.
   */
  const rowMemo = new Map<string, FormulaResult>();
  const rowEval = (c: CellPlan, chain: DInst[], memo: Map<string, FormulaResult>) => {
    const ev = detailEval(c, chain);
    return (f: CompiledFormula): FormulaResult => {
      if (POSITIONAL.test(f.source)) return ev(f);
      let r = memo.get(f.source);
      if (r === undefined) {
        r = ev(f);
        memo.set(f.source, r);
      }
      return r;
    };
  };

  /** Expands the rows of one top-level unit into output rows. */
  // one row from level j down: every level has one instance of that row; these are reused row after row
  const pool: DInst[] = chainCells.map(() => ({ value: null, rows: [], index: 1, firstRow: 0 }));
  const one: Row[] = [];
  function singleRow(j: number, r: Row, index: number, chain: DInst[], out: ResolvedRow[]): void {
    one[0] = r;
    for (let i = j; i < k; i++) {
      const inst = pool[i]!;
      inst.value = cellValue(r[chainCells[i]!.field!]);
      inst.rows = one;
      inst.index = i === j ? index : 1;
      inst.firstRow = emitted;
      inst.values = undefined;
      inst.pending = undefined;
      chain[i] = inst;
    }
    emitRow(chain, out);
  }

  function expandUnit(rows: readonly Row[], out: ResolvedRow[]): void {
    const chain: DInst[] = new Array(k);
    if (chainCells[0]!.display === 'list') {
      for (const r of rows) singleRow(0, r, ++topIndex.n, chain, out);
      if (rows.length > 0) return;
    }
    const level = (j: number, levelRows: readonly Row[]) => {
      const cell = chainCells[j]!;
      if (levelRows.length === 1 && j > 0) {
        singleRow(j, levelRows[0]!, 1, chain, out);
        return;
      }
      const parts = splitRows(cell, levelRows);
      for (let p = 0; p < parts.length; p++) {
        const part = parts[p]!;
        const inst: DInst = { value: part.value, rows: part.rows, index: j === 0 ? ++topIndex.n : p + 1, firstRow: emitted };
        chain[j] = inst;
        if (j === k - 1) emitRow(chain, out);
        else {
          level(j + 1, part.rows);
          const size = emitted - inst.firstRow;
          if (size > 1 && inst.pending) for (const c of inst.pending) c.rowSpan = size;
        }
      }
    };
    level(0, rows);
  }

  function emitRow(chain: DInst[], out: ResolvedRow[]): void {
    const cells: ResolvedCell[] = [];
    rowMemo.clear();
    for (let n = 0; n < stream.detail.length; n++) {
      const c = stream.detail[n]!;
      const dep = detailDepth[n]!;
      const inst = chain[dep]!;
      if (dep < k - 1 && inst.firstRow !== emitted) continue;
      if (c.kind === 'empty' && c.styleId === undefined) continue;
      const value = detailValue(c, chain);
      const cell = makeCell(c, value, c.col - 1, 1, c.colSpan, c.conditions.length > 0 || c.link ? rowEval(c, chain, rowMemo) : undefined, decorator);
      if (dep < k - 1) (inst.pending ??= []).push(cell);
      cells.push(cell);
    }
    for (const c of statsCells) {
      const dep = depthOf.get(c)!;
      if (dep < k - 1 && chain[dep]!.firstRow !== emitted) continue;
      stats.get(c)!.add(detailValue(c, chain));
    }
    const row = d - 1 + emitted;
    out.push(detailHeight !== undefined ? { row, height: detailHeight, cells } : { row, cells });
    emitted++;
  }

  async function* bands(): AsyncGenerator<RowBand> {
    const header = rootRows(stream.header, (t) => t - 1, 1, d - 1);
    if (header.length > 0) yield { rows: header };
    const top = chainCells[0]!;
    const topField = top.field!;
    const byRun = top.display === 'group';
    let unit: Row[] = [];
    let unitKey: unknown = undefined;
    let band: ResolvedRow[] = [];
    let count = 0;
    const flushUnit = () => {
      if (unit.length === 0) return;
      expandUnit(unit, band);
      unit = [];
    };
    for await (const r of input.openDataset(stream.dataset)) {
      if (count === 0) args.checkFirst(r);
      count++;
      for (const [c, acc] of footerSummaries) acc.add(r[c.field!]);
      if (byRun) {
        const key = groupKey(r[topField]);
        if (unit.length > 0 && key !== unitKey) flushUnit();
        unitKey = key;
        unit.push(r);
      } else {
        unit.push(r);
        if (unit.length >= BAND_ROWS) flushUnit();
      }
      if (band.length >= BAND_ROWS) {
        yield { rows: band };
        band = [];
      }
    }
    flushUnit();
    // no rows: one blank instance, as in full mode
    if (count === 0) expandUnit([], band);
    if (band.length > 0) yield { rows: band };
    args.meta.rowCounts[stream.dataset] = count;
    const shift = emitted - 1;
    const footer = rootRows(stream.footer, (t) => t - 1 + shift, d + 1, plan.maxRow);
    if (footer.length > 0) yield { rows: footer };
    args.meta.outputRows[sheetName] = plan.maxRow + shift;
  }

  return {
    name: sheetName,
    columns,
    ...(frozen ? { frozen } : {}),
    ...(repeatRows ? { repeatRows } : {}),
    floats: [],
    bands: bands(),
  };
}

function makeCell(
  c: CellPlan,
  raw: CellValue,
  col: number,
  rowSpan: number,
  colSpan: number,
  evaluate: ((f: CompiledFormula) => ReturnType<typeof evaluateFormula>) | undefined,
  decorator: Decorator,
): { -readonly [K in keyof ResolvedCell]: ResolvedCell[K] } {
  let value = raw;
  let numFmt = c.format.numFmt;
  if (c.format.isDate || raw instanceof Date) ({ value, numFmt } = finalValue(raw, c.format));
  const out: { -readonly [K in keyof ResolvedCell]: ResolvedCell[K] } = { col, value };
  if (numFmt !== undefined) out.numFmt = numFmt;
  const style = evaluate ? decorator.style(c, evaluate) : c.styleId;
  if (style !== undefined) out.style = style;
  if (rowSpan > 1) out.rowSpan = rowSpan;
  if (colSpan > 1) out.colSpan = colSpan;
  if (c.link && evaluate) out.link = decorator.link(c, evaluate);
  return out;
}
