/**
 * Excel number and date format codes applied to values, with SheetJS SSF (an implementation of
 * Excel's format codes), so HTML, PDF and CSV show what Excel shows for the same cell.
 */
import SSF from 'ssf';
import { isExcelError, type CellValue } from '../resolved.js';

const MS_PER_DAY = 86_400_000;
/** 1899-12-30T00:00:00Z: Excel's day 0 in the 1900 date system (with its 1900 leap-year quirk folded in). */
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);

export const DEFAULT_DATE_FORMAT = 'yyyy-mm-dd';
export const DEFAULT_DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss';

/** A Date as an Excel serial number (days since 1899-12-30, UTC wall clock). */
export function toExcelSerial(d: Date): number {
  return (d.getTime() - EXCEL_EPOCH_MS) / MS_PER_DAY;
}

/** An Excel serial number as a Date (UTC). */
export function fromExcelSerial(serial: number): Date {
  return new Date(Math.round(serial * MS_PER_DAY) + EXCEL_EPOCH_MS);
}

/** The format a date gets when the template names none: a date, or a date and time when it has one. */
export function defaultDateFormat(d: Date): string {
  return d.getTime() % MS_PER_DAY === 0 ? DEFAULT_DATE_FORMAT : DEFAULT_DATETIME_FORMAT;
}

export function isDateFormat(numFmt: string): boolean {
  try {
    return SSF.is_date(numFmt);
  } catch {
    return false;
  }
}

/**
 * The text Excel shows for a value under a format code. An invalid format code falls back to
 * General instead of failing the render.
 */
export function formatValue(value: CellValue, numFmt?: string): string {
  if (value === null || value === undefined) return '';
  if (isExcelError(value)) return value.error;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return '';
    return safeFormat(numFmt && numFmt !== 'General' ? numFmt : defaultDateFormat(value), toExcelSerial(value));
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return '#NUM!';
    // General shows integers of up to 11 digits as they are; SSF is only needed beyond that.
    if ((numFmt === undefined || numFmt === 'General') && Number.isInteger(value) && Math.abs(value) < 1e11) return String(value);
    return safeFormat(numFmt ?? 'General', value);
  }
  if (numFmt && numFmt.includes('@')) return safeFormat(numFmt, value);
  return value;
}

function safeFormat(numFmt: string, v: number | string): string {
  try {
    return SSF.format(numFmt, v);
  } catch {
    return SSF.format('General', v);
  }
}
