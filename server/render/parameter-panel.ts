/**
 * What the viewer's parameter panel needs for one template, given the values chosen so far: each
 * parameter's type, label, widget, required mark, current value (or default, literal or from SQL),
 * its options (a fixed list, or a dataset run with the other parameters: cascading selects), and a
 * per-field error when a given value is wrong or an option query fails.
 */
import { TraceReportError, isTraceReportError } from '../../datasources/errors.js';
import { datasetArray, type SourceRegistry } from '../../renderer/datasets.js';
import { convertValue, type RawValue, type TypedValue } from '../../renderer/params.js';
import type { Template, TemplateParameter } from '../../renderer/template/schema.js';
import { boundValuesFor, refuseBoundNames, type BoundValues } from '../../renderer/user-values.js';
import { jsonValue, type JsonScalar } from './json-value.js';

export interface PanelOption {
  value: JsonScalar | null;
  label: string;
}

export interface PanelParameter {
  name: string;
  type: TemplateParameter['type'];
  label: TemplateParameter['label'] | null;
  widget: TemplateParameter['widget'] | null;
  multi: boolean;
  required: boolean;
  value: JsonScalar | JsonScalar[] | null;
  options: PanelOption[] | null;
  error: { code: string; message: string } | null;
}

const fieldError = (e: unknown) => (isTraceReportError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: 'the option query failed' });

const labelOf = (v: unknown): string => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? '' : String(v));

export async function parameterPanel(template: Template, raw: Readonly<Record<string, RawValue>>, sources: SourceRegistry, bound?: BoundValues): Promise<PanelParameter[]> {
  refuseBoundNames(raw);
  const fixed = boundValuesFor(template, bound);
  const known = new Set(template.parameters.map((p) => p.name));
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length) {
    throw new TraceReportError('PARAM_UNKNOWN', `unknown parameter(s) ${unknown.map((u) => `"${u}"`).join(', ')}; this report takes ${[...known].map((k) => `"${k}"`).join(', ') || 'none'}`, {
      unknown,
      known: [...known],
    });
  }
  const values: Record<string, TypedValue> = {};
  const errors = new Map<string, { code: string; message: string }>();
  for (const p of template.parameters) {
    try {
      values[p.name] = convertValue(p, raw[p.name]);
    } catch (e) {
      values[p.name] = null;
      errors.set(p.name, fieldError(e));
    }
  }
  // Defaults for what was not given, in template order (a default may use the parameters before it).
  for (const p of template.parameters) {
    if (raw[p.name] !== undefined || values[p.name] !== null || p.default === undefined) continue;
    const d = p.default;
    try {
      if (d !== null && typeof d === 'object' && !Array.isArray(d)) {
        const rows = await datasetArray(template, d.dataset, { ...values, ...fixed }, sources);
        const field = d.value ?? (rows[0] ? Object.keys(rows[0])[0] : undefined);
        const found = field ? rows.map((r) => r[field]).filter((v) => v !== null && v !== undefined && v !== '') : [];
        values[p.name] = convertValue(p, p.multi ? found : found[0]);
      } else {
        values[p.name] = convertValue(p, d);
      }
    } catch (e) {
      errors.set(p.name, fieldError(e));
    }
  }
  const out: PanelParameter[] = [];
  for (const p of template.parameters) {
    let options: PanelOption[] | null = null;
    const o = p.options;
    if (Array.isArray(o)) {
      options = o.map((x) => (x !== null && typeof x === 'object' ? { value: x.value as JsonScalar | null, label: x.label ?? labelOf(x.value) } : { value: x as JsonScalar | null, label: labelOf(x) }));
    } else if (o) {
      try {
        const rows = await datasetArray(template, o.dataset, { ...values, ...fixed }, sources);
        const valueField = o.value ?? (rows[0] ? Object.keys(rows[0])[0]! : '');
        const labelField = o.label ?? valueField;
        options = rows.map((r) => ({ value: (r[valueField] instanceof Date ? labelOf(r[valueField]) : (r[valueField] as JsonScalar | null)) ?? null, label: labelOf(r[labelField]) }));
      } catch (e) {
        errors.set(p.name, fieldError(e));
      }
    }
    out.push({
      name: p.name,
      type: p.type,
      label: p.label ?? null,
      widget: p.widget ?? null,
      multi: p.multi,
      required: p.required,
      value: jsonValue(p, values[p.name] ?? null),
      options,
      error: errors.get(p.name) ?? null,
    });
  }
  return out;
}
