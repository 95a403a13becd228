/**
 * The table of cell styles of one render: each distinct style gets one id, so cells carry a number
 * and outputs build each style once (an XLSX style, a CSS class).
 */
import type { CellStyle, StyleLookup } from './resolved.js';

export class StyleTable implements StyleLookup {
  private readonly styles: CellStyle[] = [];
  private readonly ids = new Map<string, number>();

  /** The id of a style, adding it the first time it is seen. */
  intern(style: CellStyle): number {
    const key = stableKey(style);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.styles.length;
      this.styles.push(style);
      this.ids.set(key, id);
    }
    return id;
  }

  get(id: number): CellStyle {
    const s = this.styles[id];
    if (!s) throw new RangeError(`no style with id ${id}`);
    return s;
  }

  get size(): number {
    return this.styles.length;
  }
}

/** Later styles override earlier ones field by field (font and border merged one level deep). */
export function mergeStyles(...styles: (CellStyle | undefined)[]): CellStyle {
  const out: CellStyle = {};
  for (const s of styles) {
    if (!s) continue;
    const { font, border, ...rest } = s;
    Object.assign(out, rest);
    if (font) out.font = { ...(out.font ?? {}), ...font };
    if (border !== undefined) {
      out.border = typeof border === 'string' || typeof out.border !== 'object' ? border : { ...out.border, ...border };
    }
  }
  return out;
}

function stableKey(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableKey).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableKey(x)}`).join(',')}}`;
}
