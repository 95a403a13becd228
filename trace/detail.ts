import type { DataSource, Row } from '../datasources/data-source.js';
import { TraceReportError } from '../datasources/errors.js';
import {
  alarmsSql, INSPECTIONS_SQL, LOTS_BY_CODE_SQL, MARIADB_EQUIPMENT_PARAMETERS_SQL, MARIADB_OPERATIONS_SQL, MARIADB_SPECS_SQL,
  OPERATIONS_SQL, parameterSummarySql, sampleWindowsSql,
} from './detail-sql.js';
import { chunks, isoTime, num, str } from './genealogy-values.js';
import { withTraceSession, type TraceQuery } from './genealogy-session.js';

export interface ParameterSummary {
  parameter: string;
  unit: string | null;
  /** Samples on the operation's equipment from its start to its end (both included). */
  count: number;
  min: number | null;
  avg: number | null;
  max: number | null;
  lsl: number | null;
  target: number | null;
  usl: number | null;
  /** Samples below lsl or above usl (a missing limit is not checked). */
  outOfSpec: number;
}

export interface OperationDetail {
  operation: string;
  step: number | null;
  workOrder: string | null;
  equipment: string | null;
  equipmentName: string | null;
  operator: string | null;
  operatorName: string | null;
  start: string | null;
  end: string | null;
  result: string | null;
  /** Every parameter sampled during the operation, and every parameter its route step has a spec for. */
  parameters: ParameterSummary[];
}

export interface InspectionDetail {
  characteristic: string;
  value: number | null;
  lsl: number | null;
  usl: number | null;
  /** As recorded; when none was, pass/fail from value against the limits (null without value or limits). */
  result: string | null;
  inspector: string | null;
  at: string | null;
}

export interface AlarmDetail {
  rule: string;
  equipment: string | null;
  parameter: string | null;
  value: number | null;
  limit: number | null;
  severity: string | null;
  raisedAt: string;
  clearedAt: string | null;
  /** The operation during which it was raised. */
  operation: string;
}

export interface LotDetail {
  lot: string;
  operations: OperationDetail[];
  inspections: InspectionDetail[];
  alarms: AlarmDetail[];
}

/**
 * The detail of each lot (DESIGN §1): operations with their process parameters against spec, inspections
 * and alarms. A handful of set-based queries answer for all lots at once (ids as bound lists, chunked),
 * never one query per lot. Results come in the order of `lots` (each code once); an unknown code is
 * LOT_NOT_FOUND.
 */
export async function traceDetail(db: DataSource, lots: string[]): Promise<LotDetail[]> {
  const codes = [...new Set(lots)];
  if (codes.length === 0) return [];
  return withTraceSession(db, (query) => details(db, query, codes));
}

async function details(db: DataSource, query: TraceQuery, codes: string[]): Promise<LotDetail[]> {
  const idOf = new Map<string, number>();
  for (const part of chunks(codes)) {
    for (const r of await query(LOTS_BY_CODE_SQL, { codes: part })) idOf.set(String(r.code), Number(r.id));
  }
  const missing = codes.filter((c) => !idOf.has(c));
  if (missing.length) {
    const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
    throw new TraceReportError('LOT_NOT_FOUND', `lot ${shown} not found`, { lots: missing });
  }

  const details = new Map<number, LotDetail>();
  for (const code of codes) details.set(idOf.get(code)!, { lot: code, operations: [], inspections: [], alarms: [] });
  const opsById = new Map<number, OperationDetail>();
  const summarise = (ids: number[]): Promise<Row[]> =>
    db.dialect === 'mysql' ? summariseByWindows(query, ids) : query(parameterSummarySql(db.dialect), { ids });

  for (const part of chunks([...details.keys()])) {
    const params = { ids: part };
    const [ops, summaries, inspections, alarms] = await Promise.all([
      query(OPERATIONS_SQL, params),
      summarise(part),
      query(INSPECTIONS_SQL, params),
      query(alarmsSql(db.dialect), params),
    ]);
    for (const r of ops) {
      const op = toOperation(r);
      opsById.set(Number(r.op_id), op);
      details.get(Number(r.lot_id))!.operations.push(op);
    }
    for (const r of summaries) opsById.get(Number(r.op_id))?.parameters.push(toSummary(r));
    for (const r of inspections) details.get(Number(r.lot_id))!.inspections.push(toInspection(r));
    for (const r of alarms) details.get(Number(r.lot_id))!.alarms.push(toAlarm(r));
  }

  for (const d of details.values()) {
    d.operations.sort((a, b) => cmp(a.start, b.start) || (a.step ?? 0) - (b.step ?? 0) || cmp(a.operation, b.operation));
    for (const op of d.operations) op.parameters.sort((a, b) => cmp(a.parameter, b.parameter));
    d.inspections.sort((a, b) => cmp(a.at, b.at) || cmp(a.characteristic, b.characteristic));
    d.alarms.sort((a, b) => cmp(a.raisedAt, b.raisedAt) || cmp(a.rule, b.rule) || cmp(a.operation, b.operation));
  }
  return codes.map((c) => details.get(idOf.get(c)!)!);
}

/** Sample windows bound as values, this many per statement (7 values each). */
const WINDOWS_PER_STATEMENT = 100;
const FAR_FUTURE = new Date('9999-12-31T23:59:59.999Z');

/**
 * MariaDB: the operations, their equipment's parameters and their routes' specs, then every
 * (operation, parameter) window's samples with the bounds as values (see MARIADB_OPERATIONS_SQL).
 */
async function summariseByWindows(query: TraceQuery, ids: number[]): Promise<Row[]> {
  const ops = await query(MARIADB_OPERATIONS_SQL, { ids });
  if (ops.length === 0) return [];
  const sampled = new Map<number, string[]>();
  for (const part of chunks([...new Set(ops.map((o) => Number(o.equipment_id)))])) {
    for (const r of await query(MARIADB_EQUIPMENT_PARAMETERS_SQL, { equipment: part })) {
      const e = Number(r.equipment_id);
      sampled.set(e, [...(sampled.get(e) ?? []), String(r.parameter)]);
    }
  }
  const specs = new Map<string, Row>();
  const routes = [...new Set(ops.map((o) => o.route_id).filter((r) => r !== null && r !== undefined).map(Number))];
  for (const part of chunks(routes)) {
    for (const r of await query(MARIADB_SPECS_SQL, { routes: part })) specs.set(`${r.route_id}|${r.step_seq}|${r.parameter}`, r);
  }
  const windows: Row[] = [];
  for (const o of ops) {
    const parameters = new Set(sampled.get(Number(o.equipment_id)) ?? []);
    for (const [key, spec] of specs) if (key.startsWith(`${o.route_id}|${o.step_seq}|`)) parameters.add(String(spec.parameter));
    for (const parameter of parameters) {
      const spec = specs.get(`${o.route_id}|${o.step_seq}|${parameter}`);
      windows.push({ ...o, parameter, spec_id: spec?.spec_id ?? null, lsl: spec?.lsl ?? null, target: spec?.target ?? null, usl: spec?.usl ?? null, unit: spec?.unit ?? null });
    }
  }
  const out: Row[] = [];
  for (const part of chunks(windows, WINDOWS_PER_STATEMENT)) {
    const params: Record<string, string | number | Date | null> = {};
    part.forEach((w, i) => {
      params[`k${i}`] = i;
      params[`e${i}`] = Number(w.equipment_id);
      params[`p${i}`] = String(w.parameter);
      params[`s${i}`] = w.started_at as Date;
      params[`t${i}`] = (w.ended_at as Date | null) ?? FAR_FUTURE;
      params[`l${i}`] = num(w.lsl);
      params[`u${i}`] = num(w.usl);
    });
    for (const r of await query(sampleWindowsSql(part.length), params)) {
      const w = part[Number(r.k)]!;
      if (Number(r.n) > 0 || w.spec_id !== null) out.push({ ...w, ...r, out_of_spec: r.out_of_spec ?? 0 });
    }
  }
  return out;
}

function cmp(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function toOperation(r: Row): OperationDetail {
  return {
    operation: String(r.operation),
    step: num(r.step),
    workOrder: str(r.work_order),
    equipment: str(r.equipment),
    equipmentName: str(r.equipment_name),
    operator: str(r.operator),
    operatorName: str(r.operator_name),
    start: isoTime(r.started_at),
    end: isoTime(r.ended_at),
    result: str(r.result),
    parameters: [],
  };
}

function toSummary(r: Row): ParameterSummary {
  return {
    parameter: String(r.parameter),
    unit: str(r.unit),
    count: num(r.n) ?? 0,
    min: num(r.min_value),
    avg: num(r.avg_value),
    max: num(r.max_value),
    lsl: num(r.lsl),
    target: num(r.target),
    usl: num(r.usl),
    outOfSpec: num(r.out_of_spec) ?? 0,
  };
}

function toInspection(r: Row): InspectionDetail {
  const value = num(r.value);
  const lsl = num(r.lsl);
  const usl = num(r.usl);
  let result = str(r.result);
  if (result === null && value !== null && (lsl !== null || usl !== null)) {
    result = (lsl !== null && value < lsl) || (usl !== null && value > usl) ? 'fail' : 'pass';
  }
  return { characteristic: String(r.characteristic), value, lsl, usl, result, inspector: str(r.inspector), at: isoTime(r.at) };
}

function toAlarm(r: Row): AlarmDetail {
  return {
    rule: String(r.rule),
    equipment: str(r.equipment),
    parameter: str(r.parameter),
    value: num(r.value),
    limit: num(r.limit_value),
    severity: str(r.severity),
    raisedAt: isoTime(r.raised_at)!,
    clearedAt: isoTime(r.cleared_at),
    operation: String(r.operation),
  };
}
