/**
 * Builds a ResolvedReport by hand for output tests (html, pdf, xlsx, csv), so outputs are tested
 * without the engine.
 */
import { StyleTable } from '../../renderer/style-table.js';
import type { CellStyle, PageSetup, RenderMeta, ResolvedColumn, ResolvedFloat, ResolvedReport, ResolvedRow, RowBand } from '../../renderer/resolved.js';

export interface SheetSpec {
  name: string;
  rows: ResolvedRow[];
  columns?: ResolvedColumn[];
  frozen?: { rows: number; cols: number };
  repeatRows?: { first: number; last: number };
  floats?: ResolvedFloat[];
  /** Rows per band (default 100); merges must not cross a band. */
  bandSize?: number;
}

export interface ReportSpec {
  name?: string;
  sheets: SheetSpec[];
  /** Styles by id: styles[i] gets id i. */
  styles?: CellStyle[];
  page?: Partial<PageSetup>;
  params?: Record<string, unknown>;
}

const DEFAULT_PAGE: PageSetup = { size: 'A4', orientation: 'portrait', margins: { top: 15, bottom: 15, left: 10, right: 10 } };

async function* bandsOf(rows: ResolvedRow[], size: number): AsyncIterable<RowBand> {
  for (let i = 0; i < rows.length; i += size) yield { rows: rows.slice(i, i + size) };
}

export function reportOf(spec: ReportSpec): ResolvedReport {
  const styles = new StyleTable();
  for (const s of spec.styles ?? []) styles.intern(s);
  const meta: RenderMeta = { mode: 'full', warnings: [], rowCounts: {}, outputRows: {} };
  async function* sheets() {
    for (const s of spec.sheets) {
      meta.outputRows[s.name] = s.rows.length;
      yield {
        name: s.name,
        columns: s.columns ?? [],
        frozen: s.frozen,
        repeatRows: s.repeatRows,
        floats: s.floats ?? [],
        bands: bandsOf(s.rows, s.bandSize ?? 100),
      };
    }
  }
  return { name: spec.name ?? 'Test report', page: { ...DEFAULT_PAGE, ...spec.page }, params: spec.params ?? {}, styles, sheets: sheets(), meta };
}

/** Rows from a plain matrix of values (row 0 first), for quick cases. */
export function rowsOf(matrix: (string | number | boolean | Date | null)[][]): ResolvedRow[] {
  return matrix.map((vals, r) => ({ row: r, cells: vals.map((value, col) => ({ col, value })) }));
}
