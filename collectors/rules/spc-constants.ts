/**
 * Control chart constants for X̄–R charts with subgroups of n = 2..25 (ASTM STP 15D / Montgomery,
 * Introduction to Statistical Quality Control, Appendix VI): A2 (X̄ limits from R̄), d2 (σ = R̄/d2),
 * D3 and D4 (R limits).
 */
export interface XbarRConstants {
  readonly a2: number;
  readonly d2: number;
  readonly d3: number;
  readonly d4: number;
}

// n:   A2     d2     D3     D4
const TABLE: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [2, 1.88, 1.128, 0, 3.267],
  [3, 1.023, 1.693, 0, 2.574],
  [4, 0.729, 2.059, 0, 2.282],
  [5, 0.577, 2.326, 0, 2.114],
  [6, 0.483, 2.534, 0, 2.004],
  [7, 0.419, 2.704, 0.076, 1.924],
  [8, 0.373, 2.847, 0.136, 1.864],
  [9, 0.337, 2.97, 0.184, 1.816],
  [10, 0.308, 3.078, 0.223, 1.777],
  [11, 0.285, 3.173, 0.256, 1.744],
  [12, 0.266, 3.258, 0.283, 1.717],
  [13, 0.249, 3.336, 0.307, 1.693],
  [14, 0.235, 3.407, 0.328, 1.672],
  [15, 0.223, 3.472, 0.347, 1.653],
  [16, 0.212, 3.532, 0.363, 1.637],
  [17, 0.203, 3.588, 0.378, 1.622],
  [18, 0.194, 3.64, 0.391, 1.608],
  [19, 0.187, 3.689, 0.403, 1.597],
  [20, 0.18, 3.735, 0.415, 1.585],
  [21, 0.173, 3.778, 0.425, 1.575],
  [22, 0.167, 3.819, 0.434, 1.566],
  [23, 0.162, 3.858, 0.443, 1.557],
  [24, 0.157, 3.895, 0.451, 1.548],
  [25, 0.153, 3.931, 0.459, 1.541],
];

const BY_N = new Map(TABLE.map(([n, a2, d2, d3, d4]) => [n, { a2, d2, d3, d4 }]));

/** The constants for subgroup size n (2..25); throws on any other n (the config schema allows only these). */
export function xbarRConstants(n: number): XbarRConstants {
  const c = BY_N.get(n);
  if (!c) throw new RangeError(`no X̄–R constants for subgroup size ${n}; use 2 to 25`);
  return c;
}
