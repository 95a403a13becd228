/**
 * Parameter values for a render: raw values (strings from a command line or a query string, or
 * JSON values from an API) checked against the template's parameters and converted to their types.
 * Everything wrong is reported before any query runs.
 */
import { TraceReportError } from '../datasources/errors.js';
import type { Literal, ParameterType, TemplateParameter } from './template/schema.js';

export type TypedScalar = string | number | boolean | Date;
export type TypedValue = TypedScalar | TypedScalar[] | null;
export type RawValue = unknown;

/** Reads a dataset's rows: used for defaults taken from a dataset. */
export type DefaultRows = (dataset: string, known: Record<string, TypedValue>) => Promise<Record<string, unknown>[]>;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function invalid(p: TemplateParameter, raw: unknown, expected: string): TraceReportError {
  return new TraceReportError('PARAM_INVALID', `parameter "${p.name}" (${p.type}${p.multi ? ', multi' : ''}): got ${JSON.stringify(raw)}, expected ${expected}`, {
    parameter: p.name,
    value: raw,
    expected,
  });
}

/** One value converted to the parameter's type. */
export function convertScalar(p: TemplateParameter, raw: unknown): TypedScalar {
  const type: ParameterType = p.type;
  switch (type) {
    case 'string':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      throw invalid(p, raw, 'text');
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : Number.NaN;
      if (!Number.isFinite(n)) throw invalid(p, raw, 'a number such as 12.5');
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (['true', '1', 'yes', 'y', 'on'].includes(s)) return true;
      if (['false', '0', 'no', 'n', 'off'].includes(s)) return false;
      throw invalid(p, raw, 'true or false');
    }
    case 'date': {
      const s = raw instanceof Date ? raw.toISOString().slice(0, 10) : String(raw).trim();
      const d = DATE_RE.test(s) ? new Date(`${s}T00:00:00Z`) : null;
      if (!d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s) throw invalid(p, raw, 'a date such as 2026-03-01');
      return d;
    }
    case 'datetime': {
      if (raw instanceof Date && !Number.isNaN(raw.getTime())) return raw;
      const s = String(raw).trim();
      if (DATE_RE.test(s)) return convertScalar({ ...p, type: 'date' }, s);
      const d = DATETIME_RE.test(s) ? new Date(/Z|[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s.replace(' ', 'T')}Z`) : null;
      if (!d || Number.isNaN(d.getTime())) throw invalid(p, raw, 'a date and time such as 2026-03-01T08:00:00Z');
      return d;
    }
  }
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function sameValue(a: TypedScalar, b: Literal): boolean {
  if (a instanceof Date) return typeof b === 'string' && (b === a.toISOString() || b === a.toISOString().slice(0, 10));
  return a === b || String(a) === String(b);
}

/** Converts a raw value (scalar or list) for one parameter; checks fixed options. */
export function convertValue(p: TemplateParameter, raw: RawValue): TypedValue {
  if (isEmpty(raw)) return null;
  const list = Array.isArray(raw) ? raw : [raw];
  if (!p.multi && list.length > 1) throw invalid(p, raw, 'one value (this parameter is not multi)');
  const typed = list.filter((v) => !isEmpty(v)).map((v) => convertScalar(p, v));
  if (Array.isArray(p.options)) {
    const allowed = p.options.map((o) => (o !== null && typeof o === 'object' ? o.value : o));
    for (const v of typed) {
      if (!allowed.some((a) => sameValue(v, a))) throw invalid(p, v instanceof Date ? v.toISOString() : v, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
  }
  if (typed.length === 0) return null;
  return p.multi ? typed : typed[0]!;
}

/**
 * The typed parameter values of a render. Unknown names, bad values and missing required
 * parameters throw PARAM_UNKNOWN / PARAM_INVALID / PARAM_MISSING. Defaults apply to parameters not
 * given; a dataset default takes the first row (every row for a multi parameter).
 */
export async function resolveParams(
  parameters: readonly TemplateParameter[],
  raw: Readonly<Record<string, RawValue>>,
  defaultRows?: DefaultRows,
): Promise<Record<string, TypedValue>> {
  const byName = new Map(parameters.map((p) => [p.name, p]));
  const unknown = Object.keys(raw).filter((k) => !byName.has(k));
  if (unknown.length > 0) {
    const known = parameters.map((p) => p.name);
    throw new TraceReportError(
      'PARAM_UNKNOWN',
      `unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}; this report takes ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'no parameters'}`,
      { unknown, known },
    );
  }
  const out: Record<string, TypedValue> = {};
  for (const p of parameters) out[p.name] = convertValue(p, raw[p.name]);
  for (const p of parameters) {
    if (out[p.name] !== null || raw[p.name] !== undefined || p.default === undefined) continue;
    const d = p.default;
    if (d !== null && typeof d === 'object' && !Array.isArray(d)) {
      if (!defaultRows) continue;
      const rows = await defaultRows(d.dataset, out);
      const field = d.value ?? (rows[0] ? Object.keys(rows[0])[0] : undefined);
      const values = field ? rows.map((r) => r[field]).filter((v) => !isEmpty(v)) : [];
      out[p.name] = convertValue(p, p.multi ? values : values[0]);
    } else {
      out[p.name] = convertValue(p, d);
    }
  }
  const missing = parameters.filter((p) => p.required && out[p.name] === null).map((p) => p.name);
  if (missing.length > 0) {
    throw new TraceReportError('PARAM_MISSING', `missing required parameter${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}; give ${missing.map((m) => `--param ${m}=…`).join(' ')}`, {
      missing,
    });
  }
  return out;
}

/** `name=value` pairs (a name repeated gives a list) as raw values. */
export function parseParamPairs(pairs: readonly string[], flag = '--param'): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new TraceReportError('ARGUMENT_INVALID', `${flag} takes name=value, got "${pair}"`);
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}
