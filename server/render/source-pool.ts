/**
 * The server's pool of open data sources: one open DataSource (a knex client with its connection pool)
 * per registered source, shared by every render that reads it, instead of a new client and, for SQLite,
 * a new connection with its pragmas per request.
 *
 * - Keyed by the source's id and version (updated-at, name, URL, limits): a source edited or deleted in the
 *   config store is closed (`forget` from the routes at once, `sync` with the store's list at each render
 *   for edits made elsewhere), and the next render opens the new one.
 * - Closed after `idleMs` without a render (5 min), at shutdown, and beyond `maxOpen` (50) the least
 *   recently used idle one first. A source a render holds is never closed under it: a retired one is
 *   closed when its last render lets go, so `maxOpen` is exceeded only while more sources are in use.
 * - Broken connections: the knex pools of PostgreSQL, MariaDB/MySQL and SQL Server drop a connection
 *   the server closed (restart, kill) and connect anew on the next query.
 * - SQLite: up to 4 connections per source (WAL readers side by side), each closed after 10 s idle, so
 *   between bursts of renders no handle is left on the file (nor its -wal and -shm). A file replaced by
 *   another one (renamed over, or deleted and re-created: a new inode) is noticed at the next render: the
 *   old handles close first (they hold the old file's -wal and -shm, which a connection to the new file
 *   would take for its own; the render waits up to 30 s for renders still reading the old file), then the
 *   new file opens. A file overwritten in place is SQLite's to notice (the change counter in its header,
 *   at the next read transaction).
 * - Limits: each view applies the source's stored `rowLimit` and `statementTimeoutMs` (null: the defaults,
 *   1,000,000 rows and 60 s). The timeout is also set on the source's own connections when it opens, so it
 *   cancels the statement in the database (streams too) and never reaches another source's connections;
 *   editing either limit changes the source's version, so the next render opens it with the new ones.
 * - Each render gets its own view of the pooled source (its name, limits, query-cache TTLs); closing the
 *   view ends the streams it left open and lets go of the source. Connections are shared, results never:
 *   rows come from the database or from the query cache keyed by bound values (query-cache.ts).
 * - `columns()` (the field check before rows are read) is cached per source version, SQL template and
 *   the bound parameters' names with whether each is set: that is all the result's column names can depend
 *   on ({{#if}} blocks read "set or not"; values are bound, and neither a bound value nor the number of
 *   placeholders a list takes changes the column names). Only answers are cached, not "cannot tell" or errors, and only
 *   for `columnsTtlMs` (60 s), so a changed database schema is seen within a minute.
 * - The trace store (source `trace`) is the server's own open store (services.traceDb): the pool hands
 *   out views of it and never closes it.
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { DataSource, type QueryOptions, type Row, type SourceOptions } from '../../datasources/data-source.js';
import { TraceReportError, isTraceReportError } from '../../datasources/errors.js';
import { isSet, type ParamValues } from '../../datasources/named-params.js';
import { parseSourceUrl } from '../../datasources/source-url.js';
import type { DataSourceInfo, DataSourceStore } from '../store/data-sources.js';
import { CachingDataSource, type QueryCache } from './query-cache.js';

export interface SourcePoolOptions {
  /** A source no render used for this long is closed (ms). */
  idleMs?: number;
  /** Sources open at most; beyond, the least recently used idle one is closed. */
  maxOpen?: number;
  /** How often idle sources are looked for (ms). */
  sweepMs?: number;
  /** How long a source's `columns()` answer is reused (ms). */
  columnsTtlMs?: number;
  /** Connections of one SQLite source (WAL readers side by side; a long export does not block the rest). */
  sqliteConnections?: number;
  /** A SQLite connection idle this long is closed (its -wal and -shm files go with the last one) (ms). */
  sqliteIdleMs?: number;
  /** How long a render waits for the handles on a replaced SQLite file to close before it gives up (ms). */
  replacedWaitMs?: number;
  /** Called each time the pool opens a source (metrics). */
  onOpen?: () => void;
}

export interface SourcePoolStatus {
  /** Sources open now, including retired ones a render still holds. */
  open: number;
  /** Views handed out and not yet closed (renders reading a source now). */
  inUse: number;
  /** Sources opened since the server started. */
  opened: number;
  /** Sources closed since the server started. */
  closed: number;
}

/** What a render's view of a source adds to the pooled connections. */
export interface SourceView {
  /** Per-render limits (SourceRegistry's). */
  limits: SourceOptions;
  cache: QueryCache;
  /** SQL text → query-cache TTL (s), from the template. */
  ttls: Map<string, number>;
}

const MAX_COLUMN_ENTRIES = 1000;

/** `columns()` answers of one source, for a while. */
export class ColumnCache {
  private readonly entries = new Map<string, { columns: readonly string[]; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The key of a `columns()` call: the SQL template and, per bound parameter name, whether it is set —
   * what the SQL sent to describe the result depends on, never a value.
   */
  static key(sqlTemplate: string, params: ParamValues): string {
    const shape = Object.keys(params)
      .sort()
      .map((k) => [k, isSet(params[k])]);
    return createHash('sha256').update(JSON.stringify([sqlTemplate, shape])).digest('base64url');
  }

  get(key: string): string[] | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return [...e.columns];
  }

  set(key: string, columns: readonly string[]): void {
    this.entries.delete(key);
    this.entries.set(key, { columns: [...columns], expires: this.now() + this.ttlMs });
    for (const k of this.entries.keys()) {
      if (this.entries.size <= MAX_COLUMN_ENTRIES) break;
      this.entries.delete(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * One render's view of a pooled source: runs on the pooled connections under its own name, limits and
 * query-cache TTLs; `columns()` answers from the source's column cache. Closing it ends the streams it
 * left open (their connections go back to the pool) and lets go of the source; the connections stay open.
 */
class PooledView extends CachingDataSource {
  private readonly streams = new Set<AsyncGenerator<unknown>>();
  private released = false;

  constructor(
    shared: DataSource,
    name: string,
    view: SourceView,
    private readonly columnCache: ColumnCache,
    private readonly release: () => void,
  ) {
    super(name, shared, view.limits, view.cache, view.ttls);
  }

  override async *stream<T extends Row = Row>(sqlTemplate: string, params: ParamValues = {}, opts: QueryOptions = {}): AsyncGenerator<T> {
    const inner = super.stream<T>(sqlTemplate, params, opts);
    this.streams.add(inner);
    try {
      yield* inner;
    } finally {
      this.streams.delete(inner);
    }
  }

  override async columns(sqlTemplate: string, params: ParamValues = {}): Promise<string[] | null> {
    const key = ColumnCache.key(sqlTemplate, params);
    const known = this.columnCache.get(key);
    if (known) return known;
    const columns = await super.columns(sqlTemplate, params);
    if (columns) this.columnCache.set(key, columns);
    return columns;
  }

  override async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.allSettled([...this.streams].map((s) => s.return(undefined)));
    this.release();
  }
}

/** A SQLite file's identity (device and inode), undefined when it does not exist. */
function fileIdentity(file: string): string | undefined {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st ? `${st.dev}:${st.ino}` : undefined;
}

/** What, when changed, makes the pooled source a different one (its limits too: the timeout is set per connection). */
const versionOf = (info: DataSourceInfo): string => JSON.stringify([info.updatedAt, info.name, info.url, info.hasPassword, info.rowLimit, info.statementTimeoutMs]);

/** A view's limits: the source's stored row limit and statement timeout where set, else the render's (the defaults). */
function sourceLimits(info: Pick<DataSourceInfo, 'rowLimit' | 'statementTimeoutMs'>, render: SourceOptions): SourceOptions {
  return {
    ...render,
    rowLimit: info.rowLimit ?? render.rowLimit,
    statementTimeoutMs: info.statementTimeoutMs ?? render.statementTimeoutMs,
  };
}

interface Entry {
  id: number;
  name: string;
  version: string;
  ready: Promise<DataSource>;
  /** Views not yet closed. */
  leases: number;
  lastUsed: number;
  /** Out of the pool: closed when the last view lets go. */
  retired: boolean;
  closing?: Promise<void>;
  /** Settles when the source is closed. */
  closed: Promise<void>;
  markClosed: () => void;
  columns: ColumnCache;
  /** Once open: the source; for SQLite, the file and its identity when opened (no path: not a file). */
  file: { source?: DataSource; path?: string; identity?: string };
}

export class SourcePool {
  /** Open sources by id, least recently used first. */
  private readonly entries = new Map<number, Entry>();
  /** Every source not yet closed: the pooled ones and retired ones a render still holds. */
  private readonly live = new Set<Entry>();
  private readonly closing = new Set<Promise<void>>();
  private readonly traceColumns: ColumnCache;
  private readonly idleMs: number;
  private readonly maxOpen: number;
  private readonly columnsTtlMs: number;
  private readonly sqliteConnections: number;
  private readonly sqliteIdleMs: number;
  private readonly replacedWaitMs: number;
  private readonly onOpen: () => void;
  private readonly sweeper: NodeJS.Timeout;
  private counts = { open: 0, inUse: 0, opened: 0, closed: 0 };
  private shut = false;

  constructor(
    private readonly store: Pick<DataSourceStore, 'connectionUrl'>,
    options: SourcePoolOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.idleMs = options.idleMs ?? 5 * 60_000;
    this.maxOpen = options.maxOpen ?? 50;
    this.columnsTtlMs = options.columnsTtlMs ?? 60_000;
    this.sqliteConnections = options.sqliteConnections ?? 4;
    this.sqliteIdleMs = options.sqliteIdleMs ?? 10_000;
    this.replacedWaitMs = options.replacedWaitMs ?? 30_000;
    this.onOpen = options.onOpen ?? (() => undefined);
    this.traceColumns = new ColumnCache(this.columnsTtlMs, now);
    this.sweeper = setInterval(() => this.sweep(), options.sweepMs ?? 30_000);
    this.sweeper.unref();
  }

  status(): SourcePoolStatus {
    return { ...this.counts };
  }

  /** A render's view of registered source `info`, opened if it is not open (or was edited since). */
  async lease(info: DataSourceInfo, view: SourceView): Promise<DataSource> {
    if (this.shut) {
      throw new TraceReportError('SOURCE_CONNECT_FAILED', `cannot open source "${info.name}": the server is shutting down; try again once it is back`, { source: info.name });
    }
    const version = versionOf(info);
    let e = this.entries.get(info.id);
    if (e && (e.version !== version || (e.file.path !== undefined && fileIdentity(e.file.path) !== e.file.identity))) {
      this.retire(e);
      e = undefined;
    }
    if (e) this.entries.delete(info.id); // re-inserted below as the most recently used
    e ??= this.openEntry(info, version);
    this.entries.set(info.id, e);
    e.leases++;
    e.lastUsed = this.now();
    this.counts.inUse++;
    let source: DataSource;
    try {
      source = await e.ready;
    } catch (err) {
      this.letGo(e);
      this.retire(e);
      throw err;
    }
    this.trim();
    const entry = e;
    return new PooledView(source, info.name, { ...view, limits: sourceLimits(info, view.limits) }, entry.columns, () => this.letGo(entry));
  }

  /** A render's view of the trace store: its connections, never closed by the pool. */
  trace(traceDb: DataSource, view: SourceView): DataSource {
    this.counts.inUse++;
    return new PooledView(traceDb, 'trace', view, this.traceColumns, () => this.counts.inUse--);
  }

  /** Closes the source with that id (edited or deleted); the next render opens it anew. */
  forget(id: number): void {
    const e = this.entries.get(id);
    if (e) this.retire(e);
  }

  /** Closes open sources that are no longer registered as they were (the config store's list). */
  sync(registered: readonly DataSourceInfo[]): void {
    const versions = new Map(registered.map((r) => [r.id, versionOf(r)]));
    for (const e of [...this.entries.values()]) {
      if (versions.get(e.id) !== e.version) this.retire(e);
    }
  }

  /** Closes every source (shutdown); renders still reading finish first (knex waits for their connections). */
  async close(): Promise<void> {
    this.shut = true;
    clearInterval(this.sweeper);
    for (const e of [...this.live]) {
      this.retire(e);
      this.closeEntry(e);
    }
    await Promise.all([...this.closing]);
  }

  /** Closes sources idle for `idleMs`. */
  sweep(): void {
    const now = this.now();
    for (const e of [...this.entries.values()]) {
      if (e.leases === 0 && now - e.lastUsed >= this.idleMs) this.retire(e);
    }
  }

  /**
   * Opens a source. A SQLite file replaced by another opens once the handles on the old one (of any source
   * naming that path) are closed: they hold the old file's -wal and -shm, which a connection to the new
   * file would take for its own.
   */
  private openEntry(info: DataSourceInfo, version: string): Entry {
    const file: Entry['file'] = {};
    const ready = (async () => {
      let c;
      try {
        c = await this.store.connectionUrl(info.id);
      } catch (err) {
        if (isTraceReportError(err) && err.code === 'NOT_FOUND') {
          throw new TraceReportError('SOURCE_UNKNOWN', `data source "${info.name}" was deleted while the report was starting; render it again`, { source: info.name });
        }
        throw err;
      }
      const spec = parseSourceUrl(c.url);
      if (spec.dialect === 'sqlite' && spec.database !== ':memory:') {
        const current = fileIdentity(spec.database);
        const stale = [...this.live].filter((o) => o.file !== file && o.file.path === spec.database && o.file.identity !== current);
        for (const o of stale) this.retire(o);
        await this.waitClosed(stale, info.name);
        file.path = spec.database;
        file.identity = fileIdentity(spec.database);
      }
      // The stored statement timeout is set on each connection (PostgreSQL statement_timeout, MariaDB
      // max_statement_time): every view of this source runs under it, streams included, and no other
      // source's connections see it. The version includes it, so a changed timeout opens the source anew.
      const source = new DataSource(c.name, c.url, {
        statementTimeoutMs: info.statementTimeoutMs ?? undefined,
        ...(spec.dialect === 'sqlite' ? { connections: { max: this.sqliteConnections, idleMs: this.sqliteIdleMs } } : {}),
      });
      file.source = source;
      this.counts.open++;
      this.counts.opened++;
      this.onOpen();
      return source;
    })();
    ready.catch(() => undefined); // a failure reaches the renders that await it
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const e: Entry = { id: info.id, name: info.name, version, ready, file, leases: 0, lastUsed: this.now(), retired: false, closed, markClosed, columns: new ColumnCache(this.columnsTtlMs, this.now) };
    this.live.add(e);
    return e;
  }

  /** Waits for sources to close, at most `replacedWaitMs`. */
  private async waitClosed(sources: Entry[], name: string): Promise<void> {
    if (sources.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.replacedWaitMs)));
    try {
      if (await Promise.race([Promise.all(sources.map((o) => o.closed)).then(() => false), gaveUp])) {
        throw new TraceReportError(
          'SOURCE_CONNECT_FAILED',
          `source "${name}": its SQLite file was replaced while reports still read the old one; try again once they are done`,
          { source: name },
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private letGo(e: Entry): void {
    e.leases--;
    this.counts.inUse--;
    e.lastUsed = this.now();
    if (e.retired && e.leases === 0) this.closeEntry(e);
  }

  /** Takes a source out of the pool; it closes now if no render holds it, else when the last one lets go. */
  private retire(e: Entry): void {
    if (this.entries.get(e.id) === e) this.entries.delete(e.id);
    e.retired = true;
    if (e.leases === 0) this.closeEntry(e);
  }

  /** Beyond `maxOpen`: closes idle sources, least recently used first. */
  private trim(): void {
    for (const e of [...this.entries.values()]) {
      if (this.entries.size <= this.maxOpen) break;
      if (e.leases === 0) this.retire(e);
    }
  }

  private closeEntry(e: Entry): void {
    if (e.closing) return;
    this.live.delete(e);
    // Counted as closed from here (at once when it is open): nothing new runs on it, and its connections
    // close as their queries end.
    const count = () => {
      this.counts.open--;
      this.counts.closed++;
    };
    const openNow = e.file.source;
    if (openNow) count();
    const closing = (async () => {
      const source = openNow ?? (await e.ready.catch(() => undefined));
      if (!source) return;
      if (!openNow) count();
      await source.close().catch(() => undefined);
    })().finally(() => e.markClosed());
    e.closing = closing;
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }
}
