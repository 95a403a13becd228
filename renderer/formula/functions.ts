/**
 * Excel functions the formula library (fast-formula-parser) lacks (COUNTA, MIN, MAX, UPPER, VALUE,
 * STDEV, ...), taken from @formulajs/formulajs and adapted to the parser's calling convention.
 */
import * as formulajs from '@formulajs/formulajs';
import FormulaParser, { type FormulaArg, type FormulaError as FormulaErrorType } from 'fast-formula-parser';

const { FormulaError } = FormulaParser;

type Fn = (...args: unknown[]) => unknown;

/** Excel's names for formulajs functions whose export differs. */
const ALIASES: Record<string, string> = { STDEV: 'STDEV.S', VAR: 'VAR.S' };

/** Functions to add to the parser: every formulajs function whose name the parser does not know. */
export function missingFunctions(known: ReadonlySet<string>): Record<string, (...args: FormulaArg[]) => unknown> {
  const all = new Map<string, Fn>();
  for (const [name, value] of Object.entries(formulajs as Record<string, unknown>)) {
    if (typeof value === 'function') all.set(name, value as Fn);
    else if (value && typeof value === 'object') {
      for (const [sub, f] of Object.entries(value as Record<string, unknown>)) {
        if (typeof f === 'function') all.set(`${name}.${sub}`, f as Fn);
      }
    }
  }
  for (const [alias, target] of Object.entries(ALIASES)) {
    const f = all.get(target);
    if (f) all.set(alias, f);
  }
  const out: Record<string, (...args: FormulaArg[]) => unknown> = {};
  for (const [name, f] of all) {
    if (known.has(name)) continue;
    out[name] = (...args: FormulaArg[]) => fromFormulajs(f(...args.map((a) => a.value)));
  }
  return out;
}

const ERRORS: Record<string, FormulaErrorType> = {
  '#DIV/0!': FormulaError.DIV0,
  '#N/A': FormulaError.NA,
  '#NAME?': FormulaError.NAME,
  '#NULL!': FormulaError.NULL,
  '#NUM!': FormulaError.NUM,
  '#REF!': FormulaError.REF,
  '#VALUE!': FormulaError.VALUE,
};

/** formulajs returns errors as Error values; the parser expects thrown FormulaErrors. */
function fromFormulajs(v: unknown): unknown {
  if (v instanceof Error) throw ERRORS[v.message] ?? FormulaError.VALUE;
  return v;
}

export function formulaErrorFor(code: string): FormulaErrorType {
  return ERRORS[code] ?? FormulaError.VALUE;
}
