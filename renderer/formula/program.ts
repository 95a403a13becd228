/**
 * A formula parsed once: fast-formula-parser evaluates while it parses (chevrotain embedded actions,
 * no syntax tree), so a formula repeated on 20,000 rows was lexed and parsed 20,000 times. This reads
 * the library's own tokens into a small tree following its grammar rule by rule, and evaluates the
 * tree with the library's own operators, function calls and result check: the value is the one
 * `parser.parse` gives, without the parsing. Only the common part of the grammar is read (numbers,
 * strings, booleans, error literals, references, function calls, unary/binary/percent operators,
 * parentheses); a formula using anything else (ranges written out, unions, intersections, arrays,
 * names, sheet prefixes) gets no program and is evaluated by `parser.parse` as before.
 */
import FormulaParser from 'fast-formula-parser';
import lexing from 'fast-formula-parser/grammar/lexing.js';
import { HOOK_REF } from './references.js';

const { FormulaError } = FormulaParser;

/** The internals of a FormulaParser instance that `parse` itself uses. */
export interface ParserInternals {
  position: unknown;
  async: boolean;
  readonly utils: {
    applyInfix(a: unknown, op: string, b: unknown): unknown;
    applyPrefix(ops: string[], v: unknown): unknown;
    applyPostfix(v: unknown, op: string): unknown;
    parseCellAddress(address: string): unknown;
    toError(image: string): unknown;
  };
  callFunction(name: string, args: unknown[]): unknown;
  checkFormulaResult(result: unknown, allowReturnArray: boolean): unknown;
}

type Node =
  | { readonly k: 'const'; readonly v: unknown }
  | { readonly k: 'error'; readonly image: string }
  | { readonly k: 'cell'; readonly image: string }
  | { readonly k: 'ref'; readonly i: number }
  | { readonly k: 'fn'; readonly name: string; readonly args: readonly (Node | null)[] }
  | { readonly k: 'bin'; readonly values: readonly Node[]; readonly ops: readonly string[] }
  | { readonly k: 'pre'; readonly ops: readonly string[]; readonly v: Node }
  | { readonly k: 'pct'; readonly v: Node };

export interface Program {
  readonly root: Node;
  /** TRREF indexes in the order they appear (references are resolved in this order). */
  readonly refOrder: readonly number[];
}

/** What the formula library's rewritten references become (evaluate.ts): row k+1 of these columns. */
export interface RefCells {
  /** The values of reference k: one (or none) reads as a cell, several as a range. */
  count(k: number): number;
}

const INFIX = new Set(['GtOp', 'EqOp', 'LtOp', 'NeqOp', 'GteOp', 'LteOp', 'ConcatOp', 'PlusOp', 'MinOp', 'MulOp', 'DivOp', 'ExOp']);
/** Tokens a `formula` can start with (the library's grammar); another one after an operand is an intersection. */
const FORMULA_START = new Set([
  'Cell',
  'Name',
  'Column',
  'RefError',
  'Sheet',
  'SheetQuoted',
  'OpenParen',
  'Number',
  'String',
  'Boolean',
  'FormulaErrorT',
  'Function',
  'OpenCurlyParen',
]);
/** The library's operator precedence, applied in the same order. */
const PRECEDENCE = [['^'], ['*', '/'], ['+', '-'], ['&'], ['<', '>', '=', '<>', '<=', '>=']];

class Unsupported extends Error {}

interface Tok {
  readonly type: string;
  readonly image: string;
}

/** The program of a rewritten formula text, or undefined when it uses grammar this reader leaves to the library. */
export function compileProgram(text: string): Program | undefined {
  let toks: Tok[];
  try {
    const lexed = lexing.lex(text) as { tokens: { image: string; tokenType: { name: string } }[] };
    toks = lexed.tokens.map((t) => ({ type: t.tokenType.name, image: t.image }));
  } catch {
    return undefined;
  }
  if (toks.length === 0) return undefined;
  let pos = 0;
  const refOrder: number[] = [];
  const peek = (): Tok | undefined => toks[pos];
  const take = (type: string): Tok => {
    const t = toks[pos];
    if (!t || t.type !== type) throw new Unsupported();
    pos++;
    return t;
  };

  // formulaWithBinaryOp
  const binary = (): Node => {
    const values = [percent()];
    const ops: string[] = [];
    while (peek() && INFIX.has(peek()!.type)) {
      ops.push(toks[pos++]!.image);
      values.push(percent());
    }
    return ops.length === 0 ? values[0]! : { k: 'bin', values, ops };
  };
  // formulaWithPercentOp
  const percent = (): Node => {
    const v = unary();
    if (peek()?.type === 'PercentOp') {
      pos++;
      return { k: 'pct', v };
    }
    return v;
  };
  // formulaWithUnaryOp
  const unary = (): Node => {
    const ops: string[] = [];
    while (peek()?.type === 'PlusOp' || peek()?.type === 'MinOp') ops.push(toks[pos++]!.image);
    const v = operand();
    return ops.length > 0 ? { k: 'pre', ops, v } : v;
  };
  // formulaWithIntersect → formulaWithRange → formula, without intersections and ranges
  const operand = (): Node => {
    const v = formula();
    const next = peek();
    if (next && (next.type === 'Colon' || FORMULA_START.has(next.type))) throw new Unsupported();
    return v;
  };
  const formula = (): Node => {
    const t = peek();
    if (!t) throw new Unsupported();
    switch (t.type) {
      case 'Cell':
        pos++;
        return { k: 'cell', image: t.image };
      case 'Number':
        pos++;
        return { k: 'const', v: Number(t.image) };
      case 'String':
        pos++;
        return { k: 'const', v: t.image.substring(1, t.image.length - 1).replace(/""/g, '"') };
      case 'Boolean':
        pos++;
        return { k: 'const', v: t.image === 'TRUE' };
      case 'FormulaErrorT':
      case 'RefError':
        pos++;
        return { k: 'error', image: t.image };
      case 'OpenParen': {
        pos++;
        const v = binary();
        take('CloseParen');
        return v;
      }
      case 'Function': {
        pos++;
        const name = t.image.slice(0, -1);
        if (name === HOOK_REF) {
          const i = Number(take('Number').image);
          take('CloseParen');
          refOrder.push(i);
          return { k: 'ref', i };
        }
        const args = argumentList();
        take('CloseParen');
        return { k: 'fn', name, args };
      }
      default:
        throw new Unsupported();
    }
  };
  // arguments: leading commas are skipped, an empty argument after a comma is null
  const argumentList = (): (Node | null)[] => {
    while (peek()?.type === 'Comma') pos++;
    const args: (Node | null)[] = [];
    const starts = () => {
      const t = peek();
      return t !== undefined && (FORMULA_START.has(t.type) || t.type === 'PlusOp' || t.type === 'MinOp');
    };
    if (!starts()) return args;
    args.push(binary());
    while (peek()?.type === 'Comma') {
      pos++;
      if (starts()) args.push(binary());
      else args.push(null);
    }
    return args;
  };

  try {
    const root = binary();
    if (pos !== toks.length) return undefined;
    return { root, refOrder };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

const REF_COL = 16384; // XFD
const REF_RANGE_COL = 16383; // XFC

/**
 * Evaluates a program as `parser.parse(text, position)` would: same operators, functions and result
 * check, same exceptions (a non-formula error thrown inside becomes FormulaError.ERROR).
 */
export function runProgram(program: Program, parser: ParserInternals, position: unknown, refs: RefCells): unknown {
  parser.position = position;
  parser.async = false;
  const u = parser.utils;
  const run = (n: Node): unknown => {
    switch (n.k) {
      case 'const':
        return n.v;
      case 'error':
        return u.toError(n.image);
      case 'cell':
        return u.parseCellAddress(n.image);
      case 'ref': {
        // what the parser makes of `XFD{k+1}` or `XFC{k+1}:XFD{k+1}`
        const row = n.i + 1;
        if (refs.count(n.i) > 1) return { ref: { from: { row, col: REF_RANGE_COL }, to: { row, col: REF_COL } } };
        return { ref: { address: `XFD${row}`, col: REF_COL, row } };
      }
      case 'fn':
        return parser.callFunction(
          n.name,
          n.args.map((a) => (a === null ? null : run(a))),
        );
      case 'pre':
        return u.applyPrefix([...n.ops], run(n.v));
      case 'pct':
        return u.applyPostfix(run(n.v), '%');
      case 'bin': {
        const values = n.values.map(run);
        const infixes = [...n.ops];
        for (const ops of PRECEDENCE) {
          for (let index = 0, length = infixes.length; index < length; index++) {
            const infix = infixes[index]!;
            if (!ops.includes(infix)) continue;
            infixes.splice(index, 1);
            values.splice(index, 2, u.applyInfix(values[index], infix, values[index + 1]));
            index--;
            length--;
          }
        }
        return values[0];
      }
    }
  };
  let res: unknown;
  try {
    res = parser.checkFormulaResult(run(program.root), false);
    if (res instanceof FormulaError) return res;
  } catch (e) {
    throw FormulaError.ERROR((e as Error).message, e);
  }
  return res;
}
