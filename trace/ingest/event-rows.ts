import type { TraceEvent } from './events.js';
import type { Entity, FactTable } from './store-tables.js';

/**
 * What an event does to the store, independent of the dialect: rows whose references to other tables
 * are still codes (`Ref`), resolved to ids by the writer. Cells follow the column order of store-tables.ts.
 */
export interface Ref {
  readonly entity: Entity;
  /** The natural key as one string: the code, or code + NUL + version for a route. */
  readonly key: string;
  readonly code: string;
  readonly version?: number;
}

export type Cell = string | number | boolean | null | Ref;

export type RowIntent =
  /** Create or update a coded row; null cells leave the stored value as it is. */
  | { op: 'upsert'; entity: Entity; key: string; values: Cell[] }
  /** Replace all steps of a route. */
  | { op: 'steps'; route: Ref; rows: Cell[][] }
  /** Create or replace one parameter_spec row (route ref first). */
  | { op: 'spec'; key: string; values: Cell[] }
  /** Append a row (sample: skipped when its equipment, parameter and time are already stored). */
  | { op: 'insert'; table: FactTable; values: Cell[] };

export function isRef(c: Cell): c is Ref {
  return c !== null && typeof c === 'object';
}

/** The version a work order's route gets when it names none. */
export const DEFAULT_ROUTE_VERSION = 1;

export function codeRef(entity: Entity, code: string): Ref {
  return { entity, key: code, code };
}

export function routeRef(code: string, version: number): Ref {
  return { entity: 'route', key: `${code}\u0000${version}`, code, version };
}

const opt = (entity: Entity, code: string | undefined): Ref | null => (code === undefined ? null : codeRef(entity, code));
const v = <T>(x: T | undefined): T | null => (x === undefined ? null : x);

const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** An ISO-8601 time with a zone as the stores' canonical UTC text: `2026-03-01T08:00:00.000Z`. */
export function utc(t: string): string;
export function utc(t: string | undefined): string | null;
export function utc(t: string | undefined): string | null {
  if (t === undefined) return null;
  if (CANONICAL.test(t)) return t;
  return new Date(t).toISOString();
}

/** The rows one event writes. */
export function eventRows(e: TraceEvent): RowIntent[] {
  switch (e.type) {
    case 'sample':
      return [{ op: 'insert', table: 'sample', values: [codeRef('equipment', e.equipment), e.parameter, utc(e.ts), e.value, v(e.quality)] }];
    case 'lot':
      return [
        {
          op: 'upsert',
          entity: 'lot',
          key: e.lot,
          values: [e.lot, codeRef('material', e.material), v(e.qty), v(e.uom), v(e.status), opt('supplier', e.supplier), v(e.supplierLot), opt('work_order', e.workOrder), utc(e.at)],
        },
      ];
    case 'operation':
      return [
        {
          op: 'upsert',
          entity: 'operation',
          key: e.operation,
          values: [
            e.operation, opt('work_order', e.workOrder), codeRef('lot', e.lot), e.step, codeRef('equipment', e.equipment), opt('personnel', e.operator),
            utc(e.start), utc(e.end), v(e.result),
          ],
        },
      ];
    case 'consume': {
      const output = codeRef('lot', e.output);
      const op = opt('operation', e.operation);
      const at = utc(e.at);
      return e.inputs.map((i) => ({ op: 'insert', table: 'lot_link', values: [codeRef('lot', i.lot), output, v(i.qty), op, at] }));
    }
    case 'inspection': {
      let result: string | null = v(e.result);
      if (result === null && e.value !== undefined && (e.lsl !== undefined || e.usl !== undefined)) {
        result = (e.lsl === undefined || e.value >= e.lsl) && (e.usl === undefined || e.value <= e.usl) ? 'pass' : 'fail';
      }
      return [
        {
          op: 'insert',
          table: 'inspection',
          values: [codeRef('lot', e.lot), e.characteristic, v(e.value), v(e.lsl), v(e.usl), result, opt('personnel', e.inspector), utc(e.at)],
        },
      ];
    }
    case 'alarm':
      return [
        {
          op: 'insert',
          table: 'alarm',
          values: [e.rule, codeRef('equipment', e.equipment), v(e.parameter), v(e.value), v(e.limit), v(e.severity), utc(e.raisedAt), utc(e.clearedAt), v(e.ackedBy), v(e.message)],
        },
      ];
    case 'shipment':
      return [{ op: 'insert', table: 'shipment', values: [codeRef('lot', e.lot), codeRef('customer', e.customer), v(e.qty), utc(e.at), v(e.orderRef)] }];
    case 'material':
      return [{ op: 'upsert', entity: 'material', key: e.material, values: [e.material, v(e.name), e.kind, v(e.uom)] }];
    case 'supplier':
      return [{ op: 'upsert', entity: 'supplier', key: e.supplier, values: [e.supplier, v(e.name), v(e.country)] }];
    case 'customer':
      return [{ op: 'upsert', entity: 'customer', key: e.customer, values: [e.customer, v(e.name), v(e.country)] }];
    case 'equipment':
      return [{ op: 'upsert', entity: 'equipment', key: e.equipment, values: [e.equipment, v(e.name), v(e.class), v(e.line), v(e.area), v(e.plant)] }];
    case 'personnel':
      return [{ op: 'upsert', entity: 'personnel', key: e.person, values: [e.person, v(e.name), v(e.role)] }];
    case 'workOrder':
      return [
        {
          op: 'upsert',
          entity: 'work_order',
          key: e.workOrder,
          values: [
            e.workOrder, codeRef('material', e.product), v(e.qty), e.route === undefined ? null : routeRef(e.route, e.routeVersion ?? DEFAULT_ROUTE_VERSION), v(e.status),
            v(e.erpRef), v(e.plant),
          ],
        },
      ];
    case 'route': {
      const route = routeRef(e.route, e.version);
      return [
        { op: 'upsert', entity: 'route', key: route.key, values: [e.route, e.version, v(e.name), opt('material', e.product)] },
        { op: 'steps', route, rows: e.steps.map((s) => [route, s.seq, s.operation, v(s.equipmentClass)]) },
      ];
    }
    case 'parameterSpec': {
      const route = routeRef(e.route, e.version);
      return [
        {
          op: 'spec',
          key: `${route.key}\u0000${e.step}\u0000${e.parameter}`,
          values: [route, e.step, e.parameter, v(e.lsl), v(e.target), v(e.usl), v(e.unit)],
        },
      ];
    }
  }
}
