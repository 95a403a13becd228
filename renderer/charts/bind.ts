/**
 * Binds a template chart (an ECharts option template) to its rows and the parameter values, giving
 * the option ECharts draws (renderer/charts/render.ts).
 *
 * - The option is deep-copied; the template is never changed.
 * - The rows become `option.dataset = {source: rows}` (other keys of an object `dataset`, such as
 *   `dimensions`, are kept). When the option already has a `dataset` array (explicit inline sources,
 *   transforms), the bound rows go in as its first entry, so `datasetIndex: 0` and
 *   `fromDatasetIndex: 0` mean the bound rows. Dates in rows become ISO strings.
 * - String values are handlebars templates over the parameters (`"Lot {{lot}}"`); a Date parameter
 *   shows as `yyyy-mm-dd` (midnight UTC) or its ISO instant, a list as `a, b`.
 * - A string value that is exactly one of these is replaced by a value (not text), for spec limits
 *   and charts whose series do not read `dataset` (Sankey, graph):
 *     "=$name"               the parameter `name` (null when not set)
 *     "=first(field)"        the field of the first bound row
 *     "=min(field)" "=max(field)" "=avg(field)"   over the numeric values of the field in the bound rows
 *     "=rows"                the bound rows as an array of objects (Sankey `links`)
 *     "=nodes(f1,f2,...)"    the distinct values of those fields, in first-appearance order, as
 *                            [{name}] (Sankey/graph `data`)
 *   A statistic over no values is null (ECharts then draws no mark line).
 */
import Handlebars from 'handlebars';
import type { Row } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import type { ResolvedChart } from '../resolved.js';
import type { TemplateChart } from '../template/schema.js';

const hb = Handlebars.create();

const PARAM_REF = /^=\$([A-Za-z_][A-Za-z0-9_.]*)$/;
const STAT_REF = /^=(first|min|max|avg)\(\s*([^()]+?)\s*\)$/;
const NODES_REF = /^=nodes\(([^()]+)\)$/;

export function bindChart(chart: TemplateChart, rows: readonly Row[], params: Record<string, unknown>): ResolvedChart {
  const bound = rows.map(plainRow);
  const view = textView(params);
  const option = copy(chart.option, (s, path) => bindString(s, path, bound, params, view)) as Record<string, unknown>;
  if (chart.dataset !== undefined || bound.length > 0) {
    const existing = option.dataset;
    if (Array.isArray(existing)) {
      option.dataset = [{ source: bound }, ...existing];
    } else if (isObject(existing)) {
      option.dataset = { ...existing, source: bound };
    } else {
      option.dataset = { source: bound };
    }
  }
  return { option: stripAttributeMarkup(option) as Record<string, unknown>, width: chart.width, height: chart.height };
}

/**
 * ECharts' SVG renderer escapes text but writes style values (colours, font families, symbols) into
 * attributes as they are; a parameter or row value there could break out of the attribute. Those
 * values never need quotes or angle brackets, so they lose them.
 */
const ATTRIBUTE_KEY = /(color|fontFamily|fontStyle|fontWeight|symbol|image|cursor|type)$/i;
function stripAttributeMarkup(v: unknown, key = ''): unknown {
  if (key === 'source') return v; // dataset rows: data, drawn as escaped text
  if (typeof v === 'string') return ATTRIBUTE_KEY.test(key) ? v.replace(/["'<>&]/g, '') : v;
  if (Array.isArray(v)) return v.map((x) => stripAttributeMarkup(x, key));
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = stripAttributeMarkup(x, k);
    return out;
  }
  return v;
}

function bindString(s: string, path: string, rows: readonly Row[], params: Record<string, unknown>, view: Record<string, unknown>): unknown {
  if (s.startsWith('=')) {
    const p = PARAM_REF.exec(s);
    if (p) return plainValue(lookup(params, p[1]!) ?? null);
    const st = STAT_REF.exec(s);
    if (st) return statistic(st[1] as Stat, st[2]!, rows);
    if (s === '=rows') return rows.map((r) => ({ ...r }));
    const n = NODES_REF.exec(s);
    if (n) return nodes(n[1]!.split(',').map((f) => f.trim()), rows);
  }
  if (!s.includes('{{')) return s;
  try {
    return hb.compile(s, { noEscape: true, strict: false })(view);
  } catch (e) {
    throw new TraceReportError('CHART_FAILED', `chart option ${path}: the text ${JSON.stringify(s)} is not a valid handlebars template (${(e as Error).message.split('\n')[0]}); write parameters as {{name}}`, { path }, { cause: e });
  }
}

type Stat = 'first' | 'min' | 'max' | 'avg';

function statistic(stat: Stat, field: string, rows: readonly Row[]): unknown {
  if (stat === 'first') return rows.length > 0 ? (rows[0]![field] ?? null) : null;
  const values: number[] = [];
  for (const r of rows) {
    const v = r[field];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'bigint' ? Number(v) : NaN;
    if (Number.isFinite(n)) values.push(n);
  }
  if (values.length === 0) return null;
  if (stat === 'min') return values.reduce((a, b) => (b < a ? b : a));
  if (stat === 'max') return values.reduce((a, b) => (b > a ? b : a));
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function nodes(fields: readonly string[], rows: readonly Row[]): { name: string }[] {
  const seen = new Set<string>();
  const out: { name: string }[] = [];
  for (const r of rows) {
    for (const f of fields) {
      const v = r[f];
      if (v === null || v === undefined) continue;
      const name = String(v);
      if (!seen.has(name)) {
        seen.add(name);
        out.push({ name });
      }
    }
  }
  return out;
}

function copy(v: unknown, onString: (s: string, path: string) => unknown, path = 'option'): unknown {
  if (typeof v === 'string') return onString(v, path);
  if (Array.isArray(v)) return v.map((x, i) => copy(x, onString, `${path}[${i}]`));
  if (v instanceof Date) return v.toISOString();
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = copy(x, onString, `${path}.${k}`);
    return out;
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function plainRow(r: Row): Row {
  let out: Row | undefined;
  for (const [k, v] of Object.entries(r)) {
    const p = plainValue(v);
    if (p !== v) {
      out ??= { ...r };
      out[k] = p;
    }
  }
  return out ?? r;
}

/** Values ECharts can hold: Dates as ISO strings, bigints as numbers. */
function plainValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plainValue);
  return v;
}

function lookup(params: Record<string, unknown>, name: string): unknown {
  let cur: unknown = params;
  for (const part of name.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function textView(params: Record<string, unknown>): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) view[k] = asText(v);
  return view;
}

function asText(v: unknown): unknown {
  if (v instanceof Date) {
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (Array.isArray(v)) return v.map((x) => String(asText(x))).join(', ');
  if (isObject(v)) return textView(v);
  return v;
}
