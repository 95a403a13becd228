/**
 * The rules (DESIGN §7): readings in, alarm changes out. Threshold alarms on each reading against
 * the limits; SPC alarms (Nelson rules 1–4) on X̄ of subgroups of n consecutive readings.
 *
 * Pure and deterministic: no clock, no I/O; the output depends only on the config, the limits and
 * the readings in order. State is per (equipment, parameter) with limits (readings of other keys are
 * ignored, so memory is bounded by the limit table) and constant in size per key.
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
 * the first reading that has a product spec. SPC charts stay on the table limits.
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
  readonly chart: SpcChart | undefined;
}

export interface RuleEngineOptions {
  /** Alarms already open (e.g. from the `alarm` table after a restart): cleared when their condition ends, never raised twice. */
  open?: Iterable<OpenAlarm>;
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

  constructor(
    private readonly config: RulesConfig,
    limits: LimitTable,
    options: RuleEngineOptions = {},
  ) {
    const spc = config.spc;
    this.nelson = spc.enabled ? [...new Set(spc.nelson)].sort((a, b) => a - b) : [];
    for (const c of config.limits) this.overrides.set(limitKey(c.equipment, c.parameter), c);
    for (const [key, l] of limits) this.states.set(key, this.newState(key, l.equipment, l.parameter, l, l));
    for (const a of options.open ?? []) {
      const key = limitKey(a.equipment, a.parameter);
      const s = this.states.get(key);
      if (s) s.open.set(a.rule, a.limit);
      else this.pendingOpen.set(key, [...(this.pendingOpen.get(key) ?? []), a]);
    }
  }

  private newState(key: string, equipment: string, parameter: string, limits: ParameterLimits | undefined, chartLimits: ParameterLimits): KeyState {
    const spc = this.config.spc;
    let chart: SpcChart | undefined;
    if (spc.enabled) {
      // From the spec when asked and the spec is two-sided; otherwise from the history baseline.
      const fromSpec = spc.limitsFrom === 'spec' ? limitsFromSpec(chartLimits.lsl, chartLimits.usl, chartLimits.target, spc.n, xbarRConstants(spc.n)) : undefined;
      chart = new SpcChart(spc.n, spc.baseline, fromSpec);
    }
    const open = new Map<AlarmRule, number | undefined>();
    for (const a of this.pendingOpen.get(key) ?? []) open.set(a.rule, a.limit);
    this.pendingOpen.delete(key);
    return {
      equipment, parameter, limits, override: this.overrides.get(key), lastSpec: undefined, lastOp: undefined, lastProduct: undefined,
      lastTs: -Infinity, open, chart,
    };
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
   * Feeds past readings (from the store, oldest first) to build the SPC baseline and run state
   * without raising or clearing anything; limit alarm state is left alone.
   */
  prime(readings: readonly Reading[]): void {
    for (const r of readings) this.process(r, undefined, [], false);
  }

  /** The control limits of a chart, once known. */
  controlLimits(equipment: string, parameter: string): ControlLimits | undefined {
    return this.states.get(limitKey(equipment, parameter))?.chart?.limits;
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
      const l = this.productLimits(r.equipment, r.parameter, spec, running!, this.overrides.get(key));
      s = this.newState(key, r.equipment, r.parameter, undefined, l);
      this.states.set(key, s);
    }
    const t = r.ts instanceof Date ? r.ts.getTime() : Number.NaN;
    if (!(t > s.lastTs) || !Number.isFinite(r.value) || r.quality === 'bad') return;
    s.lastTs = t;
    if (emit) this.threshold(s, this.limitsInForce(s, running), r, out);
    if (!s.chart) return;
    const done = s.chart.add(r.value);
    if (!done?.nelson || !emit) return;
    const limits = s.chart.limits!;
    for (const k of this.nelson) {
      const rule = `spc_nelson_${k}` as AlarmRule;
      const holds = done.nelson[k];
      if (holds === s.open.has(rule)) continue;
      const x = done.subgroup.xbar;
      const limit = k === 1 ? (x > limits.ucl ? limits.ucl : x < limits.lcl ? limits.lcl : undefined) : k === 2 ? limits.center : undefined;
      const detail = holds ? NELSON_TEXT[k] : NELSON_CLEAR[k];
      const lim = k === 1 ? ` (LCL ${fmt(limits.lcl)}, UCL ${fmt(limits.ucl)})` : k === 2 ? ` (center ${fmt(limits.center)})` : '';
      this.change(s, holds ? 'raise' : 'clear', rule, x, limit, SPC_SEVERITY, r.ts, `${r.parameter} X̄ ${fmt(x)}${unit(s.limits)}: Nelson rule ${k}, ${detail}${lim}`, out);
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

/** " (product P-A, RT-A v2 step 10, operation OP-1)" for a running product's limits; "" for the table limits. */
function productText(l: ParameterLimits | undefined): string {
  const p = l?.product;
  if (!p) return '';
  const parts: string[] = [];
  if (p.product) parts.push(`product ${p.product}`);
  if (p.route) parts.push(`${p.route}${p.version !== undefined ? ` v${p.version}` : ''}${p.step !== undefined ? ` step ${p.step}` : ''}`);
  parts.push(`operation ${p.operation}`);
  return ` (${parts.join(', ')})`;
}
