import type { DataSource, Row } from '../datasources/data-source.js';
import { TraceReportError } from '../datasources/errors.js';
import { genealogySql, edgesSql, SHIPMENTS_SQL, MAX_DEPTH, type Direction } from './genealogy-sql.js';
import { bool, chunks, isoTime, num, str } from './genealogy-values.js';
import { withTraceSession, type TraceQuery } from './genealogy-session.js';

export { genealogySql, MAX_DEPTH, type Direction } from './genealogy-sql.js';

export interface GenealogyLot {
  lot: string;
  material: string | null;
  materialName: string | null;
  kind: string | null;
  depth: number;
  qty: number | null;
  uom: string | null;
  status: string | null;
  supplier?: string;
  workOrder?: string;
  producedAt?: string;
  placeholder: boolean;
  /** Lot codes from the root to this lot along one shortest path (the root's is [root]). */
  path: string[];
}

/** A lot_link: `input` was consumed into `output` (material-flow sense, whatever the walk direction). */
export interface GenealogyEdge {
  input: string;
  output: string;
  qty: number | null;
  operation?: string;
  at?: string;
}

export interface Shipment {
  lot: string;
  customer: string;
  customerName: string | null;
  qty: number | null;
  at: string | null;
  orderRef?: string;
}

export interface Genealogy {
  root: string;
  direction: Direction;
  /** Every lot reached, once, at its smallest depth; ordered by depth then code. The root is at depth 0. */
  lots: GenealogyLot[];
  /** Every link followed: the links out of each reached lot above the depth limit, in the walk direction. */
  edges: GenealogyEdge[];
  /** Forward: the shipments of every reached lot (the root included). Backward: []. */
  shipments: Shipment[];
  /** Each cycle found in the data, as the lot codes walked, first lot repeated at the end (['A','B','C','A']). */
  cycles: string[][];
  /** True when the depth limit (or the walk-row guard) cut the walk: lots beyond it are not listed. */
  truncated: boolean;
}

export interface TraceOptions {
  direction: Direction;
  /** Deepest level walked (default 100, at most MAX_DEPTH); 0 returns the root alone. */
  maxDepth?: number;
  /**
   * Guard for dialects that enumerate paths (SQLite, SQL Server): the most walk rows the CTE may produce
   * before it stops and the result is marked truncated. Default 500,000.
   */
  maxRows?: number;
}

export const DEFAULT_MAX_DEPTH = 100;
export const DEFAULT_MAX_ROWS = 500_000;

/**
 * The genealogy of a lot: backward to every input down to raw material and supplier, or forward to every
 * lot it went into and their shipments. One recursive CTE walks the graph (see genealogy-sql.ts), then
 * the links and shipments of the reached lots are read by bound id lists.
 */
export async function traceGenealogy(db: DataSource, lot: string, opts: TraceOptions): Promise<Genealogy> {
  const direction = opts.direction;
  if (direction !== 'backward' && direction !== 'forward') {
    throw new TraceReportError('ARGUMENT_INVALID', `direction must be backward or forward, got "${String(direction)}"`);
  }
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 0 || maxDepth > MAX_DEPTH) {
    throw new TraceReportError('ARGUMENT_INVALID', `depth must be a whole number from 0 to ${MAX_DEPTH}, got ${maxDepth}`);
  }
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 1) {
    throw new TraceReportError('ARGUMENT_INVALID', `maxRows must be a whole number ≥ 1, got ${maxRows}`);
  }

  return withTraceSession(db, (query) => walk(db, query, lot, direction, maxDepth, maxRows));
}

async function walk(db: DataSource, query: TraceQuery, lot: string, direction: Direction, maxDepth: number, maxRows: number): Promise<Genealogy> {
  const params: Record<string, string | number> = { lot, maxDepth };
  if (db.dialect === 'sqlite' || db.dialect === 'mssql') params.maxRows = maxRows;
  const rows = await query(genealogySql(db.dialect, direction), params);
  const reached = rows.filter((r) => num(r.cyc) === 0);
  if (reached.length === 0) {
    throw new TraceReportError('LOT_NOT_FOUND', `lot ${lot} not found`, { lot });
  }

  const codeOf = new Map<number, string>();
  const depthOf = new Map<string, number>();
  for (const r of reached) {
    codeOf.set(Number(r.lot_id), String(r.code));
    depthOf.set(String(r.code), Number(r.depth));
  }
  const pathCodes = (path: unknown): string[] =>
    String(path)
      .split('/')
      .filter(Boolean)
      .map((id) => codeOf.get(Number(id)) ?? `#${id}`);

  const lots = reached.map((r) => toLot(r, pathCodes(r.path))).sort((a, b) => a.depth - b.depth || cmp(a.lot, b.lot));
  const root = lots.find((l) => l.depth === 0)!;

  let truncated = reached.some((r) => r.walked !== null && r.walked !== undefined && Number(r.walked) >= maxRows);

  // Links out of every reached lot; those out of lots at the depth limit were not followed: truncation.
  const frontier = new Set(reached.filter((r) => Number(r.depth) >= maxDepth).map((r) => Number(r.lot_id)));
  const edges: Array<GenealogyEdge & { fromDepth: number }> = [];
  const ids = reached.map((r) => Number(r.lot_id));
  for (const part of chunks(ids)) {
    for (const e of await query(edgesSql(direction), { ids: part })) {
      const [fromId, toId] = direction === 'backward' ? [Number(e.output_id), Number(e.input_id)] : [Number(e.input_id), Number(e.output_id)];
      if (frontier.has(fromId)) {
        truncated = true;
        continue;
      }
      if (!codeOf.has(toId)) {
        truncated = true; // the row guard stopped the walk before this link was followed
        continue;
      }
      const from = codeOf.get(fromId)!;
      const edge: GenealogyEdge & { fromDepth: number } = {
        input: codeOf.get(Number(e.input_id))!,
        output: codeOf.get(Number(e.output_id))!,
        qty: num(e.qty),
        fromDepth: depthOf.get(from) ?? 0,
      };
      if (e.operation !== null && e.operation !== undefined) edge.operation = String(e.operation);
      const at = isoTime(e.at);
      if (at) edge.at = at;
      edges.push(edge);
    }
  }
  edges.sort((a, b) => a.fromDepth - b.fromDepth || cmp(a.output, b.output) || cmp(a.input, b.input));

  const shipments: Shipment[] = [];
  if (direction === 'forward') {
    for (const part of chunks(ids)) {
      for (const s of await query(SHIPMENTS_SQL, { ids: part })) shipments.push(toShipment(s, codeOf.get(Number(s.lot_id))!));
    }
    shipments.sort((a, b) => (depthOf.get(a.lot)! - depthOf.get(b.lot)!) || cmp(a.lot, b.lot) || cmp(a.at ?? '', b.at ?? '') || cmp(a.customer, b.customer));
  }

  const cycles = collectCycles(
    rows.filter((r) => num(r.cyc) === 1).map((r) => [...pathCodes(r.path)]),
    depthOf,
  );

  return {
    root: root.lot,
    direction,
    lots,
    edges: edges.map(({ fromDepth: _, ...e }) => e),
    shipments,
    cycles,
    truncated,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toLot(r: Row, path: string[]): GenealogyLot {
  const lot: GenealogyLot = {
    lot: String(r.code),
    material: str(r.material),
    materialName: str(r.material_name),
    kind: str(r.kind),
    depth: Number(r.depth),
    qty: num(r.qty),
    uom: str(r.uom),
    status: str(r.status),
    placeholder: bool(r.placeholder),
    path,
  };
  if (r.supplier !== null && r.supplier !== undefined) lot.supplier = String(r.supplier);
  if (r.work_order !== null && r.work_order !== undefined) lot.workOrder = String(r.work_order);
  const producedAt = isoTime(r.produced_at);
  if (producedAt) lot.producedAt = producedAt;
  return lot;
}

function toShipment(s: Row, lot: string): Shipment {
  const out: Shipment = {
    lot,
    customer: String(s.customer),
    customerName: str(s.customer_name),
    qty: num(s.qty),
    at: isoTime(s.at),
  };
  if (s.order_ref !== null && s.order_ref !== undefined) out.orderRef = String(s.order_ref);
  return out;
}

/**
 * Turns cycle-closing walk rows (path codes, the last lot being already on the path) into distinct
 * cycles, each starting and ending at its lot nearest the root (ties: smallest code).
 */
export function collectCycles(closings: string[][], depthOf: ReadonlyMap<string, number>): string[][] {
  const seen = new Map<string, string[]>();
  for (const path of closings) {
    const last = path[path.length - 1]!;
    const start = path.indexOf(last);
    if (start < 0 || start === path.length - 1) continue;
    const ring = path.slice(start, path.length - 1); // the lots on the cycle, in walk order, once each
    let best = 0;
    for (let i = 1; i < ring.length; i++) {
      const di = depthOf.get(ring[i]!) ?? Infinity;
      const db = depthOf.get(ring[best]!) ?? Infinity;
      if (di < db || (di === db && ring[i]! < ring[best]!)) best = i;
    }
    const rotated = [...ring.slice(best), ...ring.slice(0, best)];
    const key = rotated.join('\u0000');
    if (!seen.has(key)) seen.set(key, [...rotated, rotated[0]!]);
  }
  return [...seen.values()].sort((a, b) => (depthOf.get(a[0]!)! - depthOf.get(b[0]!)!) || cmp(a.join('/'), b.join('/')));
}
