import {
  FINISHED, INCIDENT_CHARACTERISTIC, INCIDENT_FINISHED_CHARACTERISTIC, INCIDENT_MATERIAL, INSPECTIONS, MADE, PLANT_START, RAW, ROUTES, SUPPLIERS,
  type MadeDef, type RawDef, type RouteDef, type RouteVersionDef, type StepDef,
} from './catalog.js';
import { buildLayout, operatorFor, type Layout, type Machine } from './layout.js';
import { Random } from './random.js';

/**
 * The demo plant's structure, simulated in production order: which lots are received and made, from which
 * input lots, on which machines, by whom, when, whether they pass inspection and to whom they ship. It
 * draws only from the structure random stream, so replaying it (to find the incident before the events
 * are generated) costs no noise and gives the same plant.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export interface RawLotRecord {
  kind: 'raw';
  lot: string;
  material: RawDef;
  qty: number;
  supplier: string;
  vendorLot: string;
  at: number;
  /** Goods-receipt check against the supplier's certificate (always passed: rejected lots never enter). */
  inspection: InspectionRecord;
  /** The planted incident's supplier lot. */
  incident: boolean;
}

export interface OperationRecord {
  code: string;
  step: StepDef;
  machine: Machine;
  operator: string;
  start: number;
  end: number;
}

export interface WorkOrderRecord {
  code: string;
  product: string;
  qty: number;
  route: RouteDef;
  version: RouteVersionDef;
  plant: string;
  lotsLeft: number;
}

export interface InspectionRecord {
  characteristic: string;
  fail: boolean;
  inspector: string;
  at: number;
}

export interface ShipmentRecord {
  lot: string;
  customer: string;
  qty: number;
  at: number;
  orderRef: string;
}

export interface MadeLotRecord {
  kind: 'intermediate' | 'finished';
  lot: string;
  material: MadeDef;
  qty: number;
  workOrder: WorkOrderRecord;
  /** True on the first lot of its work order (the work order event goes out with it). */
  newWorkOrder: boolean;
  ops: OperationRecord[];
  inputs: Array<{ lot: string; qty: number }>;
  inspections: InspectionRecord[];
  status: 'released' | 'quarantine' | 'hold' | 'shipped';
  /** Made (directly or through an intermediate) from the incident's supplier lot. */
  affected: boolean;
  /** Directly consumed the incident's supplier lot (its compounding ran out of spec). */
  direct: boolean;
  shipment?: ShipmentRecord;
}

export type LotRecord = RawLotRecord | MadeLotRecord;

export interface SimulationOptions {
  lots: number;
  seed: string;
}

interface Stock {
  lot: string;
  remaining: number;
  ready: number;
  affected: boolean;
  incident: boolean;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const round3 = (v: number) => Math.round(v * 1000) / 1000;
const RAW_BY_CODE = new Map(RAW.map((m) => [m.code, m]));
const MADE_BY_CODE = new Map(MADE.map((m) => [m.code, m]));
const ROUTE_BY_CODE = new Map(ROUTES.map((r) => [r.code, r]));
const SUPPLIER_PREFIX = new Map(SUPPLIERS.map((s) => [s.code, s.lotPrefix]));

/** Thrown inside the simulation when the lot budget is spent; ends production cleanly. */
class Exhausted extends Error {}

export class Simulation {
  readonly layout: Layout;
  readonly cells: number;
  private readonly rng: Random;
  private readonly total: number;
  private count = 0;
  private readonly counters = new Map<string, number>();
  private opCounter = 0;
  private woCounter = 0;
  private soCounter = 0;
  private readonly stock = new Map<string, { items: Stock[]; head: number }>();
  private readonly lastReceipt = new Map<string, number>();
  private readonly vendorCounters = new Map<string, number>();
  private readonly workOrders = new Map<string, WorkOrderRecord>();
  private incidentPlanted = false;
  private firstDirectReleased = false;
  /** Records made while gathering inputs, handed out before the lot that needed them. */
  private readonly pending: LotRecord[] = [];

  constructor(private readonly opts: SimulationOptions, cells: number) {
    this.rng = new Random(`${opts.seed}/structure`);
    this.total = opts.lots;
    this.cells = cells;
    this.layout = buildLayout(cells, PLANT_START);
  }

  /** Every lot of the plant, inputs before the lots made from them. */
  *lots(): Generator<LotRecord> {
    try {
      while (true) {
        const made = this.makeFinished();
        for (const r of this.pending) yield r;
        this.pending.length = 0;
        if (made) yield made;
      }
    } catch (e) {
      if (!(e instanceof Exhausted)) throw e;
      for (const r of this.pending) yield r;
      this.pending.length = 0;
    }
  }

  private nextCode(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}-${pad(n, 6)}`;
  }

  private claimLot(): void {
    if (this.count >= this.total) throw new Exhausted();
    this.count++;
  }

  private stockOf(material: string) {
    let s = this.stock.get(material);
    if (!s) this.stock.set(material, (s = { items: [], head: 0 }));
    return s;
  }

  private earliest(machines: Machine[]): Machine {
    let best = machines[0]!;
    for (const m of machines) if (m.free < best.free) best = m;
    return best;
  }

  private routeVersion(route: RouteDef): RouteVersionDef {
    // Routes with two versions switch to the newer one halfway through the plant's history.
    const v = this.count >= this.total / 2 ? route.versions.length : 1;
    return route.versions[v - 1]!;
  }

  private workOrderFor(material: MadeDef, line: string, plant: string): { wo: WorkOrderRecord; fresh: boolean } {
    const key = `${material.code}@${line}`;
    const current = this.workOrders.get(key);
    if (current && current.lotsLeft > 0) {
      current.lotsLeft--;
      return { wo: current, fresh: false };
    }
    const route = ROUTE_BY_CODE.get(material.route)!;
    const lots = material.kind === 'finished' ? this.rng.int(4, 12) : this.rng.int(2, 6);
    const wo: WorkOrderRecord = {
      code: `WO-${pad(++this.woCounter, 6)}`,
      product: material.code,
      qty: lots * material.lotQty,
      route,
      version: this.routeVersion(route),
      plant,
      lotsLeft: lots - 1,
    };
    this.workOrders.set(key, wo);
    return { wo, fresh: true };
  }

  private receive(material: RawDef, needAt: number): Stock {
    this.claimLot();
    const supplier = this.rng.pick(material.suppliers);
    const last = this.lastReceipt.get(material.code) ?? PLANT_START - 10 * DAY;
    const at = Math.max(last + this.rng.int(10, 240) * MIN, needAt - this.rng.between(1, 10) * DAY);
    this.lastReceipt.set(material.code, at);
    const vn = (this.vendorCounters.get(supplier) ?? this.rng.int(1000, 40000)) + this.rng.int(1, 7);
    this.vendorCounters.set(supplier, vn);
    const year = new Date(at).getUTCFullYear() % 100;
    const incident = !this.incidentPlanted && material.code === INCIDENT_MATERIAL && this.count >= this.total * 0.3;
    if (incident) this.incidentPlanted = true;
    const rec: RawLotRecord = {
      kind: 'raw',
      lot: this.nextCode('RM'),
      material,
      qty: Math.round(material.lotQty * this.rng.between(0.9, 1.1)),
      supplier,
      vendorLot: `${SUPPLIER_PREFIX.get(supplier)}${pad(year, 2)}-${pad(vn, 5)}`,
      at,
      inspection: { characteristic: material.incoming.characteristic, fail: false, inspector: this.rng.pick(this.layout.inspectors.P1!).code, at: at + this.rng.int(30, 100) * MIN },
      incident,
    };
    this.pending.push(rec);
    // Incoming inspection and put-away before the lot can be used.
    return { lot: rec.lot, remaining: rec.qty, ready: at + 2 * HOUR, affected: incident, incident };
  }

  /**
   * Takes `qty` of a material from stock (oldest lot first), receiving or making new lots as needed.
   * Returns the input lots and when the last of them is ready.
   */
  private take(material: string, qty: number, needAt: number): { inputs: Array<{ lot: string; qty: number }>; ready: number; affected: boolean; direct: boolean } {
    const inputs: Array<{ lot: string; qty: number }> = [];
    let ready = 0;
    let affected = false;
    let direct = false;
    const s = this.stockOf(material);
    let left = qty;
    while (left > 1e-9) {
      let head = s.items[s.head];
      if (!head) {
        const raw = RAW_BY_CODE.get(material);
        if (raw) s.items.push(this.receive(raw, needAt));
        else {
          const made = this.makeIntermediate(MADE_BY_CODE.get(material)!, needAt);
          if (made) s.items.push(made);
        }
        continue;
      }
      const use = Math.min(head.remaining, left);
      head.remaining -= use;
      left -= use;
      inputs.push({ lot: head.lot, qty: round3(use) });
      ready = Math.max(ready, head.ready);
      affected ||= head.affected;
      direct ||= head.incident;
      // A lot whose last crumbs would be a rounding error is finished.
      if (head.remaining <= 1e-6 * qty + 1e-9) {
        s.head++;
        if (s.head > 1024) {
          s.items.splice(0, s.head);
          s.head = 0;
        }
      }
    }
    return { inputs, ready, affected, direct };
  }

  private gather(material: MadeDef, qty: number, needAt: number) {
    const inputs: Array<{ lot: string; qty: number }> = [];
    let ready = needAt;
    let affected = false;
    let direct = false;
    for (const line of material.bom) {
      const got = this.take(line.material, qty * line.per, needAt);
      inputs.push(...got.inputs);
      ready = Math.max(ready, got.ready);
      affected ||= got.affected;
      direct ||= got.direct;
    }
    return { inputs, ready, affected, direct };
  }

  private operation(step: StepDef, machine: Machine, earliest: number): OperationRecord {
    const start = Math.max(earliest, machine.free);
    const end = start + Math.round(this.rng.between(step.minutes[0], step.minutes[1]) * MIN);
    machine.free = end;
    return { code: `OP-${pad(++this.opCounter, 7)}`, step, machine, operator: operatorFor(this.layout, machine, start).code, start, end };
  }

  private inspect(kind: 'intermediate' | 'finished', plant: string, at: number, failing: string | undefined): InspectionRecord[] {
    const inspectors = this.layout.inspectors[plant]!;
    return INSPECTIONS[kind].map((c, i) => ({
      characteristic: c.characteristic,
      fail: c.characteristic === failing,
      inspector: this.rng.pick(inspectors).code,
      at: at + i * 5 * MIN,
    }));
  }

  /** Makes one intermediate lot for a consumer that needs it at `needAt`; null when it failed inspection. */
  private makeIntermediate(material: MadeDef, needAt: number): Stock | null {
    const mixer = this.earliest(this.layout.machines.MIXER);
    const planned = Math.max(mixer.free + this.rng.int(10, 30) * MIN, needAt - this.rng.between(2, 24) * HOUR);
    const qty = Math.round(material.lotQty * this.rng.between(0.95, 1.05));
    const got = this.gather(material, qty, planned);
    this.claimLot();
    const line = this.layout.byLine[mixer.line]!;
    const { wo, fresh } = this.workOrderFor(material, mixer.line, mixer.plant);
    const steps = wo.version.steps;
    const ops: OperationRecord[] = [];
    let t = got.ready;
    for (const step of steps) {
      const machine = step.cls === 'MIXER' ? mixer : this.earliest(line[step.cls]);
      const op = this.operation(step, machine, t);
      ops.push(op);
      t = op.end;
    }
    let failing: string | undefined;
    if (got.direct) {
      // Contaminated resin: low melt flow. The first such lot slipped through; later ones were caught more often.
      if (this.firstDirectReleased && this.rng.chance(0.35)) failing = INCIDENT_CHARACTERISTIC;
      this.firstDirectReleased ||= !failing;
    } else if (this.rng.chance(0.01)) {
      failing = this.rng.pick(INSPECTIONS.intermediate).characteristic;
    }
    const inspectedAt = t + this.rng.int(15, 90) * MIN;
    const rec: MadeLotRecord = {
      kind: 'intermediate',
      lot: this.nextCode(material.code.startsWith('MB') ? 'MB' : 'CP'),
      material,
      qty,
      workOrder: wo,
      newWorkOrder: fresh,
      ops,
      inputs: got.inputs,
      inspections: this.inspect('intermediate', mixer.plant, inspectedAt, failing),
      status: failing ? 'quarantine' : 'released',
      affected: got.affected,
      direct: got.direct,
    };
    this.pending.push(rec);
    if (failing) return null;
    return { lot: rec.lot, remaining: qty, ready: inspectedAt + 30 * MIN, affected: got.affected, incident: false };
  }

  /** Makes one finished lot on the moulding machine that is free first. */
  private makeFinished(): MadeLotRecord | null {
    const material = this.rng.weighted(FINISHED, FINISHED.map((f) => f.mix ?? 0));
    const moulder = this.earliest(this.layout.machines.MOULDER);
    const planned = moulder.free + this.rng.int(10, 40) * MIN;
    const qty = this.rng.pick(material.lotSizes ?? [material.lotQty]);
    const got = this.gather(material, qty, planned);
    this.claimLot();
    const line = this.layout.byLine[moulder.line]!;
    const { wo, fresh } = this.workOrderFor(material, moulder.line, moulder.plant);
    const ops: OperationRecord[] = [];
    let t = got.ready;
    for (const step of wo.version.steps) {
      const machine = step.cls === 'MOULDER' ? moulder : this.earliest(line[step.cls]);
      const op = this.operation(step, machine, t);
      ops.push(op);
      t = op.end;
    }
    let failing: string | undefined;
    if (got.affected && this.rng.chance(0.3)) failing = INCIDENT_FINISHED_CHARACTERISTIC;
    else if (this.rng.chance(0.015)) failing = this.rng.pick(INSPECTIONS.finished).characteristic;
    const inspections = this.inspect('finished', moulder.plant, t + this.rng.int(10, 60) * MIN, failing);
    const lot = this.nextCode('FG');
    let shipment: ShipmentRecord | undefined;
    if (!failing && this.rng.chance(0.97)) {
      shipment = {
        lot,
        customer: this.rng.pick(material.customers!),
        qty,
        at: t + Math.round(this.rng.between(1, 6) * DAY),
        orderRef: `SO-${pad(++this.soCounter, 7)}`,
      };
    }
    return {
      kind: 'finished',
      lot,
      material,
      qty,
      workOrder: wo,
      newWorkOrder: fresh,
      ops,
      inputs: got.inputs,
      inspections,
      status: failing ? 'hold' : shipment ? 'shipped' : 'released',
      affected: got.affected,
      direct: got.direct,
      shipment,
    };
  }
}
