/**
 * What a cell gets besides its value, shared by full and streaming mode: the style (base style with
 * the styles of matching conditions merged over it, interned once per combination) and the link.
 */
import type { CellStyle, CellValue, ResolvedLink } from '../resolved.js';
import { isExcelError } from '../resolved.js';
import { mergeStyles, type StyleTable } from '../style-table.js';
import type { CompiledFormula, FormulaResult } from '../formula/evaluate.js';
import type { CellPlan } from './plan.js';

/** Evaluates a formula in the cell's context. */
export type Evaluate = (formula: CompiledFormula) => FormulaResult;

export class Decorator {
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly styles: StyleTable,
    private readonly warn: (c: CellPlan, message: string) => void,
  ) {}

  style(c: CellPlan, evaluate: Evaluate): number | undefined {
    if (c.conditions.length === 0) return c.styleId;
    const matched: CellStyle[] = [];
    let key = c.address;
    for (let k = 0; k < c.conditions.length; k++) {
      const cond = c.conditions[k]!;
      const r = evaluate(cond.formula);
      if (r.problem !== undefined) {
        this.warn(c, `condition ${r.problem}`);
        continue;
      }
      const v = r.value;
      if (v === true || (typeof v === 'number' && v !== 0)) {
        matched.push(cond.style);
        key += `|${k}`;
      }
    }
    if (matched.length === 0) return c.styleId;
    let id = this.cache.get(key);
    if (id === undefined) {
      id = this.styles.intern(mergeStyles(c.baseStyle, ...matched));
      this.cache.set(key, id);
    }
    return id;
  }

  link(c: CellPlan, evaluate: Evaluate): ResolvedLink {
    const link = c.link!;
    if (link.url !== undefined) return { url: link.url };
    const params: Record<string, string | number | boolean | null> = {};
    for (const p of link.params) {
      if (p.formula) {
        const r = evaluate(p.formula);
        if (r.problem !== undefined) this.warn(c, `link parameter ${p.name}: ${r.problem}`);
        params[p.name] = linkValue(r.value);
      } else params[p.name] = p.literal ?? null;
    }
    return { report: link.report!, params };
  }
}

function linkValue(v: CellValue): string | number | boolean | null {
  if (v === null || isExcelError(v)) return null;
  if (v instanceof Date) return v.getTime() % 86_400_000 === 0 ? v.toISOString().slice(0, 10) : v.toISOString();
  return v;
}
