/**
 * Test helper for the engine: a template from cells and inline rows, expanded, read back as a
 * matrix of values with merges, styles and links by output address.
 */
import type { Row } from '../../datasources/data-source.js';
import { parseTemplate } from '../template/load.js';
import type { CellStyle, CellValue, ResolvedLink, ResolvedReport, ResolvedSheet } from '../resolved.js';
import type { ResolvedChart } from '../resolved.js';
import { columnLetters } from '../formula/references.js';
import { expandGrid } from './expand.js';

export interface Case {
  cells: Record<string, unknown>;
  rows?: Record<string, Row[]>;
  params?: Record<string, unknown>;
  merges?: string[];
  styles?: Record<string, CellStyle>;
  mode?: 'auto' | 'full';
  rowLimit?: number;
  sheet?: Record<string, unknown>;
  page?: Record<string, unknown>;
  extraSheets?: Record<string, unknown>[];
}

export interface SheetResult {
  name: string;
  grid: CellValue[][];
  merges: string[];
  styles: Record<string, CellStyle>;
  links: Record<string, ResolvedLink>;
  numFmts: Record<string, string>;
  charts: Record<string, ResolvedChart>;
  sheet: ResolvedSheet;
  bandSizes: number[];
  heights: Record<number, number>;
}

export interface RunResult extends SheetResult {
  report: ResolvedReport;
  sheets: SheetResult[];
  opened: string[];
}

export function buildTemplate(c: Case) {
  return parseTemplate(
    {
      format: 1,
      kind: 'grid',
      name: 'test',
      parameters: Object.keys(c.params ?? {}).map((name) => ({ name })),
      datasets: Object.entries(c.rows ?? {}).map(([name, rows]) => ({ name, rows })),
      styles: c.styles ?? {},
      sheets: [{ name: 'S', cells: c.cells, merges: c.merges ?? [], ...(c.sheet ?? {}) }, ...(c.extraSheets ?? [])],
      ...(c.page ? { page: c.page } : {}),
    },
    'test',
  );
}

export async function runCase(c: Case): Promise<RunResult> {
  const template = buildTemplate(c);
  if (template.kind !== 'grid') throw new Error('grid expected');
  const opened: string[] = [];
  const report = expandGrid({
    template,
    params: c.params ?? {},
    mode: c.mode,
    rowLimit: c.rowLimit,
    openDataset: (name) => {
      opened.push(name);
      const rows = c.rows?.[name] ?? [];
      return (async function* () {
        for (const r of rows) yield r;
      })();
    },
  });
  const sheets: SheetResult[] = [];
  for await (const sheet of report.sheets) sheets.push(await readSheet(sheet, report));
  return { ...sheets[0]!, report, sheets, opened };
}

export const addr = (row: number, col: number) => `${columnLetters(col + 1)}${row + 1}`;

async function readSheet(sheet: ResolvedSheet, report: ResolvedReport): Promise<SheetResult> {
  const grid: CellValue[][] = [];
  const merges: string[] = [];
  const styles: Record<string, CellStyle> = {};
  const links: Record<string, ResolvedLink> = {};
  const numFmts: Record<string, string> = {};
  const charts: Record<string, ResolvedChart> = {};
  const bandSizes: number[] = [];
  const heights: Record<number, number> = {};
  let last = -1;
  for await (const band of sheet.bands) {
    bandSizes.push(band.rows.length);
    const bandEnd = band.rows[band.rows.length - 1]!.row;
    for (const r of band.rows) {
      if (r.row <= last) throw new Error(`row ${r.row} after ${last}`);
      last = r.row;
      if (r.height !== undefined) heights[r.row] = r.height;
      while (grid.length <= r.row) grid.push([]);
      for (const c of r.cells) {
        const line = grid[r.row]!;
        while (line.length <= c.col) line.push(null);
        line[c.col] = c.value;
        const a = addr(r.row, c.col);
        if ((c.rowSpan ?? 1) > 1 || (c.colSpan ?? 1) > 1) {
          merges.push(`${a}:${addr(r.row + (c.rowSpan ?? 1) - 1, c.col + (c.colSpan ?? 1) - 1)}`);
          if (r.row + (c.rowSpan ?? 1) - 1 > bandEnd) throw new Error(`merge ${a} crosses its band`);
        }
        if (c.style !== undefined) styles[a] = report.styles.get(c.style);
        if (c.link) links[a] = c.link;
        if (c.numFmt) numFmts[a] = c.numFmt;
        if (c.chart) charts[a] = c.chart;
      }
    }
  }
  // pad to a rectangle for readable comparisons
  const width = Math.max(0, ...grid.map((l) => l.length));
  for (const l of grid) while (l.length < width) l.push(null);
  return { name: sheet.name, grid, merges, styles, links, numFmts, charts, sheet, bandSizes, heights };
}
