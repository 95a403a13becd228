/**
 * The rows of the XLSX benchmark, the same for every case (plain exceljs, writeXlsx, engine): a
 * traceability list of 10 columns (text, numbers with formats, dates, a boolean), a styled header
 * row, a border on every cell and an alarm fill on about one row in eight.
 */
import type ExcelJS from 'exceljs';
import type { CellStyle, ResolvedCell, ResolvedReport, ResolvedRow, RowBand } from '../renderer/resolved.js';
import { StyleTable } from '../renderer/style-table.js';

export const COLUMNS = ['Lot', 'Step', 'Equipment', 'Parameter', 'Value', 'Count', 'Time', 'Yield', 'Passed', 'Operator'] as const;
export const FORMATS: (string | undefined)[] = [undefined, undefined, undefined, undefined, '#,##0.00', '#,##0', 'yyyy-mm-dd hh:mm', '0.0%', undefined, undefined];
export const WIDTHS = [14, 10, 12, 12, 10, 8, 17, 8, 8, 12];

const STEPS = ['Mixing', 'Pressing', 'Coating', 'Drying', 'Packing'];
const PARAMS = ['Temperature', 'Pressure', 'Humidity', 'Speed'];
const T0 = Date.UTC(2024, 0, 1);

export const HEADER_STYLE: CellStyle = { font: { bold: true, color: '#FFFFFF' }, fill: '#1F4E79', align: 'center', border: 'thin' };
export const CELL_STYLE: CellStyle = { border: 'thin' };
export const ALARM_STYLE: CellStyle = { fill: '#FFC7CE', font: { color: '#9C0006' }, border: 'thin' };

export type BenchValue = string | number | boolean | Date;

/** Values of data row i (0-based). */
export function benchValues(i: number): BenchValue[] {
  return [
    `L-${String(Math.floor(i / 10) + 1).padStart(7, '0')}`,
    STEPS[i % 5]!,
    `EQ-${(i % 37) + 1}`,
    PARAMS[i % 4]!,
    60 + ((i * 37) % 400) / 10,
    (i * 7) % 1000,
    new Date(T0 + i * 60_000),
    ((i * 13) % 1000) / 1000,
    i % 8 !== 0,
    `OP-${(i % 23) + 1}`,
  ];
}

/** Row i is an alarm row (its cells get the alarm style). */
export const isAlarm = (i: number) => i % 8 === 0;

/** The same rows as a resolved report, streamed in bands (header row 0, data rows 1..rows). */
export function benchReport(rows: number, bandSize = 500): ResolvedReport {
  const styles = new StyleTable();
  const hdr = styles.intern(HEADER_STYLE);
  const cell = styles.intern(CELL_STYLE);
  const alarm = styles.intern(ALARM_STYLE);
  const meta = { mode: 'streaming' as const, warnings: [], rowCounts: { bench: rows }, outputRows: {} as Record<string, number> };
  async function* bands(): AsyncIterable<RowBand> {
    yield { rows: [{ row: 0, cells: COLUMNS.map((value, col) => ({ col, value, style: hdr })) }] };
    for (let start = 0; start < rows; start += bandSize) {
      const band: ResolvedRow[] = [];
      for (let i = start; i < Math.min(rows, start + bandSize); i++) {
        const style = isAlarm(i) ? alarm : cell;
        const values = benchValues(i);
        const cells: ResolvedCell[] = values.map((value, col) => (FORMATS[col] ? { col, value, style, numFmt: FORMATS[col] } : { col, value, style }));
        band.push({ row: i + 1, cells });
      }
      yield { rows: band };
    }
  }
  async function* sheets() {
    meta.outputRows.Report = rows + 1;
    yield { name: 'Report', columns: WIDTHS.map((width) => ({ width })), frozen: { rows: 1, cols: 0 }, repeatRows: { first: 0, last: 0 }, floats: [], bands: bands() };
  }
  return { name: 'XLSX bench', page: { size: 'A4', orientation: 'landscape', margins: { top: 15, bottom: 15, left: 10, right: 10 } }, params: {}, styles, sheets: sheets(), meta };
}

/** exceljs style objects for the plain-exceljs case: one per column and kind of row, as a careful exceljs user would share them. */
export function plainStyles(): { header: Partial<ExcelJS.Style>; cell: Partial<ExcelJS.Style>[]; alarm: Partial<ExcelJS.Style>[] } {
  const thin = { top: { style: 'thin' }, bottom: { style: 'thin' }, left: { style: 'thin' }, right: { style: 'thin' } } as Partial<ExcelJS.Borders>;
  const header: Partial<ExcelJS.Style> = {
    font: { bold: true, color: { argb: 'FFFFFFFF' } },
    fill: { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FF1F4E79' } },
    alignment: { horizontal: 'center' },
    border: thin,
  };
  const cell = FORMATS.map((numFmt) => (numFmt ? { border: thin, numFmt } : { border: thin }));
  const alarm = FORMATS.map((numFmt) => {
    const s: Partial<ExcelJS.Style> = { border: thin, fill: { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFC7CE' } }, font: { color: { argb: 'FF9C0006' } } };
    if (numFmt) s.numFmt = numFmt;
    return s;
  });
  return { header, cell, alarm };
}
