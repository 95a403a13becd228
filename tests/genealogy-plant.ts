/**
 * Random genealogy plants for the genealogy tests, and the oracle: closures computed in plain TypeScript.
 *
 * A plant is a layered DAG (level 0 raw lots from suppliers, the top level finished lots shipped to
 * customers, random sharing across levels) plus one injected cycle X→Y→Z→X fed by one DAG lot and
 * feeding another. It is written as ingest events with every consume event before the lots' own events.
 */
import seedrandom from 'seedrandom';
import type { TraceEvent } from '../trace/ingest/events.js';

export interface PlantLot {
  code: string;
  material: string;
  kind: 'raw' | 'intermediate' | 'finished';
  qty: number;
  supplier?: string;
}
export interface PlantLink {
  input: string;
  output: string;
  qty: number;
}
export interface PlantShipment {
  lot: string;
  customer: string;
  qty: number;
  at: string;
}
export interface Plant {
  seed: string;
  lots: PlantLot[];
  links: PlantLink[];
  shipments: PlantShipment[];
  /** The injected cycle's lots, in material-flow order (X consumed into Y, Y into Z, Z into X). */
  cycle: string[];
  /** The DAG lot consumed into the cycle, and the DAG lot the cycle is consumed into. */
  cycleFedBy: string;
  cycleFeeds: string;
}

export function makePlant(seed: string): Plant {
  const rnd = seedrandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const levels = int(3, 5);
  const total = int(30, 80);
  const tag = seed.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toUpperCase();
  const byLevel: PlantLot[][] = [];
  const lots: PlantLot[] = [];
  let n = 0;
  for (let lv = 0; lv < levels; lv++) {
    const count = lv === 0 ? Math.max(4, Math.round(total * 0.35)) : Math.max(2, Math.round((total * 0.65) / (levels - 1)));
    const kind = lv === 0 ? 'raw' : lv === levels - 1 ? 'finished' : 'intermediate';
    const row: PlantLot[] = [];
    for (let i = 0; i < count; i++) {
      const lot: PlantLot = { code: `${tag}-L${lv}-${String(++n).padStart(3, '0')}`, material: `MAT-${kind.toUpperCase()}-${lv}`, kind, qty: int(10, 500) };
      if (lv === 0) lot.supplier = pick(['SUP-A', 'SUP-B', 'SUP-C']);
      row.push(lot);
    }
    byLevel.push(row);
    lots.push(...row);
  }
  const links: PlantLink[] = [];
  const seen = new Set<string>();
  const link = (input: string, output: string) => {
    const key = `${input}>${output}`;
    if (seen.has(key) || input === output) return;
    seen.add(key);
    links.push({ input, output, qty: int(1, 50) });
  };
  for (let lv = 1; lv < levels; lv++) {
    for (const out of byLevel[lv]!) {
      const inputs = int(1, 4);
      for (let i = 0; i < inputs; i++) {
        // Mostly the level just below, sometimes any lower level: shared inputs and uneven depths.
        const from = rnd() < 0.75 ? lv - 1 : int(0, lv - 1);
        link(pick(byLevel[from]!).code, out.code);
      }
    }
  }
  // One injected cycle, fed by a lower DAG lot and feeding a higher one.
  const cycle = ['X', 'Y', 'Z'].map((c) => `${tag}-CYC-${c}`);
  for (const code of cycle) lots.push({ code, material: 'MAT-INTERMEDIATE-C', kind: 'intermediate', qty: int(10, 100) });
  link(cycle[0]!, cycle[1]!);
  link(cycle[1]!, cycle[2]!);
  link(cycle[2]!, cycle[0]!);
  const cycleFedBy = pick(byLevel[0]!).code;
  const cycleFeeds = pick(byLevel[levels - 1]!).code;
  link(cycleFedBy, cycle[0]!);
  link(cycle[2]!, cycleFeeds);

  const shipments: PlantShipment[] = [];
  let day = 1;
  for (const f of byLevel[levels - 1]!) {
    const k = int(0, 2);
    for (let i = 0; i < k; i++) {
      shipments.push({ lot: f.code, customer: pick(['CUST-1', 'CUST-2', 'CUST-3', 'CUST-4']), qty: int(1, 20), at: `2026-03-${String(day).padStart(2, '0')}T10:00:00.000Z` });
      day = (day % 28) + 1;
    }
  }
  return { seed, lots, links, shipments, cycle, cycleFedBy, cycleFeeds };
}

/** The plant as ingest events: master data, then every consume event, then the lots, then shipments. */
export function plantEvents(p: Plant): TraceEvent[] {
  const ev: TraceEvent[] = [];
  let id = 0;
  const next = () => `${p.seed}-e${++id}`;
  const materials = new Map(p.lots.map((l) => [l.material, l.kind]));
  for (const [material, kind] of materials) ev.push({ type: 'material', id: next(), material, name: `${material} name`, kind, uom: 'kg' });
  for (const s of ['SUP-A', 'SUP-B', 'SUP-C']) ev.push({ type: 'supplier', id: next(), supplier: s, name: `Supplier ${s}` });
  for (const c of ['CUST-1', 'CUST-2', 'CUST-3', 'CUST-4']) ev.push({ type: 'customer', id: next(), customer: c, name: `Customer ${c}` });
  // Consumes first: their lots are not known yet (placeholders), filled by the lot events below.
  const byOutput = new Map<string, PlantLink[]>();
  for (const l of p.links) byOutput.set(l.output, [...(byOutput.get(l.output) ?? []), l]);
  for (const [output, ins] of byOutput) {
    ev.push({ type: 'consume', id: next(), output, inputs: ins.map((l) => ({ lot: l.input, qty: l.qty })), at: '2026-02-01T08:00:00.000Z' });
  }
  for (const l of p.lots) {
    const e: TraceEvent = { type: 'lot', id: next(), lot: l.code, material: l.material, qty: l.qty, uom: 'kg', at: '2026-01-15T06:00:00.000Z' };
    if (l.supplier) e.supplier = l.supplier;
    ev.push(e);
  }
  for (const s of p.shipments) ev.push({ type: 'shipment', id: next(), lot: s.lot, customer: s.customer, qty: s.qty, at: s.at });
  return ev;
}

export interface Closure {
  depths: Map<string, number>;
  /** `input>output` for every link followed (out of lots above the depth limit). */
  edges: Set<string>;
  truncated: boolean;
  /** The injected cycle as the trace must report it (walk order, from its lot nearest the root), or null. */
  cycle: string[] | null;
  shipments: PlantShipment[];
}

/** Breadth-first closure of a lot in a direction, as the trace defines it. */
export function closure(p: Plant, root: string, direction: 'backward' | 'forward', maxDepth = 100): Closure {
  const next = new Map<string, PlantLink[]>();
  for (const l of p.links) {
    const from = direction === 'backward' ? l.output : l.input;
    next.set(from, [...(next.get(from) ?? []), l]);
  }
  const to = (l: PlantLink) => (direction === 'backward' ? l.input : l.output);
  const depths = new Map([[root, 0]]);
  const edges = new Set<string>();
  let truncated = false;
  let frontier = [root];
  for (let d = 0; frontier.length; d++) {
    const following: string[] = [];
    for (const lot of frontier) {
      for (const l of next.get(lot) ?? []) {
        if (d >= maxDepth) {
          truncated = true;
          continue;
        }
        edges.add(`${l.input}>${l.output}`);
        if (!depths.has(to(l))) {
          depths.set(to(l), d + 1);
          following.push(to(l));
        }
      }
    }
    frontier = following;
  }
  // The cycle is found when the walk can go once around it within the depth limit.
  let cycle: string[] | null = null;
  if (p.cycle.every((c) => depths.has(c))) {
    const ring = direction === 'forward' ? [...p.cycle] : [...p.cycle].reverse();
    let best = 0;
    for (let i = 1; i < ring.length; i++) {
      const a = depths.get(ring[i]!)!;
      const b = depths.get(ring[best]!)!;
      if (a < b || (a === b && ring[i]! < ring[best]!)) best = i;
    }
    const rotated = [...ring.slice(best), ...ring.slice(0, best)];
    if (depths.get(rotated[0]!)! + ring.length - 1 < maxDepth) cycle = [...rotated, rotated[0]!];
  }
  const shipments = direction === 'forward' ? p.shipments.filter((s) => depths.has(s.lot)) : [];
  return { depths, edges, truncated, cycle, shipments };
}
