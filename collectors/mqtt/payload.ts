/**
 * An MQTT payload to a value and a time: JSON with a dotted path per value (`data.temp`, `values.0`) and an
 * optional time path, a bare number (stamped on receipt), or the convention `{"ts": "<ISO>", "value": n}`.
 *
 * A message is read once (`readPayload`: its text, parsed as JSON at most once, each time path at most once)
 * and every tag of its topic takes its value from that (`valueOf`): a gateway's message carrying one
 * equipment's parameters, one tag per parameter, costs one JSON parse, not one per tag.
 */

export interface PayloadSpec {
  /** Dotted path of the value; absent: a bare number, a JSON number, or the object's `value`. */
  readonly path?: string;
  /** Dotted path of the time (ISO text or epoch ms); absent: the object's `ts` when present, else receipt. */
  readonly tsPath?: string;
}

/** `stamped`: whether the time came from the payload or is the time of receipt. */
export type Parsed = { ok: true; value: number; ts: Date; stamped: 'payload' | 'receipt' } | { ok: false; reason: string };

/** Follows a dotted path (or its keys, split once) through objects and arrays. */
export function atPath(root: unknown, path: string | readonly string[]): unknown {
  let cur: unknown = root;
  for (const key of typeof path === 'string' ? path.split('.') : path) {
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
const NOT_JSON = Symbol('not JSON');

/** A payload spec with its paths split once (the driver compiles one per tag). */
export interface CompiledPayloadSpec extends PayloadSpec {
  readonly pathKeys?: readonly string[];
  /** The time path (`tsPath`, or `ts`) and its keys. */
  readonly timePath: string;
  readonly timeKeys: readonly string[];
}

export function compilePayloadSpec(spec: PayloadSpec): CompiledPayloadSpec {
  const timePath = spec.tsPath ?? 'ts';
  return { ...spec, ...(spec.path !== undefined ? { pathKeys: spec.path.split('.') } : {}), timePath, timeKeys: timePath.split('.') };
}

/** One message's payload, read once for all the tags of its topic. */
export class Payload {
  readonly text: string;
  private parsed: unknown = undefined;
  private parsedYet = false;
  /** Times read per time path: a Date, or undefined when the path holds nothing, or 'bad'. */
  private times: Map<string, Date | undefined | 'bad'> | undefined;

  constructor(payload: Buffer | string) {
    this.text = typeof payload === 'string' ? payload : payload.toString('utf8');
  }

  /** The parsed JSON, or NOT_JSON. */
  json(): unknown {
    if (!this.parsedYet) {
      this.parsedYet = true;
      try {
        this.parsed = JSON.parse(this.text);
      } catch {
        this.parsed = NOT_JSON;
      }
    }
    return this.parsed;
  }

  /** The time at a path of the JSON object (undefined: nothing there; 'bad': not a time). */
  timeAt(path: string, keys: readonly string[]): Date | undefined | 'bad' {
    const cached = this.times?.get(path);
    if (cached !== undefined || this.times?.has(path)) return cached;
    const json = this.json();
    const raw = json !== null && typeof json === 'object' ? atPath(json, keys) : undefined;
    const t = raw === undefined || raw === null ? undefined : (timeOf(raw) ?? 'bad');
    (this.times ??= new Map()).set(path, t);
    return t;
  }
}

/** Parses one payload for one tag; `receivedAt` stamps values that carry no time. Never throws. */
export function parsePayload(payload: Buffer | string, spec: PayloadSpec, receivedAt: Date): Parsed {
  return valueOf(new Payload(payload), compilePayloadSpec(spec), receivedAt);
}

/** One tag's value and time from a message read once. Never throws. */
export function valueOf(p: Payload, spec: CompiledPayloadSpec, receivedAt: Date): Parsed {
  const text = p.text;
  if (spec.path === undefined && spec.tsPath === undefined && BARE_NUMBER.test(text)) return { ok: true, value: Number(text), ts: receivedAt, stamped: 'receipt' };
  const json = p.json();
  if (json === NOT_JSON) return { ok: false, reason: `not JSON or a number: ${JSON.stringify(text.slice(0, 60))}` };
  let raw: unknown;
  if (spec.path !== undefined) {
    raw = atPath(json, spec.pathKeys ?? spec.path);
    if (raw === undefined) return { ok: false, reason: `no value at path "${spec.path}"` };
  } else if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    raw = (json as Record<string, unknown>).value;
    if (raw === undefined) return { ok: false, reason: 'a JSON object without "value" (give the tag a path)' };
  } else {
    raw = json;
  }
  const value = numberOf(raw);
  if (value === undefined) return { ok: false, reason: `value ${JSON.stringify(raw)?.slice(0, 40)} is not a number` };
  const t = p.timeAt(spec.timePath, spec.timeKeys);
  if (t === 'bad') {
    const rawTs = atPath(json, spec.timeKeys);
    return { ok: false, reason: `time ${JSON.stringify(rawTs).slice(0, 40)} at "${spec.timePath}" is not ISO text or epoch ms` };
  }
  if (t !== undefined) return { ok: true, value, ts: t, stamped: 'payload' };
  if (spec.tsPath !== undefined) return { ok: false, reason: `no time at path "${spec.tsPath}"` };
  return { ok: true, value, ts: receivedAt, stamped: 'receipt' };
}
