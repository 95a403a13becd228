import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { demoPlant } from '../trace/demo/index.js';
import { traceEvent, type TraceEvent } from '../trace/ingest/events.js';

/** The demo plant as a generator: determinism, the ingest contract, and the incident against its own stream. */

function hashOf(events: Iterable<TraceEvent>): { hash: string; count: number } {
  const h = createHash('sha256');
  let count = 0;
  for (const e of events) {
    h.update(JSON.stringify(e));
    h.update('\n');
    count++;
  }
  return { hash: h.digest('hex'), count };
}

function closure(start: string, graph: Map<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    for (const next of graph.get(todo.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
}

describe('demo plant generator', () => {
  it('gives the same event stream for the same seed and a different one for another seed', () => {
    const a = hashOf(demoPlant({ lots: 400, seed: 'alpha' }).events());
    const again = hashOf(demoPlant({ lots: 400, seed: 'alpha' }).events());
    const b = hashOf(demoPlant({ lots: 400, seed: 'beta' }).events());
    expect(again).toEqual(a);
    expect(b.hash).not.toBe(a.hash);
    // Numbers and strings give the same seed.
    expect(hashOf(demoPlant({ lots: 400, seed: 7 }).events())).toEqual(hashOf(demoPlant({ lots: 400, seed: '7' }).events()));
  });

  it('yields events that all satisfy the ingest contract, with unique ids and the counted size', () => {
    const plant = demoPlant({ lots: 500, seed: 'contract' });
    const ids = new Set<string>();
    const types = new Map<string, number>();
    const sampleKeys = new Set<string>();
    let n = 0;
    for (const e of plant.events()) {
      const r = traceEvent.safeParse(e);
      if (!r.success) throw new Error(`event ${n} ${JSON.stringify(e)} breaks the contract: ${r.error.message}`);
      expect(ids.has(e.id), e.id).toBe(false);
      ids.add(e.id);
      types.set(e.type, (types.get(e.type) ?? 0) + 1);
      if (e.type === 'sample') {
        // The store keys samples on (equipment, parameter, ts).
        const key = `${e.equipment}|${e.parameter}|${e.ts}`;
        expect(sampleKeys.has(key), key).toBe(false);
        sampleKeys.add(key);
      }
      n++;
    }
    expect(types.get('lot')).toBe(500);
    expect(plant.counts.lots).toBe(500);
    expect(n - (types.get('alarm') ?? 0)).toBe(plant.estimatedEvents);
    for (const t of ['supplier', 'customer', 'material', 'equipment', 'personnel', 'route', 'parameterSpec', 'workOrder', 'operation', 'consume', 'sample', 'inspection', 'alarm', 'shipment']) {
      expect(types.get(t) ?? 0, t).toBeGreaterThan(0);
    }
  });

  it('emits master data first, two versions of a route, and plants on equipment', () => {
    const events = [...demoPlant({ lots: 300 }).events()];
    const firstProduction = events.findIndex((e) => ['lot', 'operation', 'consume', 'sample', 'workOrder'].includes(e.type));
    const master = ['supplier', 'customer', 'material', 'equipment', 'personnel', 'route', 'parameterSpec'];
    const lastMaster = events.length - 1 - [...events].reverse().findIndex((e) => master.includes(e.type));
    expect(lastMaster).toBeLessThan(firstProduction);
    const routes = events.filter((e): e is Extract<TraceEvent, { type: 'route' }> => e.type === 'route');
    const versions = new Map<string, number[]>();
    for (const r of routes) versions.set(r.route, [...(versions.get(r.route) ?? []), r.version]);
    expect([...versions.values()].some((v) => v.length >= 2)).toBe(true);
    const plants = new Set(events.flatMap((e) => (e.type === 'equipment' ? [e.plant] : [])));
    expect(plants.size).toBeGreaterThanOrEqual(2);
    const workOrderVersions = new Set(events.flatMap((e) => (e.type === 'workOrder' && e.route === 'RT-CMP-PP' ? [e.routeVersion] : [])));
    expect(workOrderVersions).toEqual(new Set([1, 2]));
  });

  it('plants an incident whose lot sets match the genealogy of its own stream', () => {
    const plant = demoPlant({ lots: 2000, seed: 'incident' });
    const { incident } = plant;
    const forward = new Map<string, string[]>();
    const backward = new Map<string, string[]>();
    const kind = new Map<string, string>();
    const shippedTo = new Map<string, string>();
    const materialOf = new Map<string, string>();
    const supplierOf = new Map<string, string>();
    const highSamples = new Set<string>();
    const alarms = new Set<string>();
    const failed = new Set<string>();
    const usl = new Map<string, number>();
    const routeOfOrder = new Map<string, string>();
    const routeRunningOn = new Map<string, string>();
    for (const e of plant.events()) {
      if (e.type === 'material') kind.set(e.material, e.kind);
      if (e.type === 'parameterSpec' && e.parameter === incident.parameter) usl.set(`${e.route}@${e.version}`, e.usl!);
      if (e.type === 'lot') {
        materialOf.set(e.lot, e.material);
        if (e.supplier) supplierOf.set(e.lot, e.supplier);
      }
      if (e.type === 'consume') {
        for (const i of e.inputs) {
          forward.set(i.lot, [...(forward.get(i.lot) ?? []), e.output]);
          backward.set(e.output, [...(backward.get(e.output) ?? []), i.lot]);
        }
      }
      if (e.type === 'shipment') shippedTo.set(e.lot, e.customer);
      if (e.type === 'workOrder') routeOfOrder.set(e.workOrder, `${e.route}@${e.routeVersion}`);
      if (e.type === 'operation') routeRunningOn.set(e.equipment, routeOfOrder.get(e.workOrder!)!);
      if (e.type === 'sample' && e.parameter === incident.parameter && e.value > usl.get(routeRunningOn.get(e.equipment)!)!) highSamples.add(e.equipment);
      if (e.type === 'alarm' && e.parameter === incident.parameter && e.rule === 'SPEC_HIGH' && e.value! > e.limit!) alarms.add(e.equipment);
      if (e.type === 'inspection' && e.result === 'fail') failed.add(e.lot);
    }
    const reached = closure(incident.supplierLot, forward);
    const lotsOfKind = (k: string) => [...reached].filter((l) => kind.get(materialOf.get(l)!) === k).sort();
    expect(materialOf.get(incident.supplierLot)).toBe(incident.material);
    expect(supplierOf.get(incident.supplierLot)).toBe(incident.supplier);
    expect(lotsOfKind('finished')).toEqual(incident.finishedLots);
    expect(incident.finishedLots.length).toBeGreaterThan(3);
    expect(incident.intermediateLots).toEqual((forward.get(incident.supplierLot) ?? []).slice().sort().filter((v, i, a) => a.indexOf(v) === i));
    const customers = [...new Set(incident.finishedLots.flatMap((l) => (shippedTo.has(l) ? [shippedTo.get(l)!] : [])))].sort();
    expect(customers).toEqual(incident.customers);
    expect(incident.customers.length).toBeGreaterThan(0);
    expect(incident.finishedLots).toContain(incident.sampleFinishedLot);
    expect(closure(incident.sampleFinishedLot, backward).has(incident.supplierLot)).toBe(true);
    // The contaminated resin pushed the parameter out of spec where it was compounded, raised alarms there, and failed inspections.
    for (const eq of incident.equipment) {
      expect(highSamples.has(eq), eq).toBe(true);
      expect(alarms.has(eq), eq).toBe(true);
    }
    expect([...incident.intermediateLots, ...incident.finishedLots].some((l) => failed.has(l))).toBe(true);
  });

  it('streams lazily: the first events of a big plant come without generating the rest', () => {
    const plant = demoPlant({ lots: 100_000, samplesPerParameter: 1 });
    const it = plant.events();
    const first = [it.next().value, it.next().value] as TraceEvent[];
    it.return(undefined);
    expect(first.map((e) => e.type)).toEqual(['supplier', 'supplier']);
    expect(plant.estimatedEvents).toBeGreaterThan(800_000);
  });

  it('refuses plants too small to plant the incident', () => {
    expect(() => demoPlant({ lots: 10 })).toThrow(/≥ 150/);
    expect(() => demoPlant({ samplesPerParameter: 0 })).toThrow(/samples per parameter/);
  });
});
