/**
 * Row-level security: `$user.*` values (the viewer's id, username, roles and attributes such as
 * `plant`) that the server binds into a render. A dataset's SQL refers to them as `:$user.plant` or
 * tests them with `{{#if $user.plant}}`. They never come from the request: a template cannot declare a
 * parameter of that name and a request that sends one is refused. A `$user.*` name the SQL uses but the
 * caller does not give is bound as null, so a missing attribute matches no rows (`plant = NULL`).
 */
import { TraceReportError } from '../datasources/errors.js';
import type { Template } from './template/schema.js';
import type { TypedScalar, TypedValue } from './params.js';

export const USER_PREFIX = '$user.';

/** Values bound by the caller (the server), keyed `$user.<name>`. */
export type BoundValues = Readonly<Record<string, TypedValue>>;

const USER_NAME_RE = /\$user\.([A-Za-z_][A-Za-z0-9_]*)/g;
const ATTRIBUTE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `$user.*` names the template's dataset SQL refers to, sorted. */
export function userNamesIn(template: Template): string[] {
  const names = new Set<string>();
  for (const ds of template.datasets) {
    if (!('sql' in ds)) continue;
    for (const m of ds.sql.matchAll(USER_NAME_RE)) names.add(`${USER_PREFIX}${m[1]}`);
  }
  return [...names].sort();
}

/** The bound values a render of this template uses: the given ones, and null for every other `$user.*` name its SQL refers to. */
export function boundValuesFor(template: Template, given: BoundValues = {}): Record<string, TypedValue> {
  for (const k of Object.keys(given)) {
    if (!k.startsWith(USER_PREFIX) || !ATTRIBUTE_NAME_RE.test(k.slice(USER_PREFIX.length))) {
      throw new TraceReportError('ARGUMENT_INVALID', `bound value "${k}" must be named ${USER_PREFIX}<name> with letters, digits and _`, { name: k });
    }
  }
  const out: Record<string, TypedValue> = { ...given };
  for (const name of userNamesIn(template)) if (!(name in out)) out[name] = null;
  return out;
}

/** Raw request values may never set a bound value: refused before anything runs. */
export function refuseBoundNames(raw: Readonly<Record<string, unknown>>): void {
  const reserved = Object.keys(raw).filter((k) => k.startsWith('$'));
  if (reserved.length > 0) {
    throw new TraceReportError(
      'PARAM_UNKNOWN',
      `parameter${reserved.length > 1 ? 's' : ''} ${reserved.map((r) => `"${r}"`).join(', ')} cannot be given: ${USER_PREFIX}* values come from the logged-in user (row-level security)`,
      { unknown: reserved },
    );
  }
}

/** A user's attribute value as a bound value: text, number and true/false, or a list of them; anything else is left out. */
export function attributeValue(v: unknown): TypedValue | undefined {
  const scalar = (x: unknown): x is TypedScalar => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
  if (v === null) return null;
  if (scalar(v)) return v;
  if (Array.isArray(v) && v.every(scalar)) return v as TypedScalar[];
  return undefined;
}

/** `$user.*` values from `name=value` pairs (the CLI's `--user-value plant=A`); a name repeated gives a list. */
export function boundValuesFromPairs(pairs: Readonly<Record<string, string | string[]>>): Record<string, TypedValue> {
  const out: Record<string, TypedValue> = {};
  for (const [k, v] of Object.entries(pairs)) out[`${USER_PREFIX}${k}`] = v;
  return out;
}
