import type { z } from 'zod';
import { traceEvent, type TraceEvent } from './events.js';
import { acceptPlainEvent } from './fast-events.js';
import { acceptSample, sampleFromLine } from './fast-sample.js';

/** What is wrong with one field of one line. `field` is a path like `inputs[0].qty`; empty for the whole line. */
export interface FieldError {
  field: string;
  message: string;
}

export type LineResult = { ok: true; event: TraceEvent } | { ok: false; errors: FieldError[] };

const EVENT_TYPES = traceEvent.options.map((o) => o.shape.type.value);
const TYPE_LIST = EVENT_TYPES.join(', ');
const FIELDS_BY_TYPE = new Map<string, string[]>(traceEvent.options.map((o) => [o.shape.type.value, Object.keys(o.shape)]));

/** Parses and validates one NDJSON line. */
export function validateLine(text: string): LineResult {
  const sample = sampleFromLine(text);
  if (sample) return { ok: true, event: sample };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [{ field: '', message: `is not valid JSON: ${(e as Error).message}` }] };
  }
  return validateEvent(value);
}

/** Validates a parsed value against the event contract (trace/ingest/events.ts). */
export function validateEvent(value: unknown): LineResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    return { ok: false, errors: [{ field: '', message: `must be a JSON object with a type and an id (one event per line), got ${got}` }] };
  }
  const fast = acceptSample(value as Record<string, unknown>) ?? acceptPlainEvent(value as Record<string, unknown>);
  if (fast) return { ok: true, event: fast };
  const r = traceEvent.safeParse(value);
  if (r.success) return { ok: true, event: r.data };
  return { ok: false, errors: r.error.issues.flatMap((issue) => describeIssue(issue, value as Record<string, unknown>)) };
}

/** `['inputs', 0, 'qty']` → `inputs[0].qty`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): FieldError[] {
  const field = fieldPath(issue.path);
  const type = input.type;
  if (issue.code === 'invalid_union' && field === 'type') {
    if (type === undefined) return [{ field, message: `is missing; it must be one of ${TYPE_LIST}` }];
    return [{ field, message: `${JSON.stringify(type)} is not an event type; it must be one of ${TYPE_LIST}` }];
  }
  if (issue.code === 'unrecognized_keys') {
    const known = issue.path.length === 0 && typeof type === 'string' ? FIELDS_BY_TYPE.get(type) : undefined;
    const hint = known ? ` (a ${type} event has ${known.join(', ')})` : '';
    return issue.keys.map((k) => ({ field: fieldPath([...issue.path, k]), message: `is not a known field${hint}` }));
  }
  if (issue.code === 'invalid_type') {
    const value = valueAt(input, issue.path);
    const must = issue.message.startsWith('Invalid input') ? `must be ${EXPECTED[issue.expected] ?? issue.expected}` : issue.message;
    if (value === undefined) return [{ field, message: `is required (${must.replace(/^must be /, '')})` }];
    return [{ field, message: `${must}, got ${describeValue(value)}` }];
  }
  if (issue.code === 'invalid_value') {
    return [{ field, message: `must be one of ${issue.values.map((v) => String(v)).join(', ')}, got ${describeValue(valueAt(input, issue.path))}` }];
  }
  return [{ field, message: issue.message }];
}

const EXPECTED: Record<string, string> = { string: 'text', number: 'a number', int: 'a whole number', array: 'a list', object: 'an object', boolean: 'true or false' };

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v.length > 40 ? `text "${v.slice(0, 40)}…"` : `text ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `a ${typeof v}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

export { EVENT_TYPES };
