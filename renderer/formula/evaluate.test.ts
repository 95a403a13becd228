import { describe, expect, it } from 'vitest';
import { compileFormula, evaluateFormula, FormulaRefError, type FormulaHost } from './evaluate.js';
import { rewriteFormula, type FormulaRef } from './references.js';
import type { CellValue } from '../resolved.js';

describe('rewriteFormula', () => {
  const isParam = (n: string) => n === 'usl' || n === 'lot1';
  it.each([
    ['=SUM(C3)', 'SUM(TRREF(0))', [{ kind: 'cell', cell: { row: 3, col: 3 } }]],
    ['=C2>$usl', 'TRREF(0)>TRPARAM(1)', [{ kind: 'cell', cell: { row: 2, col: 3 } }, { kind: 'param', name: 'usl' }]],
    ['=$lot1&"x"', 'TRPARAM(0)&"x"', [{ kind: 'param', name: 'lot1' }]],
    ['=$A$1+1', 'TRREF(0)+1', [{ kind: 'cell', cell: { row: 1, col: 1 } }]],
    ['=SUM(B2:C5)', 'SUM(TRREF(0))', [{ kind: 'range', from: { row: 2, col: 2 }, to: { row: 5, col: 3 } }]],
    ['=LOG10(100)+DEC2BIN(3)', 'LOG10(100)+DEC2BIN(3)', []],
    ['="A1"&B2', '"A1"&TRREF(0)', [{ kind: 'cell', cell: { row: 2, col: 2 } }]],
    ['=&A2', 'TRIDX(0)', [{ kind: 'index', cell: { row: 2, col: 1 } }]],
    ['=B2&&A2', 'TRREF(0)&TRIDX(1)', [{ kind: 'cell', cell: { row: 2, col: 2 } }, { kind: 'index', cell: { row: 2, col: 1 } }]],
    ['=B2[A2:-1]', 'TRREF(0)', [{ kind: 'hier', cell: { row: 2, col: 2 }, left: [{ at: { row: 2, col: 1 }, kind: 'relative', offset: -1 }], top: [], everywhere: false }]],
    ['=B2[A2:1]', 'TRREF(0)', [{ kind: 'hier', cell: { row: 2, col: 2 }, left: [{ at: { row: 2, col: 1 }, kind: 'absolute', index: 1 }], top: [], everywhere: false }]],
    ['=B2[A2:!-1]', 'TRREF(0)', [{ kind: 'hier', cell: { row: 2, col: 2 }, left: [{ at: { row: 2, col: 1 }, kind: 'absolute', index: -1 }], top: [], everywhere: false }]],
    ['=C1[A1:2,B1:3]', 'TRREF(0)', [{ kind: 'hier', cell: { row: 1, col: 3 }, left: [{ at: { row: 1, col: 1 }, kind: 'absolute', index: 2 }, { at: { row: 1, col: 2 }, kind: 'absolute', index: 3 }], top: [], everywhere: false }]],
    ['=A3[;A2:-1]', 'TRREF(0)', [{ kind: 'hier', cell: { row: 3, col: 1 }, left: [], top: [{ at: { row: 2, col: 1 }, kind: 'relative', offset: -1 }], everywhere: false }]],
    ['=SUM(B2[!0])', 'SUM(TRREF(0))', [{ kind: 'hier', cell: { row: 2, col: 2 }, left: [], top: [], everywhere: true }]],
  ] as [string, string, FormulaRef[]][])('%s', (src, text, refs) => {
    const r = rewriteFormula(src, isParam);
    expect(r.text).toBe(text);
    expect(r.refs).toEqual(refs);
  });

  it('reports an unreadable hierarchical coordinate', () => {
    expect(compileFormula('=B2[A2:x]', () => false).invalid).toMatch(/A2:x/);
  });
});

describe('evaluateFormula', () => {
  const cells: Record<string, CellValue[]> = {
    C3: [10, 20, 'x', null, 30],
    B2: [5],
    D4: [],
    E5: [new Date(Date.UTC(2024, 0, 2))],
    F6: ['abc'],
  };
  const host: FormulaHost = {
    values(ref) {
      if (ref.kind !== 'cell') throw new FormulaRefError('only cells here');
      const key = `${String.fromCharCode(64 + ref.cell.col)}${ref.cell.row}`;
      const v = cells[key];
      if (!v) throw new FormulaRefError(`no ${key}`);
      return v;
    },
    index: () => 3,
    param: (n) => ({ usl: 100, lines: ['L1', 'L2'] })[n],
  };
  const run = (src: string) => evaluateFormula(compileFormula(src, (n) => n === 'usl' || n === 'lines'), { row: 1, col: 1, sheet: 'S' }, host);

  it.each([
    ['=SUM(C3)', 60],
    ['=AVERAGE(C3)', 20],
    ['=COUNT(C3)', 3],
    ['=COUNTA(C3)', 4],
    ['=MIN(C3)', 10],
    ['=MAX(C3)', 30],
    ['=B2*2', 10],
    ['=IF(B2>$usl,"bad","ok")', 'ok'],
    ['=ROUND(2.345,2)', 2.35],
    ['=TEXT(E5,"yyyy-mm-dd")', '2024-01-02'],
    ['=YEAR(E5)', 2024],
    ['=DATE(2024,1,2)', 45293],
    ['=UPPER(F6)', 'ABC'],
    ['=LEFT(F6,2)&"-"&LEN(F6)', 'ab-3'],
    ['=VALUE("3.5")+1', 4.5],
    ['=ROUND(STDEV(1,2,3,4),4)', 1.291],
    ['=ROUND(STDEVP(1,2,3,4),4)', 1.118],
    ['=D4', null],
    ['=&A2*10', 30],
    ['=COUNTA($lines)', 2],
    ['=CONCATENATE("a",B2)', 'a5'],
  ])('%s = %j', (src, expected) => {
    const r = run(src);
    expect(r.problem).toBeUndefined();
    expect(r.value).toEqual(expected);
  });

  it.each([
    ['=1/0', '#DIV/0!'],
    ['=NOSUCHFN(1)', '#NAME?'],
    ['=Z99+1', '#REF!'],
    ['=SUM(Z99)', '#REF!'],
    ['="a"*2', '#VALUE!'],
    ['=1+', '#NAME?'],
    ['=(1', '#NAME?'],
  ])('%s is %s with a problem', (src, code) => {
    const r = run(src);
    expect(r.value).toEqual({ error: code });
    expect(r.problem).toContain(src);
  });
});
