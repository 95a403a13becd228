/**
 * Values as the engine handles them: normalising what data sources return into cell values,
 * grouping keys, aggregates, and the date conversion a date format asks for.
 */
import type { Aggregate } from '../template/schema.js';
import type { CellValue } from '../resolved.js';
import { isExcelError } from '../resolved.js';
import { defaultDateFormat, formatValue, isDateFormat } from '../format/number-format.js';

/** A data source value as a cell value. */
export function cellValue(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'bigint':
      return Number(v);
    default:
      if (v instanceof Date) return v;
      if (isExcelError(v)) return v;
      if (Buffer.isBuffer(v)) return v.toString('utf8');
      return JSON.stringify(v);
  }
}

/** A Map key under which equal values group together (dates by their instant). */
export function groupKey(v: unknown): unknown {
  if (v instanceof Date) return `\u0000D${v.getTime()}`;
  if (typeof v === 'bigint') return Number(v);
  return v ?? null;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** An ISO date(-time) string as a Date (without a zone: UTC wall clock, as SQLite stores it); otherwise undefined. */
export function parseIsoDate(s: string): Date | undefined {
  const m = ISO_DATE.exec(s.trim());
  if (!m) return undefined;
  if (m[8]) {
    const d = new Date(s.trim().replace(' ', 'T'));
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  const ms = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), ms));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Precomputed per template cell: how its values are formatted. */
export interface FormatPlan {
  readonly numFmt?: string;
  /** The format is a date format: ISO date strings become Dates. */
  readonly isDate: boolean;
}

export function formatPlan(numFmt: string | undefined): FormatPlan {
  return { numFmt, isDate: numFmt !== undefined && isDateFormat(numFmt) };
}

/** The value and number format a cell is emitted with. */
export function finalValue(v: CellValue, fmt: FormatPlan): { value: CellValue; numFmt?: string } {
  if (fmt.isDate && typeof v === 'string') {
    const d = parseIsoDate(v);
    if (d) return { value: d, numFmt: fmt.numFmt };
  }
  if (v instanceof Date && fmt.numFmt === undefined) return { value: v, numFmt: defaultDateFormat(v) };
  return { value: v, numFmt: fmt.numFmt };
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * An aggregate over the field of rows. Over no rows it is blank (null), so an empty cross-tab
 * crossing shows nothing rather than 0. Numbers stored as text count as numbers (SQLite decimals).
 */
export function aggregate(kind: Aggregate, rows: readonly Record<string, unknown>[], field: string): CellValue {
  if (rows.length === 0) return null;
  const acc = new Accumulator(kind);
  for (const r of rows) acc.add(r[field]);
  return acc.result();
}

/** An aggregate accumulated one value at a time (streaming totals). */
export class Accumulator {
  private n = 0;
  private rows = 0;
  private sum = 0;
  private min: unknown = undefined;
  private max: unknown = undefined;
  private distinct: Set<unknown> | undefined;

  constructor(readonly kind: Aggregate) {
    if (kind === 'countDistinct') this.distinct = new Set();
  }

  add(raw: unknown): void {
    this.rows++;
    if (raw === null || raw === undefined) return;
    switch (this.kind) {
      case 'count':
        this.n++;
        return;
      case 'countDistinct':
        this.distinct!.add(groupKey(raw));
        return;
      case 'sum':
      case 'avg': {
        const x = toNumber(raw);
        if (x !== undefined) {
          this.sum += x;
          this.n++;
        }
        return;
      }
      case 'min':
      case 'max': {
        const x = raw instanceof Date ? raw : (toNumber(raw) ?? raw);
        const cur = this.kind === 'min' ? this.min : this.max;
        if (cur === undefined || (this.kind === 'min' ? compare(x, cur) < 0 : compare(x, cur) > 0)) {
          if (this.kind === 'min') this.min = x;
          else this.max = x;
        }
        this.n++;
        return;
      }
    }
  }

  result(): CellValue {
    if (this.rows === 0) return null;
    switch (this.kind) {
      case 'count':
        return this.n;
      case 'countDistinct':
        return this.distinct!.size;
      case 'sum':
        return this.n === 0 ? null : this.sum;
      case 'avg':
        return this.n === 0 ? null : this.sum / this.n;
      case 'min':
        return this.min === undefined ? null : cellValue(this.min);
      case 'max':
        return this.max === undefined ? null : cellValue(this.max);
    }
  }
}

function compare(a: unknown, b: unknown): number {
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  const sx = String(x);
  const sy = String(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

/** Several values in one cell (`expand: none`): one value stays typed, more are joined with ", ". */
export function joinValues(values: readonly CellValue[], numFmt: string | undefined): CellValue {
  const present = values.filter((v) => v !== null && v !== '');
  if (present.length === 0) return null;
  if (present.length === 1) return present[0]!;
  return present.map((v) => formatValue(v, numFmt)).join(', ');
}
