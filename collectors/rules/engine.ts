/**
 * The rules (DESIGN §7): readings in, alarm changes out. Threshold alarms on each reading against
 * the limits; SPC alarms (Nelson rules 1–4) on X̄ of subgroups of n consecutive readings.
 *
 * Pure and deterministic: no clock, no I/O; the output depends only on the config, the limits and
 * the readings (with their running operations) in order. State is per (equipment, parameter) with
 * limits (readings of other keys are ignored, so memory is bounded by the limit table and the keys the
 * running products' specs name) and bounded in size per key: the limit alarm state, and at most
 * `maxChartsPerKey` SPC charts (default {@link MAX_CHARTS_PER_KEY}), each constant in size.
 *
 * SPC alarms (warning severity; rules as in spc.ts `NelsonRuns`) are judged once per completed
 * subgroup, from the first subgroup after the history baseline (or at once with spec limits). Each
 * rule raises when its pattern holds at the latest X̄ and clears at the first subgroup where it no
 * longer does: rule 1 when a mean is back within the control limits; rules 2–4 when the run is
 * broken (a mean on the other side or on the center; a step against the trend or an equal mean; two
 * steps the same way). A later run raises again. No chart exists when the baseline has no spread
 * (R̄ = 0); an X̄ chart only (R beyond D3·R̄..D4·R̄ is reported in the limits, not alarmed: there is
 * no rule kind for it).
 *
 * Per key, a reading whose time is not after the key's last reading is ignored (a redelivered or
 * late value: the store keeps one sample per (equipment, parameter, ts), the rules see the same
 * series); so are non-finite values and `bad` quality.
 *
 * Limit alarms per running product: {@link RuleEngine.judge} takes, with each reading, the operation
 * running on its equipment at its time (running-product.ts); its route step's spec for the parameter,
 * with the config's `rules.limits` on top per field, are the limits in force. Without a running
 * operation (or without a spec for the parameter in its step) the key's table limits apply: the widest
 * window of its specs with the config on top (limits.ts). A key without table limits gets its state at
 * the first reading that has a product spec.
 *
 * SPC charts per running product: one chart per (equipment, parameter, product), the product being the
 * running operation's product with its route version and step (whose spec it runs on); a reading with
 * no product known (no operation, or one without a work order) goes to the key's "no product" chart,
 * which exists only for keys with table limits. With `limitsFrom: spec` a chart's control limits come
 * from the limits in force for its readings (the product's spec with the config on top, or the table
 * limits; a chart whose spec changes in the store starts over on the new one); with `history` from the
 * first subgroups of that product's own readings. A subgroup never mixes products: when a key's
 * reading goes to another chart than its previous reading did, the old chart's partial subgroup is
 * dropped, not closed early (a subgroup of fewer than n values would need other constants — A2, D3, D4
 * depend on n — and finishing it when that product runs again would join two production runs in one
 * rational subgroup; at most n − 1 values per product change are lost). Each chart keeps its baseline
 * and run counters, so A → B → A continues A's chart where it stopped. The product change is seen per
 * key, by its own readings.
 *
 * Open alarms stay one per (equipment, parameter, rule): at a product change (the first reading of
 * another chart) the open Nelson alarms, raised on the old chart, are cleared with a message naming
 * both products, as a limit alarm is re-judged when another limit comes into force; the new chart then
 * raises its own when its pattern holds. The charts of a key are kept least recently used first; a new
 * product beyond the bound drops the least recently used chart (its product starts a new chart, and a
 * new baseline, when it runs again).
 */
import type { RulesConfig } from '../config.js';
import type { AlarmChange, AlarmRule, Reading } from '../types.js';
import { applyOverride, limitKey, type LimitOverride, type LimitTable, type OpenAlarm, type ParameterLimits, type Severity } from './limits.js';
import type { RunningOperation, StepSpec } from './running-product.js';
import { limitsFromSpec, SpcChart, type ControlLimits, type NelsonRule } from './spc.js';
import { xbarRConstants } from './spc-constants.js';

/** SPC signals are warnings: the process moved, the product may still be in spec. */
const SPC_SEVERITY: Severity = 'warning';

const NELSON_TEXT: Record<NelsonRule, string> = {
  1: 'subgroup mean beyond 3σ',
  2: '9 subgroup means in a row on one side of the center',
  3: '6 subgroup means in a row steadily increasing or decreasing',
  4: '14 subgroup means in a row alternating up and down',
};
const NELSON_CLEAR: Record<NelsonRule, string> = {
  1: 'subgroup mean back within control limits',
  2: 'run on one side of the center broken',
  3: 'trend broken',
  4: 'alternation broken',
};

/** SPC charts kept per (equipment, parameter): the products an equipment runs in turn, and "no product". */
export const MAX_CHARTS_PER_KEY = 8;

const SPC_RULES: readonly AlarmRule[] = ['spc_nelson_1', 'spc_nelson_2', 'spc_nelson_3', 'spc_nelson_4'];

/** The key of the "no product" chart (a product's key always holds a \u0000). */
const NO_PRODUCT = '';
const UNSET: unique symbol = Symbol('unset');

interface ChartEntry {
  readonly chart: SpcChart;
  /** "product A, RT-A v1 step 10"; "" for the no-product chart. */
  readonly label: string;
  /** With `limitsFrom: spec`, the control limits it was made from (to see a changed spec). */
  readonly fromSpec: ControlLimits | undefined;
}

/** One SPC chart of a key, for status and tests. */
export interface SpcChartInfo {
  /** "product A, RT-A v1 step 10"; "" for the no-product chart. */
  readonly product: string;
  readonly limits: ControlLimits | undefined;
  /** Baseline subgroups so far (history limits). */
  readonly baseline: number;
  /** Values in the subgroup being filled. */
  readonly pending: number;
}

/** A past reading for {@link RuleEngine.prime}, with the operation that ran at its time when known. */
export interface PrimeReading extends Reading {
  readonly running?: RunningOperation | null;
}

interface KeyState {
  readonly equipment: string;
  readonly parameter: string;
  /** The table limits (no product known); undefined for a key that has limits only from running products. */
  readonly limits: ParameterLimits | undefined;
  /** The config entry of this key. */
  readonly override: LimitOverride | undefined;
  /** Memo of the last product limits: the spec and operation they were made from. */
  lastSpec: StepSpec | undefined;
  lastOp: RunningOperation | undefined;
  lastProduct: ParameterLimits | undefined;
  lastTs: number;
  /** Open alarms and the limit each was raised on (undefined: not known, e.g. an SPC rule or an old row). */
  readonly open: Map<AlarmRule, number | undefined>;
  /** SPC charts by product key ({@link NO_PRODUCT}: none known), least recently used first. */
  readonly charts: Map<string, ChartEntry>;
  /** The chart of the key's last reading: null when it had none, undefined before the first one. */
  chart: ChartEntry | null | undefined;
  /** Memo of the chart lookup: the operation it was made for, and its chart. */
  chartOp: RunningOperation | undefined | typeof UNSET;
  chartMemo: ChartEntry | null;
}

export interface RuleEngineOptions {
  /** Alarms already open (e.g. from the `alarm` table after a restart): cleared when their condition ends, never raised twice. */
  open?: Iterable<OpenAlarm>;
  /** SPC charts kept per (equipment, parameter) (default {@link MAX_CHARTS_PER_KEY}, at least 1). */
  maxChartsPerKey?: number;
}

/** A number for messages: at most 6 significant digits, no trailing zeros. */
function fmt(v: number): string {
  return String(Number(v.toPrecision(6)));
}

export class RuleEngine {
  private readonly states = new Map<string, KeyState>();
  private readonly nelson: readonly NelsonRule[];
  private readonly overrides = new Map<string, LimitOverride>();
  /** Alarms open at start for keys without table limits: taken over when the key gets its state. */
  private readonly pendingOpen = new Map<string, OpenAlarm[]>();
  private readonly maxCharts: number;

  constructor(
    private readonly config: RulesConfig,
    limits: LimitTable,
    options: RuleEngineOptions = {},
  ) {
    const spc = config.spc;
    this.nelson = spc.enabled ? [...new Set(spc.nelson)].sort((a, b) => a - b) : [];
    this.maxCharts = Math.max(1, Math.floor(options.maxChartsPerKey ?? MAX_CHARTS_PER_KEY));
    for (const c of config.limits) this.overrides.set(limitKey(c.equipment, c.parameter), c);
    for (const [key, l] of limits) this.states.set(key, this.newState(key, l.equipment, l.parameter, l));
    for (const a of options.open ?? []) {
      const key = limitKey(a.equipment, a.parameter);
      const s = this.states.get(key);
      if (s) s.open.set(a.rule, a.limit);
      else this.pendingOpen.set(key, [...(this.pendingOpen.get(key) ?? []), a]);
    }
  }

  private newState(key: string, equipment: string, parameter: string, limits: ParameterLimits | undefined): KeyState {
    const open = new Map<AlarmRule, number | undefined>();
    for (const a of this.pendingOpen.get(key) ?? []) open.set(a.rule, a.limit);
    this.pendingOpen.delete(key);
    const s: KeyState = {
      equipment, parameter, limits, override: this.overrides.get(key), lastSpec: undefined, lastOp: undefined, lastProduct: undefined,
      lastTs: -Infinity, open, charts: new Map(), chart: undefined, chartOp: UNSET, chartMemo: null,
    };
    // The no-product chart on the table limits exists from the start (its spec limits are known now).
    if (limits && this.config.spc.enabled) s.charts.set(NO_PRODUCT, this.newChart('', this.specControl(limits)));
    return s;
  }

  private newChart(label: string, fromSpec: ControlLimits | undefined): ChartEntry {
    return { chart: new SpcChart(this.config.spc.n, this.config.spc.baseline, fromSpec), label, fromSpec };
  }

  /** With `limitsFrom: spec`, the control limits from the limits in force when two-sided; otherwise the chart learns them from history. */
  private specControl(limits: ParameterLimits | undefined): ControlLimits | undefined {
    const spc = this.config.spc;
    if (spc.limitsFrom !== 'spec' || !limits) return undefined;
    return limitsFromSpec(limits.lsl, limits.usl, limits.target, spc.n, xbarRConstants(spc.n));
  }

  /** The alarm changes the readings cause, in reading order (per reading: limit alarms, then SPC), on the table limits. */
  onReadings(readings: readonly Reading[]): AlarmChange[] {
    const out: AlarmChange[] = [];
    for (const r of readings) this.process(r, undefined, out, true);
    return out;
  }

  /**
   * Judges one reading with the operation running on its equipment at its time (null or undefined: none
   * known): the limits in force are its step's spec for the parameter with the config on top, else the
   * table limits. Appends the alarm changes to `out`.
   */
  judge(r: Reading, running: RunningOperation | null | undefined, out: AlarmChange[]): void {
    this.process(r, running ?? undefined, out, true);
  }

  /**
   * Feeds past readings (from the store, oldest first per key) to build the SPC baselines and run state
   * without raising or clearing anything; limit alarm state is left alone. Each reading goes to the chart
   * of the operation given with it (history.ts finds them as the live rules do), none: the no-product chart.
   */
  prime(readings: readonly PrimeReading[]): void {
    for (const r of readings) this.process(r, r.running ?? undefined, [], false);
  }

  /** The control limits of a key's chart for the product of `running` (none: the no-product chart), once known. */
  controlLimits(equipment: string, parameter: string, running?: RunningOperation | null): ControlLimits | undefined {
    const ref = running && this.config.fromSpec ? productOf(running) : undefined;
    return this.states.get(limitKey(equipment, parameter))?.charts.get(ref?.key ?? NO_PRODUCT)?.chart.limits;
  }

  /** The SPC charts of a key, least recently used first. */
  spcCharts(equipment: string, parameter: string): SpcChartInfo[] {
    const s = this.states.get(limitKey(equipment, parameter));
    return [...(s?.charts.values() ?? [])].map((e) => ({ product: e.label, limits: e.chart.limits, baseline: e.chart.baselineCount, pending: e.chart.pending }));
  }

  /** The alarms the engine holds open, with the limit each was raised on when known. */
  openAlarms(): OpenAlarm[] {
    const out: OpenAlarm[] = [];
    for (const s of this.states.values()) {
      for (const [rule, limit] of s.open) out.push({ rule, equipment: s.equipment, parameter: s.parameter, ...(limit !== undefined ? { limit } : {}) });
    }
    return out;
  }

  private process(r: Reading, running: RunningOperation | undefined, out: AlarmChange[], emit: boolean): void {
    const key = limitKey(r.equipment, r.parameter);
    let s = this.states.get(key);
    if (!s) {
      // A product spec for a key without table limits (a route or equipment that was not known at start).
      const spec = emit && this.config.fromSpec ? running?.specs.get(r.parameter) : undefined;
      if (!spec) return;
      s = this.newState(key, r.equipment, r.parameter, undefined);
      this.states.set(key, s);
    }
    const t = r.ts instanceof Date ? r.ts.getTime() : Number.NaN;
    if (!(t > s.lastTs) || !Number.isFinite(r.value) || r.quality === 'bad') return;
    s.lastTs = t;
    const limits = this.limitsInForce(s, running);
    if (emit) this.threshold(s, limits, r, out);
    if (!this.config.spc.enabled) return;
    const entry = s.chartOp === running ? s.chartMemo : this.chartFor(s, running, limits);
    if (entry !== s.chart) this.productChanged(s, entry, running, limits, r, emit, out);
    if (!entry) return;
    const done = entry.chart.add(r.value);
    if (!done?.nelson || !emit) return;
    const cl = entry.chart.limits!;
    for (const k of this.nelson) {
      const rule = `spc_nelson_${k}` as AlarmRule;
      const holds = done.nelson[k];
      if (holds === s.open.has(rule)) continue;
      const x = done.subgroup.xbar;
      const limit = k === 1 ? (x > cl.ucl ? cl.ucl : x < cl.lcl ? cl.lcl : undefined) : k === 2 ? cl.center : undefined;
      const detail = holds ? NELSON_TEXT[k] : NELSON_CLEAR[k];
      const info = [k === 1 ? `LCL ${fmt(cl.lcl)}, UCL ${fmt(cl.ucl)}` : k === 2 ? `center ${fmt(cl.center)}` : '', chartText(entry, running)].filter(Boolean).join('; ');
      const message = `${r.parameter} X̄ ${fmt(x)}${unit(limits ?? s.limits)}: Nelson rule ${k}, ${detail}${info ? ` (${info})` : ''}`;
      this.change(s, holds ? 'raise' : 'clear', rule, x, limit, SPC_SEVERITY, r.ts, message, out);
    }
  }

  /**
   * The chart of the product of `running` (made when new; the least recently used beyond the bound is
   * dropped); null when none applies (no product known and no table limits). Called when the operation
   * differs from the key's last one.
   */
  private chartFor(s: KeyState, running: RunningOperation | undefined, limits: ParameterLimits | undefined): ChartEntry | null {
    const ref = running && this.config.fromSpec ? productOf(running) : undefined;
    let entry: ChartEntry | null = null;
    if (ref || s.limits) {
      const key = ref?.key ?? NO_PRODUCT;
      const fromSpec = this.specControl(limits);
      const found = s.charts.get(key);
      // A chart on spec limits whose spec changed (re-ingested parameter_spec) starts over on the new one.
      entry = found && sameControl(found.fromSpec, fromSpec) ? found : this.newChart(ref?.label ?? '', fromSpec);
      s.charts.delete(key);
      s.charts.set(key, entry);
      if (s.charts.size > this.maxCharts) s.charts.delete(s.charts.keys().next().value!);
    }
    s.chartOp = running;
    s.chartMemo = entry;
    return entry;
  }

  /**
   * A key's reading goes to another chart than its previous reading: the old chart's partial subgroup is
   * dropped, and (live) its open Nelson alarms are cleared. Nothing to leave at the key's first reading.
   */
  private productChanged(
    s: KeyState,
    to: ChartEntry | null,
    running: RunningOperation | undefined,
    limits: ParameterLimits | undefined,
    r: Reading,
    emit: boolean,
    out: AlarmChange[],
  ): void {
    const from = s.chart;
    s.chart = to;
    if (from === undefined) return;
    from?.chart.dropSubgroup();
    if (!emit) return;
    for (const rule of SPC_RULES) {
      if (!s.open.has(rule)) continue;
      const was = from?.label || 'no product known';
      const now = to?.label ? chartText(to, running) : 'no product known';
      // The same product with a new chart: its spec changed in the store.
      const what = from && to && from.label === to.label ? 'the spec changed' : 'the product changed';
      const message = `${r.parameter} ${fmt(r.value)}${unit(limits ?? s.limits)}: Nelson rule ${rule.slice(-1)} cleared, ${what} (was ${was}; now ${now})`;
      this.change(s, 'clear', rule, r.value, s.open.get(rule), SPC_SEVERITY, r.ts, message, out);
    }
  }

  /** The running product's limits for the key when its step has a spec for the parameter; else the table limits. */
  private limitsInForce(s: KeyState, running: RunningOperation | undefined): ParameterLimits | undefined {
    const spec = running && this.config.fromSpec ? running.specs.get(s.parameter) : undefined;
    if (!spec) return s.limits;
    if (spec !== s.lastSpec || running !== s.lastOp) {
      s.lastSpec = spec;
      s.lastOp = running;
      s.lastProduct = this.productLimits(s.equipment, s.parameter, spec, running!, s.override);
    }
    return s.lastProduct;
  }

  private productLimits(equipment: string, parameter: string, spec: StepSpec, op: RunningOperation, override: LimitOverride | undefined): ParameterLimits {
    const product = {
      operation: op.operation,
      ...(op.product !== undefined ? { product: op.product } : {}),
      ...(op.route !== undefined ? { route: op.route } : {}),
      ...(op.version !== undefined ? { version: op.version } : {}),
      ...(op.step !== undefined ? { step: op.step } : {}),
    };
    let target = spec.target;
    if (target === undefined && spec.lsl !== undefined && spec.usl !== undefined) target = (spec.lsl + spec.usl) / 2;
    const l: ParameterLimits = {
      equipment, parameter, lsl: spec.lsl, usl: spec.usl, target, unit: spec.unit, severity: 'critical', source: 'spec', product,
    };
    return override ? applyOverride(l, override) : l;
  }

  /**
   * Raise above USL (below LSL); an open limit alarm clears once the value is back inside the limit by
   * `hysteresis × (USL − LSL)` (× |limit| when the spec is one-sided), so a value hovering at the
   * limit does not flap. A jump from above USL to below LSL clears the high alarm, then raises the low one.
   *
   * An open alarm is judged on the limit it was raised on while that limit is in force. When another
   * limit comes into force (another product runs, or none is known any more) it is judged at once on the
   * new one: it clears when the value is on the good side of the new limit, or clears and is raised
   * again on the new limit when the value is beyond it, so that each alarm row names the limit it crossed.
   * With no limit in force (the new product has no spec for that side), it clears.
   */
  private threshold(s: KeyState, limits: ParameterLimits | undefined, r: Reading, out: AlarmChange[]): void {
    const lsl = limits?.lsl;
    const usl = limits?.usl;
    const severity = limits?.severity ?? 'critical';
    const h = this.config.hysteresis;
    const band = (limit: number) => h * (lsl !== undefined && usl !== undefined ? Math.abs(usl - lsl) : Math.abs(limit));
    const v = r.value;
    const p = r.parameter;
    // Message parts, made only when a change is made.
    const u = () => unit(limits);
    const of = () => productText(limits);
    if (s.open.size) {
      if (s.open.has('limit_high')) {
        const was = s.open.get('limit_high');
        if (usl === undefined) this.change(s, 'clear', 'limit_high', v, was, severity, r.ts, `${p} ${fmt(v)}${u()}: no USL in force${of()}`, out);
        else if (was !== undefined && was !== usl) {
          const text = v > usl ? `USL now ${fmt(usl)}` : `within the USL now in force, ${fmt(usl)}`;
          this.change(s, 'clear', 'limit_high', v, was, severity, r.ts, `${p} ${fmt(v)}${u()}: ${text}${of()}`, out);
        } else {
          if (was === undefined) s.open.set('limit_high', usl);
          if (v <= usl - band(usl)) this.change(s, 'clear', 'limit_high', v, usl, severity, r.ts, `${p} ${fmt(v)}${u()} back below USL ${fmt(usl)}${of()}`, out);
        }
      }
      if (s.open.has('limit_low')) {
        const was = s.open.get('limit_low');
        if (lsl === undefined) this.change(s, 'clear', 'limit_low', v, was, severity, r.ts, `${p} ${fmt(v)}${u()}: no LSL in force${of()}`, out);
        else if (was !== undefined && was !== lsl) {
          const text = v < lsl ? `LSL now ${fmt(lsl)}` : `within the LSL now in force, ${fmt(lsl)}`;
          this.change(s, 'clear', 'limit_low', v, was, severity, r.ts, `${p} ${fmt(v)}${u()}: ${text}${of()}`, out);
        } else {
          if (was === undefined) s.open.set('limit_low', lsl);
          if (v >= lsl + band(lsl)) this.change(s, 'clear', 'limit_low', v, lsl, severity, r.ts, `${p} ${fmt(v)}${u()} back above LSL ${fmt(lsl)}${of()}`, out);
        }
      }
    }
    if (usl !== undefined && v > usl && !s.open.has('limit_high')) this.change(s, 'raise', 'limit_high', v, usl, severity, r.ts, `${p} ${fmt(v)}${u()} above USL ${fmt(usl)}${of()}`, out);
    if (lsl !== undefined && v < lsl && !s.open.has('limit_low')) this.change(s, 'raise', 'limit_low', v, lsl, severity, r.ts, `${p} ${fmt(v)}${u()} below LSL ${fmt(lsl)}${of()}`, out);
  }

  private change(
    s: KeyState,
    kind: 'raise' | 'clear',
    rule: AlarmRule,
    value: number,
    limit: number | undefined,
    severity: Severity,
    at: Date,
    message: string,
    out: AlarmChange[],
  ): void {
    if (kind === 'raise') s.open.set(rule, limit);
    else s.open.delete(rule);
    const change: AlarmChange = {
      kind,
      rule,
      equipment: s.equipment,
      parameter: s.parameter,
      value,
      ...(limit !== undefined ? { limit } : {}),
      severity,
      at,
      message,
    };
    out.push(change);
  }
}

function unit(l: ParameterLimits | undefined): string {
  return l?.unit ? ` ${l.unit}` : '';
}

/** "product P-A, RT-A v2 step 10" (as much as is known). */
function productLabel(p: { readonly product?: string; readonly route?: string; readonly version?: number; readonly step?: number }): string {
  const parts: string[] = [];
  if (p.product) parts.push(`product ${p.product}`);
  if (p.route) parts.push(`${p.route}${p.version !== undefined ? ` v${p.version}` : ''}${p.step !== undefined ? ` step ${p.step}` : ''}`);
  return parts.join(', ');
}

/** " (product P-A, RT-A v2 step 10, operation OP-1)" for a running product's limits; "" for the table limits. */
function productText(l: ParameterLimits | undefined): string {
  const p = l?.product;
  if (!p) return '';
  const label = productLabel(p);
  return ` (${label ? `${label}, ` : ''}operation ${p.operation})`;
}

/**
 * The product whose chart a reading of `op` goes to: its product with the route version and step (the
 * spec its readings run on). Undefined when the operation names neither (no work order): no product known.
 */
function productOf(op: RunningOperation): { key: string; label: string } | undefined {
  if (op.product === undefined && op.route === undefined) return undefined;
  return { key: `${op.product ?? ''}\u0000${op.route ?? ''}\u0000${op.version ?? ''}\u0000${op.step ?? ''}`, label: productLabel(op) };
}

/** "product A, RT-A v1 step 10, operation A1" for a product's chart; "" for the no-product chart. */
function chartText(entry: ChartEntry, running: RunningOperation | undefined): string {
  if (!entry.label) return '';
  return running ? `${entry.label}, operation ${running.operation}` : entry.label;
}

function sameControl(a: ControlLimits | undefined, b: ControlLimits | undefined): boolean {
  if (!a || !b) return a === b;
  return a.center === b.center && a.ucl === b.ucl && a.lcl === b.lcl;
}
