/**
 * Stored samples to prime the SPC charts at start ({@link RuleEngine.prime}), so that a restarted
 * collector neither re-learns its control limits from scratch nor forgets a run in progress.
 */
import type { DataSource } from '../../datasources/data-source.js';
import type { RulesConfig } from '../config.js';
import type { Reading } from '../types.js';
import { RUN_LENGTH } from './spc.js';
import type { LimitTable } from './limits.js';

/**
 * Per (equipment, parameter) with limits, oldest first: with history limits, the first
 * `baseline × n` stored samples (the chart's baseline, as when the collector first ran); then the
 * last `(14 + 1) × n` samples (enough X̄ points for the longest Nelson run). Samples of `bad` quality
 * are left out, as the engine ignores them. Empty when SPC is off. Two indexed queries per key.
 */
export async function loadSpcHistory(db: DataSource, limits: LimitTable, rules: RulesConfig): Promise<Reading[]> {
  const spc = rules.spc;
  if (!spc.enabled) return [];
  const out: Reading[] = [];
  const head = spc.limitsFrom === 'history' ? spc.baseline * spc.n : 0;
  const tail = (RUN_LENGTH[4] + 1) * spc.n;
  const ids = new Map<string, number>();
  for (const r of await db.knex('equipment').select<{ id: number; code: string }[]>('id', 'code')) ids.set(r.code, Number(r.id));
  for (const l of limits.values()) {
    const id = ids.get(l.equipment);
    if (id === undefined) continue;
    const base = () =>
      db
        .knex('sample')
        .select<{ ts: unknown; value: unknown }[]>('ts', 'value')
        .where({ equipment_id: id, parameter: l.parameter })
        .andWhere((q) => q.whereNull('quality').orWhereNot('quality', 'bad'));
    const first = head ? await base().orderBy('ts', 'asc').limit(head) : [];
    const last = (await base().orderBy('ts', 'desc').limit(tail)).reverse();
    const lastFirst = first.length ? toDate(first[first.length - 1]!.ts).getTime() : -Infinity;
    for (const r of [...first, ...last.filter((r) => toDate(r.ts).getTime() > lastFirst)]) {
      out.push({ equipment: l.equipment, parameter: l.parameter, ts: toDate(r.ts), value: Number(r.value) });
    }
  }
  return out;
}

function toDate(v: unknown): Date {
  return v instanceof Date ? v : new Date(String(v));
}
