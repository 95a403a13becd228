import type { TraceEvent } from '../ingest/events.js';
import { CUSTOMERS, INCIDENT_PARAMETER, INSPECTIONS, MADE, RAW, ROUTES, SUPPLIERS, type InspectionDef, type SpecDef } from './catalog.js';
import type { Layout } from './layout.js';
import type { InspectionRecord, LotRecord, MadeLotRecord, OperationRecord, ShipmentRecord } from './production.js';
import { Random } from './random.js';

/**
 * Turns the simulated plant into ingest events: master data first, then production in time order of the
 * lots, with process samples (noise around the target, rarely out of spec; out of spec on purpose where the
 * incident's resin was compounded), alarms where samples left their spec, inspections and shipments.
 */

const DAY_MS = 86_400_000;
let cachedDay = NaN;
let cachedPrefix = '';
const p2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const p3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** `new Date(ms).toISOString()`, faster: the date part is cached (a plant's times come roughly in order). */
export function iso(ms: number): string {
  const t = Math.floor(ms);
  const day = Math.floor(t / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let r = t - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const sec = Math.floor(r / 1000);
  return `${cachedPrefix}${p2(h)}:${p2(m)}:${p2(sec)}.${p3(r - sec * 1000)}Z`;
}
const round2 = (v: number) => Math.round(v * 100) / 100;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Makes unique, deterministic event ids: `demo-<plant tag>-<sequence, 7 base-36 digits>`. Fixed width keeps
 * them in insertion order, so the store's unique index on event ids grows at its end (much faster than
 * random inserts once it outgrows the cache).
 */
export class EventIds {
  private n = 0;
  constructor(private readonly tag: string) {}
  next(): string {
    return `demo-${this.tag}-${(this.n++).toString(36).padStart(7, '0')}`;
  }
  get first(): string {
    return `demo-${this.tag}-${'0'.padStart(7, '0')}`;
  }
}

/** The master-data events of a plant (suppliers, customers, materials, equipment, people, routes, specs). */
export function* masterEvents(layout: Layout, ids: EventIds): Generator<TraceEvent> {
  for (const s of SUPPLIERS) yield { type: 'supplier', id: ids.next(), supplier: s.code, name: s.name, country: s.country };
  for (const c of CUSTOMERS) yield { type: 'customer', id: ids.next(), customer: c.code, name: c.name, country: c.country };
  for (const m of [...RAW, ...MADE]) yield { type: 'material', id: ids.next(), material: m.code, name: m.name, kind: m.kind, uom: m.uom };
  for (const cls of Object.values(layout.machines)) {
    for (const m of cls) yield { type: 'equipment', id: ids.next(), equipment: m.code, name: m.name, class: m.cls, line: m.line, area: m.area, plant: m.plant };
  }
  for (const p of layout.personnel) yield { type: 'personnel', id: ids.next(), person: p.code, name: p.name, role: p.role };
  for (const r of ROUTES) {
    for (const v of r.versions) {
      yield {
        type: 'route', id: ids.next(), route: r.code, version: v.version, name: r.name, product: r.product,
        steps: v.steps.map((s) => ({ seq: s.seq, operation: s.operation, equipmentClass: s.cls })),
      };
      for (const s of v.steps) {
        for (const p of v.specs[s.seq] ?? []) {
          yield { type: 'parameterSpec', id: ids.next(), route: r.code, version: v.version, step: s.seq, parameter: p.parameter, lsl: p.lsl, target: p.target, usl: p.usl, unit: p.unit };
        }
      }
    }
  }
}

/** How many master-data events masterEvents yields. */
export function countMasterEvents(layout: Layout): number {
  let n = SUPPLIERS.length + CUSTOMERS.length + RAW.length + MADE.length + layout.personnel.length;
  for (const cls of Object.values(layout.machines)) n += cls.length;
  for (const r of ROUTES) for (const v of r.versions) n += 1 + v.steps.reduce((a, s) => a + (v.specs[s.seq]?.length ?? 0), 0);
  return n;
}

/** How many events a lot record turns into, not counting alarms (those depend on the noise). */
export function countLotEvents(rec: LotRecord, samplesPerParameter: number): number {
  if (rec.kind === 'raw') return 2;
  let n = (rec.newWorkOrder ? 1 : 0) + 1 + rec.ops.length + 1 + rec.inspections.length + (rec.shipment ? 1 : 0);
  for (const op of rec.ops) n += (rec.workOrder.version.specs[op.step.seq]?.length ?? 0) * samplesPerParameter;
  return n;
}

/** A min-heap of shipments by time, so that they go out in time order among the production events. */
class ShipmentQueue {
  private readonly heap: ShipmentRecord[] = [];
  get size(): number {
    return this.heap.length;
  }
  peek(): ShipmentRecord | undefined {
    return this.heap[0];
  }
  push(s: ShipmentRecord): void {
    const h = this.heap;
    h.push(s);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  pop(): ShipmentRecord | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

export interface ProductionEventOptions {
  ids: EventIds;
  noise: Random;
  samplesPerParameter: number;
}

/** The events of the plant's production, given its lot records in production order. */
export function* productionEvents(lots: Iterable<LotRecord>, opts: ProductionEventOptions): Generator<TraceEvent> {
  const { ids } = opts;
  const shipments = new ShipmentQueue();
  const shipmentEvent = (s: ShipmentRecord): TraceEvent => ({ type: 'shipment', id: ids.next(), lot: s.lot, customer: s.customer, qty: s.qty, at: iso(s.at), orderRef: s.orderRef });
  for (const rec of lots) {
    const now = rec.kind === 'raw' ? rec.at : rec.ops[0]!.start;
    while (shipments.size && shipments.peek()!.at <= now) yield shipmentEvent(shipments.pop()!);
    if (rec.kind === 'raw') {
      yield {
        type: 'lot', id: ids.next(), lot: rec.lot, material: rec.material.code, qty: rec.qty, uom: rec.material.uom, status: 'released',
        supplier: rec.supplier, supplierLot: rec.vendorLot, at: iso(rec.at),
      };
      yield inspectionEvent(rec.lot, rec.inspection, rec.material.incoming, rec.incident, opts);
      continue;
    }
    yield* madeLotEvents(rec, opts);
    if (rec.shipment) shipments.push(rec.shipment);
  }
  while (shipments.size) yield shipmentEvent(shipments.pop()!);
}

function* madeLotEvents(rec: MadeLotRecord, opts: ProductionEventOptions): Generator<TraceEvent> {
  const { ids } = opts;
  const wo = rec.workOrder;
  if (rec.newWorkOrder) {
    yield {
      type: 'workOrder', id: ids.next(), workOrder: wo.code, product: wo.product, qty: wo.qty, route: wo.route.code, routeVersion: wo.version.version,
      status: 'released', erpRef: `ERP-${wo.code.slice(3)}`, plant: wo.plant,
    };
  }
  const last = rec.ops[rec.ops.length - 1]!;
  yield {
    type: 'lot', id: ids.next(), lot: rec.lot, material: rec.material.code, qty: rec.qty, uom: rec.material.uom, status: rec.status,
    workOrder: wo.code, at: iso(last.end),
  };
  for (let i = 0; i < rec.ops.length; i++) {
    const op = rec.ops[i]!;
    yield {
      type: 'operation', id: ids.next(), operation: op.code, lot: rec.lot, workOrder: wo.code, step: op.step.seq, equipment: op.machine.code,
      operator: op.operator, start: iso(op.start), end: iso(op.end), result: 'ok',
    };
    // Materials are charged at the first step.
    if (i === 0) yield { type: 'consume', id: ids.next(), output: rec.lot, inputs: rec.inputs, operation: op.code, at: iso(op.start) };
    yield* processEvents(rec, op, wo.version.specs[op.step.seq] ?? [], opts);
  }
  const plan = INSPECTIONS[rec.kind];
  for (const ins of rec.inspections) {
    const c = plan.find((p) => p.characteristic === ins.characteristic)!;
    yield inspectionEvent(rec.lot, ins, c, rec.direct, opts);
  }
}

/** An inspection result: in spec when it passed, just outside (low melt flow for the incident's lots) when it failed. */
function inspectionEvent(lot: string, ins: InspectionRecord, c: InspectionDef, incident: boolean, opts: ProductionEventOptions): TraceEvent {
  const { noise } = opts;
  const half = (c.usl - c.lsl) / 2;
  let value: number;
  if (!ins.fail) {
    value = noise.normal(c.target, half / 4);
    value = Math.min(c.usl - half * 0.02, Math.max(c.lsl + half * 0.02, value));
  } else if (c.lsl === 0 || (!incident && noise.chance(0.5))) {
    value = c.usl + half * noise.between(0.05, 0.4);
  } else {
    value = c.lsl - half * noise.between(0.05, 0.4);
  }
  return {
    type: 'inspection', id: opts.ids.next(), lot, characteristic: ins.characteristic, value: round3(value), lsl: c.lsl, usl: c.usl,
    result: ins.fail ? 'fail' : 'pass', inspector: ins.inspector, at: iso(ins.at),
  };
}

/** Samples of every specified parameter during one operation, and an alarm for each excursion out of spec. */
function* processEvents(rec: MadeLotRecord, op: OperationRecord, specs: readonly SpecDef[], opts: ProductionEventOptions): Generator<TraceEvent> {
  const { ids, noise, samplesPerParameter: n } = opts;
  if (!specs.length || n <= 0) return;
  const span = op.end - op.start;
  const gap = span / n;
  const times: number[] = [];
  for (let k = 0; k < n; k++) times.push(op.start + Math.floor(gap * (k + 0.25 + 0.5 * noise.float())) + 1);
  for (const spec of specs) {
    const half = (spec.usl - spec.lsl) / 2;
    const sd = half / 3.2;
    const contaminated = rec.direct && spec.parameter === INCIDENT_PARAMETER;
    // Each run sits a little off target (set-up, material), and samples scatter around it.
    const level = noise.normal(spec.target, sd * 0.6);
    let open: { raisedAt: number; value: number; limit: number; high: boolean } | undefined;
    const alarms: TraceEvent[] = [];
    const close = (at: number) => {
      if (!open) return;
      const excess = open.high ? open.value - open.limit : open.limit - open.value;
      alarms.push({
        type: 'alarm', id: '', rule: open.high ? 'SPEC_HIGH' : 'SPEC_LOW', equipment: op.machine.code, parameter: spec.parameter,
        value: open.value, limit: open.limit, severity: excess > half * 0.25 ? 'critical' : 'warning', raisedAt: iso(open.raisedAt), clearedAt: iso(at),
        ackedBy: op.operator,
        message: `${spec.parameter} ${open.value} ${spec.unit} ${open.high ? 'above USL' : 'below LSL'} ${open.limit} on ${op.machine.code} (lot ${rec.lot}, ${op.code})`,
      });
      open = undefined;
    };
    for (let k = 0; k < n; k++) {
      const ts = times[k]!;
      let value: number;
      if (contaminated && (k === 0 || noise.chance(0.7))) value = spec.usl + half * noise.between(0.1, 0.6);
      else value = noise.normal(level, sd * 0.8);
      value = round2(value);
      yield { type: 'sample', id: ids.next(), equipment: op.machine.code, parameter: spec.parameter, ts: iso(ts), value };
      const high = value > spec.usl;
      if (high || value < spec.lsl) {
        if (open && open.high !== high) close(ts);
        if (!open) open = { raisedAt: ts, value, limit: high ? spec.usl : spec.lsl, high };
        else if (high ? value > open.value : value < open.value) open.value = value;
      } else {
        close(ts);
      }
    }
    close(op.end);
    for (const a of alarms) yield { ...a, id: ids.next() } as TraceEvent;
  }
}
