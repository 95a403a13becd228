/**
 * Normalises values read back from any dialect: times to ISO-8601 UTC strings, numbers from strings or
 * bigints, booleans from 0/1, and splits long id/code lists into bound-list chunks.
 */

/** A time from any driver (Date, ISO text, SQL Server/MariaDB text) as `2026-03-01T08:00:00.000Z`, or null. */
export function isoTime(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  const s = String(v);
  // Text without a zone is UTC in the trace store.
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`;
  const d = new Date(withZone);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

export function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function bool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v === '1' || v.toLowerCase() === 'true';
  return Number(v) === 1;
}

/** Bound lists stay well under every driver's parameter limit (SQL Server: 2100). */
export const CHUNK = 1000;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
