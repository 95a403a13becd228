/**
 * An MQTT payload to a value and a time: JSON with a dotted path per value (`data.temp`, `values.0`) and an
 * optional time path, a bare number (stamped on receipt), or the convention `{"ts": "<ISO>", "value": n}`.
 */

export interface PayloadSpec {
  /** Dotted path of the value; absent: a bare number, a JSON number, or the object's `value`. */
  readonly path?: string;
  /** Dotted path of the time (ISO text or epoch ms); absent: the object's `ts` when present, else receipt. */
  readonly tsPath?: string;
}

/** `stamped`: whether the time came from the payload or is the time of receipt. */
export type Parsed = { ok: true; value: number; ts: Date; stamped: 'payload' | 'receipt' } | { ok: false; reason: string };

/** Follows a dotted path through objects and arrays. */
export function atPath(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function timeOf(v: unknown): Date | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

const BARE_NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** Parses one payload; `receivedAt` stamps values that carry no time. Never throws. */
export function parsePayload(payload: Buffer | string, spec: PayloadSpec, receivedAt: Date): Parsed {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (spec.path === undefined && spec.tsPath === undefined && BARE_NUMBER.test(text)) return { ok: true, value: Number(text), ts: receivedAt, stamped: 'receipt' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: `not JSON or a number: ${JSON.stringify(text.slice(0, 60))}` };
  }
  let raw: unknown;
  if (spec.path !== undefined) {
    raw = atPath(json, spec.path);
    if (raw === undefined) return { ok: false, reason: `no value at path "${spec.path}"` };
  } else if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    raw = (json as Record<string, unknown>).value;
    if (raw === undefined) return { ok: false, reason: 'a JSON object without "value" (give the tag a path)' };
  } else {
    raw = json;
  }
  const value = numberOf(raw);
  if (value === undefined) return { ok: false, reason: `value ${JSON.stringify(raw)?.slice(0, 40)} is not a number` };
  let ts = receivedAt;
  let stamped: 'payload' | 'receipt' = 'receipt';
  const tsPath = spec.tsPath ?? 'ts';
  const rawTs = json !== null && typeof json === 'object' ? atPath(json, tsPath) : undefined;
  if (rawTs !== undefined && rawTs !== null) {
    const t = timeOf(rawTs);
    if (!t) return { ok: false, reason: `time ${JSON.stringify(rawTs).slice(0, 40)} at "${tsPath}" is not ISO text or epoch ms` };
    ts = t;
    stamped = 'payload';
  } else if (spec.tsPath !== undefined) {
    return { ok: false, reason: `no time at path "${spec.tsPath}"` };
  }
  return { ok: true, value, ts, stamped };
}
