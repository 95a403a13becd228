/**
 * Rewrites a report formula into plain Excel syntax the formula library can evaluate: every template
 * reference (`C3`, `C2:C5`, FineReport hierarchical coordinates `B2[A2:-1]`, the index `&A2`) and every
 * parameter (`$usl`) becomes a call of a hook function (`TRREF(0)`, `TRIDX(1)`, `TRPARAM(2)`) whose
 * number indexes the parsed reference list. The engine answers the hooks in the cell's context.
 *
 * This is a scan over the formula text outside string literals, not an Excel parser: the formula
 * library still parses and evaluates everything else.
 */

/** A template cell address, 1-based. */
export interface CellPos {
  readonly row: number;
  readonly col: number;
}

/**
 * One step of a hierarchical coordinate: which instance of the expanding cell `at` to move to.
 * `relative`: offset from the current instance (`A2:-1`); `absolute`: 1-based index (`A2:1`), a
 * negative index counts from the last (`A2:!-1`); `all`: every instance (`A2:!0`).
 */
export type HierStep =
  | { readonly at: CellPos; readonly kind: 'relative'; readonly offset: number }
  | { readonly at: CellPos; readonly kind: 'absolute'; readonly index: number }
  | { readonly at: CellPos; readonly kind: 'all' };

export type FormulaRef =
  | { readonly kind: 'cell'; readonly cell: CellPos }
  | { readonly kind: 'range'; readonly from: CellPos; readonly to: CellPos }
  /** `B2[A2:-1]` (left steps before `;`, top steps after), or `B2[!0]` (`everywhere`). */
  | { readonly kind: 'hier'; readonly cell: CellPos; readonly left: readonly HierStep[]; readonly top: readonly HierStep[]; readonly everywhere: boolean }
  | { readonly kind: 'index'; readonly cell: CellPos }
  | { readonly kind: 'param'; readonly name: string };

export interface RewrittenFormula {
  /** The formula without its leading `=`, in plain Excel syntax with hook calls. */
  readonly text: string;
  readonly refs: readonly FormulaRef[];
}

export const HOOK_REF = 'TRREF';
export const HOOK_INDEX = 'TRIDX';
export const HOOK_PARAM = 'TRPARAM';

export class FormulaSyntaxError extends Error {}

const ADDRESS = /^\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})/;
const NAME_CHAR = /[A-Za-z0-9_.]/;

export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

export function columnLetters(col: number): string {
  let s = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** `B3` → {row: 3, col: 2}. */
export function parseAddress(address: string): CellPos {
  const m = ADDRESS.exec(address);
  if (!m || m[0].length !== address.length) throw new FormulaSyntaxError(`"${address}" is not a cell address such as B3`);
  return { row: Number(m[2]), col: columnNumber(m[1]!) };
}

export function formatAddress(p: CellPos): string {
  return `${columnLetters(p.col)}${p.row}`;
}

/**
 * Rewrites `formula` (with or without its leading `=`). `isParam` says which `$name` are parameters
 * (others are left alone: `$A$1` is an ordinary absolute reference).
 */
export function rewriteFormula(formula: string, isParam: (name: string) => boolean): RewrittenFormula {
  const src = formula.startsWith('=') ? formula.slice(1) : formula;
  const refs: FormulaRef[] = [];
  const hook = (name: string, ref: FormulaRef): string => {
    refs.push(ref);
    return `${name}(${refs.length - 1})`;
  };
  let out = '';
  let i = 0;
  /** Whether the previous significant output ends an operand (then `&` is concatenation). */
  const afterOperand = (): boolean => {
    const t = out.trimEnd();
    if (t === '') return false;
    const last = t[t.length - 1]!;
    return /[A-Za-z0-9_.)"\]}%]/.test(last);
  };
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '"') {
      // string literal, "" escapes a quote
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw new FormulaSyntaxError('a string is not closed with "');
        if (src[j] === '"') {
          if (src[j + 1] === '"') j += 2;
          else break;
        } else j++;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (ch === "'") {
      // quoted sheet name: copy through
      const j = src.indexOf("'", i + 1);
      if (j < 0) throw new FormulaSyntaxError("a quoted name is not closed with '");
      out += src.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const prevChar = i > 0 ? src[i - 1]! : '';
    if (ch === '&' && !afterOperand()) {
      const m = ADDRESS.exec(src.slice(i + 1));
      if (m && !NAME_CHAR.test(src[i + 1 + m[0].length] ?? '')) {
        out += hook(HOOK_INDEX, { kind: 'index', cell: parseAddress(m[0].replace(/\$/g, '')) });
        i += 1 + m[0].length;
        continue;
      }
    }
    if (ch === '$' && !NAME_CHAR.test(prevChar)) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i));
      if (m && isParam(m[1]!) && src[i + m[0].length] !== '$' && src[i + m[0].length] !== '(') {
        out += hook(HOOK_PARAM, { kind: 'param', name: m[1]! });
        i += m[0].length;
        continue;
      }
    }
    if ((ch === '$' || (ch >= 'A' && ch <= 'Z')) && !NAME_CHAR.test(prevChar) && prevChar !== '$' && prevChar !== '!') {
      const rest = src.slice(i);
      const m = ADDRESS.exec(rest);
      if (m) {
        const after = rest[m[0].length] ?? '';
        if (!NAME_CHAR.test(after) && after !== '(' && after !== '!') {
          const first = parseAddress(m[0].replace(/\$/g, ''));
          let j = i + m[0].length;
          // range
          if (src[j] === ':') {
            const m2 = ADDRESS.exec(src.slice(j + 1));
            if (m2 && !NAME_CHAR.test(src[j + 1 + m2[0].length] ?? '') && src[j + 1 + m2[0].length] !== '(') {
              const second = parseAddress(m2[0].replace(/\$/g, ''));
              out += hook(HOOK_REF, {
                kind: 'range',
                from: { row: Math.min(first.row, second.row), col: Math.min(first.col, second.col) },
                to: { row: Math.max(first.row, second.row), col: Math.max(first.col, second.col) },
              });
              i = j + 1 + m2[0].length;
              continue;
            }
          }
          // hierarchical coordinate
          if (src[j] === '[') {
            const close = src.indexOf(']', j);
            if (close < 0) throw new FormulaSyntaxError(`"${src.slice(i)}": a hierarchical coordinate is not closed with ]`);
            out += hook(HOOK_REF, parseHierarchy(first, src.slice(j + 1, close)));
            j = close + 1;
            i = j;
            continue;
          }
          out += hook(HOOK_REF, { kind: 'cell', cell: first });
          i = j;
          continue;
        }
      }
    }
    // copy a whole name at once so its tail is never mistaken for an address (LOG10, DEC2BIN)
    if (NAME_CHAR.test(ch)) {
      let j = i;
      while (j < src.length && NAME_CHAR.test(src[j]!)) j++;
      out += src.slice(i, j);
      i = j;
      continue;
    }
    out += ch;
    i++;
  }
  return { text: out, refs };
}

function parseHierarchy(cell: CellPos, spec: string): FormulaRef {
  const s = spec.replace(/\s+/g, '');
  if (s === '!0') return { kind: 'hier', cell, left: [], top: [], everywhere: true };
  const [leftPart = '', topPart = '', extra] = s.split(';');
  if (extra !== undefined) throw new FormulaSyntaxError(`[${spec}]: at most one ; (left parents before it, top parents after it)`);
  return { kind: 'hier', cell, left: parseSteps(leftPart, spec), top: parseSteps(topPart, spec), everywhere: false };
}

function parseSteps(part: string, spec: string): HierStep[] {
  if (part === '') return [];
  return part.split(',').map((item) => {
    const m = /^\$?([A-Z]{1,3})\$?([1-9][0-9]*):(!?)([+-]?)([0-9]+)$/.exec(item);
    if (!m) throw new FormulaSyntaxError(`[${spec}]: "${item}" is not a step such as A2:-1, A2:1 or A2:!-1`);
    const at = { row: Number(m[2]), col: columnNumber(m[1]!) };
    const bang = m[3] === '!';
    const sign = m[4]!;
    const n = Number(m[5]) * (sign === '-' ? -1 : 1);
    if (bang) return n === 0 ? { at, kind: 'all' as const } : { at, kind: 'absolute' as const, index: n };
    if (sign !== '' || n === 0) return { at, kind: 'relative' as const, offset: n };
    return { at, kind: 'absolute' as const, index: n };
  });
}
