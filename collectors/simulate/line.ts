/**
 * A simulated production line for the simulators (`tracereport simulate mqtt|opcua|modbus`), built from the
 * demo plant's equipment, routes and parameter specs: every machine's process parameters as signals with
 * noise and slow drift around the spec target, a planted excursion above USL on the incident parameter
 * (melt pressure on an extruder), and the lot and operation running on each machine.
 *
 * Every value is a pure function of (seed, tag, time): sampling the same instant twice, in any order or
 * from another process, gives the same number, so simulators and tests agree without sharing state.
 */
import { EQUIPMENT_CLASSES, INCIDENT_PARAMETER, LINES, PLANT_START, ROUTES, type EquipmentClass, type RouteDef, type SpecDef, type StepDef } from '../../trace/demo/catalog.js';
import { buildLayout, type Machine } from '../../trace/demo/layout.js';

export interface ExcursionOptions {
  /** Equipment code (default: the first extruder of the first simulated line). */
  readonly equipment?: string;
  /** Parameter (default: the demo plant's incident parameter, melt_pressure). */
  readonly parameter?: string;
  /** One excursion starting at this instant; otherwise periodic. */
  readonly at?: Date;
  /** Period of the excursions (default 10 minutes): each period ends with one. */
  readonly everyMs?: number;
  /** How long one excursion lasts (default 90 s). */
  readonly durationMs?: number;
}

export interface LineOptions {
  /** Same seed, same signals (default `tracereport`). */
  readonly seed?: string;
  /** Demo plant lines to simulate (default all: L1, L2, L3). */
  readonly lines?: readonly string[];
  /** Samples per second per numeric tag that simulators publish (default 1); the signals themselves are continuous. */
  readonly rateHz?: number;
  /** Operation durations are the demo routes' minutes × this (default 1/60: an hour's operation runs a minute). */
  readonly timeScale?: number;
  /** The planted excursion; `false` for none. */
  readonly excursion?: ExcursionOptions | false;
}

/** A numeric process tag (a parameter with its spec) or a string tag (`lot`, `operation`) of one machine. */
export type TagDef =
  | {
      readonly kind: 'number';
      readonly equipment: string;
      readonly parameter: string;
      readonly unit: string;
      readonly lsl: number;
      readonly target: number;
      readonly usl: number;
      readonly line: string;
      readonly cls: EquipmentClass;
    }
  | { readonly kind: 'string'; readonly equipment: string; readonly parameter: 'lot' | 'operation'; readonly line: string; readonly cls: EquipmentClass };

export interface LineSample {
  readonly equipment: string;
  readonly parameter: string;
  readonly value: number;
  readonly unit: string;
}

export interface MachineState {
  readonly equipment: string;
  /** The demo plant line the machine stands on (L1, L2, L3). */
  readonly line: string;
  readonly lot: string;
  /** The route step's operation name, e.g. `Compounding extrusion`. */
  readonly operation: string;
  readonly product: string;
  readonly route: string;
  readonly routeVersion: number;
  readonly step: number;
  readonly startedAt: Date;
  readonly endsAt: Date;
}

export interface SimulatedLine {
  readonly seed: string;
  readonly rateHz: number;
  /** Milliseconds between two samples at rateHz. */
  readonly periodMs: number;
  /** The planted excursion (absent when disabled). */
  readonly excursion?: { readonly equipment: string; readonly parameter: string; readonly usl: number };
  tags(): readonly TagDef[];
  /** Every numeric tag's value at `at`. */
  sample(at: Date): LineSample[];
  /** One numeric tag's value at `at` (undefined for an unknown tag). */
  value(equipment: string, parameter: string, at: Date): number | undefined;
  /** The lot and operation running on every machine at `at`. */
  state(at: Date): MachineState[];
  /** Whether `at` falls inside the planted excursion. */
  inExcursion(at: Date): boolean;
}

const MIN = 60_000;
const COMPOUNDING: readonly RouteDef[] = ROUTES.filter((r) => r.product.startsWith('CMP-') || r.product.startsWith('MB-'));
const MOULDING: readonly RouteDef[] = ROUTES.filter((r) => r.product.startsWith('PART-'));
const pad = (n: number, w: number) => String(n).padStart(w, '0');

// ------------------------------------------------------------------ deterministic hashing

/** 32-bit FNV-1a of a string. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A well-mixed 32-bit hash of a key and a time in ms (murmur3 finaliser over both halves). */
function mix(key: number, t: number, salt: number): number {
  let h = key ^ Math.imul(salt, 0x9e3779b1);
  const lo = t >>> 0;
  const hi = Math.floor(t / 0x1_0000_0000) >>> 0;
  for (const k of [lo, hi]) {
    h ^= Math.imul(k, 0xcc9e2d51);
    h = Math.imul((h << 15) | (h >>> 17), 0x1b873593);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Uniform in (0, 1). */
const unit = (h: number) => (h + 0.5) / 0x1_0000_0000;

/** Standard normal from two hashes (Box–Muller), clipped to ±3.5 so that noise alone never leaves the spec. */
function gaussian(key: number, t: number): number {
  const u = unit(mix(key, t, 1));
  const v = unit(mix(key, t, 2));
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(-3.5, Math.min(3.5, z));
}

// ------------------------------------------------------------------ the line

interface Signal {
  tag: Extract<TagDef, { kind: 'number' }>;
  key: number;
  half: number;
  /** Slow drift: two sinusoids (periods in ms, phases). */
  p1: number;
  p2: number;
  f1: number;
  f2: number;
}

interface Station {
  line: string;
  machine: Machine;
  route: RouteDef;
  step: StepDef;
  /** Length of one lot's operation on this machine (ms) and the origin of its cycles. */
  cycleMs: number;
  originMs: number;
  lotOf: (cycle: number) => string;
}

function latest(route: RouteDef) {
  return route.versions[route.versions.length - 1]!;
}

export function createLine(options: LineOptions = {}): SimulatedLine {
  const seed = options.seed ?? 'tracereport';
  const rateHz = options.rateHz ?? 1;
  if (!(rateHz > 0 && rateHz <= 1000)) throw new RangeError(`rateHz must be in (0, 1000], got ${rateHz}`);
  const timeScale = options.timeScale ?? 1 / 60;
  if (!(timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
  const known = LINES.map((l) => l.line);
  const lines = options.lines ?? known;
  for (const l of lines) if (!known.includes(l)) throw new RangeError(`unknown line "${l}": the demo plant has ${known.join(', ')}`);
  const seedKey = hashString(seed);
  const layout = buildLayout(1, PLANT_START);

  const signals: Signal[] = [];
  const stations: Station[] = [];
  const tagDefs: TagDef[] = [];
  const byTag = new Map<string, Signal>();

  for (const line of lines) {
    const li = known.indexOf(line);
    // Each line is dedicated to one compounded product and one moulded part (latest route version).
    const compound = COMPOUNDING[li % COMPOUNDING.length]!;
    const part = MOULDING[li % MOULDING.length]!;
    const frac = (salt: string) => unit(hashString(`${seed}/${line}/${salt}`));
    const scaledCycle = (step: StepDef, salt: string) => Math.max(1000, Math.round((step.minutes[0] + (step.minutes[1] - step.minutes[0]) * frac(salt)) * MIN * timeScale));
    // Compounding: a batch is blended on the mixer in cycle k and extruded in cycle k + 1 (same lot code).
    const compSteps = latest(compound).steps;
    const compCycle = Math.max(...compSteps.map((s) => scaledCycle(s, `cycle/${s.seq}`)));
    const compOrigin = PLANT_START + Math.round(frac('origin/c') * compCycle);
    const compLot = (k: number) => `${compound.product}-S${line}-${pad(k, 6)}`;
    // Moulding: each moulder runs its own lots; the packer packs them in turn once moulded.
    const mouldSteps = latest(part).steps;
    const moulders = layout.byLine[line]!.MOULDER;
    // A multiple of the moulders' count, so that the packer's turns (a share each) stay aligned with the moulding cycles.
    const mouldCycle = moulders.length * Math.round(scaledCycle(mouldSteps[0]!, 'cycle/mould') / moulders.length);
    const mouldOrigin = PLANT_START + Math.round(frac('origin/m') * mouldCycle);
    const mouldLot = (slot: number, k: number) => `${part.product}-S${line}${slot + 1}-${pad(k, 6)}`;

    for (const c of EQUIPMENT_CLASSES) {
      for (const machine of layout.byLine[line]![c.cls]) {
        const compounding = c.cls === 'MIXER' || c.cls === 'EXTRUDER';
        const route = compounding ? compound : part;
        const version = latest(route);
        const step = version.steps.find((s) => s.cls === c.cls)!;
        let station: Station;
        if (c.cls === 'MIXER') station = { line, machine, route, step, cycleMs: compCycle, originMs: compOrigin, lotOf: compLot };
        else if (c.cls === 'EXTRUDER') station = { line, machine, route, step, cycleMs: compCycle, originMs: compOrigin, lotOf: (k) => compLot(k - 1) };
        else if (c.cls === 'MOULDER') station = { line, machine, route, step, cycleMs: mouldCycle, originMs: mouldOrigin, lotOf: (k) => mouldLot(machine.slot, k) };
        else {
          const n = moulders.length;
          station = {
            line, machine, route, step, cycleMs: mouldCycle / n, originMs: mouldOrigin,
            lotOf: (j) => mouldLot(((j % n) + n) % n, Math.floor(j / n) - 1),
          };
        }
        stations.push(station);
        const specs: readonly SpecDef[] = version.specs[step.seq] ?? [];
        for (const s of specs) {
          const tag = { kind: 'number' as const, equipment: machine.code, parameter: s.parameter, unit: s.unit, lsl: s.lsl, target: s.target, usl: s.usl, line, cls: c.cls };
          const key = hashString(`${seed}/${machine.code}/${s.parameter}`);
          const r = (salt: number) => unit(mix(key, salt, 99));
          const signal: Signal = {
            tag,
            key,
            half: (s.usl - s.lsl) / 2,
            p1: (20 + 40 * r(1)) * MIN,
            p2: (3 + 7 * r(2)) * MIN,
            f1: 2 * Math.PI * r(3),
            f2: 2 * Math.PI * r(4),
          };
          signals.push(signal);
          byTag.set(`${machine.code}\u0000${s.parameter}`, signal);
          tagDefs.push(tag);
        }
        tagDefs.push({ kind: 'string', equipment: machine.code, parameter: 'lot', line, cls: c.cls });
        tagDefs.push({ kind: 'string', equipment: machine.code, parameter: 'operation', line, cls: c.cls });
      }
    }
  }

  // The planted excursion.
  let excursion: SimulatedLine['excursion'];
  let excursionSignal: Signal | undefined;
  let position: (t: number) => number = () => -1;
  if (options.excursion !== false) {
    const ex = options.excursion ?? {};
    const parameter = ex.parameter ?? INCIDENT_PARAMETER;
    const equipment = ex.equipment ?? signals.find((s) => s.tag.parameter === parameter)?.tag.equipment;
    excursionSignal = equipment === undefined ? undefined : byTag.get(`${equipment}\u0000${parameter}`);
    if (!excursionSignal) throw new RangeError(`excursion: no simulated tag ${equipment ?? '(any equipment)'}/${parameter}`);
    excursion = { equipment: excursionSignal.tag.equipment, parameter, usl: excursionSignal.tag.usl };
    const durationMs = ex.durationMs ?? 90_000;
    const everyMs = ex.everyMs ?? 10 * MIN;
    if (!(durationMs > 0)) throw new RangeError(`excursion.durationMs must be > 0, got ${durationMs}`);
    if (ex.at === undefined && !(everyMs >= durationMs)) throw new RangeError(`excursion.everyMs (${everyMs}) must be ≥ durationMs (${durationMs})`);
    // Position within the window [0, 1) or -1 outside it.
    position = ex.at
      ? (t: number) => {
          const d = t - ex.at!.getTime();
          return d >= 0 && d < durationMs ? d / durationMs : -1;
        }
      : (t: number) => {
          const d = (((t - PLANT_START) % everyMs) + everyMs) % everyMs - (everyMs - durationMs);
          return d >= 0 ? d / durationMs : -1;
        };
  }
  /** The excursion's lift: a trapezoid ramping over the first and last 10 % of its window, a plateau between; 0 outside. */
  const lift = (t: number) => {
    const p = position(t);
    return p < 0 ? 0 : Math.min(1, p / 0.1, (1 - p) / 0.1);
  };

  function valueOf(s: Signal, t: number): number {
    const drift = 0.25 * s.half * (0.6 * Math.sin((2 * Math.PI * t) / s.p1 + s.f1) + 0.4 * Math.sin((2 * Math.PI * t) / s.p2 + s.f2));
    const noise = 0.08 * s.half * gaussian(s.key, t);
    // In spec: |drift + noise| ≤ 0.53 half-width. On the excursion's plateau the value clears USL by at least
    // 0.67 half-width: far enough to be out of spec for every product made on the equipment, not only its own.
    const excursionLift = s === excursionSignal ? 2.2 * s.half * lift(t) : 0;
    const v = s.tag.target + drift + noise + excursionLift;
    return Math.round(v * 1000) / 1000;
  }

  return {
    seed,
    rateHz,
    periodMs: 1000 / rateHz,
    ...(excursion ? { excursion } : {}),
    tags: () => tagDefs,
    sample(at) {
      const t = at.getTime();
      return signals.map((s) => ({ equipment: s.tag.equipment, parameter: s.tag.parameter, value: valueOf(s, t), unit: s.tag.unit }));
    },
    value(equipment, parameter, at) {
      const s = byTag.get(`${equipment}\u0000${parameter}`);
      return s ? valueOf(s, at.getTime()) : undefined;
    },
    state(at) {
      const t = at.getTime();
      return stations.map((st) => {
        const k = Math.floor((t - st.originMs) / st.cycleMs);
        const start = st.originMs + k * st.cycleMs;
        const version = latest(st.route);
        return {
          equipment: st.machine.code,
          line: st.line,
          lot: st.lotOf(k),
          operation: st.step.operation,
          product: st.route.product,
          route: st.route.code,
          routeVersion: version.version,
          step: st.step.seq,
          startedAt: new Date(start),
          endsAt: new Date(start + st.cycleMs),
        };
      });
    },
    inExcursion: (at) => position(at.getTime()) >= 0,
  };
}
