/**
 * Stored samples to prime the SPC charts at start ({@link RuleEngine.prime}), so that a restarted
 * collector neither re-learns its control limits from scratch nor forgets a run in progress — per
 * product, as the live rules chart them: each sample comes with the operation that ran on its equipment
 * at its time, found by the same lookup as the live rules' ({@link OperationSource.span}, the trace
 * store's `operation` table), so the engine puts it on the same chart as it would have live.
 */
import type { DataSource } from '../../datasources/data-source.js';
import type { RulesConfig } from '../config.js';
import { MAX_CHARTS_PER_KEY, type PrimeReading } from './engine.js';
import { RUN_LENGTH } from './spc.js';
import type { LimitTable } from './limits.js';
import { bindTime, storeOperationSource, type OperationSource, type OperationSpan, type RunningOperation } from './running-product.js';

export interface SpcHistoryOptions {
  /** Where the running operations come from (default: the store's, as the live rules read them). */
  source?: OperationSource;
  /** Products per equipment whose history is read: the most recently run (default {@link MAX_CHARTS_PER_KEY}, the charts a key keeps). */
  maxProducts?: number;
}

/** Operations of one product read for its first samples, and for its last. */
const OPS = 16;

interface Range {
  readonly fromMs: number;
  /** Inclusive; Infinity while running. */
  readonly toMs: number;
}

/** The first and the last operations on an equipment of one product (its work order's product, route version and step). */
interface ProductRuns {
  readonly first: readonly Range[];
  readonly last: readonly Range[];
}

/**
 * Per (equipment, parameter) with limits, oldest first, samples of `bad` quality left out (the engine
 * ignores them), each with its running operation (with `fromSpec`; without, the engine charts no product):
 *  - the key's first `baseline × n` samples (history limits only) and its last `(14 + 1) × n` (enough X̄
 *    points for the longest Nelson run), as when all samples went to one chart: the no-product chart's
 *    history and that of whatever ran then;
 *  - for each product that ran on the equipment (the `maxProducts` most recently started), the same
 *    within its first 16 operations there (history limits only: its baseline, as when it first ran) and
 *    within its last 16 (its run in progress), with n − 1 more per operation for the subgroups the engine
 *    drops at product changes.
 * Empty when SPC is off. Queries: one for the equipment's products and two per product (index ranges of
 * operation (equipment_id, started_at)); two per key and two per key and product (ranges of the sample
 * key); the operation lookup for each span of data time the samples fall in (two or three indexed queries,
 * shared by the equipment's keys).
 */
export async function loadSpcHistory(db: DataSource, limits: LimitTable, rules: RulesConfig, opts: SpcHistoryOptions = {}): Promise<PrimeReading[]> {
  const spc = rules.spc;
  if (!spc.enabled) return [];
  const out: PrimeReading[] = [];
  const head = spc.limitsFrom === 'history' ? spc.baseline * spc.n : 0;
  const tail = (RUN_LENGTH[4] + 1) * spc.n;
  const source = rules.fromSpec ? (opts.source ?? storeOperationSource(db)) : undefined;
  const maxProducts = opts.maxProducts ?? MAX_CHARTS_PER_KEY;
  const ids = new Map<string, number>();
  for (const r of await db.knex('equipment').select<{ id: number; code: string }[]>('id', 'code')) ids.set(r.code, Number(r.id));
  const byEquipment = new Map<string, string[]>();
  for (const l of limits.values()) byEquipment.set(l.equipment, [...(byEquipment.get(l.equipment) ?? []), l.parameter]);

  for (const [equipment, parameters] of byEquipment) {
    const id = ids.get(equipment);
    if (id === undefined) continue;
    const products = source ? await productRuns(db, id, head > 0, maxProducts) : [];
    const spans: OperationSpan[] = [];
    for (const parameter of parameters) {
      const base = () =>
        db
          .knex('sample')
          .select<{ ts: unknown; value: unknown }[]>('ts', 'value')
          .where({ equipment_id: id, parameter })
          .andWhere((q) => q.whereNull('quality').orWhereNot('quality', 'bad'));
      const within = (ranges: readonly Range[]) =>
        base().andWhere((q) => {
          for (const r of ranges) {
            q.orWhere((w) => {
              w.where('ts', '>=', bindTime(db, r.fromMs));
              if (Number.isFinite(r.toMs)) w.andWhere('ts', '<=', bindTime(db, r.toMs));
            });
          }
        });
      // By time: a sample read twice (the key's last ones are often its product's last ones) counts once.
      const rows = new Map<number, number>();
      const add = (list: readonly { ts: unknown; value: unknown }[]) => {
        for (const r of list) rows.set(toDate(r.ts).getTime(), Number(r.value));
      };
      if (head) add(await base().orderBy('ts', 'asc').limit(head));
      add(await base().orderBy('ts', 'desc').limit(tail));
      for (const p of products) {
        if (head && p.first.length) add(await within(p.first).orderBy('ts', 'asc').limit(head + (spc.n - 1) * p.first.length));
        if (p.last.length) add(await within(p.last).orderBy('ts', 'desc').limit(tail + (spc.n - 1) * p.last.length));
      }
      for (const t of [...rows.keys()].sort((a, b) => a - b)) {
        const reading = { equipment, parameter, ts: new Date(t), value: rows.get(t)! };
        out.push(source ? { ...reading, running: await runningAt(source, spans, equipment, t) } : reading);
      }
    }
  }
  return out;
}

/** The products that ran on an equipment, most recently started first, with their first (when asked) and last operations there. */
async function productRuns(db: DataSource, equipmentId: number, withFirst: boolean, max: number): Promise<ProductRuns[]> {
  const groups = (await db
    .knex('operation as o')
    .join('work_order as wo', 'wo.id', 'o.work_order_id')
    .where('o.equipment_id', equipmentId)
    .groupBy('wo.product_id', 'wo.route_id', 'o.step_seq')
    .select('wo.product_id as product_id', 'wo.route_id as route_id', 'o.step_seq as step_seq')
    .max({ last_start: 'o.started_at' })
    .orderBy('last_start', 'desc')
    .limit(max)) as { product_id: number | null; route_id: number | null; step_seq: number | null }[];
  const out: ProductRuns[] = [];
  for (const g of groups) {
    const ops = () => {
      const q = db.knex('operation as o').join('work_order as wo', 'wo.id', 'o.work_order_id').where('o.equipment_id', equipmentId);
      for (const [column, v] of [['wo.product_id', g.product_id], ['wo.route_id', g.route_id], ['o.step_seq', g.step_seq]] as const) {
        if (v === null || v === undefined) q.whereNull(column);
        else q.andWhere(column, v);
      }
      return q.select<{ started_at: unknown; ended_at: unknown }[]>('o.started_at as started_at', 'o.ended_at as ended_at');
    };
    const range = (r: { started_at: unknown; ended_at: unknown }): Range => ({
      fromMs: toDate(r.started_at).getTime(),
      toMs: r.ended_at == null ? Infinity : toDate(r.ended_at).getTime(),
    });
    const first = withFirst ? (await ops().orderBy('o.started_at', 'asc').limit(OPS)).map(range) : [];
    const last = (await ops().orderBy('o.started_at', 'desc').limit(OPS)).map(range);
    out.push({ first, last });
  }
  return out;
}

/** The operation running on the equipment at `tsMs`, from the spans read so far or one more read (kept in `spans`). */
async function runningAt(source: OperationSource, spans: OperationSpan[], equipment: string, tsMs: number): Promise<RunningOperation | null> {
  for (const s of spans) if (tsMs >= s.fromMs && tsMs < s.toMs) return s.op;
  const span = await source.span(equipment, tsMs);
  // As the live cache does with such an answer: no operation known.
  if (!(tsMs >= span.fromMs && tsMs < span.toMs)) return null;
  for (let i = spans.length - 1; i >= 0; i--) if (spans[i]!.fromMs < span.toMs && span.fromMs < spans[i]!.toMs) spans.splice(i, 1);
  spans.push(span);
  return span.op;
}

function toDate(v: unknown): Date {
  return v instanceof Date ? v : new Date(String(v));
}
