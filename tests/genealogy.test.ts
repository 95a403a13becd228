import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { dialectTargets, type TestDatabase } from './support/databases.js';
import { openTraceStore } from '../trace/store.js';
import type { DataSource } from '../datasources/data-source.js';
import { ingestEvents } from '../trace/ingest/ingest.js';
import { traceGenealogy, genealogySql, type Genealogy } from '../trace/genealogy.js';
import { makePlant, plantEvents, closure, type Plant } from './genealogy-plant.js';

const targets = await dialectTargets();

/** Compares a trace with the oracle's closure of the same plant. */
function expectMatches(plant: Plant, g: Genealogy, root: string, direction: 'backward' | 'forward', maxDepth = 100): void {
  const want = closure(plant, root, direction, maxDepth);
  const byCode = new Map(plant.lots.map((l) => [l.code, l]));
  const where = `${direction} ${root} depth ${maxDepth}`;
  expect(g.root, where).toBe(root);
  expect(g.direction, where).toBe(direction);
  expect(Object.fromEntries(g.lots.map((l) => [l.lot, l.depth])), where).toEqual(Object.fromEntries(want.depths));
  expect(g.lots.length, `${where}: each lot once`).toBe(new Set(g.lots.map((l) => l.lot)).size);
  expect(new Set(g.edges.map((e) => `${e.input}>${e.output}`)), where).toEqual(want.edges);
  expect(g.edges.length, `${where}: each edge once`).toBe(want.edges.size);
  expect(g.truncated, where).toBe(want.truncated);
  expect(g.cycles, where).toEqual(want.cycle ? [want.cycle] : []);
  const linkSet = new Set(plant.links.map((l) => `${l.input}>${l.output}`));
  for (const l of g.lots) {
    const lot = byCode.get(l.lot)!;
    expect({ material: l.material, kind: l.kind, qty: l.qty, uom: l.uom, supplier: l.supplier }, `${where}: ${l.lot}`).toEqual({
      material: lot.material, kind: lot.kind, qty: lot.qty, uom: 'kg', supplier: lot.supplier,
    });
    expect(l.placeholder).toBe(false);
    // The path is a shortest path from the root along links in the walk direction.
    expect(l.path.length, `${where}: path of ${l.lot}`).toBe(l.depth + 1);
    expect(l.path[0]).toBe(root);
    expect(l.path[l.path.length - 1]).toBe(l.lot);
    for (let i = 1; i < l.path.length; i++) {
      const [a, b] = [l.path[i - 1]!, l.path[i]!];
      expect(linkSet.has(direction === 'backward' ? `${b}>${a}` : `${a}>${b}`), `${where}: path step ${a}→${b}`).toBe(true);
    }
  }
  const ship = (s: { lot: string; customer: string; qty: number | null; at: string | null }) => `${s.lot}|${s.customer}|${s.qty}|${s.at}`;
  expect(g.shipments.map(ship).sort(), where).toEqual(want.shipments.map(ship).sort());
  for (const s of g.shipments) expect(s.customerName).toBe(`Customer ${s.customer}`);
}

describe('genealogy SQL per dialect', () => {
  it('SQL Server: its own recursive form, no RECURSIVE keyword, no UNION dedupe, CHARINDEX cycle test', () => {
    for (const direction of ['backward', 'forward'] as const) {
      const sql = genealogySql('mssql', direction);
      expect(sql).not.toMatch(/recursive/i);
      expect(sql).toMatch(/^WITH walk\(lot_id, depth, path, cyc\) AS \(/);
      expect(sql).toMatch(/UNION ALL/);
      expect(sql.replace(/UNION ALL/g, '')).not.toMatch(/\bUNION\b/);
      expect(sql).toMatch(/CHARINDEX\(/);
      expect(sql).toMatch(/NVARCHAR\(MAX\)/);
      expect(sql).toMatch(/OPTION \(MAXRECURSION 0\)/);
      expect(sql).not.toMatch(/\|\|/);
      const [from, to] = direction === 'backward' ? ['output_lot_id', 'input_lot_id'] : ['input_lot_id', 'output_lot_id'];
      expect(sql).toContain(`JOIN lot_link k ON k.${from} = w.lot_id`);
      expect(sql).toContain(`SELECT k.${to}, w.depth + 1`);
    }
  });

  it('SQLite, PostgreSQL and MariaDB use WITH RECURSIVE with bound parameters only', () => {
    for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
      for (const direction of ['backward', 'forward'] as const) {
        const sql = genealogySql(dialect, direction);
        expect(sql).toMatch(/^WITH RECURSIVE walk/);
        expect(sql).toContain('WHERE l.code = :lot');
        expect(sql).toContain('w.depth < :maxDepth');
        expect(sql).not.toMatch(/'[A-Z]+-/); // no lot code spliced in
      }
    }
    expect(genealogySql('mysql', 'backward')).toMatch(/CAST\(CONCAT\('\/', l\.id, '\/'\) AS CHAR\(\d+\) CHARACTER SET ascii\)/);
    expect(genealogySql('postgres', 'forward')).toMatch(/ROW_NUMBER\(\) OVER \(\s+PARTITION BY k\.output_lot_id/);
  });
});

describe.each(targets)('genealogy on $label', (target) => {
  let tdb: TestDatabase;
  let db: DataSource;
  const skip = !!target.unavailable;
  const plants = ['alpha', 'bravo', 'charlie'].map((seed) => makePlant(seed));

  beforeAll(async () => {
    if (skip) return;
    tdb = await target.create();
    db = await openTraceStore(tdb.url);
    for (const p of plants) await ingestEvents(db, plantEvents(p));
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it.skipIf(skip)('backward and forward closures match the oracle on random DAGs with a cycle', async () => {
    for (const p of plants) {
      // Every finished and raw lot, the lots around the cycle, and a lot on it.
      const roots = [...p.lots.filter((l) => l.kind !== 'intermediate').map((l) => l.code), p.cycleFedBy, p.cycleFeeds, p.cycle[1]!];
      for (const root of roots) {
        for (const direction of ['backward', 'forward'] as const) {
          expectMatches(p, await traceGenealogy(db, root, { direction }), root, direction);
        }
      }
    }
  });

  it.skipIf(skip)('the injected cycle is reported once and the walk ends', async () => {
    const p = plants[0]!;
    const [x, y, z] = p.cycle;
    const fwd = await traceGenealogy(db, y!, { direction: 'forward' });
    expect(fwd.cycles).toEqual([[y, z, x, y]]);
    const back = await traceGenealogy(db, y!, { direction: 'backward' });
    expect(back.cycles).toEqual([[y, x, z, y]]);
    expectMatches(p, back, y!, 'backward');
  });

  it.skipIf(skip)('depth limits cut the walk and say so', async () => {
    for (const p of plants) {
      const roots = [...p.lots.filter((l) => l.kind === 'finished').slice(0, 2).map((l) => l.code), p.cycleFeeds, p.cycleFedBy];
      for (const root of roots) {
        for (const direction of ['backward', 'forward'] as const) {
          for (const maxDepth of [0, 1, 2, 3, 4]) {
            const g = await traceGenealogy(db, root, { direction, maxDepth });
            expectMatches(p, g, root, direction, maxDepth);
            expect(Math.max(...g.lots.map((l) => l.depth))).toBeLessThanOrEqual(maxDepth);
          }
        }
      }
    }
  });

  it.skipIf(skip)('an unknown lot is LOT_NOT_FOUND', async () => {
    await expect(traceGenealogy(db, "NOPE' OR '1'='1", { direction: 'backward' })).rejects.toMatchObject({
      code: 'LOT_NOT_FOUND',
      message: "lot NOPE' OR '1'='1 not found",
    });
  });
});
