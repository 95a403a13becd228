import { z } from 'zod';

/**
 * The NDJSON ingest contract (DESIGN §6, docs/ingest.md): one event per line, `type` and a unique `id`.
 * Times are ISO-8601 with a zone (`2026-03-01T08:00:00Z`, `…+08:00`); they are stored in UTC.
 */
const code = z.string().trim().min(1, 'must be a non-empty code').max(64, 'must be at most 64 characters');
const text = z.string().max(200, 'must be at most 200 characters');
const time = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 time with a zone, like 2026-03-01T08:00:00Z' })
  .refine((s) => {
    // Every store keeps years 1000-9999 (MariaDB datetime, SQL Server datetime2); the year is checked in UTC.
    const y = new Date(s).getUTCFullYear();
    return y >= 1000 && y <= 9999;
  }, 'must be between the years 1000 and 9999 (in UTC)');
/** A whole number that fits the stores' 32-bit integer columns. */
const int32 = (message = 'must be a whole number') =>
  z.number({ message: 'must be a number' }).int(message).min(-2147483648, 'must be at least -2147483648').max(2147483647, 'must be at most 2147483647');
const num = z.number({ message: 'must be a number' }).refine(Number.isFinite, 'must be a finite number');
const qty = num.refine((v) => v >= 0, 'must be zero or more');
const base = { id: z.string().trim().min(1, 'must be a non-empty event id').max(128, 'must be at most 128 characters') };

export const LOT_STATUSES = ['released', 'hold', 'quarantine', 'consumed', 'shipped'] as const;
export const MATERIAL_KINDS = ['raw', 'intermediate', 'finished'] as const;

export const lotEvent = z.strictObject({
  type: z.literal('lot'),
  ...base,
  lot: code,
  material: code,
  qty: qty.optional(),
  uom: z.string().max(16).optional(),
  status: z.enum(LOT_STATUSES).optional(),
  supplier: code.optional(),
  supplierLot: code.optional(),
  workOrder: code.optional(),
  at: time.optional(),
});

export const operationEvent = z.strictObject({
  type: z.literal('operation'),
  ...base,
  operation: code,
  lot: code,
  workOrder: code.optional(),
  step: int32('must be a whole step number'),
  equipment: code,
  operator: code.optional(),
  start: time,
  end: time.optional(),
  result: z.enum(['ok', 'nok', 'rework', 'scrap']).optional(),
});

export const consumeEvent = z.strictObject({
  type: z.literal('consume'),
  ...base,
  output: code,
  inputs: z
    .array(z.strictObject({ lot: code, qty: qty.optional() }), { message: 'must be a list of {lot, qty}' })
    .min(1, 'must name at least one input lot'),
  operation: code.optional(),
  at: time.optional(),
});

export const sampleEvent = z.strictObject({
  type: z.literal('sample'),
  ...base,
  equipment: code,
  parameter: code,
  ts: time,
  value: num,
  quality: z.enum(['good', 'uncertain', 'bad']).optional(),
});

export const inspectionEvent = z.strictObject({
  type: z.literal('inspection'),
  ...base,
  lot: code,
  characteristic: code,
  value: num.optional(),
  lsl: num.optional(),
  usl: num.optional(),
  result: z.enum(['pass', 'fail']).optional(),
  inspector: code.optional(),
  at: time,
});

export const alarmEvent = z.strictObject({
  type: z.literal('alarm'),
  ...base,
  rule: code,
  equipment: code,
  parameter: code.optional(),
  value: num.optional(),
  limit: num.optional(),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  raisedAt: time,
  clearedAt: time.optional(),
  ackedBy: code.optional(),
  message: z.string().max(500).optional(),
});

export const shipmentEvent = z.strictObject({
  type: z.literal('shipment'),
  ...base,
  lot: code,
  customer: code,
  qty: qty.optional(),
  at: time,
  orderRef: code.optional(),
});

export const materialEvent = z.strictObject({
  type: z.literal('material'),
  ...base,
  material: code,
  name: text.optional(),
  kind: z.enum(MATERIAL_KINDS),
  uom: z.string().max(16).optional(),
});

const partyFields = { name: text.optional(), country: z.string().max(64).optional() };
export const supplierEvent = z.strictObject({ type: z.literal('supplier'), ...base, supplier: code, ...partyFields });
export const customerEvent = z.strictObject({ type: z.literal('customer'), ...base, customer: code, ...partyFields });

export const equipmentEvent = z.strictObject({
  type: z.literal('equipment'),
  ...base,
  equipment: code,
  name: text.optional(),
  class: code.optional(),
  line: code.optional(),
  area: code.optional(),
  plant: code.optional(),
});

export const personnelEvent = z.strictObject({
  type: z.literal('personnel'),
  ...base,
  person: code,
  name: text.optional(),
  role: code.optional(),
});

export const routeEvent = z.strictObject({
  type: z.literal('route'),
  ...base,
  route: code,
  version: int32().min(1, 'must be 1 or more'),
  name: text.optional(),
  product: code.optional(),
  steps: z
    .array(
      z.strictObject({
        seq: int32(),
        operation: z.string().min(1, 'must be a non-empty operation name').max(100, 'must be at most 100 characters'),
        equipmentClass: code.optional(),
      }),
    )
    .min(1, 'must list at least one step')
    .superRefine((steps, ctx) => {
      const seen = new Set<number>();
      steps.forEach((s, i) => {
        if (seen.has(s.seq)) ctx.addIssue({ code: 'custom', path: [i, 'seq'], message: `repeats step ${s.seq}; each step number appears once per route` });
        seen.add(s.seq);
      });
    }),
});

export const parameterSpecEvent = z.strictObject({
  type: z.literal('parameterSpec'),
  ...base,
  route: code,
  version: int32().min(1, 'must be 1 or more'),
  step: int32('must be a whole step number'),
  parameter: code,
  lsl: num.optional(),
  target: num.optional(),
  usl: num.optional(),
  unit: z.string().max(16).optional(),
});

export const workOrderEvent = z.strictObject({
  type: z.literal('workOrder'),
  ...base,
  workOrder: code,
  product: code,
  qty: qty.optional(),
  route: code.optional(),
  routeVersion: int32().min(1, 'must be 1 or more').optional(),
  status: z.enum(['planned', 'released', 'running', 'completed', 'closed']).optional(),
  erpRef: code.optional(),
  plant: code.optional(),
});

export const traceEvent = z.discriminatedUnion('type', [
  lotEvent, operationEvent, consumeEvent, sampleEvent, inspectionEvent, alarmEvent, shipmentEvent,
  materialEvent, supplierEvent, customerEvent, equipmentEvent, personnelEvent, routeEvent, parameterSpecEvent, workOrderEvent,
], { message: 'type must be one of lot, operation, consume, sample, inspection, alarm, shipment, material, supplier, customer, equipment, personnel, route, parameterSpec, workOrder' });

export type TraceEvent = z.infer<typeof traceEvent>;
export type EventType = TraceEvent['type'];
export type EventOf<T extends EventType> = Extract<TraceEvent, { type: T }>;
