/**
 * One X̄–R control chart of one (equipment, parameter, product): samples grouped into subgroups of n
 * consecutive values, control limits from the first `baseline` subgroups or from the spec, and the
 * run state of Nelson rules 1–4 on the X̄ series. Memory is constant: a subgroup is kept as
 * sum/min/max, the baseline as sums, the runs as counters. Which product's chart a value goes to is
 * the engine's business (engine.ts); a chart only sees its own values.
 */
import { xbarRConstants, type XbarRConstants } from './spc-constants.js';

export interface ControlLimits {
  readonly from: 'history' | 'spec';
  /** Center line of the X̄ chart. */
  readonly center: number;
  /** σ of a subgroup mean. */
  readonly sigma: number;
  readonly ucl: number;
  readonly lcl: number;
  /** R chart: center R̄ and limits D3·R̄ .. D4·R̄. */
  readonly rCenter: number;
  readonly rUcl: number;
  readonly rLcl: number;
}

/** A completed subgroup. */
export interface Subgroup {
  readonly xbar: number;
  readonly range: number;
}

export type NelsonRule = 1 | 2 | 3 | 4;

/** Which Nelson patterns hold at the latest X̄ point. */
export type NelsonState = Readonly<Record<NelsonRule, boolean>>;

/** Points a run must reach for rules 2, 3 and 4. */
export const RUN_LENGTH = { 2: 9, 3: 6, 4: 14 } as const;

/** X̄–R limits from the baseline subgroups: X̄̄ ± A2·R̄, R in D3·R̄ .. D4·R̄. Undefined when R̄ is 0 (no spread, no chart). */
export function limitsFromHistory(xbarbar: number, rbar: number, c: XbarRConstants): ControlLimits | undefined {
  if (!(rbar > 0)) return undefined;
  return { from: 'history', center: xbarbar, sigma: (c.a2 * rbar) / 3, ucl: xbarbar + c.a2 * rbar, lcl: xbarbar - c.a2 * rbar, rCenter: rbar, rUcl: c.d4 * rbar, rLcl: c.d3 * rbar };
}

/**
 * Limits from a two-sided spec: center = target (the window's midpoint without one), process σ =
 * (USL − LSL)/6, so X̄ limits center ± 3σ/√n and R limits D3·d2·σ .. D4·d2·σ. Undefined for a
 * one-sided or empty spec.
 */
export function limitsFromSpec(lsl: number | undefined, usl: number | undefined, target: number | undefined, n: number, c: XbarRConstants): ControlLimits | undefined {
  if (lsl === undefined || usl === undefined || !(usl > lsl)) return undefined;
  const center = target ?? (lsl + usl) / 2;
  const sigma = (usl - lsl) / 6;
  const sx = sigma / Math.sqrt(n);
  const rbar = c.d2 * sigma;
  return { from: 'spec', center, sigma: sx, ucl: center + 3 * sx, lcl: center - 3 * sx, rCenter: rbar, rUcl: c.d4 * rbar, rLcl: c.d3 * rbar };
}

/**
 * The run counters of Nelson rules 2–4 over an X̄ series, and rule 1 at the latest point:
 *  1: the point is beyond 3σ (strictly outside LCL..UCL);
 *  2: it ends a run of 9 or more points on one side of the center (a point on the center breaks it);
 *  3: it ends a run of 6 or more points each strictly above (or below) the one before;
 *  4: it ends a run of 14 or more points alternating up and down (an equal neighbour breaks it).
 */
export class NelsonRuns {
  private prev: number | undefined;
  private prevDir = 0;
  private side = 0;
  private sideRun = 0;
  private trendRun = 0;
  private altRun = 0;

  push(x: number, limits: ControlLimits): NelsonState {
    const side = Math.sign(x - limits.center);
    this.sideRun = side === 0 ? 0 : side === this.side ? this.sideRun + 1 : 1;
    this.side = side;
    if (this.prev === undefined) {
      this.trendRun = 1;
      this.altRun = 1;
      this.prevDir = 0;
    } else {
      const dir = Math.sign(x - this.prev);
      this.trendRun = dir === 0 ? 1 : dir === this.prevDir ? this.trendRun + 1 : 2;
      this.altRun = dir === 0 ? 1 : this.prevDir !== 0 && dir === -this.prevDir ? this.altRun + 1 : 2;
      this.prevDir = dir;
    }
    this.prev = x;
    return {
      1: x > limits.ucl || x < limits.lcl,
      2: this.sideRun >= RUN_LENGTH[2],
      3: this.trendRun >= RUN_LENGTH[3],
      4: this.altRun >= RUN_LENGTH[4],
    };
  }

  /** Current side of the center (−1, 0, 1) and run lengths, for messages and tests. */
  get runs(): { side: number; sideRun: number; trendDir: number; trendRun: number; altRun: number } {
    return { side: this.side, sideRun: this.sideRun, trendDir: this.prevDir, trendRun: this.trendRun, altRun: this.altRun };
  }
}

/**
 * Subgroups and control limits of one chart. `add` returns the completed subgroup (every n-th value)
 * with the Nelson state at it once limits exist; subgroups of the history baseline only build the
 * limits (the baseline is taken as in control: rules start with the first subgroup after it).
 */
export class SpcChart {
  private readonly c: XbarRConstants;
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private baselineSubgroups = 0;
  private sumXbar = 0;
  private sumR = 0;
  private limitsValue: ControlLimits | undefined;
  private readonly runs = new NelsonRuns();
  /** True when the baseline ended with no spread: the chart stays off. */
  private degenerate = false;

  constructor(
    private readonly n: number,
    private readonly baseline: number,
    specLimits: ControlLimits | undefined,
  ) {
    this.c = xbarRConstants(n);
    this.limitsValue = specLimits;
  }

  get limits(): ControlLimits | undefined {
    return this.limitsValue;
  }

  /** Subgroups used so far for the baseline (equal to `baseline` once history limits exist). */
  get baselineCount(): number {
    return this.baselineSubgroups;
  }

  get off(): boolean {
    return this.degenerate;
  }

  /** Values in the subgroup being filled (0 to n − 1). */
  get pending(): number {
    return this.count;
  }

  /**
   * Drops the subgroup being filled (its values count for nothing): the engine calls it when another
   * product's values come, so that a subgroup never holds values of two production runs. Baseline and
   * run state are kept.
   */
  dropSubgroup(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  add(value: number): { subgroup: Subgroup; nelson?: NelsonState } | undefined {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.count < this.n) return undefined;
    const subgroup = { xbar: this.sum / this.n, range: this.max - this.min };
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    if (this.degenerate) return { subgroup };
    if (!this.limitsValue) {
      this.baselineSubgroups++;
      this.sumXbar += subgroup.xbar;
      this.sumR += subgroup.range;
      if (this.baselineSubgroups === this.baseline) {
        this.limitsValue = limitsFromHistory(this.sumXbar / this.baseline, this.sumR / this.baseline, this.c);
        if (!this.limitsValue) this.degenerate = true;
      }
      return { subgroup };
    }
    return { subgroup, nelson: this.runs.push(subgroup.xbar, this.limitsValue) };
  }
}
