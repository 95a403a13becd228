import { requireBuild, runCliAsync } from './support/cli.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { dialectTargets, type TestDatabase } from './support/databases.js';
import { openTraceStore } from '../trace/store.js';
import type { DataSource } from '../datasources/data-source.js';
import knexFactory from 'knex';
import { compileSql } from '../datasources/named-params.js';
import { traceGenealogy, genealogySql, type Genealogy } from '../trace/genealogy.js';
import { makePlant, plantEvents, closure, type Plant } from './genealogy-plant.js';

const targets = await dialectTargets();


/** Runs the built CLI (`npm run build` first). */
const cli = (...args: string[]) => runCliAsync(args);

async function cliTrace(...args: string[]): Promise<Genealogy> {
  const r = await cli('trace', ...args, '--json');
  if (r.status !== 0) throw new Error(`trace ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Genealogy;
}

beforeAll(requireBuild);

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

  it('SQL Server: the statement compiles through knex with every value bound', async () => {
    const knex = knexFactory({ client: 'mssql' });
    try {
      for (const direction of ['backward', 'forward'] as const) {
        const compiled = compileSql(genealogySql('mssql', direction), { lot: "X' OR 1=1 --", maxDepth: 7, maxRows: 1000 });
        const native = knex.raw(compiled.sql, compiled.bindings as never[]).toSQL().toNative();
        expect(native.bindings).toEqual(["X' OR 1=1 --", 7, 1000]);
        expect(native.sql).toContain('WHERE l.code = @p0');
        expect(native.sql).toContain('w.depth < @p1');
        expect(native.sql).toContain('SELECT TOP (@p2) lot_id, depth, path, cyc FROM walk');
        expect(native.sql).not.toContain("X'");
      }
    } finally {
      await knex.destroy();
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
    // Loaded through `tracereport ingest`: every consume event comes before the lots it names.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-genealogy-'));
    const file = path.join(dir, 'plants.ndjson');
    fs.writeFileSync(file, plants.flatMap(plantEvents).map((e) => JSON.stringify(e)).join('\n') + '\n');
    const r = await cli('ingest', file, '--db', tdb.url);
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`ingest exited ${r.status}: ${r.stderr}`);
    db = await openTraceStore(tdb.url);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it.skipIf(skip)('the CLI\'s --json matches the oracle on random DAGs with a cycle', async () => {
    const runs: Array<{ p: Plant; lot: string; direction: 'backward' | 'forward'; depth?: number }> = [];
    const [p, q] = plants as [Plant, Plant];
    const finished = q.lots.find((l) => l.kind === 'finished')!.code;
    runs.push({ p, lot: p.cycle[1]!, direction: 'backward' }, { p, lot: p.cycleFedBy, direction: 'forward' });
    runs.push({ p: q, lot: finished, direction: 'backward' }, { p: q, lot: q.cycleFedBy, direction: 'forward', depth: 2 });
    // A few processes at a time: each is mostly Node start-up. The module API covers every root below.
    for (let i = 0; i < runs.length; i += 4) {
      const batch = runs.slice(i, i + 4);
      const outs = await Promise.all(batch.map((r) => cliTrace(r.direction, r.lot, '--db', tdb.url, ...(r.depth === undefined ? [] : ['--depth', String(r.depth)]))));
      batch.forEach((r, j) => expectMatches(r.p, outs[j]!, r.lot, r.direction, r.depth));
    }
  });

  it.skipIf(skip)('the CLI: an unknown lot exits 1 with "lot X not found"; a cycle is a warning and the command ends', async () => {
    const p = plants[0]!;
    const [missing, text, bad] = await Promise.all([
      cli('trace', 'backward', 'NO-SUCH-LOT', '--db', tdb.url, '--json'),
      cli('trace', 'forward', p.cycleFedBy, '--db', tdb.url),
      cli('trace', 'backward', p.cycleFedBy, '--db', tdb.url, '--depth', '-1'),
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('lot NO-SUCH-LOT not found');
    expect(text.status).toBe(0);
    const [x, y, z] = p.cycle;
    expect(text.stdout).toContain(`warning: cycle in the genealogy data: ${x} → ${y} → ${z} → ${x}`);
    expect(text.stdout.split('\n')[1]).toMatch(new RegExp(`^${p.cycleFedBy}  `));
    expect(text.stdout).toMatch(new RegExp(`\\n  ${x}  MAT-INTERMEDIATE-C "MAT-INTERMEDIATE-C name" \\(intermediate\\)`));
    expect(bad.status).toBe(2);
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

  it.skipIf(skip)('the walk-row guard cuts a path-enumerating walk (SQLite, SQL Server) and says so', async () => {
    const p = plants[0]!;
    const root = p.cycleFeeds;
    const full = closure(p, root, 'backward');
    const g = await traceGenealogy(db, root, { direction: 'backward', maxRows: 3 });
    if (target.dialect === 'sqlite' || target.dialect === 'mssql') {
      expect(g.truncated).toBe(true);
      expect(g.lots.length).toBeLessThan(full.depths.size);
      for (const l of g.lots) expect(l.depth).toBe(full.depths.get(l.lot));
      for (const e of g.edges) expect(full.edges.has(`${e.input}>${e.output}`)).toBe(true);
    } else {
      // PostgreSQL and MariaDB keep one row per lot and depth: no guard needed, none applied.
      expectMatches(p, g, root, 'backward');
    }
  });

  it.skipIf(skip)('an unknown lot is LOT_NOT_FOUND', async () => {
    await expect(traceGenealogy(db, "NOPE' OR '1'='1", { direction: 'backward' })).rejects.toMatchObject({
      code: 'LOT_NOT_FOUND',
      message: "lot NOPE' OR '1'='1 not found",
    });
  });
});
