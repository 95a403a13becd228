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
