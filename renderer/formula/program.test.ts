import { describe, expect, it } from 'vitest';
import { compileFormula, evaluateFormula, type CompiledFormula, type FormulaHost } from './evaluate.js';
import { formatAddress, type FormulaRef } from './references.js';
import type { CellValue } from '../resolved.js';

/**
 * A formula parsed once (program.ts) must give exactly what the formula library's own parse gives:
 * every formula below is evaluated both ways over values of every kind (numbers, text, numbers as
 * text, booleans, blanks, dates, errors, several values, none) and the results compared.
 */
const values: Record<string, CellValue[]> = {
  A1: [3],
  B1: [-2.5],
  C1: ['12'],
  D1: ['abc'],
  E1: [true],
  F1: [null],
  G1: [],
  H1: [new Date(Date.UTC(2024, 1, 29))],
  I1: [{ error: '#DIV/0!' }],
  J1: [1, 2, 'x', null, 4],
  K1: [0],
  L1: [''],
};
const params: Record<string, unknown> = { usl: 10, name: 'Ann', day: new Date(Date.UTC(2024, 0, 1)), list: ['a', 'b'] };

const host: FormulaHost = {
  values: (ref: FormulaRef) => {
    if (ref.kind !== 'cell') throw new Error('cells only');
    return values[formatAddress(ref.cell)] ?? [];
  },
  index: () => 2,
  param: (n) => params[n],
};

const cellNames = Object.keys(values);
const formulas: string[] = [
  // every value through the commonest shapes
  ...cellNames.flatMap((a) => [`=${a}`, `=SUM(${a})`, `=${a}*2`, `=${a}+${a}`, `=${a}>1`, `=${a}=""`, `=${a}&"|"`, `=-${a}`, `=${a}%`, `=${a}/K1`, `=COUNT(${a})`, `=COUNTA(${a})`, `=AVERAGE(${a})`, `=MIN(${a})`, `=MAX(${a})`, `=IF(${a}>2,"hi","lo")`, `=ROUND(${a}/3,2)`, `=ISBLANK(${a})`, `=ISNUMBER(${a})`, `=TEXT(${a},"0.00")`, `=IFERROR(${a}*1,"bad")`, `=LEN(${a})`, `=UPPER(${a})`]),
  // operators, precedence, unary and percent
  '=1+2*3-4/2^2',
  '=-2^2',
  '=2^-1',
  '=--A1',
  '=+-+A1',
  '=5%*A1',
  '=50%%',
  '=1&2+3',
  '="a"<"B"',
  '="10"=10',
  '=TRUE+1',
  '=A1<>B1',
  '=A1>=3',
  '=A1<=B1',
  '=(A1+B1)*(A1-B1)',
  '=((A1))',
  // functions: nesting, empty and leading arguments
  '=ROUND(1.5,)',
  '=SUM(,A1,B1)',
  '=SUM()',
  '=IF(A1>2,SUM(J1),AVERAGE(J1))',
  '=IF(A1>5,1)',
  '=AND(A1>1,B1<0)',
  '=OR(ISBLANK(F1),E1)',
  '=CONCATENATE(D1,"-",A1)',
  '=DATE(2024,2,29)',
  '=YEAR(H1)+MONTH(H1)',
  '=H1+1',
  '=NOSUCH(1)',
  '=1/0',
  '=#N/A',
  '=#REF!',
  '=IFERROR(#DIV/0!,7)',
  '=SQRT(-1)',
  '="x"*2',
  '=STDEV(J1)',
  '=SUMPRODUCT(J1,J1)',
  // parameters and the instance index
  '=A1>$usl',
  '=$name&"!"',
  '=$day+1',
  '=COUNTA($list)',
  '=&A1*10',
  // left to the library (no program): ranges, unions, arrays, names, intersections
  '=SUM({1,2;3,4})',
  '=SUM((A1,B1))',
  '=foo+1',
  '=A1 B1',
];

function withoutProgram(f: CompiledFormula): CompiledFormula {
  const { program: _program, ...plain } = f;
  return plain;
}

describe('formula programs (parsed once) evaluate exactly as the library parses', () => {
  const isParam = (n: string) => n in params;
  it.each(formulas)('%s', (src) => {
    const f = compileFormula(src, isParam);
    const pos = { row: 4, col: 6, sheet: 'S' };
    const fast = evaluateFormula(f, pos, host);
    const slow = evaluateFormula(withoutProgram(f), pos, host);
    expect(fast).toEqual(slow);
  });

  it('the common shapes get a program; exotic grammar is left to the library', () => {
    const isParam = (n: string) => n in params;
    for (const src of ['=SUM(A1)', '=A1*B1', '=A1>100', '=IF(A1>$usl,"hi",ROUND(B1/3,2))', '=-2^2', '=ROUND(1.5,)', '=&A1*10', '=#N/A'])
      expect(compileFormula(src, isParam).program, src).toBeDefined();
    for (const src of ['=SUM({1,2;3,4})', '=SUM((A1,B1))', '=foo+1', '=A1 B1', "='Other sheet'!A1"])
      expect(compileFormula(src, isParam).program, src).toBeUndefined();
  });
});
