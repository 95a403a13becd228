import { TraceReportError } from '../../datasources/errors.js';
import type { TraceEvent } from '../ingest/events.js';
import { INCIDENT_MATERIAL, INCIDENT_PARAMETER } from './catalog.js';
import { countLotEvents, countMasterEvents, EventIds, masterEvents, productionEvents } from './events.js';
import { cellsFor } from './layout.js';
import { Simulation } from './production.js';
import { Random } from './random.js';

export interface DemoOptions {
  /** Total lots (raw, intermediate and finished), default 2000. */
  lots?: number;
  /** Default 'tracereport'. */
  seed?: string | number;
  /** Process samples per parameter per operation, default 3. */
  samplesPerParameter?: number;
}

export interface DemoIncident {
  supplier: string;
  /** The raw lot code to trace forward. */
  supplierLot: string;
  /** The supplier's own lot number for it (as on the certificate of analysis). */
  vendorLot: string;
  material: string;
  parameter: string;
  /** Machines whose samples of `parameter` went above the USL while compounding it. */
  equipment: string[];
  /** Intermediate lots made directly from the supplier lot. */
  intermediateLots: string[];
  /** Every finished lot it reached. */
  finishedLots: string[];
  /** Customers that received any of those finished lots. */
  customers: string[];
  /** One affected finished lot to trace backward. */
  sampleFinishedLot: string;
}

export interface DemoCounts {
  lots: number;
  raw: number;
  intermediate: number;
  finished: number;
  operations: number;
  shipments: number;
}

export interface DemoPlant {
  /** The plant as a lazy stream of ingest events: master data, then production in time order. */
  events(): Generator<TraceEvent>;
  incident: DemoIncident;
  /** Events the stream yields, not counting alarms (a few per thousand). */
  estimatedEvents: number;
  counts: DemoCounts;
  /** The first event id of the stream (the same for the same options): tells whether this plant is in a store. */
  firstEventId: string;
  /** The prefix of every event id of this plant. */
  eventIdPrefix: string;
  options: Required<Omit<DemoOptions, 'seed'>> & { seed: string };
}

export const DEFAULT_DEMO_LOTS = 2000;
export const DEFAULT_DEMO_SEED = 'tracereport';
export const DEFAULT_SAMPLES_PER_PARAMETER = 3;
export const MIN_DEMO_LOTS = 150;

/** FNV-1a, base 36: a short stable tag for a plant's options. */
function tagOf(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0');
}

function resolveOptions(opts: DemoOptions): DemoPlant['options'] {
  const lots = opts.lots ?? DEFAULT_DEMO_LOTS;
  const samplesPerParameter = opts.samplesPerParameter ?? DEFAULT_SAMPLES_PER_PARAMETER;
  if (!Number.isInteger(lots) || lots < MIN_DEMO_LOTS) {
    throw new TraceReportError('ARGUMENT_INVALID', `the demo plant needs a whole number of lots ≥ ${MIN_DEMO_LOTS}, got ${lots}`);
  }
  if (!Number.isInteger(samplesPerParameter) || samplesPerParameter < 1 || samplesPerParameter > 1000) {
    throw new TraceReportError('ARGUMENT_INVALID', `samples per parameter must be a whole number from 1 to 1000, got ${samplesPerParameter}`);
  }
  return { lots, samplesPerParameter, seed: String(opts.seed ?? DEFAULT_DEMO_SEED) };
}

/**
 * A deterministic demo plant: the same options give the same event stream, byte for byte. Building it
 * replays the plant's structure once (no events, no noise) to find the planted incident and count the
 * events; `events()` then streams the plant with flat memory, however many lots it has.
 */
export function demoPlant(opts: DemoOptions = {}): DemoPlant {
  const options = resolveOptions(opts);
  const cells = cellsFor(options.lots);
  const tag = tagOf(`${options.seed}|${options.lots}|${options.samplesPerParameter}`);
  const simulate = () => new Simulation({ lots: options.lots, seed: options.seed }, cells);

  // Structure pass: the incident's lots and the event count.
  const sim = simulate();
  let events = countMasterEvents(sim.layout);
  const counts: DemoCounts = { lots: 0, raw: 0, intermediate: 0, finished: 0, operations: 0, shipments: 0 };
  let supplierLot: { lot: string; supplier: string; vendorLot: string } | undefined;
  const intermediateLots: string[] = [];
  const finishedLots: string[] = [];
  const customers = new Set<string>();
  const equipment = new Set<string>();
  let sampleFinishedLot: string | undefined;
  for (const rec of sim.lots()) {
    events += countLotEvents(rec, options.samplesPerParameter);
    counts.lots++;
    counts[rec.kind]++;
    if (rec.kind === 'raw') {
      if (rec.incident) supplierLot = { lot: rec.lot, supplier: rec.supplier, vendorLot: rec.vendorLot };
      continue;
    }
    counts.operations += rec.ops.length;
    if (rec.shipment) counts.shipments++;
    if (!rec.affected) continue;
    if (rec.kind === 'intermediate') {
      if (rec.direct) {
        intermediateLots.push(rec.lot);
        for (const op of rec.ops) if (rec.workOrder.version.specs[op.step.seq]?.some((s) => s.parameter === INCIDENT_PARAMETER)) equipment.add(op.machine.code);
      }
    } else {
      finishedLots.push(rec.lot);
      if (rec.shipment) {
        customers.add(rec.shipment.customer);
        sampleFinishedLot ??= rec.lot;
      }
    }
  }
  if (!supplierLot || !finishedLots.length) {
    throw new TraceReportError('ARGUMENT_INVALID', `a plant of ${options.lots} lots with seed "${options.seed}" is too small for the planted incident to reach finished goods; use more lots`);
  }
  const incident: DemoIncident = {
    supplier: supplierLot.supplier,
    supplierLot: supplierLot.lot,
    vendorLot: supplierLot.vendorLot,
    material: INCIDENT_MATERIAL,
    parameter: INCIDENT_PARAMETER,
    equipment: [...equipment].sort(),
    intermediateLots: intermediateLots.sort(),
    finishedLots: finishedLots.sort(),
    customers: [...customers].sort(),
    sampleFinishedLot: sampleFinishedLot ?? finishedLots[0]!,
  };
  const firstIds = new EventIds(tag);
  return {
    incident,
    estimatedEvents: events,
    counts,
    firstEventId: firstIds.first,
    eventIdPrefix: `demo-${tag}-`,
    options,
    *events() {
      const run = simulate();
      const ids = new EventIds(tag);
      yield* masterEvents(run.layout, ids);
      yield* productionEvents(run.lots(), { ids, noise: new Random(`${options.seed}/noise`), samplesPerParameter: options.samplesPerParameter });
    },
  };
}
