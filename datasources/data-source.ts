import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type BetterSqlite3 from 'better-sqlite3';
import { TraceReportError, isTraceReportError } from './errors.js';
import { compileSql, type ParamValues } from './named-params.js';
import { parseSourceUrl, redactUrl, type Dialect, type SourceSpec } from './source-url.js';

// PostgreSQL: counts and sums come back as numbers, not strings.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});
pg.types.setTypeParser(1700, (v) => Number(v));

export type Row = Record<string, unknown>;

export interface SourceOptions {
  /** Rows a single query may return or stream before it is stopped. */
  rowLimit?: number;
  /** Milliseconds a statement may run. */
  statementTimeoutMs?: number;
  /** Connections open at once at most (default 10; SQLite 1); with idleMs, none is kept once idle that long. */
  connections?: { max?: number; idleMs?: number };
}

export interface QueryOptions {
  rowLimit?: number;
  timeoutMs?: number;
}

const DEFAULT_ROW_LIMIT = 1_000_000;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * A named connection to one database. Runs SQL templates with named parameters, always bound by the
 * driver; results come as arrays or as an async stream of rows. Given another DataSource instead of a
 * URL, it runs on that one's connections (its own name and limits); closing it leaves them open.
 */
export class DataSource {
  readonly name: string;
  readonly dialect: Dialect;
  readonly display: string;
  readonly knex: Knex;
  readonly spec: SourceSpec;
  private readonly rowLimit: number;
  private readonly timeoutMs: number;
  private readonly ownsConnections: boolean;

  constructor(name: string, url: string | DataSource, options: SourceOptions = {}) {
    this.name = name;
    this.spec = typeof url === 'string' ? parseSourceUrl(url) : url.spec;
    this.dialect = this.spec.dialect;
    this.display = this.spec.display;
    this.rowLimit = options.rowLimit ?? DEFAULT_ROW_LIMIT;
    this.timeoutMs = options.statementTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ownsConnections = typeof url === 'string';
    if (typeof url !== 'string') {
      this.knex = url.knex;
      return;
    }
    const config: Knex.Config = { ...this.spec.knexConfig };
    const pool = options.connections;
    if (pool?.max) config.pool = { ...(config.pool ?? {}), max: pool.max };
    if (pool?.idleMs !== undefined) config.pool = { ...(config.pool ?? {}), min: 0, idleTimeoutMillis: pool.idleMs };
    const timeoutMs = this.timeoutMs;
    if (this.dialect === 'sqlite') {
      config.pool = {
        ...(config.pool ?? {}),
        afterCreate(conn: BetterSqlite3.Database, done: (err: Error | null, conn: unknown) => void) {
          try {
            if (conn.name !== ':memory:') conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            conn.pragma('foreign_keys = ON');
            conn.pragma('busy_timeout = 10000');
            conn.pragma('cache_size = -65536');
            conn.pragma('temp_store = MEMORY');
            done(null, conn);
          } catch (e) {
            done(e as Error, conn);
          }
        },
      };
    } else if (this.dialect === 'postgres') {
      (config.connection as Record<string, unknown>).statement_timeout = timeoutMs;
    } else if (this.dialect === 'mysql') {
      config.pool = {
        ...(config.pool ?? {}),
        afterCreate(conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
          // MariaDB names the limit in seconds, MySQL in milliseconds; set whichever the server knows.
          conn.query(`SET SESSION max_statement_time = ${timeoutMs / 1000}`, (err) => {
            if (!err) return done(null, conn);
            conn.query(`SET SESSION max_execution_time = ${Math.round(timeoutMs)}`, () => done(null, conn));
          });
        },
      };
    }
    // knex logs pool errors to the console; they reach callers as TraceReportErrors instead.
    const quiet = () => undefined;
    config.log = { warn: quiet, error: quiet, deprecate: quiet, debug: quiet, ...(process.env.TRACEREPORT_DEBUG_SQL ? { debug: console.error, warn: console.error } : {}) };
    config.acquireConnectionTimeout = 15_000;
    this.knex = knexFactory(config);
  }

  /** Runs a SQL template and returns all rows (stopped at the row limit). */
  async query<T extends Row = Row>(sqlTemplate: string, params: ParamValues = {}, opts: QueryOptions = {}): Promise<T[]> {
    const raw = this.raw(sqlTemplate, params);
    const limit = opts.rowLimit ?? this.rowLimit;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const started = performance.now();
    try {
      const result = await raw.timeout(timeoutMs, { cancel: this.dialect !== 'sqlite' });
      // SQLite runs a statement synchronously and cannot be interrupted: the timeout is checked once it returns.
      if (this.dialect === 'sqlite' && performance.now() - started > timeoutMs) throw this.timeoutError(timeoutMs);
      const rows = extractRows<T>(this.dialect, result);
      if (rows.length > limit) {
        throw new TraceReportError('SOURCE_ROW_LIMIT', `query on source "${this.name}" returned more than ${limit} rows; narrow it with parameters or raise the source's row limit`, {
          source: this.name,
          limit,
        });
      }
      return rows;
    } catch (e) {
      throw this.wrapError(e);
    }
  }

  /**
   * Streams the rows of a SQL template. The iterator holds one connection until it ends or is
   * broken out of; more than the row limit raises SOURCE_ROW_LIMIT.
   */
  async *stream<T extends Row = Row>(sqlTemplate: string, params: ParamValues = {}, opts: QueryOptions = {}): AsyncGenerator<T> {
    const limit = opts.rowLimit ?? this.rowLimit;
    const raw = this.raw(sqlTemplate, params);
    let count = 0;
    const over = () =>
      new TraceReportError('SOURCE_ROW_LIMIT', `query on source "${this.name}" streamed more than ${limit} rows; narrow it with parameters or raise the source's row limit`, {
        source: this.name,
        limit,
      });
    if (this.dialect === 'sqlite') {
      const native = raw.toSQL().toNative();
      const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
      const conn = (await this.knex.client.acquireConnection()) as BetterSqlite3.Database;
      let it: IterableIterator<unknown> | undefined;
      try {
        // Each step runs synchronously and cannot be interrupted: the time spent in the database (not
        // the time the reader takes between rows) is checked after each step, so a statement over its
        // time fails at its next row (a long aggregate once it has its answer).
        it = conn.prepare(native.sql).iterate(...(native.bindings as unknown[]));
        let spent = 0;
        for (;;) {
          const before = performance.now();
          const next = it.next();
          spent += performance.now() - before;
          if (spent > timeoutMs) throw this.timeoutError(timeoutMs);
          if (next.done) break;
          const row = next.value;
          if (++count > limit) throw over();
          yield row as T;
        }
      } catch (e) {
        throw this.wrapError(e);
      } finally {
        it?.return?.(); // ends the statement (the connection is busy until then)
        await this.knex.client.releaseConnection(conn);
      }
      return;
    }
    const s = raw.stream();
    try {
      for await (const row of s) {
        if (++count > limit) throw over();
        yield row as T;
      }
    } catch (e) {
      throw this.wrapError(e);
    } finally {
      s.destroy();
    }
  }

  /**
   * The column names a SQL template returns, found without reading rows: SQLite prepares the
   * statement; PostgreSQL and MariaDB run it wrapped to return no row. Null when that cannot be
   * told beforehand (SQL Server, or SQL that cannot be wrapped); the caller then checks the first row.
   */
  async columns(sqlTemplate: string, params: ParamValues = {}): Promise<string[] | null> {
    const native = this.raw(sqlTemplate, params).toSQL().toNative();
    if (this.dialect === 'sqlite') {
      const conn = (await this.knex.client.acquireConnection()) as BetterSqlite3.Database;
      try {
        // Preparing uses the schema the connection last read; a read brings in another process's changes.
        conn.prepare('select 1 from sqlite_master limit 1').get();
        const stmt = conn.prepare(native.sql);
        return stmt.reader ? stmt.columns().map((c) => c.name) : null;
      } catch (e) {
        throw this.wrapError(e);
      } finally {
        await this.knex.client.releaseConnection(conn);
      }
    }
    if (this.dialect === 'mssql') return null;
    const compiled = compileSql(sqlTemplate, params);
    const body = compiled.sql.trim().replace(/;\s*$/, '');
    const wrapped = `select * from (${body}) tr_describe where 1 = 0`;
    const bindings = compiled.bindings.map((b) => this.toDriverValue(b)) as Knex.RawBinding[];
    try {
      const result = (await this.knex.raw(wrapped, bindings).timeout(this.timeoutMs, { cancel: true })) as unknown;
      if (this.dialect === 'postgres') return ((result as { fields?: { name: string }[] }).fields ?? []).map((f) => f.name);
      const fields = Array.isArray(result) ? (result[1] as { name: string }[] | undefined) : undefined;
      return fields ? fields.map((f) => f.name) : null;
    } catch (e) {
      const wrappedErr = this.wrapError(e);
      if (isTraceReportError(wrappedErr) && wrappedErr.code === 'SOURCE_QUERY_FAILED') return null;
      throw wrappedErr;
    }
  }

  /** Checks that the source answers; the error names the source and host, never the password. */
  async ping(): Promise<void> {
    await this.query('select 1 as ok');
  }

  /** The knex raw query for a template, with dialect-specific binding conversions. */
  raw(sqlTemplate: string, params: ParamValues = {}): Knex.Raw {
    const compiled = compileSql(sqlTemplate, params);
    const bindings = compiled.bindings.map((b) => this.toDriverValue(b));
    return this.knex.raw(compiled.sql, bindings as Knex.RawBinding[]);
  }

  /** Converts a JS value to what this dialect stores: SQLite keeps times as ISO text and booleans as 0/1. */
  toDriverValue(v: unknown): unknown {
    if (this.dialect === 'sqlite') {
      if (v instanceof Date) return v.toISOString();
      if (typeof v === 'boolean') return v ? 1 : 0;
    }
    return v;
  }

  wrapError(e: unknown): Error {
    if (isTraceReportError(e)) return e;
    const err = e as Error & { code?: string; errno?: number };
    const msg = redactUrl(String(err?.message ?? e));
    if (err?.name === 'KnexTimeoutError' || /statement timeout|max_statement_time|maximum statement execution time|canceling statement/i.test(msg)) {
      if (/acquiring a connection/i.test(msg)) return this.connectError(e);
      return this.timeoutError(this.timeoutMs);
    }
    if (isConnectionFailure(err)) return this.connectError(e);
    return new TraceReportError('SOURCE_QUERY_FAILED', `query on source "${this.name}" (${this.display}) failed: ${msg}`, { source: this.name, driverCode: err?.code }, { cause: e });
  }

  private timeoutError(timeoutMs: number): TraceReportError {
    return new TraceReportError('SOURCE_TIMEOUT', `query on source "${this.name}" ran longer than its statement timeout (${timeoutMs} ms); narrow it or raise the timeout`, {
      source: this.name,
    });
  }

  private connectError(e: unknown): TraceReportError {
    const err = e as Error & { code?: string };
    const reason = redactUrl(String(err?.message ?? e)).split('\n')[0];
    return new TraceReportError(
      'SOURCE_CONNECT_FAILED',
      `cannot connect to source "${this.name}" at ${this.display}: ${reason}; check that the server runs and the URL, user and password are right`,
      { source: this.name, host: this.display, driverCode: err?.code },
    );
  }

  async close(): Promise<void> {
    if (this.ownsConnections) await this.knex.destroy();
  }
}

function isConnectionFailure(err: { code?: string; message?: string; name?: string } | undefined): boolean {
  if (!err) return false;
  const codes = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'ER_ACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', '28P01', '28000', '3D000', 'ELOGIN', 'ESOCKET', 'SQLITE_CANTOPEN'];
  if (err.code && codes.includes(err.code)) return true;
  // Any other PostgreSQL SQLSTATE is about the statement (operator or relation does not exist, …), not the connection.
  if (err.code && /^[0-9A-Z]{5}$/.test(err.code)) return false;
  return /acquiring a connection|connect ECONNREFUSED|password authentication failed|(database|role) "[^"]*" does not exist|unable to open database/i.test(err.message ?? '');
}

/** knex.raw returns a different shape per dialect; this returns the rows. */
export function extractRows<T>(dialect: Dialect, result: unknown): T[] {
  if (dialect === 'postgres') return ((result as { rows?: T[] }).rows ?? []) as T[];
  if (dialect === 'mysql') {
    const r = result as unknown[];
    return (Array.isArray(r[0]) ? r[0] : []) as T[];
  }
  return (Array.isArray(result) ? result : []) as T[];
}
