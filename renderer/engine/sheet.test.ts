import { describe, expect, it } from 'vitest';
import { isTraceReportError } from '../../datasources/errors.js';
import { runCase, buildTemplate } from './test-support.js';
import { expandGrid } from './expand.js';

const sales = [
  { region: 'East', person: 'Ann', qty: 100, day: '2024-05-06' },
  { region: 'East', person: 'Bob', qty: 30, day: '2024-05-07 13:30:00' },
  { region: 'West', person: 'Cid', qty: 70, day: '2024-05-08' },
];

describe('expandGrid: sheets, metadata and errors', () => {
  it('is lazy: no dataset is opened until the first sheet is asked for; meta counts rows', async () => {
    const template = buildTemplate({ rows: { ds: sales, unused: [{ a: 1 }] }, cells: { A1: { field: 'ds.person' } } });
    const opened: string[] = [];
    const report = expandGrid({
      template: template as never,
      params: {},
      openDataset: (name) => {
        opened.push(name);
        return (async function* () {
          yield* sales;
        })();
      },
    });
    expect(opened).toEqual([]);
    const sheets = [];
    for await (const s of report.sheets) {
      sheets.push(s.name);
      for await (const _ of s.bands) void _;
    }
    expect(opened).toEqual(['ds']);
    expect(sheets).toEqual(['S']);
    expect(report.meta.mode).toBe('full');
    expect(report.meta.rowCounts).toEqual({ ds: 3 });
    expect(report.meta.outputRows).toEqual({ S: 3 });
  });

  it('FIELD_UNKNOWN names the sheet, the cell and the columns there are', async () => {
    const err = await runCase({ rows: { ds: sales }, cells: { A1: { field: 'ds.person' }, B2: { field: 'ds.nope' } } }).catch((e: unknown) => e);
    expect(isTraceReportError(err) && err.code).toBe('FIELD_UNKNOWN');
    expect((err as Error).message).toMatch(/sheet "S" cell B2.*"nope".*region, person, qty, day/);
  });

  it('an empty dataset cannot be checked: its cells are blank', async () => {
    const r = await runCase({ rows: { ds: [] }, cells: { A1: { field: 'ds.nope' }, B1: { text: 'x' } } });
    expect(r.grid).toEqual([[null, 'x']]);
  });

  it('SOURCE_ROW_LIMIT when a dataset holds more rows than the limit in full mode', async () => {
    const err = await runCase({ rows: { ds: sales }, rowLimit: 2, mode: 'full', cells: { A1: { field: 'ds.person' } } }).catch((e: unknown) => e);
    expect(isTraceReportError(err) && err.code).toBe('SOURCE_ROW_LIMIT');
    expect((err as Error).message).toContain('"ds"');
  });

  it('date formats turn ISO strings into Dates; Dates without a format get the default one', async () => {
    const r = await runCase({
      rows: { ds: sales, d: [{ t: new Date(Date.UTC(2024, 0, 2)) }, { t: new Date(Date.UTC(2024, 0, 2, 8, 30)) }] },
      cells: {
        A1: { field: 'ds.day', display: 'list', numFmt: 'yyyy-mm-dd hh:mm' },
        B1: { field: 'ds.qty', display: 'list', numFmt: '#,##0.00' },
        C1: { field: 'd.t', display: 'list', leftParent: 'none' },
        D1: { field: 'ds.day', display: 'list', leftParent: 'none' },
      },
    });
    expect(r.grid[0]![0]).toEqual(new Date(Date.UTC(2024, 4, 6)));
    expect(r.grid[1]![0]).toEqual(new Date(Date.UTC(2024, 4, 7, 13, 30)));
    expect(r.numFmts.A1).toBe('yyyy-mm-dd hh:mm');
    expect(r.numFmts.B1).toBe('#,##0.00');
    expect(r.grid[0]![2]).toEqual(new Date(Date.UTC(2024, 0, 2)));
    expect(r.numFmts.C1).toBe('yyyy-mm-dd');
    expect(r.numFmts.C2).toBe('yyyy-mm-dd hh:mm:ss');
    expect(r.grid[0]![3]).toBe('2024-05-06');
  });

  it('column widths and row heights follow expansion; freeze and repeated rows map to output rows', async () => {
    const r = await runCase({
      rows: { ds: sales },
      sheet: { columns: { A: { width: 14 }, B: { width: 9, hidden: true } }, rows: { '2': { height: 30 }, '3': { height: 12 } }, freeze: 'B3' },
      page: { repeatRows: '1:2' },
      cells: {
        A1: { text: 'Title' },
        B2: { field: 'ds.person', expand: 'right' },
        A3: { field: 'ds.region' },
        B3: { field: 'ds.qty', display: 'summary', aggregate: 'sum' },
      },
    });
    expect(r.grid).toEqual([
      ['Title', null, null, null],
      [null, 'Ann', 'Bob', 'Cid'],
      ['East', 100, 30, null],
      ['West', null, null, 70],
    ]);
    expect(r.sheet.columns).toEqual([{ width: 14 }, { width: 9, hidden: true }, { width: 9, hidden: true }, { width: 9, hidden: true }]);
    expect(r.heights).toEqual({ 1: 30, 2: 12, 3: 12 });
    expect(r.sheet.frozen).toEqual({ rows: 2, cols: 1 });
    expect(r.sheet.repeatRows).toEqual({ first: 0, last: 1 });
  });

  it('repeated header rows above a down expansion stay where they are; freeze below the header', async () => {
    const r = await runCase({ rows: { ds: sales }, sheet: { freeze: 'A2' }, page: { repeatRows: '1:1' }, cells: { A1: { text: 'P' }, A2: { field: 'ds.person' } } });
    expect(r.sheet.frozen).toEqual({ rows: 1, cols: 0 });
    expect(r.sheet.repeatRows).toEqual({ first: 0, last: 0 });
  });

  it('a sheet may repeat its own header rows instead of the page setup\'s, in full and streaming mode', async () => {
    for (const mode of ['auto', 'full'] as const) {
      const r = await runCase({
        rows: { ds: sales },
        mode,
        page: { repeatRows: '1:1' },
        sheet: { repeatRows: '2:2' },
        cells: { A1: { text: 'Title' }, A2: { text: 'Person' }, A3: { field: 'ds.person', display: 'list' } },
        extraSheets: [{ name: 'T', cells: { A1: { text: 'P' }, A2: { field: 'ds.person' } } }],
      });
      expect(r.sheets[0]!.sheet.repeatRows, mode).toEqual({ first: 1, last: 1 });
      expect(r.sheets[1]!.sheet.repeatRows, mode).toEqual({ first: 0, last: 0 });
    }
  });

  it('each template sheet is its own resolved sheet', async () => {
    const r = await runCase({
      rows: { ds: sales },
      cells: { A1: { field: 'ds.region' } },
      extraSheets: [{ name: 'Second', cells: { B2: { field: 'ds.qty', display: 'summary', aggregate: 'max' } } }],
    });
    expect(r.sheets.map((s) => s.name)).toEqual(['S', 'Second']);
    expect(r.sheets[1]!.grid).toEqual([
      [null, null],
      [null, 100],
    ]);
    expect(r.report.meta.outputRows).toEqual({ S: 2, Second: 2 });
  });

  it('chart cells are bound to their context rows; floats to all rows at the anchor output position', async () => {
    const chart = { dataset: 'ds', option: { series: [{ type: 'bar', encode: { x: 'person', y: 'qty' } }] } };
    const r = await runCase({
      rows: { ds: sales },
      sheet: { floats: [{ anchor: 'A3', chart }] },
      cells: { A1: { field: 'ds.region' }, B1: { chart } },
    });
    expect(r.grid).toEqual([
      ['East', null],
      ['West', null],
    ]);
    const src = (c: unknown) => ((c as { option: { dataset: { source: { person: string }[] } } }).option.dataset.source.map((x) => x.person));
    expect(src(r.charts.B1)).toEqual(['Ann', 'Bob']);
    expect(src(r.charts.B2)).toEqual(['Cid']);
    expect(r.sheet.floats).toHaveLength(1);
    expect(r.sheet.floats[0]!.row).toBe(3);
    expect(r.sheet.floats[0]!.col).toBe(0);
    expect(src(r.sheet.floats[0]!.chart)).toEqual(['Ann', 'Bob', 'Cid']);
  });

  it('bands never cut a merge', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ g: Math.floor(i / 7), v: i }));
    const r = await runCase({ rows: { ds: rows }, mode: 'full', cells: { A1: { field: 'ds.g' }, B1: { field: 'ds.v', display: 'list' } } });
    expect(r.grid).toHaveLength(1000);
    expect(r.bandSizes.length).toBeGreaterThan(1);
    // the helper fails on a merge past its band; cuts fall between groups of 7
    expect(r.bandSizes.slice(0, -1).every((n) => n % 7 === 0)).toBe(true);
  });
});
