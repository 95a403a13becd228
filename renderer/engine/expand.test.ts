import { describe, expect, it } from 'vitest';
import { runCase, type Case } from './test-support.js';
import type { CellValue } from '../resolved.js';

const sales = [
  { region: 'East', person: 'Ann', qty: 100 },
  { region: 'East', person: 'Bob', qty: 30 },
  { region: 'West', person: 'Cid', qty: 70 },
  { region: 'East', person: 'Ann', qty: 50 },
];

interface GridCase extends Case {
  name: string;
  grid: CellValue[][];
  expectMerges?: string[];
}

const _ = null;

const gridCases: GridCase[] = [
  {
    name: 'issue example: groups, merged parent, subtotal per region, grand total, link column',
    rows: { ds1: sales },
    merges: ['A2:A3'],
    cells: {
      A1: { text: 'Region' },
      A2: { field: 'ds1.region', display: 'group' },
      B2: { field: 'ds1.person', display: 'group' },
      C2: { field: 'ds1.qty', display: 'summary', aggregate: 'sum' },
      B3: { text: 'Subtotal' },
      C3: { formula: '=SUM(C2)' },
      A4: { text: 'Total' },
      C4: { formula: '=SUM(C2)' },
      D2: { field: 'ds1.person' },
    },
    grid: [
      ['Region', _, _, _],
      ['East', 'Ann', 150, 'Ann'],
      [_, 'Bob', 30, 'Bob'],
      [_, 'Subtotal', 180, _],
      ['West', 'Cid', 70, 'Cid'],
      [_, 'Subtotal', 70, _],
      ['Total', _, 250, _],
    ],
    expectMerges: ['A2:A4', 'A5:A6'],
  },
  {
    name: 'default left parent: same-dataset child filtered by its parent, parent merged over its children',
    rows: { ds1: sales },
    cells: { A1: { field: 'ds1.region' }, B1: { field: 'ds1.person' } },
    grid: [
      ['East', 'Ann'],
      [_, 'Bob'],
      ['West', 'Cid'],
    ],
    expectMerges: ['A1:A2'],
  },
  {
    name: 'leftParent none: a root next to an expanding cell, both expand independently',
    rows: { ds1: sales },
    cells: { A1: { field: 'ds1.region' }, B1: { field: 'ds1.person', leftParent: 'none' } },
    grid: [
      ['East', 'Ann'],
      ['West', 'Bob'],
      [_, 'Cid'],
    ],
  },
  {
    name: 'explicit leftParent skips a nearer expanding cell',
    rows: { ds1: sales },
    cells: { A1: { field: 'ds1.region' }, B1: { field: 'ds1.person', display: 'list', leftParent: 'none' }, C1: { field: 'ds1.qty', display: 'summary', aggregate: 'sum', leftParent: 'A1' } },
    grid: [
      ['East', 'Ann', 180],
      ['West', 'Bob', 70],
      [_, 'Cid', _],
      [_, 'Ann', _],
    ],
  },
  {
    name: 'a merged cell is the left parent of every row it covers',
    rows: { ds1: sales },
    merges: ['A1:A2'],
    cells: { A1: { field: 'ds1.region' }, B1: { field: 'ds1.person' }, B2: { field: 'ds1.qty', display: 'summary', aggregate: 'sum' } },
    grid: [
      ['East', 'Ann'],
      [_, 'Bob'],
      [_, 180],
      ['West', 'Cid'],
      [_, 70],
    ],
    expectMerges: ['A1:A3', 'A4:A5'],
  },
  {
    name: 'group in first-appearance order vs adjacent runs',
    rows: { ds1: [{ v: 'a' }, { v: 'b' }, { v: 'a' }, { v: 'a' }, { v: 'c' }] },
    cells: { A1: { field: 'ds1.v' }, B1: { field: 'ds1.v', adjacent: true, leftParent: 'none' } },
    grid: [
      ['a', 'a'],
      ['b', 'b'],
      ['c', 'a'],
      [_, 'c'],
    ],
  },
  {
    name: 'list: one row per dataset row, in order',
    rows: { ds1: sales },
    cells: { A1: { field: 'ds1.person', display: 'list' }, B1: { field: 'ds1.qty', display: 'list' } },
    grid: [
      ['Ann', 100],
      ['Bob', 30],
      ['Cid', 70],
      ['Ann', 50],
    ],
  },
  {
    name: 'each aggregate per group (empty values ignored)',
    rows: {
      ds1: [
        { g: 'x', q: 5 },
        { g: 'x', q: 1 },
        { g: 'x', q: 5 },
        { g: 'y', q: null },
        { g: 'y', q: 4 },
      ],
    },
    cells: {
      A1: { field: 'ds1.g' },
      B1: { field: 'ds1.q', display: 'summary', aggregate: 'sum' },
      C1: { field: 'ds1.q', display: 'summary', aggregate: 'count' },
      D1: { field: 'ds1.q', display: 'summary', aggregate: 'countDistinct' },
      E1: { field: 'ds1.q', display: 'summary', aggregate: 'avg' },
      F1: { field: 'ds1.q', display: 'summary', aggregate: 'min' },
      G1: { field: 'ds1.q', display: 'summary', aggregate: 'max' },
    },
    grid: [
      ['x', 11, 3, 2, 11 / 3, 1, 5],
      ['y', 4, 1, 1, 4, 4, 4],
    ],
  },
  {
    name: 'expand none: every value of the context in one cell, comma-joined',
    rows: { ds1: sales },
    cells: { A1: { field: 'ds1.region' }, B1: { field: 'ds1.person', expand: 'none' }, C1: { field: 'ds1.qty', expand: 'none', display: 'list' } },
    grid: [
      ['East', 'Ann, Bob', '100, 30, 50'],
      ['West', 'Cid', 70],
    ],
  },
  {
    name: 'expand right: parent merged across its children, column below repeats',
    rows: { ds1: sales },
    cells: {
      A1: { field: 'ds1.region', expand: 'right' },
      A2: { field: 'ds1.person', expand: 'right' },
      A3: { field: 'ds1.qty', display: 'summary', aggregate: 'sum' },
    },
    grid: [
      ['East', _, 'West'],
      ['Ann', 'Bob', 'Cid'],
      [150, 30, 70],
    ],
    expectMerges: ['A1:B1'],
  },
  {
    name: 'non-descendants keep their place and are pushed down and right',
    rows: { ds1: sales },
    cells: {
      A1: { field: 'ds1.region' },
      B1: { text: 'beside', leftParent: 'none' },
      A2: { text: 'below' },
      C3: { field: 'ds1.person', expand: 'right' },
      D3: { text: 'after' },
    },
    grid: [
      ['East', 'beside', _, _, _, _],
      ['West', _, _, _, _, _],
      ['below', _, _, _, _, _],
      [_, _, 'Ann', 'Bob', 'Cid', 'after'],
    ],
  },
  {
    name: 'cross-tab: right under top parent, down under left parent, summary at the crossing; empty crossing blank',
    rows: { ds1: sales },
    cells: {
      A1: { text: 'Region' },
      B1: { field: 'ds1.person', expand: 'right' },
      A2: { field: 'ds1.region' },
      B2: { field: 'ds1.qty', display: 'summary', aggregate: 'sum' },
      C2: { formula: '=SUM(B2)' },
      B3: { formula: '=SUM(B2)' },
    },
    grid: [
      ['Region', 'Ann', 'Bob', 'Cid', _],
      ['East', 150, 30, _, 180],
      ['West', _, _, 70, 70],
      [_, 150, 30, 70, _],
    ],
  },
  {
    name: 'cross-dataset child without filter repeats all its rows under every parent',
    rows: { c: [{ id: 1, name: 'Acme' }, { id: 2, name: 'Bolt' }], o: [{ cid: 1, no: 'o1' }, { cid: 2, no: 'o2' }, { cid: 1, no: 'o3' }] },
    cells: { A1: { field: 'c.name' }, B1: { field: 'o.no', display: 'list' } },
    grid: [
      ['Acme', 'o1'],
      [_, 'o2'],
      [_, 'o3'],
      ['Bolt', 'o1'],
      [_, 'o2'],
      [_, 'o3'],
    ],
    expectMerges: ['A1:A3', 'A4:A6'],
  },
  {
    name: 'cross-dataset filter ties the child to its parent',
    rows: { c: [{ id: 1, name: 'Acme' }, { id: 2, name: 'Bolt' }, { id: 3, name: 'None' }], o: [{ cid: 1, no: 'o1' }, { cid: 2, no: 'o2' }, { cid: 1, no: 'o3' }] },
    cells: {
      A1: { field: 'c.name' },
      B1: { field: 'o.no', display: 'list', filter: 'o.cid = c.id' },
      C1: { field: 'o.cid', display: 'summary', aggregate: 'count', filter: 'o.cid = c.id', leftParent: 'A1' },
    },
    grid: [
      ['Acme', 'o1', 2],
      [_, 'o3', _],
      ['Bolt', 'o2', 1],
      ['None', _, _],
    ],
    expectMerges: ['A1:A2', 'C1:C2'],
  },
  {
    name: 'text interpolates parameters',
    rows: {},
    params: { line: 'L1', day: new Date(Date.UTC(2024, 4, 6)) },
    cells: { A1: { text: 'Line {{line}} on {{day}} <b>' } },
    grid: [['Line L1 on 2024-05-06 <b>']],
  },
];

describe('expandGrid: expansion', () => {
  it.each(gridCases)('$name', async (c) => {
    const r = await runCase(c);
    expect(r.grid).toEqual(c.grid);
    expect(r.merges.sort()).toEqual((c.expectMerges ?? []).sort());
  });
});

/**
 * Mixed directions (FineReport): a cell expanding right under a left parent that expands down gets
 * its own values in every row of that parent, packed from its column on; the columns are as many as
 * the row with the most values, and rows with fewer are blank after theirs. Cells under it (its top
 * parent) are packed with it. The mirror holds for a cell expanding down under a top parent that
 * expands right.
 */
const uneven = [
  { region: 'East', person: 'Ann', qty: 100 },
  { region: 'East', person: 'Bob', qty: 30 },
  { region: 'West', person: 'Cid', qty: 70 },
  { region: 'East', person: 'Ann', qty: 50 },
  { region: 'North', person: 'Dan', qty: 5 },
  { region: 'North', person: 'Fay', qty: 6 },
  { region: 'East', person: 'Eve', qty: 1 },
];
const packStyles = { p: { font: { bold: true } }, n: { fill: '#EEEEEE' } };

describe('expandGrid: mixed-direction nesting packs values per parent instance', () => {
  it('right under a left parent expanding down: each region its own persons across, with sums below them', async () => {
    const r = await runCase({
      rows: { ds: uneven },
      merges: ['A2:A3'],
      styles: packStyles,
      sheet: { columns: { A: { width: 10 }, B: { width: 7 }, C: { width: 12 } } },
      cells: {
        A1: { text: 'Region' },
        B1: { text: 'Person' },
        C1: { text: 'Count' },
        A2: { field: 'ds.region' },
        B2: { field: 'ds.person', expand: 'right', style: 'p' },
        C2: { formula: '=COUNTA(B2)' },
        // top parent B2 (above, expands right), left parent A2 (merged over row 3)
        B3: { field: 'ds.qty', display: 'summary', aggregate: 'sum', style: 'n' },
        C3: { formula: '=SUM(B3)' },
        A4: { text: 'Total' },
        // under B2 but outside A2: the k-th column's total over every region
        B4: { formula: '=SUM(B3)' },
        C4: { formula: '=SUM(B3)' },
      },
    });
    expect(r.grid).toEqual([
      ['Region', 'Person', _, _, 'Count'],
      ['East', 'Ann', 'Bob', 'Eve', 3],
      [_, 150, 30, 1, 181],
      ['West', 'Cid', _, _, 1],
      [_, 70, _, _, 70],
      ['North', 'Dan', 'Fay', _, 2],
      [_, 5, 6, _, 11],
      ['Total', 225, 36, 1, 262],
    ]);
    expect(r.merges.sort()).toEqual(['A2:A3', 'A4:A5', 'A6:A7']);
    expect(r.sheet.columns.map((c) => c.width)).toEqual([10, 7, 7, 7, 12]);
    // styles only where a value is: blank packed cells carry nothing
    expect(Object.keys(r.styles).sort()).toEqual(['B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'C2', 'C3', 'C6', 'C7', 'D2', 'D3']);
    expect(r.styles.D2).toEqual(packStyles.p);
    expect(r.styles.C7).toEqual(packStyles.n);
  });

  it('down under a top parent expanding right: each region its own persons down, with sums beside them', async () => {
    const r = await runCase({
      rows: { ds: uneven },
      merges: ['B1:C1'],
      styles: packStyles,
      sheet: { columns: { A: { width: 10 }, B: { width: 8 }, C: { width: 6 }, D: { width: 12 } }, rows: { '2': { height: 20 } } },
      cells: {
        A1: { text: 'Region' },
        B1: { field: 'ds.region', expand: 'right' },
        A2: { text: 'Person' },
        B2: { field: 'ds.person', style: 'p' },
        // left parent B2, top parent B1 (merged over column C)
        C2: { field: 'ds.qty', display: 'summary', aggregate: 'sum', style: 'n' },
        D2: { formula: '=SUM(C2)' },
        A3: { text: 'Count' },
        B3: { formula: '=COUNTA(B2)' },
        C3: { formula: '=SUM(C2)' },
        D3: { formula: '=SUM(C2)' },
      },
    });
    expect(r.grid).toEqual([
      ['Region', 'East', _, 'West', _, 'North', _, _],
      ['Person', 'Ann', 150, 'Cid', 70, 'Dan', 5, 225],
      [_, 'Bob', 30, _, _, 'Fay', 6, 36],
      [_, 'Eve', 1, _, _, _, _, 1],
      ['Count', 3, 181, 1, 70, 2, 11, 262],
    ]);
    expect(r.merges.sort()).toEqual(['B1:C1', 'D1:E1', 'F1:G1']);
    expect(r.sheet.columns.map((c) => c.width)).toEqual([10, 8, 6, 8, 6, 8, 6, 12]);
    expect(r.heights).toEqual({ 1: 20, 2: 20, 3: 20 });
    expect(Object.keys(r.styles).sort()).toEqual(['B2', 'B3', 'B4', 'C2', 'C3', 'C4', 'D2', 'E2', 'F2', 'F3', 'G2', 'G3']);
  });

  it('a packed cell with a child expanding the same way: the parent spans its own children, positions shared', async () => {
    const rows = [
      { line: 'L1', step: 'cut', tool: 't1' },
      { line: 'L1', step: 'cut', tool: 't2' },
      { line: 'L1', step: 'weld', tool: 't3' },
      { line: 'L2', step: 'paint', tool: 't4' },
      { line: 'L2', step: 'dry', tool: 't5' },
      { line: 'L2', step: 'dry', tool: 't6' },
      { line: 'L2', step: 'dry', tool: 't7' },
    ];
    const r = await runCase({
      rows: { ds: rows },
      merges: ['A1:A2'],
      cells: {
        A1: { field: 'ds.line' },
        B1: { field: 'ds.step', expand: 'right' },
        B2: { field: 'ds.tool', expand: 'right' },
        C1: { text: 'end', leftParent: 'none' },
      },
    });
    // slot 1 of B1 spans the most tools any line has under its first step (2), slot 2 the most under its second (3)
    expect(r.grid).toEqual([
      ['L1', 'cut', _, 'weld', _, _, 'end'],
      [_, 't1', 't2', 't3', _, _, _],
      ['L2', 'paint', _, 'dry', _, _, _],
      [_, 't4', _, 't5', 't6', 't7', _],
    ]);
    expect(r.merges.sort()).toEqual(['A1:A2', 'A3:A4', 'B1:C1', 'B3:C3', 'D1:F1', 'D3:F3']);
  });

  it('hierarchical coordinates step among the values of their own row', async () => {
    const r = await runCase({
      rows: { ds: uneven },
      merges: ['A1:A3'],
      cells: {
        A1: { field: 'ds.region' },
        B1: { field: 'ds.person', expand: 'right' },
        B2: { field: 'ds.qty', display: 'summary', aggregate: 'sum' },
        B3: { formula: '=B2[;B1:-1]' },
      },
    });
    expect(r.grid).toEqual([
      ['East', 'Ann', 'Bob', 'Eve'],
      [_, 150, 30, 1],
      [_, _, 150, 30],
      ['West', 'Cid', _, _],
      [_, 70, _, _],
      [_, _, _, _],
      ['North', 'Dan', 'Fay', _],
      [_, 5, 6, _],
      [_, _, 5, _],
    ]);
  });

  it('packed under a cross-tab header: persons packed per region within each year column', async () => {
    const rows = [
      { y: 2023, region: 'East', person: 'Ann', qty: 100 },
      { y: 2023, region: 'East', person: 'Bob', qty: 30 },
      { y: 2024, region: 'West', person: 'Cid', qty: 70 },
      { y: 2024, region: 'East', person: 'Ann', qty: 50 },
      { y: 2024, region: 'East', person: 'Eve', qty: 1 },
    ];
    const r = await runCase({
      rows: { ds: rows },
      merges: ['A2:A3'],
      cells: {
        B1: { field: 'ds.y', expand: 'right' },
        A2: { field: 'ds.region' },
        B2: { field: 'ds.person', expand: 'right', topParent: 'B1' },
        B3: { field: 'ds.qty', display: 'summary', aggregate: 'sum' },
      },
    });
    expect(r.grid).toEqual([
      [_, 2023, _, 2024, _],
      ['East', 'Ann', 'Bob', 'Ann', 'Eve'],
      [_, 100, 30, 50, 1],
      ['West', _, _, 'Cid', _],
      [_, _, _, 70, _],
    ]);
    expect(r.merges.sort()).toEqual(['A2:A3', 'A4:A5', 'B1:C1', 'D1:E1']);
  });

  it('a cross-tab (right header with no left parent) is not packed: crossings share columns', async () => {
    const r = await runCase({
      rows: { ds: uneven },
      cells: { B1: { field: 'ds.person', expand: 'right' }, A2: { field: 'ds.region' }, B2: { field: 'ds.qty', display: 'summary', aggregate: 'sum' } },
    });
    expect(r.grid[0]).toEqual([_, 'Ann', 'Bob', 'Cid', 'Dan', 'Fay', 'Eve']);
    expect(r.grid[2]).toEqual(['West', _, _, 70, _, _, _]);
  });
});
