/**
 * Report parameters between the panel, the server and the URL: which widget a parameter gets, its
 * value as the widget holds it, the values sent to the server (empty ones left out, so defaults and
 * required checks happen there), and the query string of a report's address (`?lot=X&line=A&line=B`,
 * the same form as drill-down links).
 */
import type { JsonScalar, PanelParameter, Params, Value, Values } from './types';

export type WidgetKind = 'text' | 'number' | 'date' | 'datetime' | 'daterange' | 'select' | 'multiselect' | 'checkbox' | 'list';

/** The widget for a parameter: its `widget` hint where it fits, else one from its type, options and multi. */
export function widgetOf(p: PanelParameter): WidgetKind {
  if (p.options) return p.multi || p.widget === 'multiselect' ? 'multiselect' : 'select';
  if (p.widget === 'daterange' && p.multi) return 'daterange';
  if (p.widget === 'checkbox' || (p.type === 'boolean' && !p.multi)) return 'checkbox';
  if (p.multi) return 'list';
  if (p.widget === 'number' || p.type === 'number') return 'number';
  if (p.widget === 'date' || p.widget === 'daterange' || p.type === 'date') return 'date';
  if (p.type === 'datetime') return 'datetime';
  return 'text';
}

const text = (v: JsonScalar | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/** The server's value (given or default) as the widget holds it. */
export function widgetValue(p: PanelParameter, v: JsonScalar | JsonScalar[] | null): Value {
  const kind = widgetOf(p);
  const list = v === null ? [] : Array.isArray(v) ? v : [v];
  switch (kind) {
    case 'checkbox':
      return typeof v === 'boolean' ? v : v === null ? null : ['true', '1', 'yes'].includes(String(v).toLowerCase());
    case 'multiselect':
      return list.map(text);
    case 'daterange':
      return [text(list[0]).slice(0, 10), text(list[1]).slice(0, 10)];
    case 'list':
      return list.map(text).join(', ');
    case 'date':
      return text(list[0]).slice(0, 10);
    case 'datetime':
      // An ISO time (UTC) as a datetime-local value; sent back without a zone it is read as UTC.
      return text(list[0]).replace(' ', 'T').slice(0, 16);
    default:
      return text(list[0]);
  }
}

export function isEmpty(v: Value | undefined): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.every((x) => x === ''));
}

/** The values to send: empty ones left out; a comma list split; a date range as [from, to]. */
export function toParams(panel: PanelParameter[], values: Values): Params {
  const out: Params = {};
  for (const p of panel) {
    const v = values[p.name];
    if (isEmpty(v)) continue;
    const kind = widgetOf(p);
    if (kind === 'list' && typeof v === 'string') {
      const parts = v.split(/[,，\n]/).map((s) => s.trim()).filter(Boolean);
      if (parts.length) out[p.name] = parts;
    } else if (Array.isArray(v)) {
      const parts = v.filter((s) => s !== '');
      if (parts.length) out[p.name] = parts;
    } else if (typeof v === 'string') {
      out[p.name] = v.trim();
    } else if (typeof v === 'boolean') {
      out[p.name] = v;
    }
  }
  return out;
}

/** `?a=1&b=x&b=y` from parameter values (a list repeats its name), or '' for none. */
export function toSearch(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Parameter values from a query string: a repeated name is a list. */
export function fromSearch(search: string): Params {
  const out: Params = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return out;
}

/** The page number in an address's hash (`#page=3`), or null. */
export function pageFromHash(hash: string): number | null {
  const m = /(?:^#|&)page=(\d+)/.exec(hash);
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}

/** A short text for a breadcrumb: the first required parameter's value, else the first given one. */
export function keyValue(panel: PanelParameter[], params: Params): string {
  const show = (v: Params[string]) => (Array.isArray(v) ? v.join(', ') : String(v));
  const first = panel.find((p) => p.required && params[p.name] !== undefined) ?? panel.find((p) => params[p.name] !== undefined);
  return first ? show(params[first.name]!) : '';
}
