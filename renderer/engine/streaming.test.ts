import { describe, expect, it } from 'vitest';
import { runCase, type Case } from './test-support.js';

const lots = Array.from({ length: 700 }, (_, i) => ({
  line: `L${Math.floor(i / 100)}`,
  lot: `LOT-${String(i).padStart(4, '0')}`,
  qty: (i % 13) + 0.5,
  day: `2024-05-${String((i % 28) + 1).padStart(2, '0')}`,
  note: i % 5 === 0 ? null : 'ok',
}));

const listWithTotals: Case = {
  rows: { ds: lots },
  params: { usl: 10, title: 'Lots' },
  styles: { hdr: { font: { bold: true } }, bad: { fill: '#FFC7CE' }, num: { align: 'right' } },
  merges: ['A1:D1'],
  sheet: { freeze: 'A3', columns: { B: { width: 20 } }, rows: { '3': { height: 18 } } },
  page: { repeatRows: '1:2' },
  cells: {
    A1: { text: '{{title}} report', style: 'hdr' },
    A2: { text: 'Line' },
    B2: { text: 'Lot' },
    C2: { text: 'Qty' },
    D2: { text: 'Day' },
    E2: { formula: '=UPPER("x")' },
    A3: { field: 'ds.line', display: 'list' },
    B3: { field: 'ds.lot', display: 'list', link: { report: 'lot', params: { lot: '=B3' } } },
    C3: { field: 'ds.qty', display: 'list', style: 'num', numFmt: '0.0', conditions: [{ when: '=C3>$usl', style: 'bad' }] },
    D3: { field: 'ds.day', display: 'list', numFmt: 'yyyy-mm-dd' },
    E3: { formula: '=C3*2' },
    F3: { field: 'ds.note', display: 'list' },
    A4: { text: 'Total' },
    C4: { formula: '=SUM(C3)' },
    D4: { field: 'ds.qty', display: 'summary', aggregate: 'max' },
    E4: { formula: '=ROUND(AVERAGE(E3),4)&" / "&COUNT(C3)&" / "&COUNTA(F3)&" / "&MIN(C3)' },
    F4: { formula: '=C4+1' },
  },
};

const adjacentGroups: Case = {
  rows: { ds: lots },
  cells: {
    A1: { text: 'Line' },
    A2: { field: 'ds.line', adjacent: true },
    B2: { field: 'ds.lot', display: 'list' },
    C2: { field: 'ds.qty', display: 'list' },
    D2: { formula: '=&A2' },
    E2: { field: 'ds.qty', display: 'summary', aggregate: 'sum', leftParent: 'A2' },
    A3: { text: 'Total' },
    C3: { formula: '=SUM(C2)' },
    E3: { formula: '=SUM(E2)' },
  },
};

/** One condition shared by every cell of the row (evaluated once per row), and one that reads the cell's own position. */
const rowConditions: Case = {
  rows: { ds: lots.slice(0, 60) },
  styles: { bad: { fill: '#FFC7CE' }, odd: { font: { italic: true } } },
  cells: {
    A1: { text: 'Lot' },
    A2: { field: 'ds.qty', display: 'list', conditions: [{ when: '=A2>10', style: 'bad' }, { when: '=ISODD(ROW()+COLUMN())', style: 'odd' }] },
    B2: { field: 'ds.lot', display: 'list', conditions: [{ when: '=A2>10', style: 'bad' }, { when: '=ISODD(ROW()+COLUMN())', style: 'odd' }] },
    C2: { field: 'ds.day', display: 'list', conditions: [{ when: '=A2>10', style: 'bad' }, { when: '=ISODD(ROW()+COLUMN())', style: 'odd' }] },
  },
};

describe('streaming mode', () => {
  it.each([
    ['a list with header, conditions, links, formats and a total row', listWithTotals],
    ['adjacent groups merged over their rows with per-group summaries', adjacentGroups],
    ['an empty dataset (one blank detail row, as in full mode)', { ...listWithTotals, rows: { ds: [] } }],
    ['a row-level condition on every cell, and one that reads its own cell position', rowConditions],
  ])('%s gives the same grid as full mode', async (_name, c) => {
    const streamed = await runCase({ ...c, mode: 'auto' });
    const full = await runCase({ ...c, mode: 'full' });
    expect(streamed.report.meta.mode).toBe('streaming');
    expect(full.report.meta.mode).toBe('full');
    expect(streamed.grid).toEqual(full.grid);
    expect(streamed.merges).toEqual(full.merges);
    expect(streamed.styles).toEqual(full.styles);
    expect(streamed.links).toEqual(full.links);
    expect(streamed.numFmts).toEqual(full.numFmts);
    expect(streamed.heights).toEqual(full.heights);
    expect(streamed.sheet.columns).toEqual(full.sheet.columns);
    expect(streamed.sheet.frozen).toEqual(full.sheet.frozen);
    expect(streamed.sheet.repeatRows).toEqual(full.sheet.repeatRows);
    expect(streamed.report.meta.rowCounts).toEqual(full.report.meta.rowCounts);
    expect(streamed.report.meta.outputRows).toEqual(full.report.meta.outputRows);
    expect(streamed.report.meta.warnings).toEqual(full.report.meta.warnings);
  });

  it('totals are right and rows come in several bands', async () => {
    const r = await runCase(listWithTotals);
    const total = lots.reduce((s, l) => s + l.qty, 0);
    expect(r.grid[lots.length + 2]![2]).toBeCloseTo(total);
    expect(r.grid[lots.length + 2]![5]).toBeCloseTo(total + 1);
    expect(r.bandSizes.length).toBeGreaterThan(2);
    // lot 10 has qty 10.5 > $usl: its condition style is merged over the base style
    expect(r.styles.C13).toMatchObject({ align: 'right', fill: '#FFC7CE' });
    expect(r.styles.C3!.fill).toBeUndefined();
    expect(r.links.B13).toEqual({ report: 'lot', params: { lot: 'LOT-0010' } });
  });

  it('adjacent groups merge within a band', async () => {
    const r = await runCase(adjacentGroups);
    expect(r.merges).toContain('A2:A101');
    expect(r.merges).toContain('E2:E101');
    expect(r.grid[1]![3]).toBe(1);
    expect(r.grid[101]![3]).toBe(2);
  });

  it.each([
    ['a first-appearance group', { A1: { field: 'ds.line' }, B1: { field: 'ds.lot', display: 'list' } }],
    ['a total above the list', { A1: { formula: '=SUM(A2)' }, A2: { field: 'ds.qty', display: 'list' } }],
    ['a summary above the list', { A1: { field: 'ds.qty', display: 'summary', aggregate: 'sum' }, A2: { field: 'ds.qty', display: 'list' } }],
    ['right expansion', { A1: { field: 'ds.line', expand: 'right' } }],
    ['a hierarchical coordinate', { A1: { field: 'ds.qty', display: 'list' }, B1: { formula: '=A1-A1[A1:-1]' } }],
    ['a formula using a list value below the list', { A1: { field: 'ds.qty', display: 'list' }, A2: { formula: '=A1*2' } }],
  ])('%s falls back to full mode', async (_name, cells) => {
    const r = await runCase({ rows: { ds: lots.slice(0, 20) }, cells });
    expect(r.report.meta.mode).toBe('full');
  });
});
