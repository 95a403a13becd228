import { describe, expect, it } from 'vitest';
import { runCase } from './test-support.js';
import type { CellValue } from '../resolved.js';

const _ = null;
const months = [
  { month: 'Jan', qty: 4 },
  { month: 'Jan', qty: 6 },
  { month: 'Feb', qty: 15 },
  { month: 'Mar', qty: 12 },
];
const sales = [
  { region: 'East', person: 'Ann', qty: 100 },
  { region: 'East', person: 'Bob', qty: 30 },
  { region: 'West', person: 'Cid', qty: 70 },
  { region: 'East', person: 'Ann', qty: 50 },
];

describe('formulas in context and hierarchical coordinates', () => {
  it.each([
    {
      name: 'left side: &A1, previous (blank before the first), first, last, all ignoring context',
      rows: { ds: months },
      cells: {
        A1: { field: 'ds.month' },
        B1: { field: 'ds.qty', display: 'summary', aggregate: 'sum' },
        C1: { formula: '=B1[A1:-1]' },
        D1: { formula: '=B1-B1[A1:-1]' },
        E1: { formula: '=&A1' },
        F1: { formula: '=B1[A1:1]' },
        G1: { formula: '=B1[A1:!-1]' },
        H1: { formula: '=SUM(B1[!0])' },
        I1: { formula: '=B1[A1:+1]' },
      },
      grid: [
        ['Jan', 10, _, 10, 1, 10, 12, 37, 15],
        ['Feb', 15, 10, 5, 2, 10, 12, 37, 12],
        ['Mar', 12, 15, -3, 3, 10, 12, 37, _],
      ],
    },
    {
      name: 'nested absolute coordinates C1[A1:2,B1:3] from outside the expansion',
      rows: { ds: sales },
      cells: {
        A1: { field: 'ds.region' },
        B1: { field: 'ds.person' },
        C1: { field: 'ds.qty', display: 'summary', aggregate: 'sum' },
        A2: { formula: '=C1[A1:1,B1:2]' },
        B2: { formula: '=C1[A1:!-1,B1:1]' },
        C2: { formula: '=SUM(C1[A1:1])' },
      },
      grid: [
        ['East', 'Ann', 150],
        [_, 'Bob', 30],
        ['West', 'Cid', 70],
        [30, 70, 180],
      ],
    },
    {
      name: 'top side after the semicolon: A3[;A2:-1]',
      rows: { ds: months },
      cells: {
        A1: { field: 'ds.month', expand: 'right' },
        A2: { field: 'ds.qty', display: 'summary', aggregate: 'sum' },
        A3: { formula: '=A2[;A1:-1]' },
        A4: { formula: '=A2-A2[;A1:-1]' },
      },
      grid: [
        ['Jan', 'Feb', 'Mar'],
        [10, 15, 12],
        [_, 10, 15],
        [10, 5, -3],
      ],
    },
    {
      name: 'subtotals per parent and a grand total; AVERAGE/COUNT/MIN/MAX over instances; $param',
      rows: { ds: sales },
      params: { bonus: 1000 },
      cells: {
        A1: { field: 'ds.region' },
        B1: { field: 'ds.qty', display: 'list' },
        C1: { formula: '=SUM(B1)', leftParent: 'A1' },
        D1: { formula: '=COUNT(B1)&"/"&MIN(B1)&"/"&MAX(B1)', leftParent: 'A1' },
        A2: { formula: '=AVERAGE(B1)' },
        B2: { formula: '=SUM(C1)+$bonus' },
      },
      grid: [
        ['East', 100, 180, '3/30/100'],
        [_, 30, _, _],
        [_, 50, _, _],
        ['West', 70, 70, '1/70/70'],
        [62.5, 1250, _, _],
      ],
    },
  ] as { name: string; rows: Record<string, Record<string, unknown>[]>; params?: Record<string, unknown>; cells: Record<string, unknown>; grid: CellValue[][] }[])(
    '$name',
    async (c) => {
      const r = await runCase(c);
      expect(r.grid).toEqual(c.grid);
      expect(r.report.meta.warnings).toEqual([]);
    },
  );

  it('a missing instance (before the first) is a blank cell, with Excel blank-cell semantics around it', async () => {
    // Excel reads a blank cell as 0 in arithmetic and comparisons with numbers, as "" in text, and
    // skips it in SUM/COUNT; only a formula that is nothing but the reference shows blank (DESIGN §4)
    const r = await runCase({
      rows: { ds: months },
      cells: {
        A1: { field: 'ds.month' },
        B1: { field: 'ds.qty', display: 'summary', aggregate: 'sum' },
        C1: { formula: '=B1[A1:-1]' },
        D1: { formula: '=B1-B1[A1:-1]' },
        E1: { formula: '=B1[A1:-1]*2' },
        F1: { formula: '=B1[A1:-1]&"|"' },
        G1: { formula: '=ISBLANK(B1[A1:-1])' },
        H1: { formula: '=B1[A1:-1]=0' },
        I1: { formula: '=COUNT(B1[A1:-1])+SUM(B1[A1:-1])' },
        J1: { formula: '=IF(ISBLANK(B1[A1:-1]),"first",ROUND(B1/B1[A1:-1]-1,4))' },
      },
    });
    expect(r.grid).toEqual([
      ['Jan', 10, _, 10, 0, '|', true, true, 0, 'first'],
      ['Feb', 15, 10, 5, 20, '10|', false, false, 11, 0.5],
      ['Mar', 12, 15, -3, 30, '15|', false, false, 16, -0.2],
    ]);
    expect(r.report.meta.warnings).toEqual([]);
  });

  it('a formula error is an error value and a warning; the rest renders', async () => {
    const r = await runCase({
      rows: {},
      cells: {
        A1: { formula: '=1/0' },
        B1: { formula: '=NOSUCHFUNCTION(1)' },
        C1: { formula: '=Z9+1' },
        D1: { text: 'still here' },
        E1: { formula: '=1+' },
        F1: { formula: '=B1[A1:-1]' },
        G1: { formula: '=2*3' },
      },
    });
    expect(r.grid).toEqual([[{ error: '#DIV/0!' }, { error: '#NAME?' }, { error: '#REF!' }, 'still here', { error: '#NAME?' }, { error: '#REF!' }, 6]]);
    const w = r.report.meta.warnings;
    expect(w.map((x) => [x.code, x.sheet, x.cell])).toEqual([
      ['FORMULA_ERROR', 'S', 'A1'],
      ['FORMULA_ERROR', 'S', 'B1'],
      ['FORMULA_ERROR', 'S', 'C1'],
      ['FORMULA_ERROR', 'S', 'E1'],
      ['FORMULA_ERROR', 'S', 'F1'],
    ]);
    expect(w[0]!.message).toContain('=1/0');
    expect(w[2]!.message).toContain('Z9');
  });

  it('conditions are evaluated per instance and merged over the base style', async () => {
    const r = await runCase({
      rows: { ds: sales },
      params: { usl: 60 },
      styles: { num: { align: 'right', font: { bold: true } }, bad: { fill: '#FFC7CE' }, over: { font: { color: '#FF0000' } } },
      cells: {
        A1: { field: 'ds.region' },
        B1: {
          field: 'ds.qty',
          display: 'summary',
          aggregate: 'sum',
          style: 'num',
          conditions: [
            { when: '=B1>100', style: 'bad' },
            { when: '=B1>$usl', style: 'over' },
          ],
        },
      },
    });
    expect(r.grid).toEqual([
      ['East', 180],
      ['West', 70],
    ]);
    expect(r.styles.B1).toMatchObject({ align: 'right', font: { bold: true, color: '#FF0000' }, fill: '#FFC7CE' });
    expect(r.styles.B2).toMatchObject({ align: 'right', font: { bold: true, color: '#FF0000' } });
    expect(r.styles.B2!.fill).toBeUndefined();
    expect(r.styles.A1).toBeUndefined();
  });

  it('links evaluate their parameters in the cell context; literals and urls pass through', async () => {
    const r = await runCase({
      rows: { ds: sales },
      cells: {
        A1: { field: 'ds.region' },
        B1: { field: 'ds.person', link: { report: 'person-detail', params: { person: '=B1', region: '=A1', kind: 'sales', n: 2 } } },
        C1: { text: 'docs', link: { url: 'https://example.org/x' } },
      },
    });
    expect(r.links.B1).toEqual({ report: 'person-detail', params: { person: 'Ann', region: 'East', kind: 'sales', n: 2 } });
    expect(r.links.B2).toEqual({ report: 'person-detail', params: { person: 'Bob', region: 'East', kind: 'sales', n: 2 } });
    expect(r.links.B3).toEqual({ report: 'person-detail', params: { person: 'Cid', region: 'West', kind: 'sales', n: 2 } });
    expect(r.links.C1).toEqual({ url: 'https://example.org/x' });
  });
});
