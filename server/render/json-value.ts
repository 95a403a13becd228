/** Typed parameter values as JSON: dates as YYYY-MM-DD (date) or ISO time (datetime). */
import type { TypedValue } from '../../renderer/params.js';
import type { TemplateParameter } from '../../renderer/template/schema.js';

export type JsonScalar = string | number | boolean;

export function jsonValue(p: TemplateParameter, v: TypedValue): JsonScalar | JsonScalar[] | null {
  const one = (x: unknown): JsonScalar => (x instanceof Date ? (p.type === 'date' ? x.toISOString().slice(0, 10) : x.toISOString()) : (x as JsonScalar));
  if (v === null) return null;
  return Array.isArray(v) ? v.map(one) : one(v);
}
