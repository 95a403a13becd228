/**
 * The product running on an equipment at a reading's time: the operation on that equipment whose time
 * span holds the reading (as the trace store relates samples to lots), its work order's route version
 * and its step, and that step's `parameter_spec` rows. The rules judge the reading against them and put
 * it on that product's SPC chart; history.ts uses the same {@link OperationSource} to put stored samples
 * on their product's chart at start.
 *
 * Read from the trace store's `operation` table (filled by MES ingest), through a small cache per
 * equipment: each span says "from A to B (data time) the operation running is X, or none", as the store
 * knew it when the span was read. A reading inside a cached span costs a map lookup and two compares;
 * one outside every cached span (another operation started, the cached one ended, or the equipment was
 * never seen) is a miss: the caller waits for {@link RunningOperations.load} (two or three indexed
 * queries). Every `refreshMs` one check (a query per 200 equipment) compares the cached spans with the
 * store and drops those whose operations changed, so an operation whose end or successor reaches the
 * store while the cached one still looks open is seen within that time.
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
  /** The source's own note for {@link OperationSource.changed} (what it read). */
  readonly token?: unknown;
}

export interface WatchedSpan {
  readonly equipment: string;
  readonly span: OperationSpan;
}

/** Where the running operations come from (the trace store; tests give their own). */
export interface OperationSource {
  /** The span around `tsMs` for an equipment (rejects when the store does not answer). */
  span(equipment: string, tsMs: number): Promise<OperationSpan>;
  /**
   * The equipment whose span the store no longer supports: an operation started within it, its operation
   * ended or changed, or an unknown equipment appeared. Few queries for many spans.
   */
  changed(spans: readonly WatchedSpan[]): Promise<ReadonlySet<string>>;
}

/** `at()` could not answer from the cache: call `load()` and ask again. */
export const MISS: unique symbol = Symbol('miss');

export interface RunningOperationsOptions {
  /** How often the cached spans are checked against the store (ms, default 2000). */
  refreshMs?: number;
  /** A load that takes longer is given up: its readings are judged as if no operation were known (ms, default 5000). */
  loadTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface RunningOperationsStatus {
  /** Spans read from the store (misses). */
  loads: number;
  /** Loads and checks that failed or timed out. */
  failures: number;
  /** Cache checks run, and equipment whose spans they dropped. */
  checks: number;
  dropped: number;
  /** Equipment with cached spans. */
  equipment: number;
}

interface Entry extends OperationSpan {
  /** A stand-in after a failed load: dropped at the next check, so that the store is asked again. */
  readonly failed?: boolean;
}

interface EquipmentCache {
  /** Newest first; at most MAX_SPANS. */
  spans: Entry[];
  loading: Promise<void> | undefined;
}

/** Spans kept per equipment: a few, so that readings slightly out of order around a product change do not reload. */
const MAX_SPANS = 4;
/**
 * Loads run at once at most. A line coming up asks for the operation of every machine together: unbounded, those
 * reads would fill the store's connection pool and the pipeline's writes would queue behind them for seconds.
 */
const MAX_CONCURRENT_LOADS = 4;

export class RunningOperations {
  private readonly cache = new Map<string, EquipmentCache>();
  private readonly timer: NodeJS.Timeout;
  private readonly loadTimeoutMs: number;
  private readonly log: (m: string) => void;
  private readonly counters = { loads: 0, failures: 0, checks: 0, dropped: 0 };
  private failing = false;
  private checking: Promise<void> | undefined;
  private activeLoads = 0;
  private readonly waitingLoads: (() => void)[] = [];

  constructor(
    private readonly source: OperationSource,
    opts: RunningOperationsOptions = {},
  ) {
    this.loadTimeoutMs = opts.loadTimeoutMs ?? 5000;
    this.log = opts.log ?? (() => undefined);
    this.timer = setInterval(() => void this.check(), opts.refreshMs ?? 2000);
    this.timer.unref();
  }

  /** The operation running on `equipment` at `tsMs` (null: none known), or MISS when no cached span holds that time. */
  at(equipment: string, tsMs: number): RunningOperation | null | typeof MISS {
    const c = this.cache.get(equipment);
    if (!c) return MISS;
    const spans = c.spans;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!;
      if (tsMs >= s.fromMs && tsMs < s.toMs) return s.op;
    }
    return MISS;
  }

  /**
   * Reads the span around `tsMs` into the cache. Never rejects: when the store does not answer (or not
   * within the load timeout), a span "no operation known" over all time stands in until the next check,
   * so the readings are judged on the fallback limits instead of waiting.
   */
  load(equipment: string, tsMs: number): Promise<void> {
    let c = this.cache.get(equipment);
    if (!c) this.cache.set(equipment, (c = { spans: [], loading: undefined }));
    const cache = c;
    if (cache.loading) {
      // One load per equipment at a time; a miss for another time asks again once it is done.
      return cache.loading.then(() => (this.covers(cache, tsMs) ? undefined : this.load(equipment, tsMs)));
    }
    cache.loading = (async () => {
      this.counters.loads++;
      let entry: Entry;
      try {
        const span = await withTimeout(this.limited(() => this.source.span(equipment, tsMs)), this.loadTimeoutMs);
        if (!(tsMs >= span.fromMs && tsMs < span.toMs)) throw new Error(`the span read for ${new Date(tsMs).toISOString()} does not hold that time`);
        this.recovered();
        entry = span;
      } catch (e) {
        this.failed(`cannot read the operation running on ${equipment}`, e);
        entry = { op: null, fromMs: -Infinity, toMs: Infinity, failed: true };
      }
      cache.spans = [entry, ...cache.spans.filter((s) => !overlaps(s, entry))].slice(0, MAX_SPANS);
    })().finally(() => (cache.loading = undefined));
    return cache.loading;
  }

  /**
   * Checks the newest span of every cached equipment against the store (what the timer does) and drops
   * the spans of equipment whose operations changed: their next reading reads them again.
   */
  check(): Promise<void> {
    this.checking ??= (async () => {
      const watched: WatchedSpan[] = [];
      const failed: string[] = [];
      for (const [equipment, c] of this.cache) {
        const newest = c.spans[0];
        if (c.loading || !newest) continue;
        if (newest.failed) failed.push(equipment);
        else watched.push({ equipment, span: newest });
      }
      for (const e of failed) this.drop(e);
      if (!watched.length) return;
      this.counters.checks++;
      let changed: ReadonlySet<string>;
      try {
        changed = await withTimeout(this.source.changed(watched), this.loadTimeoutMs);
        this.recovered();
      } catch (e) {
        this.failed('cannot check the cached running operations', e);
        return;
      }
      for (const w of watched) {
        // A load since the check began replaced the span: it is newer than what was checked.
        if (changed.has(w.equipment) && this.cache.get(w.equipment)?.spans[0] === w.span) this.drop(w.equipment);
      }
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  status(): RunningOperationsStatus {
    return { ...this.counters, equipment: this.cache.size };
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Runs a read when fewer than MAX_CONCURRENT_LOADS run (a finished read hands its slot to the next waiting one). */
  private async limited<T>(read: () => Promise<T>): Promise<T> {
    if (this.activeLoads >= MAX_CONCURRENT_LOADS) await new Promise<void>((resolve) => this.waitingLoads.push(resolve));
    else this.activeLoads++;
    try {
      return await read();
    } finally {
      const next = this.waitingLoads.shift();
      if (next) next();
      else this.activeLoads--;
    }
  }

  private drop(equipment: string): void {
    const c = this.cache.get(equipment);
    if (!c || c.loading) return;
    this.cache.delete(equipment);
    this.counters.dropped++;
  }

  private covers(c: EquipmentCache, tsMs: number): boolean {
    return c.spans.some((s) => tsMs >= s.fromMs && tsMs < s.toMs);
  }

  private recovered(): void {
    if (this.failing) this.log('running operations: the trace store answers again');
    this.failing = false;
  }

  private failed(what: string, e: unknown): void {
    this.counters.failures++;
    if (!this.failing) this.log(`running operations: ${what} from the trace store (${(e as Error).message}); judging readings on the widest spec window until it answers`);
    this.failing = true;
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

/** What a store span was read from: the equipment id and the operations that started within [since, to) as they were. */
interface StoreToken {
  readonly id: number | undefined;
  /** Start of the span's operation, or of the span when none runs. */
  readonly sinceMs: number;
  readonly toMs: number;
  /** `code start end` of each operation that started in [sinceMs, toMs), by start. */
  readonly signature: string;
}

/** A time (ms) as a bound value for the store's time columns. */
export function bindTime(db: DataSource, ms: number): Knex.Value {
  const d = new Date(ms);
  // SQL Server's datetime2 holds UTC without a zone (as the ingest writer binds it).
  if (db.dialect === 'mssql') return d.toISOString().slice(0, -1);
  return db.toDriverValue(d) as Knex.Value;
}

/** Spans checked per query (3 bound values each: below SQL Server's 2,100). */
const CHECK_CHUNK = 200;

/**
 * The trace store as an {@link OperationSource}. The operation running on an equipment at time t is the
 * latest-started one with started_at ≤ t ≤ ended_at (no end: still running), as the trace detail relates
 * samples to operations; its spec is the `parameter_spec` of its work order's route version (route_id)
 * and its step_seq. A span reads the equipment's latest operations started at or before t and the next
 * start after t, both ranges of the index operation (equipment_id, started_at), and the step's specs
 * (kept per route step until the next check). A check reads, for up to 200 spans in one query, the
 * operations started within each span (an index range each) and compares them with what the span saw.
 */
export function storeOperationSource(db: DataSource): OperationSource {
  const ids = new Map<string, number>();
  let specCache = new Map<string, Promise<ReadonlyMap<string, StepSpec>>>();
  const bind = (ms: number): Knex.Value => bindTime(db, ms);
  const signature = (rows: readonly { operation: string; started_at: unknown; ended_at: unknown }[]) =>
    rows
      .map((r) => `${r.operation} ${toMs(r.started_at)} ${r.ended_at == null ? '-' : toMs(r.ended_at)}`)
      .sort()
      .join('\n');

  const specsOf = (routeId: number, step: number): Promise<ReadonlyMap<string, StepSpec>> => {
    const key = `${routeId}/${step}`;
    let p = specCache.get(key);
    if (!p) {
      p = (async () => {
        const rows = (await db.knex('parameter_spec').where({ route_id: routeId, step_seq: step }).select('parameter', 'lsl', 'target', 'usl', 'unit')) as SpecRow[];
        const specs = new Map<string, StepSpec>();
        for (const s of rows) {
          const spec: StepSpec = { ...opt('lsl', num(s.lsl)), ...opt('target', num(s.target)), ...opt('usl', num(s.usl)), ...(s.unit ? { unit: s.unit } : {}) };
          if (spec.lsl !== undefined || spec.usl !== undefined) specs.set(s.parameter, spec);
        }
        return specs;
      })();
      p.catch(() => specCache.delete(key));
      specCache.set(key, p);
    }
    return p;
  };

  const equipmentId = async (equipment: string): Promise<number | undefined> => {
    let id = ids.get(equipment);
    if (id !== undefined) return id;
    const row = (await db.knex('equipment').where({ code: equipment }).first('id')) as { id: number } | undefined;
    if (row) ids.set(equipment, (id = Number(row.id)));
    return id;
  };

  return {
    async span(equipment, tsMs) {
      const id = await equipmentId(equipment);
      if (id === undefined) {
        const token: StoreToken = { id, sinceMs: -Infinity, toMs: Infinity, signature: '' };
        return { op: null, fromMs: -Infinity, toMs: Infinity, token };
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
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        const start = toMs(r.started_at);
        const end = r.ended_at == null ? Infinity : toMs(r.ended_at);
        if (end >= tsMs) {
          const specs = r.route_id != null && r.step_seq != null ? await specsOf(Number(r.route_id), Number(r.step_seq)) : new Map<string, StepSpec>();
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
          const toMsSpan = Math.min(end + 1, nextMs);
          const token: StoreToken = { id, sinceMs: start, toMs: toMsSpan, signature: signature(rows.filter((x) => toMs(x.started_at) >= start)) };
          return { op, fromMs: Math.max(start, endedAfter + 1), toMs: toMsSpan, token };
        }
        endedAfter = Math.max(endedAfter, end);
      }
      const fromMs = endedAfter + 1;
      return { op: null, fromMs, toMs: nextMs, token: { id, sinceMs: fromMs, toMs: nextMs, signature: '' } satisfies StoreToken };
    },

    async changed(spans) {
      specCache = new Map(); // specs are read again at the next span
      const out = new Set<string>();
      const known: { equipment: string; token: StoreToken }[] = [];
      const unknown: string[] = [];
      for (const { equipment, span } of spans) {
        const token = span.token as StoreToken | undefined;
        if (!token) out.add(equipment);
        else if (token.id === undefined) unknown.push(equipment);
        else known.push({ equipment, token });
      }
      for (let i = 0; i < unknown.length; i += CHECK_CHUNK) {
        const rows = (await db.knex('equipment').whereIn('code', unknown.slice(i, i + CHECK_CHUNK)).select('code')) as { code: string }[];
        for (const r of rows) out.add(r.code);
      }
      for (let i = 0; i < known.length; i += CHECK_CHUNK) {
        const chunk = known.slice(i, i + CHECK_CHUNK);
        const rows = (await db
          .knex('operation')
          .where((q) => {
            for (const { token } of chunk) {
              q.orWhere((w) => {
                w.where('equipment_id', token.id!);
                if (Number.isFinite(token.sinceMs)) w.andWhere('started_at', '>=', bind(token.sinceMs));
                if (Number.isFinite(token.toMs)) w.andWhere('started_at', '<', bind(token.toMs));
              });
            }
          })
          .select('equipment_id', 'code as operation', 'started_at', 'ended_at')) as { equipment_id: number | string; operation: string; started_at: unknown; ended_at: unknown }[];
        const byId = new Map<number, typeof rows>();
        for (const r of rows) {
          const id = Number(r.equipment_id);
          const list = byId.get(id);
          if (list) list.push(r);
          else byId.set(id, [r]);
        }
        for (const { equipment, token } of chunk) {
          // Rows of another span's range on the same equipment may come along: keep this span's.
          const mine = (byId.get(token.id!) ?? []).filter((r) => {
            const s = toMs(r.started_at);
            return s >= token.sinceMs && s < token.toMs;
          });
          if (signature(mine) !== token.signature) out.add(equipment);
        }
      }
      return out;
    },
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
