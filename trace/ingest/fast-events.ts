import type { TraceEvent } from './events.js';
import { isUtcTime, plainText } from './fast-sample.js';

/**
 * A fast path for the other frequent events (lots, operations, consumes, inspections, shipments, alarms) in plain
 * form: codes without surrounding blanks, times in UTC ending in Z, numbers finite. It accepts only what the zod
 * schema (events.ts) accepts, and zod would return the same data; anything else, every invalid event included,
 * returns undefined and goes through zod, which also words the errors. tests/ingest-validate.test.ts checks the
 * agreement with the schema.
 */
export function acceptPlainEvent(o: Record<string, unknown>): TraceEvent | undefined {
  const spec = typeof o.type === 'string' ? SPECS.get(o.type) : undefined;
  if (!spec) return undefined;
  let required = 0;
  for (const k in o) {
    const must = spec.required.get(k);
    if (must) {
      if (!must(o[k])) return undefined;
      required++;
      continue;
    }
    const may = spec.optional.get(k);
    if (!may || !may(o[k])) return undefined;
  }
  return required === spec.required.size ? (o as TraceEvent) : undefined;
}

type Check = (v: unknown) => boolean;

const code: Check = (v) => plainText(v, 64);
const id: Check = (v) => plainText(v, 128);
const time: Check = (v) => typeof v === 'string' && isUtcTime(v);
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const qty: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const int32: Check = (v) => typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
const textUpTo =
  (max: number): Check =>
  (v) =>
    typeof v === 'string' && v.length <= max;
const oneOf = (...values: string[]): Check => {
  const set = new Set(values);
  return (v) => typeof v === 'string' && set.has(v);
};
const literal =
  (value: string): Check =>
  (v) =>
    v === value;
const consumeInputs: Check = (v) => {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const input of v) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return false;
    let hasLot = false;
    for (const k in input) {
      const x = (input as Record<string, unknown>)[k];
      if (k === 'lot') {
        if (!code(x)) return false;
        hasLot = true;
      } else if (k !== 'qty' || !qty(x)) return false;
    }
    if (!hasLot) return false;
  }
  return true;
};

function spec(type: string, required: Record<string, Check>, optional: Record<string, Check>) {
  return [type, { required: new Map(Object.entries({ type: literal(type), id, ...required })), optional: new Map(Object.entries(optional)) }] as const;
}

const SPECS = new Map([
  spec(
    'lot',
    { lot: code, material: code },
    { qty, uom: textUpTo(16), status: oneOf('released', 'hold', 'quarantine', 'consumed', 'shipped'), supplier: code, supplierLot: code, workOrder: code, at: time },
  ),
  spec('operation', { operation: code, lot: code, step: int32, equipment: code, start: time }, { workOrder: code, operator: code, end: time, result: oneOf('ok', 'nok', 'rework', 'scrap') }),
  spec('consume', { output: code, inputs: consumeInputs }, { operation: code, at: time }),
  spec('inspection', { lot: code, characteristic: code, at: time }, { value: num, lsl: num, usl: num, result: oneOf('pass', 'fail'), inspector: code }),
  spec('shipment', { lot: code, customer: code, at: time }, { qty, orderRef: code }),
  spec(
    'alarm',
    { rule: code, equipment: code, raisedAt: time },
    { parameter: code, value: num, limit: num, severity: oneOf('info', 'warning', 'critical'), clearedAt: time, ackedBy: code, message: textUpTo(500) },
  ),
]);
