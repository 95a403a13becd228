/**
 * The product running on an equipment at a reading's time: the operation on that equipment whose time
 * span holds the reading (as the trace store relates samples to lots), its work order's route version
 * and its step, and that step's `parameter_spec` rows. The rules judge the reading against them.
 *
 * Read from the trace store's `operation` table (filled by MES ingest), through a small cache per
 * equipment: each entry says "from A to B (data time) the operation running is X, or none", as the store
 * knew it when the entry was read. A reading inside an entry's span costs a map lookup and two compares;
 * one outside every cached span (another operation started, the cached one ended, or the equipment was
 * never seen) is a miss: the caller waits for {@link RunningOperations.load} (three indexed queries).
 * Every `refreshMs` the entries go stale and are read again in the background, while the cached answer
 * keeps serving: an operation whose end or successor reaches the store while the cached one still looks
 * open is seen within that time.
 */
import type { Knex } from 'knex';
import type { DataSource } from '../../datasources/data-source.js';

/** One parameter's spec in the running operation's route step. */
export interface StepSpec {
  readonly lsl?: number;
  readonly target?: number;
  readonly usl?: number;
  readonly unit?: string;
}

export interface RunningOperation {
  /** Operation code. */
  readonly operation: string;
  readonly workOrder?: string;
  /** The work order's product (material code). */
  readonly product?: string;
  /** The work order's route and version, and the operation's step. */
  readonly route?: string;
  readonly version?: number;
  readonly step?: number;
  readonly startMs: number;
  /** Inclusive; Infinity while the operation has no end. */
  readonly endMs: number;
  /** The step's specs by parameter (empty when the work order has no route or the step no spec). */
  readonly specs: ReadonlyMap<string, StepSpec>;
}

/** What the store says about one equipment around a time: from `fromMs` (inclusive) to `toMs` (exclusive), `op` runs (null: none). */
export interface OperationSpan {
  readonly op: RunningOperation | null;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Reads the span around `tsMs` for an equipment (rejects when the store does not answer). */
export type OperationSource = (equipment: string, tsMs: number) => Promise<OperationSpan>;

/** `at()` could not answer from the cache: call `load()` and ask again. */
export const MISS: unique symbol = Symbol('miss');

export interface RunningOperationsOptions {
  /** How long a cached span is trusted before it is read again in the background (ms, default 2000). */
  refreshMs?: number;
  /** A load that takes longer is given up: its readings are judged as if no operation were known (ms, default 5000). */
  loadTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface RunningOperationsStatus {
  /** Spans read from the store (misses and refreshes). */
  loads: number;
  /** Loads that failed or timed out. */
  failures: number;
  /** Equipment with cached spans. */
  equipment: number;
}

interface Entry extends OperationSpan {
  /** Refresh generation it was read in. */
  epoch: number;
}

interface EquipmentCache {
  /** Newest first; at most MAX_SPANS. */
  spans: Entry[];
  /** Latest reading time asked for: where a refresh reads. */
  lastTs: number;
  loading: Promise<void> | undefined;
}

/** Spans kept per equipment: a few, so that readings slightly out of order around a product change do not reload. */
const MAX_SPANS = 4;

export class RunningOperations {
  private readonly cache = new Map<string, EquipmentCache>();
  private epoch = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly loadTimeoutMs: number;
  private readonly log: (m: string) => void;
  private counters = { loads: 0, failures: 0 };
  private failing = false;

  constructor(
    private readonly source: OperationSource,
    opts: RunningOperationsOptions = {},
  ) {
    this.loadTimeoutMs = opts.loadTimeoutMs ?? 5000;
    this.log = opts.log ?? (() => undefined);
    this.timer = setInterval(() => this.epoch++, opts.refreshMs ?? 2000);
    this.timer.unref();
  }

  /**
   * The operation running on `equipment` at `tsMs` (null: none known), or MISS when no cached span holds
   * that time. A stale span still answers and is read again in the background.
   */
  at(equipment: string, tsMs: number): RunningOperation | null | typeof MISS {
    const c = this.cache.get(equipment);
    if (!c) return MISS;
    const spans = c.spans;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!;
      if (tsMs >= s.fromMs && tsMs < s.toMs) {
        if (tsMs > c.lastTs) c.lastTs = tsMs;
        if (s.epoch !== this.epoch && !c.loading) void this.load(equipment, c.lastTs);
        return s.op;
      }
    }
    return MISS;
  }

  /**
   * Reads the span around `tsMs` into the cache. Never rejects: when the store does not answer (or not
   * within the load timeout), a span "no operation known" over all time is cached until the next refresh,
   * so the readings are judged on the fallback limits instead of waiting.
   */
  load(equipment: string, tsMs: number): Promise<void> {
    let c = this.cache.get(equipment);
    if (!c) this.cache.set(equipment, (c = { spans: [], lastTs: tsMs, loading: undefined }));
    if (tsMs > c.lastTs) c.lastTs = tsMs;
    const cache = c;
    if (cache.loading) {
      // One load per equipment at a time; a miss for another time asks again once it is done.
      return cache.loading.then(() => (this.covers(cache, tsMs) ? undefined : this.load(equipment, tsMs)));
    }
    const epoch = this.epoch;
    const stale = cache.spans.length > 0 && cache.spans[0]!.epoch !== epoch;
    cache.loading = (async () => {
      this.counters.loads++;
      let span: OperationSpan;
      try {
        span = await withTimeout(this.source(equipment, tsMs), this.loadTimeoutMs);
        if (this.failing) this.log('running operations: the trace store answers again');
        this.failing = false;
      } catch (e) {
        this.counters.failures++;
        if (!this.failing) {
          this.log(
            `running operations: cannot read the operation running on ${equipment} from the trace store (${(e as Error).message}); ` +
              'judging readings on the widest spec window until it answers',
          );
        }
        this.failing = true;
        // Keep what was cached (it may still be right); a miss gets "none known" until the next refresh.
        if (this.covers(cache, tsMs)) {
          for (const s of cache.spans) s.epoch = epoch;
          return;
        }
        span = { op: null, fromMs: -Infinity, toMs: Infinity };
      }
      const entry: Entry = { ...span, epoch };
      // A refresh replaces what the store may have changed since; a miss adds a span.
      cache.spans = stale ? [entry] : [entry, ...cache.spans.filter((s) => !overlaps(s, entry))].slice(0, MAX_SPANS);
    })().finally(() => (cache.loading = undefined));
    return cache.loading;
  }

  status(): RunningOperationsStatus {
    return { ...this.counters, equipment: this.cache.size };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private covers(c: EquipmentCache, tsMs: number): boolean {
    return c.spans.some((s) => tsMs >= s.fromMs && tsMs < s.toMs);
  }
}

function overlaps(a: OperationSpan, b: OperationSpan): boolean {
  return a.fromMs < b.toMs && b.fromMs < a.toMs;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------ from the trace store

/** Operations read per miss: the latest-started ones at or before the time (an older one still running behind them is not seen). */
const CANDIDATES = 16;

interface OperationRow {
  operation: string;
  started_at: unknown;
  ended_at: unknown;
  step_seq: number | string | null;
  route_id: number | string | null;
  route: string | null;
  version: number | string | null;
  product: string | null;
  work_order: string | null;
}

interface SpecRow {
  parameter: string;
  lsl: number | string | null;
  target: number | string | null;
  usl: number | string | null;
  unit: string | null;
}

/**
 * The trace store as an {@link OperationSource}. The operation running on an equipment at time t is the
 * latest-started one with started_at ≤ t ≤ ended_at (no end: still running), as the trace detail relates
 * samples to operations; its spec is the `parameter_spec` of its work order's route version (route_id)
 * and its step_seq. Per load: the equipment's latest operations started at or before t and the next start
 * after t, both ranges of the index operation (equipment_id, started_at), then the step's specs.
 */
export function storeOperationSource(db: DataSource): OperationSource {
  const ids = new Map<string, number>();
  const bind = (ms: number): Knex.Value => {
    const d = new Date(ms);
    // SQL Server's datetime2 holds UTC without a zone (as the ingest writer binds it).
    if (db.dialect === 'mssql') return d.toISOString().slice(0, -1);
    return db.toDriverValue(d) as Knex.Value;
  };
  return async (equipment, tsMs) => {
    let id = ids.get(equipment);
    if (id === undefined) {
      const row = (await db.knex('equipment').where({ code: equipment }).first('id')) as { id: number } | undefined;
      if (!row) return { op: null, fromMs: -Infinity, toMs: Infinity };
      ids.set(equipment, (id = Number(row.id)));
    }
    const t = bind(tsMs);
    const rows = (await db
      .knex('operation as o')
      .leftJoin('work_order as wo', 'wo.id', 'o.work_order_id')
      .leftJoin('route as ro', 'ro.id', 'wo.route_id')
      .leftJoin('material as m', 'm.id', 'wo.product_id')
      .where('o.equipment_id', id)
      .andWhere('o.started_at', '<=', t)
      .orderBy('o.started_at', 'desc')
      .limit(CANDIDATES)
      .select(
        'o.code as operation', 'o.started_at as started_at', 'o.ended_at as ended_at', 'o.step_seq as step_seq', 'wo.route_id as route_id',
        'ro.code as route', 'ro.version as version', 'm.code as product', 'wo.code as work_order',
      )) as OperationRow[];
    const next = (await db.knex('operation').where('equipment_id', id).andWhere('started_at', '>', t).min({ next: 'started_at' }).first()) as
      | { next: unknown }
      | undefined;
    const nextMs = next?.next == null ? Infinity : toMs(next.next);

    // Newest start first: the first that has not ended by t runs; those started after it ended before t.
    let endedAfter = -Infinity;
    for (const r of rows) {
      const start = toMs(r.started_at);
      const end = r.ended_at == null ? Infinity : toMs(r.ended_at);
      if (end >= tsMs) {
        const specs = new Map<string, StepSpec>();
        if (r.route_id != null && r.step_seq != null) {
          const specRows = (await db
            .knex('parameter_spec')
            .where({ route_id: Number(r.route_id), step_seq: Number(r.step_seq) })
            .select('parameter', 'lsl', 'target', 'usl', 'unit')) as SpecRow[];
          for (const s of specRows) {
            const spec: StepSpec = {
              ...opt('lsl', num(s.lsl)), ...opt('target', num(s.target)), ...opt('usl', num(s.usl)), ...(s.unit ? { unit: s.unit } : {}),
            };
            if (spec.lsl !== undefined || spec.usl !== undefined) specs.set(s.parameter, spec);
          }
        }
        const op: RunningOperation = {
          operation: r.operation,
          ...(r.work_order ? { workOrder: r.work_order } : {}),
          ...(r.product ? { product: r.product } : {}),
          ...(r.route ? { route: r.route } : {}),
          ...opt('version', num(r.version)),
          ...opt('step', num(r.step_seq)),
          startMs: start,
          endMs: end,
          specs,
        };
        return { op, fromMs: Math.max(start, endedAfter + 1), toMs: Math.min(end + 1, nextMs) };
      }
      endedAfter = Math.max(endedAfter, end);
    }
    return { op: null, fromMs: endedAfter + 1, toMs: nextMs };
  };
}

function opt<K extends string>(key: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: number };
}

function num(v: number | string | null): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function toMs(v: unknown): number {
  return v instanceof Date ? v.getTime() : Date.parse(String(v));
}
