/**
 * Evaluates report formulas with fast-formula-parser (plus formulajs for the functions it lacks).
 * References to template cells, hierarchical coordinates and `$param` are rewritten into hook calls
 * (references.ts) and answered by a `FormulaHost` the engine gives for the cell's context.
 */
import FormulaParser, { type FormulaArg, type FormulaError as FormulaErrorType } from 'fast-formula-parser';
import type { CellValue, ExcelError, ExcelErrorCode } from '../resolved.js';
import { isExcelError } from '../resolved.js';
import { toExcelSerial } from '../format/number-format.js';
import { formulaErrorFor, missingFunctions } from './functions.js';
import { compileProgram, runProgram, type ParserInternals, type Program } from './program.js';
import {
  FormulaSyntaxError,
  HOOK_INDEX,
  HOOK_PARAM,
  HOOK_REF,
  rewriteFormula,
  type CellPos,
  type FormulaRef,
} from './references.js';

const { FormulaError } = FormulaParser;
const TRREF_CALL = new RegExp(`${HOOK_REF}\\((\\d+)\\)`, 'g');

/** What a formula's references mean where it is evaluated. */
export interface FormulaHost {
  /** The values of the instances `ref` means in this context (empty: blank). Throw `FormulaRefError` for #REF!. */
  values(ref: FormulaRef): readonly CellValue[];
  /** `&A2`: the 1-based index of the current instance of that cell. */
  index(cell: CellPos): number;
  /** `$name`. */
  param(name: string): unknown;
}

/** Thrown by a host: the reference points at no cell or out of range. */
export class FormulaRefError extends Error {}

export interface CompiledFormula {
  /** The template text, for messages. */
  readonly source: string;
  /** Plain Excel syntax with hook calls; absent when the text could not be read. */
  readonly text?: string;
  readonly refs: readonly FormulaRef[];
  /** Why the formula cannot be evaluated at all. */
  readonly invalid?: string;
  /** The text parsed once (program.ts); absent when it uses grammar left to the library's own parse. */
  readonly program?: Program;
}

export interface FormulaResult {
  readonly value: CellValue;
  /** Set when the value is an Excel error: what went wrong, for the render's warnings. */
  readonly problem?: string;
}

/** Rewrites a formula once; evaluate it many times. */
export function compileFormula(source: string, isParam: (name: string) => boolean): CompiledFormula {
  try {
    const { text, refs } = rewriteFormula(source, isParam);
    const program = compileProgram(text);
    return program ? { source, text, refs, program } : { source, text, refs };
  } catch (e) {
    if (e instanceof FormulaSyntaxError) return { source, refs: [], invalid: e.message };
    throw e;
  }
}

interface Current {
  formula: CompiledFormula;
  host: FormulaHost;
  /** Values of each TRREF reference, resolved before parsing. */
  resolved: (readonly CellValue[] | undefined)[];
}

let current: Current | undefined;
let parser: FormulaParser | undefined;

function refArg(arg: FormulaArg | undefined): FormulaRef {
  const k = Number(arg?.value);
  const ref = current?.formula.refs[k];
  if (!ref) throw FormulaError.REF;
  return ref;
}

function toFormulaValue(v: CellValue): unknown {
  if (v instanceof Date) return toExcelSerial(v);
  if (isExcelError(v)) return formulaErrorFor(v.error);
  return v;
}

/** Virtual cells the rewritten references point at: reference k is row k+1 of these columns. */
const REF_COL = 16384; // XFD
const REF_RANGE_COL = 16383; // XFC

function refValue(row: number): unknown {
  const vals = current?.resolved[row - 1];
  if (!vals) throw FormulaError.REF;
  if (vals.length === 0) return null;
  return toFormulaValue(vals[0]!);
}

function theParser(): FormulaParser {
  if (parser) return parser;
  const hooks = {
    [HOOK_INDEX]: (arg: FormulaArg) => {
      const ref = refArg(arg);
      if (ref.kind !== 'index') throw FormulaError.REF;
      try {
        return current!.host.index(ref.cell);
      } catch (e) {
        if (e instanceof FormulaRefError) throw FormulaError.REF;
        throw e;
      }
    },
    [HOOK_PARAM]: (arg: FormulaArg) => {
      const ref = refArg(arg);
      if (ref.kind !== 'param') throw FormulaError.REF;
      const v = current!.host.param(ref.name);
      if (v === undefined || v === null) return '';
      if (isExcelError(v)) throw formulaErrorFor(v.error);
      if (Array.isArray(v)) return v.length === 0 ? '' : [v.map((x) => paramValue(x))];
      return paramValue(v);
    },
  };
  const probe = new FormulaParser({});
  const known = new Set(Object.keys(probe.functions));
  // the parser's MIN and MAX fail on references; formulajs has working ones
  known.delete('MIN');
  known.delete('MAX');
  parser = new FormulaParser({
    functions: { ...missingFunctions(known), ...hooks },
    onCell: (ref) => (ref.col === REF_COL ? refValue(ref.row) : null),
    onRange: (ref) => {
      const vals = ref.from.col === REF_RANGE_COL ? current?.resolved[ref.from.row - 1] : undefined;
      if (!vals) throw FormulaError.REF;
      return vals.map((v) => [toFormulaValue(v)]);
    },
  });
  return parser;
}

function paramValue(v: unknown): unknown {
  if (v instanceof Date) return toExcelSerial(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

const CODES = new Set<string>(['#DIV/0!', '#NAME?', '#REF!', '#VALUE!', '#N/A', '#NUM!', '#NULL!']);

function excelError(code: string): ExcelError {
  return { error: (CODES.has(code) ? code : '#VALUE!') as ExcelErrorCode };
}

const PROBLEMS: Record<string, string> = {
  '#DIV/0!': 'division by zero',
  '#NAME?': 'unknown function or name',
  '#REF!': 'a reference to no cell, or out of range',
  '#VALUE!': 'a value of the wrong type',
  '#N/A': 'a value is not available',
  '#NUM!': 'an invalid number',
  '#NULL!': 'an empty intersection',
};

/** Evaluates a compiled formula at a template position with the references answered by `host`. */
export function evaluateFormula(formula: CompiledFormula, position: { row: number; col: number; sheet: string }, host: FormulaHost): FormulaResult {
  if (formula.text === undefined) {
    return { value: excelError('#NAME?'), problem: `${formula.source} cannot be read: ${formula.invalid}` };
  }
  const p = theParser();
  const saved = current;
  const resolved: (readonly CellValue[] | undefined)[] = [];
  if (formula.program) {
    try {
      for (const i of formula.program.refOrder) resolved[i] = host.values(formula.refs[i]!);
    } catch (e) {
      if (!(e instanceof FormulaRefError)) throw e;
      return { value: excelError('#REF!'), problem: `${formula.source}: ${e.message}` };
    }
    current = { formula, host, resolved };
    try {
      const r = runProgram(formula.program, p as unknown as ParserInternals, position, { count: (k) => resolved[k]?.length ?? 0 });
      return fromResult(r, formula);
    } catch (e) {
      return fromThrown(e, formula);
    } finally {
      current = saved;
    }
  }
  // references become virtual cells (one value or blank) or ranges (several), so blanks and ranges
  // behave as in Excel
  let text = formula.text;
  try {
    text = formula.text.replace(TRREF_CALL, (_m, k: string) => {
      const i = Number(k);
      const vals = host.values(formula.refs[i]!);
      resolved[i] = vals;
      return vals.length > 1 ? `XFC${i + 1}:XFD${i + 1}` : `XFD${i + 1}`;
    });
  } catch (e) {
    if (!(e instanceof FormulaRefError)) throw e;
    return { value: excelError('#REF!'), problem: `${formula.source}: ${e.message}` };
  }
  current = { formula, host, resolved };
  try {
    const r = p.parse(text, position, false);
    return fromResult(r, formula);
  } catch (e) {
    return fromThrown(e, formula);
  } finally {
    current = saved;
  }
}

function fromResult(r: unknown, formula: CompiledFormula): FormulaResult {
  if (r instanceof FormulaError) return fromThrown(r, formula);
  if (Array.isArray(r)) {
    const first = Array.isArray(r[0]) ? r[0][0] : r[0];
    return fromResult(first, formula);
  }
  if (r === null || r === undefined) return { value: null };
  if (typeof r === 'number') {
    if (!Number.isFinite(r)) return { value: excelError('#NUM!'), problem: `${formula.source}: ${PROBLEMS['#NUM!']}` };
    return { value: r };
  }
  if (typeof r === 'string' || typeof r === 'boolean' || r instanceof Date) return { value: r };
  return { value: String(r) };
}

function fromThrown(e: unknown, formula: CompiledFormula): FormulaResult {
  if (e instanceof FormulaError) {
    let code = (e as FormulaErrorType).error;
    let detail: string | undefined;
    if (code === '#ERROR!') {
      const d = (e as FormulaErrorType).details;
      if (d instanceof FormulaError) code = (d as FormulaErrorType).error;
      else if (d instanceof Error && d.name !== 'Error') {
        // a parser exception: the text is not a formula
        return { value: excelError('#NAME?'), problem: `${formula.source} cannot be read: ${firstLine(d.message)}` };
      } else if (typeof d === 'string' && CODES.has(d)) code = d;
      else {
        code = '#VALUE!';
        detail = d instanceof Error ? firstLine(d.message) : d !== undefined ? String(d) : undefined;
      }
    }
    const err = excelError(code);
    return { value: err, problem: `${formula.source}: ${detail ?? PROBLEMS[err.error] ?? err.error}` };
  }
  if (e instanceof Error) {
    // a function failing inside the library (bad argument types): an error value, not a crash
    return { value: excelError('#VALUE!'), problem: `${formula.source}: ${firstLine(e.message)}` };
  }
  return { value: excelError('#VALUE!'), problem: `${formula.source}: ${String(e)}` };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}
