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
 */
import type { RulesConfig } from '../config.js';
import type { AlarmChange, AlarmRule, Reading } from '../types.js';
import { limitKey, type LimitTable, type OpenAlarm, type ParameterLimits, type Severity } from './limits.js';
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
  readonly limits: ParameterLimits;
  lastTs: number;
  readonly open: Set<AlarmRule>;
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

  constructor(
    private readonly config: RulesConfig,
    limits: LimitTable,
    options: RuleEngineOptions = {},
  ) {
    const spc = config.spc;
    this.nelson = spc.enabled ? [...new Set(spc.nelson)].sort((a, b) => a - b) : [];
    const c = spc.enabled ? xbarRConstants(spc.n) : undefined;
    for (const [key, l] of limits) {
      let chart: SpcChart | undefined;
      if (spc.enabled && c) {
        // From the spec when asked and the spec is two-sided; otherwise from the history baseline.
        const fromSpec = spc.limitsFrom === 'spec' ? limitsFromSpec(l.lsl, l.usl, l.target, spc.n, c) : undefined;
        chart = new SpcChart(spc.n, spc.baseline, fromSpec);
      }
      this.states.set(key, { limits: l, lastTs: -Infinity, open: new Set(), chart });
    }
    for (const a of options.open ?? []) this.states.get(limitKey(a.equipment, a.parameter))?.open.add(a.rule);
  }

  /** The alarm changes the readings cause, in reading order (per reading: limit alarms, then SPC). */
  onReadings(readings: readonly Reading[]): AlarmChange[] {
    const out: AlarmChange[] = [];
    for (const r of readings) this.process(r, out, true);
    return out;
  }

  /**
   * Feeds past readings (from the store, oldest first) to build the SPC baseline and run state
   * without raising or clearing anything; limit alarm state is left alone.
   */
  prime(readings: readonly Reading[]): void {
    for (const r of readings) this.process(r, [], false);
  }

  /** The control limits of a chart, once known. */
  controlLimits(equipment: string, parameter: string): ControlLimits | undefined {
    return this.states.get(limitKey(equipment, parameter))?.chart?.limits;
  }

  /** The alarms the engine holds open. */
  openAlarms(): OpenAlarm[] {
    const out: OpenAlarm[] = [];
    for (const s of this.states.values()) for (const rule of s.open) out.push({ rule, equipment: s.limits.equipment, parameter: s.limits.parameter });
    return out;
  }

  private process(r: Reading, out: AlarmChange[], emit: boolean): void {
    const s = this.states.get(limitKey(r.equipment, r.parameter));
    if (!s) return;
    const t = r.ts.getTime();
    if (!(t > s.lastTs) || !Number.isFinite(r.value) || r.quality === 'bad') return;
    s.lastTs = t;
    if (emit) this.threshold(s, r, out);
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
      this.change(s, holds ? 'raise' : 'clear', rule, x, limit, SPC_SEVERITY, r.ts, `${r.parameter} X̄ ${fmt(x)}${unit(s)}: Nelson rule ${k}, ${detail}${lim}`, out);
    }
  }

  /**
   * Raise above USL (below LSL); an open limit alarm clears once the value is back inside the limit by
   * `hysteresis × (USL − LSL)` (× |limit| when the spec is one-sided), so a value hovering at the
   * limit does not flap. A jump from above USL to below LSL clears the high alarm, then raises the low one.
   */
  private threshold(s: KeyState, r: Reading, out: AlarmChange[]): void {
    const { lsl, usl, severity } = s.limits;
    const h = this.config.hysteresis;
    const band = (limit: number) => h * (lsl !== undefined && usl !== undefined ? Math.abs(usl - lsl) : Math.abs(limit));
    const v = r.value;
    const p = r.parameter;
    if (usl !== undefined) {
      const open = s.open.has('limit_high');
      if (open && v <= usl - band(usl)) this.change(s, 'clear', 'limit_high', v, usl, severity, r.ts, `${p} ${fmt(v)}${unit(s)} back below USL ${fmt(usl)}`, out);
    }
    if (lsl !== undefined) {
      const open = s.open.has('limit_low');
      if (open && v >= lsl + band(lsl)) this.change(s, 'clear', 'limit_low', v, lsl, severity, r.ts, `${p} ${fmt(v)}${unit(s)} back above LSL ${fmt(lsl)}`, out);
    }
    if (usl !== undefined && v > usl && !s.open.has('limit_high')) this.change(s, 'raise', 'limit_high', v, usl, severity, r.ts, `${p} ${fmt(v)}${unit(s)} above USL ${fmt(usl)}`, out);
    if (lsl !== undefined && v < lsl && !s.open.has('limit_low')) this.change(s, 'raise', 'limit_low', v, lsl, severity, r.ts, `${p} ${fmt(v)}${unit(s)} below LSL ${fmt(lsl)}`, out);
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
    if (kind === 'raise') s.open.add(rule);
    else s.open.delete(rule);
    const change: AlarmChange = {
      kind,
      rule,
      equipment: s.limits.equipment,
      parameter: s.limits.parameter,
      value,
      ...(limit !== undefined ? { limit } : {}),
      severity,
      at,
      message,
    };
    out.push(change);
  }
}

function unit(s: KeyState): string {
  return s.limits.unit ? ` ${s.limits.unit}` : '';
}
