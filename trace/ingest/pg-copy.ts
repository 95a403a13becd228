import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Column, ColType } from './store-tables.js';

/**
 * PostgreSQL `COPY … FROM STDIN` for the ingest's bulk rows (samples): the cheapest way into a table — no
 * statement to parse and plan per batch, no array parameters to take apart, rows inserted in bulk. The data
 * travels in COPY's text format, never as SQL: the statement text is fixed (table and column names from
 * store-tables.ts), and each value is encoded by `copyValue`.
 */
export async function copyRows(client: ClientBase, table: string, cols: readonly Column[], rows: readonly unknown[][]): Promise<number> {
  if (!rows.length) return 0;
  const stream = client.query(copyFrom(`copy "${table}" (${cols.map((c) => `"${c.name}"`).join(', ')}) from stdin`));
  await pipeline(Readable.from([copyText(cols, rows)]), stream);
  return stream.rowCount;
}

/** Rows in COPY text format: values separated by tabs, one row per line. */
export function copyText(cols: readonly Column[], rows: readonly unknown[][]): string {
  let out = '';
  for (const row of rows) {
    for (let c = 0; c < cols.length; c++) {
      if (c) out += '\t';
      out += copyValue(row[c], cols[c]!.type);
    }
    out += '\n';
  }
  return out;
}

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One value in COPY text format: null is `\N`; in text, a backslash, newline, carriage return and tab are
 * written as `\\`, `\n`, `\r`, `\t` (so `\N` in the data is the text "\N", never null); numbers as JavaScript
 * writes them (finite, which the ingest contract guarantees); booleans as t/f; times as given (ISO-8601 UTC).
 */
export function copyValue(v: unknown, type: ColType): string {
  if (v === null || v === undefined) return '\\N';
  if (type === 'bool') return v ? 't' : 'f';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`COPY cannot carry the number ${v}`);
    return String(v);
  }
  const s = String(v);
  return SPECIAL.test(s) ? s.replace(SPECIALS, (ch) => ESCAPES[ch]!) : s;
}
