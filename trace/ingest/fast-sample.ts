import type { EventOf } from './events.js';

/**
 * A fast path for the bulk of real inputs: a sample event in plain form (codes without surrounding blanks,
 * UTC time ending in Z). It accepts only what the zod schema accepts, returning the same data; anything else
 * (including every invalid sample) returns undefined and goes through zod, which also words the errors.
 * tests/ingest-validate.test.ts checks the agreement with the schema.
 */
export function acceptSample(o: Record<string, unknown>): EventOf<'sample'> | undefined {
  let keys = 0;
  for (const k in o) {
    if (!SAMPLE_KEYS.has(k)) return undefined;
    keys++;
  }
  if (o.type !== 'sample') return undefined;
  const q = o.quality;
  if (keys !== (q === undefined ? 6 : 7) || (q !== undefined && q !== 'good' && q !== 'uncertain' && q !== 'bad')) return undefined;
  const v = o.value;
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (!plainText(o.id, 128) || !plainText(o.equipment, 64) || !plainText(o.parameter, 64)) return undefined;
  if (typeof o.ts !== 'string' || !isUtcTime(o.ts)) return undefined;
  return o as EventOf<'sample'>;
}

const SAMPLE_KEYS = new Set(['type', 'id', 'equipment', 'parameter', 'ts', 'value', 'quality']);

/**
 * The sample line as real inputs write it: its fields in the contract's order, no blanks, strings without
 * escapes or control characters, a JSON number. Anything else (other order, blanks, escapes) is not matched
 * and goes through JSON.parse.
 */
const SAMPLE_LINE =
  /^\{"type":"sample","id":"([^"\\\x00-\x1f]{1,128})","equipment":"([^"\\\x00-\x1f]{1,64})","parameter":"([^"\\\x00-\x1f]{1,64})","ts":"([^"\\\x00-\x1f]{20,40})","value":(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)(?:,"quality":"(good|uncertain|bad)")?\}$/;

/**
 * A faster path still, on the line's text: a sample line in that plain form is read without JSON.parse (a
 * pattern takes its fields; the same checks as `acceptSample` then apply). It accepts only lines that are
 * valid JSON with the data `acceptSample` would return; anything else returns undefined (tests check both).
 */
export function sampleFromLine(text: string): EventOf<'sample'> | undefined {
  if (text.charCodeAt(9) !== 115 /* s of "sample" */) return undefined;
  const m = SAMPLE_LINE.exec(text);
  if (!m) return undefined;
  const [, id, equipment, parameter, ts, number, quality] = m as unknown as [string, string, string, string, string, string, string | undefined];
  const value = Number(number);
  if (!Number.isFinite(value) || !plainText(id, 128) || !plainText(equipment, 64) || !plainText(parameter, 64) || !isUtcTime(ts)) return undefined;
  return quality === undefined ? { type: 'sample', id, equipment, parameter, ts, value } : { type: 'sample', id, equipment, parameter, ts, value, quality: quality as NonNullable<EventOf<'sample'>['quality']> };
}

/** A non-empty string of at most `max` characters that trimming would not change. */
export function plainText(s: unknown, max: number): boolean {
  if (typeof s !== 'string' || s.length === 0 || s.length > max) return false;
  return !isSpace(s.charCodeAt(0)) && !isSpace(s.charCodeAt(s.length - 1));
}

function isSpace(c: number): boolean {
  // Everything String.prototype.trim removes, taken broadly: ASCII controls and blanks, and all non-ASCII (rare in codes).
  return c <= 32 || c >= 127;
}

/** `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, a real calendar date, year 1000-9999. */
export function isUtcTime(t: string): boolean {
  const n = t.length;
  if (n < 20 || t.charCodeAt(n - 1) !== 90 /* Z */) return false;
  if (t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || t.charCodeAt(10) !== 84 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return false;
  const y = digits(t, 0, 4);
  const mo = digits(t, 5, 2);
  const d = digits(t, 8, 2);
  const h = digits(t, 11, 2);
  const mi = digits(t, 14, 2);
  const s = digits(t, 17, 2);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return false;
  const dim = mo === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
  if (d > dim) return false;
  if (n === 20) return true;
  // Fraction: a dot and at least one digit before the Z.
  if (t.charCodeAt(19) !== 46 || n < 22) return false;
  for (let i = 20; i < n - 1; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The number written by `len` ASCII digits at `at`, or -1. */
function digits(t: string, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = t.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
