/**
 * The limits the rules check, per (equipment, parameter): from the trace store's `parameter_spec`
 * and from the collector config's `rules.limits`, which win. These are the limits of a key when the
 * product running is not known; running-product.ts gives the running product's spec per reading.
 */
import type { DataSource } from '../../datasources/data-source.js';
import type { RulesConfig } from '../config.js';
import type { AlarmRule } from '../types.js';

export type Severity = 'warning' | 'critical';

export interface ParameterLimits {
  readonly equipment: string;
  readonly parameter: string;
  readonly lsl?: number;
  readonly usl?: number;
  readonly target?: number;
  readonly unit?: string;
  /** Severity of the limit alarms (config; spec limits are critical). */
  readonly severity: Severity;
  /** Where the limits came from. */
  readonly source: 'spec' | 'config' | 'spec+config';
  /** Set when the spec is that of the product running (the operation on the equipment at the reading's time). */
  readonly product?: ProductRef;
}

/** The operation whose route step's spec gave the limits. */
export interface ProductRef {
  readonly operation: string;
  readonly product?: string;
  readonly route?: string;
  readonly version?: number;
  readonly step?: number;
}

/** Limits keyed by {@link limitKey}. */
export type LimitTable = ReadonlyMap<string, ParameterLimits>;

export function limitKey(equipment: string, parameter: string): string {
  return `${equipment}\u0000${parameter}`;
}

interface SpecRow {
  equipment: string;
  route: string;
  version: number | string;
  parameter: string;
  lsl: number | string | null;
  target: number | string | null;
  usl: number | string | null;
  unit: string | null;
}

/**
 * The specs that apply to an equipment: those of route steps it serves, found two ways and united:
 *  - by design: route steps whose `equipment_class` is the equipment's class;
 *  - by practice: the (route, step) of operations that ran on the equipment (its work order's route).
 * Of each route code only its highest version among these counts (older versions are superseded).
 */
const SPEC_SQL = `
WITH candidates AS (
  SELECT e.id AS equipment_id, rs.route_id AS route_id, rs.seq AS step_seq
  FROM equipment e JOIN route_step rs ON rs.equipment_class = e.equipment_class
  UNION
  SELECT DISTINCT o.equipment_id, wo.route_id, o.step_seq
  FROM operation o JOIN work_order wo ON wo.id = o.work_order_id
  WHERE o.equipment_id IS NOT NULL AND wo.route_id IS NOT NULL AND o.step_seq IS NOT NULL
)
SELECT e.code AS equipment, ro.code AS route, ro.version AS version, ps.parameter AS parameter,
       ps.lsl AS lsl, ps.target AS target, ps.usl AS usl, ps.unit AS unit
FROM candidates c
  JOIN equipment e ON e.id = c.equipment_id
  JOIN route ro ON ro.id = c.route_id
  JOIN parameter_spec ps ON ps.route_id = c.route_id AND ps.step_seq = c.step_seq
ORDER BY e.code, ps.parameter, ro.code, ro.version`;

const num = (v: number | string | null): number | undefined => {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/**
 * Per (equipment, parameter) limits from `parameter_spec`, for readings when the product running is not
 * known. An equipment usually makes several products (several routes, or several steps of one route);
 * the rules judge a reading against the spec of the operation running on the equipment at the reading's
 * time (running-product.ts), and fall back to these limits when no operation is known to be running
 * there or its step has no spec for the parameter. The fallback is the widest window of the applicable
 * specs: the lowest LSL and the highest USL among the specs that name one. A value outside it is out of
 * spec for every product made there, so an alarm always means a real excursion. (The tightest window was
 * tried first: on the demo line, whose products have adjacent windows such as 200–220 and 220–240 °C, it
 * raised 72 false alarms in 10 s of in-spec data.) The target is the mean of the applicable targets,
 * clamped into the window.
 */
export async function loadSpecLimits(db: DataSource): Promise<LimitTable> {
  const rows = await db.query<SpecRow & Record<string, unknown>>(SPEC_SQL);
  // Highest version per (equipment, parameter, route code).
  const latest = new Map<string, number>();
  for (const r of rows) {
    const k = `${limitKey(r.equipment, r.parameter)}\u0000${r.route}`;
    latest.set(k, Math.max(latest.get(k) ?? -Infinity, Number(r.version)));
  }
  const groups = new Map<string, SpecRow[]>();
  for (const r of rows) {
    if (latest.get(`${limitKey(r.equipment, r.parameter)}\u0000${r.route}`) !== Number(r.version)) continue;
    const k = limitKey(r.equipment, r.parameter);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out = new Map<string, ParameterLimits>();
  for (const [k, g] of groups) {
    const lsls = g.map((r) => num(r.lsl)).filter((v): v is number => v !== undefined);
    const usls = g.map((r) => num(r.usl)).filter((v): v is number => v !== undefined);
    const targets = g.map((r) => num(r.target)).filter((v): v is number => v !== undefined);
    const lsl = lsls.length ? Math.min(...lsls) : undefined;
    const usl = usls.length ? Math.max(...usls) : undefined;
    if (lsl === undefined && usl === undefined) continue;
    let target = targets.length ? targets.reduce((a, b) => a + b, 0) / targets.length : lsl !== undefined && usl !== undefined ? (lsl + usl) / 2 : undefined;
    if (target !== undefined && lsl !== undefined) target = Math.max(target, lsl);
    if (target !== undefined && usl !== undefined) target = Math.min(target, usl);
    const unit = g.find((r) => r.unit)?.unit ?? undefined;
    out.set(k, { equipment: g[0]!.equipment, parameter: g[0]!.parameter, lsl, usl, target, unit, severity: 'critical', source: 'spec' });
  }
  return out;
}

/** A config entry of `rules.limits`. */
export type LimitOverride = RulesConfig['limits'][number];

/**
 * One key's spec limits with a config entry on top: per field, a limit the config gives wins and a limit
 * it leaves out keeps the spec's value; the config's severity wins. Without a spec the entry stands alone.
 */
export function applyOverride(s: ParameterLimits | undefined, c: LimitOverride): ParameterLimits {
  const lsl = c.lsl ?? s?.lsl;
  const usl = c.usl ?? s?.usl;
  let target = s?.target;
  // A spec target outside the overridden window is meaningless: use the window's midpoint.
  if (target !== undefined && ((lsl !== undefined && target < lsl) || (usl !== undefined && target > usl))) target = undefined;
  if (target === undefined && lsl !== undefined && usl !== undefined) target = (lsl + usl) / 2;
  return {
    equipment: c.equipment, parameter: c.parameter, lsl, usl, target, unit: s?.unit, severity: c.severity, source: s ? 'spec+config' : 'config',
    ...(s?.product ? { product: s.product } : {}),
  };
}

/**
 * Spec limits with the config's `rules.limits` on top ({@link applyOverride} per key). A config entry for
 * a parameter without a spec stands alone. With `fromSpec: false` only the config counts.
 */
export function mergeLimits(spec: LimitTable, rules: Pick<RulesConfig, 'limits' | 'fromSpec'>): LimitTable {
  const out = new Map<string, ParameterLimits>(rules.fromSpec ? spec : []);
  for (const c of rules.limits) {
    const k = limitKey(c.equipment, c.parameter);
    out.set(k, applyOverride(out.get(k), c));
  }
  return out;
}

/** The limits the engine runs on: the spec's (unless `fromSpec` is false) merged with the config's. */
export async function loadLimits(db: DataSource | undefined, rules: RulesConfig): Promise<LimitTable> {
  const spec = rules.fromSpec && db ? await loadSpecLimits(db) : new Map<string, ParameterLimits>();
  return mergeLimits(spec, rules);
}

export interface OpenAlarm {
  readonly rule: AlarmRule;
  readonly equipment: string;
  readonly parameter: string;
  /** The limit it was raised on (the alarm row's limit_value), when known. */
  readonly limit?: number;
}

const RULES: ReadonlySet<string> = new Set<AlarmRule>(['limit_high', 'limit_low', 'spc_nelson_1', 'spc_nelson_2', 'spc_nelson_3', 'spc_nelson_4']);

/**
 * The rule alarms still open in the `alarm` table (not cleared), for {@link RuleEngine}'s `open`
 * option: after a restart the engine then clears them when their condition ends instead of raising
 * them a second time. Alarms of other rules (imported ones) are ignored.
 */
export async function loadOpenAlarms(db: DataSource): Promise<OpenAlarm[]> {
  const rows = await db.query<{ rule: string; equipment: string; parameter: string; limit_value: number | string | null }>(
    `SELECT a.rule AS rule, e.code AS equipment, a.parameter AS parameter, a.limit_value AS limit_value
     FROM alarm a JOIN equipment e ON e.id = a.equipment_id
     WHERE a.cleared_at IS NULL AND a.parameter IS NOT NULL`,
  );
  return rows
    .filter((r) => RULES.has(r.rule))
    .map((r) => {
      const limit = num(r.limit_value);
      return { rule: r.rule as AlarmRule, equipment: r.equipment, parameter: r.parameter, ...(limit !== undefined ? { limit } : {}) };
    });
}
