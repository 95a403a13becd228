/**
 * The built-in trace reports (templates/*.json): each validates, its SQL runs on the trace store, and
 * rendered over the demo plant it shows the planted incident (supplier lot, the out-of-spec melt
 * pressure, the failed inspections, the affected finished lots and their customers).
 *
 * Rendered through the public pieces: parseTemplate → each dataset's SQL on the trace store (a
 * DataSource, parameters bound by the driver) → expandGrid → the resolved sheets read back as grids;
 * charts are drawn with renderChartSvg.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource, Row } from '../datasources/data-source.js';
import { parseTemplate } from '../renderer/template/load.js';
import type { GridTemplate, Template } from '../renderer/template/schema.js';
import { expandGrid } from '../renderer/engine/expand.js';
import type { CellStyle, CellValue, ResolvedChart, ResolvedLink } from '../renderer/resolved.js';
import { renderChartPng, renderChartSvg } from '../renderer/charts/render.js';
import { demoPlant, type DemoIncident } from '../trace/demo/index.js';
import { loadDemoPlant } from '../trace/demo/load.js';
import { openTraceStore } from '../trace/store.js';
import ExcelJS from 'exceljs';
import { requireBuild, runCliAsync } from './support/cli.js';
import { dialectTargets, type DialectTarget, type TestDatabase } from './support/databases.js';

const TEMPLATES = path.resolve(__dirname, '..', 'templates');
const NAMES = fs.readdirSync(TEMPLATES).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

interface Sheet {
  name: string;
  grid: CellValue[][];
  styles: Map<string, CellStyle>;
  links: Map<string, ResolvedLink>;
  charts: ResolvedChart[];
  /** Merged cells: top-left row/col and the rows/columns they cover. */
  merges: { row: number; col: number; rows: number; cols: number }[];
}

function load(name: string): Template {
  const file = path.join(TEMPLATES, `${name}.json`);
  return parseTemplate(fs.readFileSync(file, 'utf8'), file);
}

function grid(name: string): GridTemplate {
  const t = load(name);
  if (t.kind !== 'grid') throw new Error(`${name} is not a grid template`);
  return t;
}

const key = (row: number, col: number) => `${row}:${col}`;

async function render(db: DataSource, template: GridTemplate, params: Record<string, unknown>): Promise<Sheet[]> {
  const report = expandGrid({
    template,
    params,
    openDataset(name) {
      const ds = template.datasets.find((d) => d.name === name);
      if (!ds) throw new Error(`no dataset ${name}`);
      if ('rows' in ds) {
        return (async function* () {
          yield* ds.rows;
        })();
      }
      return db.stream(ds.sql, params as Record<string, never>);
    },
  });
  const out: Sheet[] = [];
  for await (const sheet of report.sheets) {
    const s: Sheet = { name: sheet.name, grid: [], styles: new Map(), links: new Map(), charts: sheet.floats.map((f) => f.chart), merges: [] };
    for await (const band of sheet.bands) {
      for (const r of band.rows) {
        while (s.grid.length <= r.row) s.grid.push([]);
        for (const c of r.cells) {
          s.grid[r.row]![c.col] = c.value;
          if (c.style !== undefined) s.styles.set(key(r.row, c.col), report.styles.get(c.style));
          if (c.link) s.links.set(key(r.row, c.col), c.link);
          if (c.chart) s.charts.push(c.chart);
          if ((c.rowSpan ?? 1) > 1 || (c.colSpan ?? 1) > 1) s.merges.push({ row: r.row, col: c.col, rows: c.rowSpan ?? 1, cols: c.colSpan ?? 1 });
        }
      }
    }
    out.push(s);
  }
  expect(report.meta.warnings, JSON.stringify(report.meta.warnings)).toEqual([]);
  return out;
}

function sheet(sheets: Sheet[], name: string): Sheet {
  const s = sheets.find((x) => x.name === name);
  if (!s) throw new Error(`no sheet ${name} in ${sheets.map((x) => x.name).join(', ')}`);
  return s;
}

/** Column index of a header text in the header row (row index 2, template row 3, unless given). */
function column(s: Sheet, header: string, headerRow = 2): number {
  const i = (s.grid[headerRow] ?? []).indexOf(header);
  if (i < 0) throw new Error(`no header "${header}" in ${s.name}: ${JSON.stringify(s.grid[headerRow])}`);
  return i;
}

/** Data rows below the header as objects by header text; a merged group value carries down. */
function records(s: Sheet, headerRow = 2): Record<string, CellValue>[] {
  const headers = s.grid[headerRow] ?? [];
  const out: Record<string, CellValue>[] = [];
  const carry: CellValue[] = [];
  for (let r = headerRow + 1; r < s.grid.length; r++) {
    const line = s.grid[r] ?? [];
    if (line.every((v) => v === null || v === undefined)) break;
    const rec: Record<string, CellValue> = {};
    headers.forEach((h, c) => {
      if (typeof h !== 'string') return;
      let v = line[c] ?? null;
      if (v === null && c === 0) v = carry[c] ?? null;
      carry[c] = v;
      rec[h] = v;
    });
    out.push(rec);
  }
  return out;
}

function isBad(s: Sheet, row: number, col: number): boolean {
  return s.styles.get(key(row, col))?.fill === '#FFC7CE';
}

function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

function text(s: Sheet): string {
  return s.grid.map((l) => l.map((v) => (v === null || v === undefined ? '' : String(v))).join('\t')).join('\n');
}

let dir: string;
let db: DataSource;
let incident: DemoIncident;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'builtin-templates-'));
  const plant = demoPlant({});
  incident = plant.incident;
  db = await openTraceStore(path.join(dir, 'plant.sqlite'));
  await loadDemoPlant(db, plant);
}, 240_000);

afterAll(async () => {
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Parameters that show the planted incident, per template. */
function incidentParams(name: string): Record<string, unknown> {
  switch (name) {
    case 'batch-trace':
      return { lot: incident.sampleFinishedLot };
    case 'recall':
    case 'material-flow':
      return { lot: incident.supplierLot };
    case 'process-parameters':
      return { parameter: incident.parameter, from: new Date('2025-01-15T00:00:00Z'), to: new Date('2025-01-25T00:00:00Z') };
    case 'spc':
      return { equipment: incident.equipment[0], parameter: incident.parameter, n: 5, route: 'RT-CMP-PP' };
    case 'inspection-summary':
      return { material: incident.material };
    default:
      throw new Error(`no incident parameters for ${name}`);
  }
}

describe('built-in templates', () => {
  it('are the six trace reports', () => {
    expect(NAMES).toEqual(['batch-trace', 'inspection-summary', 'material-flow', 'process-parameters', 'recall', 'spc']);
  });

  it.each(NAMES)('%s validates as format 1 with parameters and trace datasets', (name) => {
    const t = load(name);
    expect(t.format).toBe(1);
    expect(t.parameters.length).toBeGreaterThan(0);
    for (const d of t.datasets) if ('sql' in d) expect(d.source).toBe('trace');
  });

  it('the demo plant has the incident these tests expect', () => {
    expect(incident.supplierLot).toBe('RM-000056');
    expect(incident.parameter).toBe('melt_pressure');
    expect(incident.finishedLots.length).toBeGreaterThan(5);
    expect(incident.customers.length).toBeGreaterThan(0);
  });
});

describe('batch-trace', () => {
  it('traces an affected finished lot back to the incident supplier lot, with its out-of-spec compounding, alarms and inspections', async () => {
    const lot = incident.sampleFinishedLot;
    const sheets = await render(db, grid('batch-trace'), { lot });
    expect(sheets.map((s) => s.name)).toEqual(['Genealogy', 'Operations', 'Process parameters', 'Inspections', 'Alarms']);

    const gen = sheet(sheets, 'Genealogy');
    expect(gen.grid[0]![0]).toBe(`Batch trace of lot ${lot}`);
    const lots = records(gen);
    expect(lots[0]).toMatchObject({ Depth: 0, Lot: lot, Kind: 'finished' });
    const supplierLot = lots.find((r) => r.Lot === incident.supplierLot);
    expect(supplierLot).toMatchObject({ Kind: 'raw', Material: incident.material, Supplier: incident.supplier, 'Supplier lot': incident.vendorLot });
    // every lot links to its own batch trace
    const lotCol = column(gen, 'Lot');
    const row = gen.grid.findIndex((l) => l[lotCol] === incident.supplierLot);
    expect(gen.links.get(key(row, lotCol))).toEqual({ report: 'batch-trace', params: { lot: incident.supplierLot } });
    // the total counts the lots
    const totalRow = gen.grid.findIndex((l) => l[0] === 'Lots');
    expect(gen.grid[totalRow]![lotCol]).toBe(lots.length);

    // the compounding of the incident's intermediate lot ran out of spec: verdict OUT, max in red
    const pp = sheet(sheets, 'Process parameters');
    const direct = lots.map((r) => r.Lot).filter((l) => incident.intermediateLots.includes(String(l)));
    expect(direct.length).toBeGreaterThan(0);
    const recs = records(pp);
    const maxCol = column(pp, 'Max');
    const verdictCol = column(pp, 'Verdict');
    for (const l of direct) {
      const i = recs.findIndex((r) => r.Lot === l && r.Parameter === incident.parameter);
      expect(i, `${incident.parameter} of ${l}`).toBeGreaterThanOrEqual(0);
      const r = recs[i]!;
      expect(r.Verdict).toBe('OUT');
      expect(Number(r.Max)).toBeGreaterThan(Number(r.USL));
      expect(isBad(pp, 3 + i, maxCol)).toBe(true);
      expect(isBad(pp, 3 + i, verdictCol)).toBe(true);
    }
    const fine = recs.findIndex((r) => r.Verdict === 'ok');
    expect(isBad(pp, 3 + fine, maxCol)).toBe(false);
    expect(pp.styles.get(key(3 + fine, verdictCol))?.fill).toBe('#C6EFCE');

    const ops = records(sheet(sheets, 'Operations'));
    expect(ops.some((r) => r.Lot === direct[0] && incident.equipment.includes(String(r.Equipment)))).toBe(true);
    expect(ops.every((r) => typeof r.Operator === 'string' && r.Started instanceof Date)).toBe(true);

    const insp = records(sheet(sheets, 'Inspections'));
    expect(insp.some((r) => r.Lot === incident.supplierLot)).toBe(true);
    expect(insp.every((r) => r.Result === 'pass' || r.Result === 'fail')).toBe(true);

    const alarms = records(sheet(sheets, 'Alarms'));
    expect(alarms.some((r) => direct.includes(r.Lot as string) && r.Parameter === incident.parameter && Number(r.Value) > Number(r.Limit))).toBe(true);
  });
});

describe('recall', () => {
  it('lists every customer that received a finished lot made from the incident supplier lot', async () => {
    const sheets = await render(db, grid('recall'), { lot: incident.supplierLot });
    const list = sheet(sheets, 'Recall list');
    expect(list.grid[0]![0]).toBe(`Recall list for lot ${incident.supplierLot}`);
    const shipments = records(list).filter((r) => typeof r.Lot === 'string');
    const customers = new Set(shipments.map((r) => r.Customer));
    expect([...customers].sort()).toEqual([...incident.customers].sort());
    for (const r of shipments) expect(incident.finishedLots).toContain(r.Lot);
    // a subtotal per customer and a grand total equal to the shipped quantities
    const qtyCol = column(list, 'Qty');
    const subtotals = list.grid.filter((l) => l[qtyCol - 1] === 'Customer total').map((l) => l[qtyCol]);
    expect(subtotals).toHaveLength(customers.size);
    const shipped = shipments.reduce((a, r) => a + Number(r.Qty), 0);
    expect(subtotals.reduce((a: number, v) => a + Number(v), 0)).toBe(shipped);
    expect(list.grid.find((l) => l[qtyCol - 1] === 'Total shipped')![qtyCol]).toBe(shipped);
    expect(list.grid.find((l) => l[0] === 'Customers')![1]).toBe(customers.size);
    const lotCol = column(list, 'Lot');
    const first = list.grid.findIndex((l, i) => i > 2 && typeof l[lotCol] === 'string');
    expect(list.links.get(key(first, lotCol))).toEqual({ report: 'batch-trace', params: { lot: list.grid[first]![lotCol] } });

    const affected = sheet(sheets, 'Affected lots');
    const lots = records(affected);
    expect(lots[0]).toMatchObject({ Depth: 0, Lot: incident.supplierLot });
    const reached = lots.map((r) => r.Lot);
    for (const l of [...incident.intermediateLots, ...incident.finishedLots]) expect(reached).toContain(l);
    const statusCol = column(affected, 'Status');
    const shippedRow = lots.findIndex((r) => r.Status === 'shipped');
    expect(isBad(affected, 3 + shippedRow, statusCol)).toBe(true);
    expect(affected.grid.find((l) => l[2] === 'Finished')![3]).toBe(incident.finishedLots.length);
  });

  it("finds the same customers from the supplier's own lot number", async () => {
    const sheets = await render(db, grid('recall'), { lot: incident.vendorLot });
    const customers = new Set(records(sheet(sheets, 'Recall list')).filter((r) => typeof r.Lot === 'string').map((r) => r.Customer));
    expect([...customers].sort()).toEqual([...incident.customers].sort());
  });
});

describe('process-parameters', () => {
  it('summarises each step and parameter against spec and draws the trend with its limits', async () => {
    const sheets = await render(db, grid('process-parameters'), { parameter: incident.parameter });
    const s = sheets[0]!;
    expect(s.grid[1]![0]).toContain(`Trend of ${incident.parameter}`);
    expect(s.grid[1]![0]).not.toContain('Route');
    const rows = records(s).filter((r) => typeof r.Route === 'string');
    // every parameter with a spec, per step and route
    const specs = await db.query<{ n: number }>('select count(*) as n from parameter_spec');
    expect(rows).toHaveLength(Number(specs[0]!.n));
    expect(new Set(rows.map((r) => r.Parameter)).size).toBeGreaterThan(5);
    // the incident's resin compound route ran above its USL
    const i = rows.findIndex((r) => r.Route === 'RT-CMP-PP' && r.Parameter === incident.parameter && Number(r['Out of spec']) > 0);
    expect(i).toBeGreaterThanOrEqual(0);
    const r = rows[i]!;
    expect(Number(r.Max)).toBeGreaterThan(Number(r.USL));
    expect(r['Out %']).toBeCloseTo(Number(r['Out of spec']) / Number(r.Samples), 9);
    expect(isBad(s, 3 + i, column(s, 'Max'))).toBe(true);
    expect(isBad(s, 3 + i, column(s, 'Out %'))).toBe(true);
    const clean = rows.findIndex((x) => Number(x['Out of spec']) === 0);
    expect(isBad(s, 3 + clean, column(s, 'Max'))).toBe(false);
    const outTotal = s.grid.find((l) => l[column(s, 'Max')] === 'Out')![column(s, 'Out of spec')];
    expect(outTotal).toBe(rows.reduce((a, x) => a + Number(x['Out of spec']), 0));

    // the trend: every sample of the parameter, the out-of-spec ones as red points, the limits as mark lines
    expect(s.charts).toHaveLength(1);
    const option = s.charts[0]!.option as { dataset: { source: { out_value: number | null }[] }; series: { markLine?: { data: { yAxis: unknown }[] } }[] };
    const mine = rows.filter((x) => x.Parameter === incident.parameter);
    expect(option.dataset.source).toHaveLength(mine.reduce((a, x) => a + Number(x.Samples), 0));
    expect(option.dataset.source.filter((p) => p.out_value !== null)).toHaveLength(mine.reduce((a, x) => a + Number(x['Out of spec']), 0));
    const svg = renderChartSvg(s.charts[0]!);
    expect(svg).toContain(`${incident.parameter} trend`);

    const pp = await render(db, grid('process-parameters'), { parameter: incident.parameter, route: 'RT-CMP-PP' });
    const limits = (pp[0]!.charts[0]!.option as typeof option).series[0]!.markLine!.data.map((d) => d.yAxis);
    expect(limits).toEqual([120, 85]); // tightest USL and LSL of RT-CMP-PP versions 1 and 2
    expect(records(pp[0]!).filter((x) => typeof x.Route === 'string').every((x) => x.Route === 'RT-CMP-PP')).toBe(true);
    expect(texts(renderChartSvg(pp[0]!.charts[0]!))).toEqual(expect.arrayContaining(['USL: 120', 'LSL: 85']));
  });
});

describe('spc', () => {
  const A2: Record<number, number> = { 2: 1.88, 3: 1.023, 4: 0.729, 5: 0.577, 6: 0.483 };
  const D2: Record<number, number> = { 2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534 };
  const D4: Record<number, number> = { 2: 3.267, 3: 2.574, 4: 2.282, 5: 2.114, 6: 2.004 };

  /** The X̄-R statistics computed here from the raw samples, to check the template's SQL against. */
  async function expected(equipment: string, parameter: string, n: number, route?: string) {
    const samples = await db.query<{ value: number }>(
      `select sm.value as value from sample sm join equipment e on e.id = sm.equipment_id
       where e.code = :equipment and sm.parameter = :parameter
       {{#if route}} and exists (select 1 from operation o join work_order wo on wo.id = o.work_order_id join route ro on ro.id = wo.route_id
         where o.equipment_id = sm.equipment_id and sm.ts >= o.started_at and sm.ts <= o.ended_at and ro.code = :route){{/if}}
       order by sm.ts`,
      { equipment, parameter, route: route ?? null },
    );
    const groups: number[][] = [];
    for (let i = 0; i + n <= samples.length; i += n) groups.push(samples.slice(i, i + n).map((r) => r.value));
    const xbars = groups.map((g) => g.reduce((a, b) => a + b, 0) / n);
    const ranges = groups.map((g) => Math.max(...g) - Math.min(...g));
    const xbarbar = xbars.reduce((a, b) => a + b, 0) / xbars.length;
    const rbar = ranges.reduce((a, b) => a + b, 0) / ranges.length;
    return { subgroups: groups.length, xbars, xbarbar, rbar, uclX: xbarbar + A2[n]! * rbar, lclX: xbarbar - A2[n]! * rbar, uclR: D4[n]! * rbar, sigma: rbar / D2[n]! };
  }

  function summary(s: Sheet, label: string): CellValue {
    for (const line of s.grid.slice(0, 6)) {
      const i = line.indexOf(label);
      if (i >= 0) return line[i + 1]!;
    }
    throw new Error(`no ${label}`);
  }

  it.each([
    [5, undefined],
    [4, 'RT-CMP-PP'],
  ])('computes subgroups of %i, control limits and Cp/Cpk for the incident extruder (route %s)', async (n, route) => {
    const equipment = incident.equipment[0]!;
    const params = { equipment, parameter: incident.parameter, n, ...(route ? { route } : {}) };
    const s = (await render(db, grid('spc'), params))[0]!;
    const e = await expected(equipment, incident.parameter, n, route);
    expect(s.grid[0]![0]).toBe(`SPC X̄-R chart: ${incident.parameter} on ${equipment}`);
    expect(summary(s, 'Subgroups')).toBe(e.subgroups);
    expect(summary(s, 'X̄̄')).toBeCloseTo(e.xbarbar, 9);
    expect(summary(s, 'R̄')).toBeCloseTo(e.rbar, 9);
    expect(summary(s, 'UCL X̄')).toBeCloseTo(e.uclX, 9);
    expect(summary(s, 'LCL X̄')).toBeCloseTo(e.lclX, 9);
    expect(summary(s, 'UCL R')).toBeCloseTo(e.uclR, 9);
    expect(summary(s, 'σ̂')).toBeCloseTo(e.sigma, 9);
    const lsl = Number(summary(s, 'LSL'));
    const usl = Number(summary(s, 'USL'));
    expect(usl).toBeGreaterThan(lsl);
    expect(summary(s, 'Cp')).toBeCloseTo((usl - lsl) / (6 * e.sigma), 9);
    expect(summary(s, 'Cpk')).toBeCloseTo(Math.min(usl - e.xbarbar, e.xbarbar - lsl) / (3 * e.sigma), 9);

    const rows = records(s, 9);
    expect(rows).toHaveLength(e.subgroups);
    rows.forEach((r, i) => expect(r['X̄']).toBeCloseTo(e.xbars[i]!, 9));
    // the contaminated resin pushed subgroup means above the upper control limit: flagged and red
    const above = rows.map((r, i) => [r, i] as const).filter(([r]) => r.Signal === 'X above UCL');
    expect(above.length).toBeGreaterThan(0);
    for (const [r, i] of above) {
      expect(Number(r['X̄'])).toBeGreaterThan(e.uclX);
      expect(isBad(s, 10 + i, column(s, 'X̄', 9))).toBe(true);
    }
    const quiet = rows.findIndex((r) => r.Signal === '');
    expect(isBad(s, 10 + quiet, column(s, 'X̄', 9))).toBe(false);
    expect(summary(s, 'Signals')).toBe(rows.filter((r) => r.Signal !== '').length);

    // X̄ and R charts with their control limits as mark lines
    expect(s.charts).toHaveLength(2);
    const marks = s.charts.map((c) => ((c.option.series as { markLine: { data: { yAxis: number }[] } }[])[0]!.markLine.data.map((d) => d.yAxis)));
    expect(marks[0]![0]).toBeCloseTo(e.uclX, 9);
    expect(marks[0]![1]).toBeCloseTo(e.xbarbar, 9);
    expect(marks[1]![0]).toBeCloseTo(e.uclR, 9);
    const svg = renderChartSvg(s.charts[0]!);
    expect(texts(svg)).toContain('X̄ chart');
  });
});

describe('inspection-summary', () => {
  it('gives pass rates by characteristic, a supplier x characteristic cross-tab, and the incident supplier lot as the worst', async () => {
    const sheets = await render(db, grid('inspection-summary'), { material: incident.material });
    const counts = await db.query<{ characteristic: string; n: number; passed: number }>(
      "select characteristic, count(*) as n, sum(case when result = 'pass' then 1 else 0 end) as passed from inspection group by characteristic",
    );

    const byChr = sheet(sheets, 'By characteristic');
    const rows = records(byChr).filter((r) => r.Characteristic !== 'All');
    const warpage = rows.find((r) => r.Kind === 'finished' && r.Characteristic === 'warpage')!;
    const expectedWarpage = counts.find((c) => c.characteristic === 'warpage')!;
    expect(warpage).toMatchObject({ Inspections: expectedWarpage.n, Passed: expectedWarpage.passed, Failed: expectedWarpage.n - expectedWarpage.passed });
    expect(warpage['Pass rate']).toBeCloseTo(expectedWarpage.passed / expectedWarpage.n, 9);
    const all = byChr.grid.find((l) => l[1] === 'All')!;
    expect(all[2]).toBe(counts.reduce((a, c) => a + Number(c.n), 0));

    // cross-tab: characteristics across, suppliers of the incident material down, pass rate at the crossing
    const bySup = sheet(sheets, 'By supplier');
    const header = bySup.grid[2]!;
    expect(header.slice(0, 2)).toEqual(['Supplier', 'Name']);
    expect(header).toEqual(expect.arrayContaining(['warpage', 'mfi', 'All', 'Inspections']));
    const sup = records(bySup);
    const incidentSupplier = sup.find((r) => r.Supplier === incident.supplier)!;
    const others = sup.filter((r) => r.Supplier !== incident.supplier);
    expect(others.length).toBeGreaterThan(0);
    for (const o of others) expect(Number(incidentSupplier.warpage)).toBeLessThan(Number(o.warpage));
    const warpCol = header.indexOf('warpage');
    const supRow = bySup.grid.findIndex((l) => l[0] === incident.supplier);
    expect(bySup.styles.get(key(supRow, warpCol))?.fill).toMatch(/^#(FFC7CE|FFEB9C)$/);

    const byLot = sheet(sheets, 'By supplier lot');
    const lots = records(byLot);
    expect(lots[0]).toMatchObject({ Supplier: incident.supplier, Lot: incident.supplierLot, 'Supplier lot': incident.vendorLot, Material: incident.material });
    expect(Number(lots[0]!['Pass rate'])).toBeLessThan(0.95);
    expect(isBad(byLot, 3, column(byLot, 'Pass rate'))).toBe(true);
    expect(byLot.links.get(key(3, column(byLot, 'Lot')))).toEqual({ report: 'recall', params: { lot: incident.supplierLot } });
  });
});

describe('material-flow', () => {
  it('draws the flow from the incident supplier lot through its intermediates and finished lots to the customers', async () => {
    const sheets = await render(db, grid('material-flow'), { lot: incident.supplierLot });
    const s = sheets[0]!;
    expect(s.grid[0]![0]).toBe(`Material flow of lot ${incident.supplierLot}`);
    const flows = records(s, 4).filter((r) => typeof r.From === 'string');
    const customerNames = (
      await db.query<{ name: string }>('select name from customer where code in (:codes) order by name', { codes: incident.customers })
    ).map((c) => c.name);
    // supplier lot -> each intermediate made from it; finished lots -> every customer of the recall
    for (const l of incident.intermediateLots) expect(flows).toContainEqual(expect.objectContaining({ From: incident.supplierLot, To: l, 'From kind': 'raw' }));
    const toCustomers = flows.filter((r) => r['To kind'] === 'customer');
    expect([...new Set(toCustomers.map((r) => r.To))].sort()).toEqual(customerNames);
    for (const r of toCustomers) expect(incident.finishedLots).toContain(r.From);
    // flows run raw -> intermediate -> finished -> customer
    const stage = (k: CellValue) => ['raw', 'intermediate', 'finished', 'customer'].indexOf(String(k));
    for (let i = 1; i < flows.length; i++) expect(stage(flows[i]!['From kind'])).toBeGreaterThanOrEqual(stage(flows[i - 1]!['From kind']));
    expect(s.grid.find((l) => l[2] === 'Customers')![3]).toBe(toCustomers.length);
    const fromCol = column(s, 'From', 4);
    expect(s.links.get(key(5, fromCol))).toEqual({ report: 'batch-trace', params: { lot: s.grid[5]![fromCol] } });

    // the Sankey: one node per lot and customer, one link per flow
    expect(s.charts).toHaveLength(1);
    const series = (s.charts[0]!.option.series as { data: { name: string }[]; links: { source: string; target: string; value: number }[] }[])[0]!;
    expect(series.links).toHaveLength(flows.length);
    const nodes = series.data.map((n) => n.name);
    expect(new Set(nodes).size).toBe(nodes.length);
    for (const n of [incident.supplierLot, ...incident.intermediateLots, ...incident.finishedLots, ...customerNames]) expect(nodes).toContain(n);
    const svg = renderChartSvg(s.charts[0]!);
    expect(texts(svg)).toEqual(expect.arrayContaining([incident.supplierLot, incident.intermediateLots[0], customerNames[0]]));
    const png = await renderChartPng(s.charts[0]!);
    expect(png.readUInt32BE(16)).toBe(s.charts[0]!.width);
  });

  it('shows a finished lot with its raw materials behind it and its customer', async () => {
    const lot = incident.sampleFinishedLot;
    const flows = records((await render(db, grid('material-flow'), { lot }))[0]!, 4).filter((r) => typeof r.From === 'string');
    expect(flows).toContainEqual(expect.objectContaining({ From: incident.supplierLot, 'From kind': 'raw' }));
    expect(flows.filter((r) => r['To kind'] === 'customer').map((r) => r.From)).toEqual([lot]);
  });
});

/** End to end: `tracereport render <built-in name>` over the demo plant file, outputs read back. */
describe('tracereport render with the built-in templates', () => {
  function cliParams(name: string): string[] {
    return Object.entries(incidentParams(name)).flatMap(([k, v]) => ['--param', `${k}=${v instanceof Date ? v.toISOString() : String(v)}`]);
  }
  async function renderCli(name: string, format: string): Promise<string> {
    const out = path.join(dir, `${name}.${format}`);
    const r = await runCliAsync(['render', name, ...cliParams(name), '--db', path.join(dir, 'plant.sqlite'), '--format', format, '-o', out]);
    expect(r.status, `${name} ${format}: ${r.stderr}`).toBe(0);
    return out;
  }
  const fillOf = (c: ExcelJS.Cell) => ((c.fill as ExcelJS.FillPattern | undefined)?.fgColor?.argb ?? '').slice(-6);

  it('writes the incident into XLSX, PDF, HTML and CSV', async () => {
    requireBuild();
    const [bt, flow, recall, spc, insp] = await Promise.all([
      renderCli('batch-trace', 'xlsx'),
      renderCli('material-flow', 'xlsx'),
      renderCli('recall', 'pdf'),
      renderCli('spc', 'html'),
      renderCli('inspection-summary', 'csv'),
    ]);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(bt);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Genealogy', 'Operations', 'Process parameters', 'Inspections', 'Alarms']);
    const gen = wb.getWorksheet('Genealogy')!;
    let supplierLotCell: ExcelJS.Cell | undefined;
    gen.eachRow((row) =>
      row.eachCell((c) => {
        const v = c.value as { text?: string } | string | null;
        if (v === incident.supplierLot || (typeof v === 'object' && v?.text === incident.supplierLot)) supplierLotCell = c;
      }),
    );
    expect(supplierLotCell, 'supplier lot in the genealogy').toBeDefined();
    expect((supplierLotCell!.value as { hyperlink?: string }).hyperlink).toContain(`/view/batch-trace?lot=${incident.supplierLot}`);
    const pp = wb.getWorksheet('Process parameters')!;
    const outCells: ExcelJS.Cell[] = [];
    pp.eachRow((row) =>
      row.eachCell((c) => {
        if (c.value === 'OUT') outCells.push(c);
      }),
    );
    expect(outCells.length).toBeGreaterThan(0);
    for (const c of outCells) expect(fillOf(c)).toBe('FFC7CE');

    const wf = new ExcelJS.Workbook();
    await wf.xlsx.readFile(flow);
    const flowSheet = wf.getWorksheet('Material flow')!;
    expect(flowSheet.getImages()).toHaveLength(1);
    const png = wf.getImage(Number(flowSheet.getImages()[0]!.imageId));
    expect(png.extension).toBe('png');

    const text = execFileSync('pdftotext', [recall, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain(`Recall list for lot ${incident.supplierLot}`);
    for (const l of incident.finishedLots.slice(0, 3)) expect(text).toContain(l);
    expect(text).toMatch(/Page 1 of \d+|page 1 of \d+/);

    const html = fs.readFileSync(spc, 'utf8');
    expect(html).toContain(`SPC X̄-R chart: ${incident.parameter} on ${incident.equipment[0]}`);
    expect((html.match(/<svg/g) ?? []).length).toBe(2);
    expect(html).toContain('X above UCL');

    // CSV holds the first sheet: pass rates by characteristic, formatted as percentages
    const csv = fs.readFileSync(insp, 'utf8').split(/\r?\n/);
    expect(csv[2]).toBe('Kind,Characteristic,Inspections,Passed,Failed,Pass rate');
    expect(csv.find((l) => l.startsWith(',warpage,'))).toMatch(/^,warpage,"1,444","1,\d{3}",\d+,\d+\.\d%$/);
  }, 180_000);
});

/** The same reports on PostgreSQL and MariaDB: the SQL is portable and gives the same grids as SQLite. */
const targets: DialectTarget[] = (await dialectTargets()).filter((t) => t.dialect === 'postgres' || t.dialect === 'mysql');

/**
 * Same rows with the same values and fills. Row order is compared as a multiset: text sorts by the
 * database's collation (SQLite binary; MariaDB and PostgreSQL per their settings), so rows ordered by
 * names such as `mix_temp` / `mixer_speed` may come in another order.
 */
function sameGrid(a: Sheet, b: Sheet, where: string): void {
  expect(b.grid.length, `${where}: rows`).toBe(a.grid.length);
  type Cell = [CellValue, string | null];
  const lines = (s: Sheet): { sortKey: string; cells: Cell[] }[] => {
    // a merged value (a group over its rows) belongs to every row it covers
    const grid = s.grid.map((line) => Array.from(line, (v) => v ?? null));
    for (const m of s.merges) {
      for (let r = m.row + 1; r < m.row + m.rows; r++) (grid[r] ??= [])[m.col] = s.grid[m.row]![m.col] ?? null;
    }
    return grid
      .map((line, r) => {
        const cells = Array.from(line, (v, c): Cell => [v instanceof Date ? v.toISOString() : (v ?? null), s.styles.get(key(r, c))?.fill ?? null]);
        return { sortKey: JSON.stringify(cells.map(([v, f]) => [typeof v === 'number' ? Number(v.toPrecision(4)) : v, f])), cells };
      })
      .sort((x, y) => (x.sortKey < y.sortKey ? -1 : x.sortKey > y.sortKey ? 1 : 0));
  };
  const x = lines(a);
  const y = lines(b);
  x.forEach((line, i) => {
    const other = y[i]!;
    expect(other.cells.length, `${where}: ${line.sortKey}`).toBe(line.cells.length);
    line.cells.forEach(([v, fill], c) => {
      const [w, otherFill] = other.cells[c]!;
      const at = `${where}: ${line.sortKey} column ${c}`;
      if (typeof v === 'number' && typeof w === 'number') expect(Math.abs(w - v), at).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v)));
      else expect(w, at).toEqual(v);
      expect(otherFill, `${at} fill`).toBe(fill);
    });
  });
}

describe.each(targets)('built-in templates on $label', (target) => {
  let server: TestDatabase | undefined;
  let store: DataSource | undefined;

  beforeAll(async () => {
    if (target.unavailable) return;
    server = await target.create();
    store = await openTraceStore(server.url);
    await loadDemoPlant(store, demoPlant({}));
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    await server?.drop();
  });

  it.skipIf(target.unavailable !== '').each(NAMES)('%s renders the incident as on SQLite', async (name) => {
    const params = incidentParams(name);
    const expected = await render(db, grid(name), params);
    const actual = await render(store!, grid(name), params);
    expect(actual.map((s) => s.name)).toEqual(expected.map((s) => s.name));
    expected.forEach((s, i) => sameGrid(s, actual[i]!, `${name} ${s.name}`));
    expect(expected.some((s) => s.grid.length > 5)).toBe(true);
  });
});
