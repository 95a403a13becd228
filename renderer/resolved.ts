/**
 * The resolved sheet (DESIGN §3): the one thing every output reads. The engine produces it from a
 * template, parameter values and dataset rows; html/, pdf/, xlsx/ and csv/ only ever see this.
 *
 * It is lazy: sheets and their row bands are async iterables consumed once, in order, so a
 * million-row list report never sits in memory. Consume each sheet's bands fully before asking for
 * the next sheet. `meta` is complete once everything has been consumed.
 */
import type { CellStyle, PageSetup } from './template/schema.js';

export type { CellStyle, PageSetup };

export type ExcelErrorCode = '#DIV/0!' | '#NAME?' | '#REF!' | '#VALUE!' | '#N/A' | '#NUM!' | '#NULL!';

/** An Excel error value shown in a cell (`#DIV/0!`); a warning in `meta.warnings` says why. */
export interface ExcelError {
  readonly error: ExcelErrorCode;
}

export function isExcelError(v: unknown): v is ExcelError {
  return typeof v === 'object' && v !== null && !(v instanceof Date) && typeof (v as ExcelError).error === 'string';
}

/** Dates are JavaScript Dates (UTC instants shown as their UTC wall-clock time, like Excel serials). */
export type CellValue = string | number | boolean | Date | ExcelError | null;

export type ResolvedLink =
  | { readonly report: string; readonly params: Readonly<Record<string, string | number | boolean | null>> }
  | { readonly url: string };

/** An ECharts option with its data bound, ready for server-side rendering. */
export interface ResolvedChart {
  readonly option: Record<string, unknown>;
  /** Pixels. */
  readonly width: number;
  readonly height: number;
}

export interface ResolvedCell {
  /** 0-based output column. */
  readonly col: number;
  readonly value: CellValue;
  /** Excel number format code; absent means General. */
  readonly numFmt?: string;
  /** Id into `ResolvedReport.styles`; absent means no style. */
  readonly style?: number;
  /** Rows / columns this cell covers when merged (default 1). Covered cells are not emitted. */
  readonly rowSpan?: number;
  readonly colSpan?: number;
  readonly link?: ResolvedLink;
  /** A chart drawn over the cell's area; `value` is then null. */
  readonly chart?: ResolvedChart;
}

export interface ResolvedRow {
  /** 0-based output row index within the sheet; strictly increasing, gaps are empty rows. */
  readonly row: number;
  /** Points; absent means the default height. */
  readonly height?: number;
  /** Sorted by `col`. */
  readonly cells: readonly ResolvedCell[];
}

/**
 * A run of consecutive rows. A merge (rowSpan) never reaches past the end of its band, so an output
 * can finish a band without looking ahead.
 */
export interface RowBand {
  readonly rows: readonly ResolvedRow[];
}

export interface ResolvedColumn {
  /** Characters (Excel width units); absent means the default width. */
  readonly width?: number;
  readonly hidden?: boolean;
}

/** A chart floating over the grid, anchored at an output cell. */
export interface ResolvedFloat {
  readonly row: number;
  readonly col: number;
  readonly chart: ResolvedChart;
}

export interface ResolvedSheet {
  readonly name: string;
  /** Output column settings by 0-based index (may be shorter than the widest row). */
  readonly columns: readonly ResolvedColumn[];
  /** Rows and columns frozen at the top/left (Excel freeze panes, sticky in HTML). */
  readonly frozen?: { readonly rows: number; readonly cols: number };
  /** Output rows (0-based, inclusive) repeated at the top of every printed page. */
  readonly repeatRows?: { readonly first: number; readonly last: number };
  readonly floats: readonly ResolvedFloat[];
  readonly bands: AsyncIterable<RowBand>;
}

export interface RenderWarning {
  /** Stable code such as `FORMULA_ERROR`. */
  readonly code: string;
  readonly message: string;
  /** Sheet name and template cell address the warning is about, when it is about one. */
  readonly sheet?: string;
  readonly cell?: string;
}

export interface RenderMeta {
  /** `full`: rows in memory, every feature; `streaming`: flat memory for long list reports. */
  mode: 'full' | 'streaming';
  warnings: RenderWarning[];
  /** Rows read per dataset. */
  rowCounts: Record<string, number>;
  /** Rows emitted per output sheet, by sheet name. */
  outputRows: Record<string, number>;
}

/** Read-only view of the style table; ids seen in any band are valid, and the table may grow while bands stream. */
export interface StyleLookup {
  get(id: number): CellStyle;
  readonly size: number;
}

export interface ResolvedReport {
  readonly name: string;
  readonly page: PageSetup;
  /** Parameter values the report was rendered with (typed), for headers/footers and links. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly styles: StyleLookup;
  readonly sheets: AsyncIterable<ResolvedSheet>;
  readonly meta: RenderMeta;
}
