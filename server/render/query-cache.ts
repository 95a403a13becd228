/**
 * The query cache: rows of a dataset whose template sets `cacheTtl` (seconds), keyed by (source,
 * SQL, bound parameter values — which will include the user's row-level values once they are bound),
 * kept for that long in this process, least recently used first out beyond a row budget. Only a
 * result read to its end is stored, so a paged view that stops early never caches a partial result.
 */
import { createHash } from 'node:crypto';
import { DataSource, type QueryOptions, type Row, type SourceOptions } from '../../datasources/data-source.js';
import type { ParamValues } from '../../datasources/named-params.js';
import type { Template } from '../../renderer/template/schema.js';

interface Entry {
  rows: Row[];
  expires: number;
}

export class QueryCache {
  private readonly entries = new Map<string, Entry>();
  private rows = 0;

  constructor(
    /** Rows held in total. */
    readonly maxRows = 500_000,
    /** Largest result kept. */
    readonly maxResultRows = 50_000,
    private readonly onLookup: (hit: boolean) => void = () => undefined,
  ) {}

  static key(source: string, sql: string, params: ParamValues): string {
    const norm = JSON.stringify([source, sql, Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
    return createHash('sha256').update(norm).digest('hex');
  }

  get(key: string): Row[] | undefined {
    const e = this.entries.get(key);
    if (e && e.expires > Date.now()) {
      this.entries.delete(key);
      this.entries.set(key, e); // most recently used last
      this.onLookup(true);
      return e.rows;
    }
    if (e) this.drop(key, e);
    this.onLookup(false);
    return undefined;
  }

  set(key: string, rows: Row[], ttlSeconds: number): void {
    if (rows.length > this.maxResultRows) return;
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.entries.set(key, { rows, expires: Date.now() + ttlSeconds * 1000 });
    this.rows += rows.length;
    for (const [k, e] of this.entries) {
      if (this.rows <= this.maxRows) break;
      this.drop(k, e);
    }
  }

  clear(): void {
    this.entries.clear();
    this.rows = 0;
  }

  get size(): { entries: number; rows: number } {
    return { entries: this.entries.size, rows: this.rows };
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.rows -= e.rows.length;
  }
}

/** SQL text → TTL in seconds, for the datasets of a template that set `cacheTtl`. */
export function cacheTtls(template: Template | undefined, source: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of template?.datasets ?? []) {
    if ('sql' in d && d.source === source && d.cacheTtl) out.set(d.sql, d.cacheTtl);
  }
  return out;
}

/** A data source whose streamed results for cacheable SQL come from (and go to) the cache. */
export class CachingDataSource extends DataSource {
  constructor(
    name: string,
    /** The database, or an open source whose connections to use (see DataSource). */
    url: string | DataSource,
    options: SourceOptions,
    private readonly cache: QueryCache,
    private readonly ttls: Map<string, number>,
  ) {
    super(name, url, options);
  }

  override async *stream<T extends Row = Row>(sqlTemplate: string, params: ParamValues = {}, opts: QueryOptions = {}): AsyncGenerator<T> {
    const ttl = this.ttls.get(sqlTemplate);
    if (!ttl) {
      yield* super.stream<T>(sqlTemplate, params, opts);
      return;
    }
    const key = QueryCache.key(this.name, sqlTemplate, params);
    const hit = this.cache.get(key);
    if (hit) {
      yield* hit as T[];
      return;
    }
    const rows: T[] = [];
    for await (const row of super.stream<T>(sqlTemplate, params, opts)) {
      if (rows.length <= this.cache.maxResultRows) rows.push(row);
      yield row;
    }
    this.cache.set(key, rows, ttl);
  }
}
