/**
 * Excel worksheet names: at most 31 characters, none of `: \ / ? * [ ]` (each becomes `_`), unique in
 * the workbook ignoring case. Continuation sheets of a split sheet are named `Report (2)`,
 * `Report (3)`, ... "History" (reserved by Excel) becomes `History_`. An apostrophe becomes `’`: Excel allows one inside a name, but exceljs writes
 * sheet names into print-title references without doubling it, which Excel then repairs away.
 */
export const EXCEL_SHEET_NAME_MAX = 31;

export class SheetNames {
  private readonly used = new Set<string>();

  /** A valid, unused name as close to `wanted` as possible (with ` (n)` added when taken). */
  take(wanted: string, part = 1): string {
    const base = clean(wanted) || 'Sheet';
    for (let n = part; ; n++) {
      const suffix = n > 1 ? ` (${n})` : '';
      const name = base.slice(0, EXCEL_SHEET_NAME_MAX - suffix.length) + suffix;
      const key = name.toLowerCase();
      if (!this.used.has(key)) {
        this.used.add(key);
        return name;
      }
    }
  }
}

function clean(name: string): string {
  const s = name
    .replace(/[:\\/?*[\]]/g, '_')
    .replace(/'/g, '\u2019')
    .trim();
  return s.toLowerCase() === 'history' ? `${s}_` : s; // Excel reserves "History"
}
