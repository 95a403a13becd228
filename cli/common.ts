import { isTraceReportError, TraceReportError, type ErrorCode } from '../datasources/errors.js';
import type { DataSource } from '../datasources/data-source.js';
import { openTraceStore, defaultTraceDb } from '../trace/store.js';

/** Exit codes: 0 ok, 1 failed (not found, service down), 2 bad input or arguments. */
const INPUT_CODES: ErrorCode[] = [
  'INGEST_INVALID',
  'ARGUMENT_INVALID',
  'SQL_TEMPLATE_INVALID',
  'SQL_PARAM_MISSING',
  'SQL_PARAM_INVALID',
  'SOURCE_URL_INVALID',
  'TEMPLATE_INVALID',
  'TEMPLATE_VERSION_UNSUPPORTED',
  'TEMPLATE_NOT_FOUND',
  'PARAM_MISSING',
  'PARAM_UNKNOWN',
  'PARAM_INVALID',
  'DATASET_UNKNOWN',
  'FIELD_UNKNOWN',
  'SOURCE_UNKNOWN',
];

export function exitCodeFor(e: unknown): number {
  return isTraceReportError(e) && INPUT_CODES.includes(e.code) ? 2 : 1;
}

/** Prints an error as `tracereport: CODE: message` and sets the exit code. */
export function reportError(e: unknown): void {
  if (isTraceReportError(e)) {
    process.stderr.write(`tracereport: ${e.code}: ${e.message}\n`);
  } else {
    process.stderr.write(`tracereport: ${(e as Error)?.stack ?? String(e)}\n`);
  }
  process.exitCode = exitCodeFor(e);
}

/** Wraps a subcommand's action: errors are reported with their code, never as a bare stack. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      reportError(e);
    }
  };
}

/** Opens the trace store named by --db (or the default), runs fn, and closes it. */
export async function withTraceStore<T>(db: string | undefined, fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = await openTraceStore(db ?? defaultTraceDb());
  try {
    return await fn(ds);
  } finally {
    await ds.close();
  }
}

export function parsePositiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new TraceReportError('ARGUMENT_INVALID', `${name} must be a whole number ≥ 0, got "${v}"`);
    return n;
  };
}

export const DB_OPTION_HELP = 'trace store: SQLite file path, sqlite:PATH, postgres://, mysql:// or mssql:// URL (default $TRACEREPORT_DB or ./data/tracereport.sqlite)';
