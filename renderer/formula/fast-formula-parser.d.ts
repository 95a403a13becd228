/** The parts of fast-formula-parser (CommonJS, untyped) the formula evaluator uses. */
declare module 'fast-formula-parser' {
  export interface FormulaPosition {
    row: number;
    col: number;
    sheet: string;
  }
  /** An argument as custom functions receive it. */
  export interface FormulaArg {
    value: unknown;
    isArray: boolean;
    isRangeRef: boolean;
    isCellRef: boolean;
  }
  export class FormulaError extends Error {
    constructor(error: string, msg?: string, details?: unknown);
    readonly error: string;
    readonly details?: unknown;
    static readonly DIV0: FormulaError;
    static readonly NA: FormulaError;
    static readonly NAME: FormulaError;
    static readonly NULL: FormulaError;
    static readonly NUM: FormulaError;
    static readonly REF: FormulaError;
    static readonly VALUE: FormulaError;
    static readonly ERROR: (msg: string, details?: unknown) => FormulaError;
  }
  export interface FormulaParserConfig {
    functions?: Record<string, (...args: FormulaArg[]) => unknown>;
    functionsNeedContext?: Record<string, (context: unknown, ...args: FormulaArg[]) => unknown>;
    onVariable?: (name: string, sheet: string) => unknown;
    onCell?: (ref: { row: number; col: number; sheet: string; address: string }) => unknown;
    onRange?: (ref: { sheet: string; from: { row: number; col: number }; to: { row: number; col: number } }) => unknown[][];
  }
  export default class FormulaParser {
    constructor(config?: FormulaParserConfig);
    static readonly FormulaError: typeof FormulaError;
    functions: Record<string, unknown>;
    parse(formula: string, position: FormulaPosition, allowReturnArray?: boolean): unknown;
  }
}

/** The library's lexer (chevrotain), read by program.ts to parse a formula once. */
declare module 'fast-formula-parser/grammar/lexing.js' {
  const lexing: { lex(text: string): unknown };
  export default lexing;
}
