import type { Dialect } from '../../datasources/source-url.js';
import type { Column, ColType } from './store-tables.js';

/**
 * Set-based statements for the server dialects (PostgreSQL, MariaDB/MySQL, SQL Server): many rows per
 * statement, every value bound (`?` placeholders, knex raw syntax), never spliced into the SQL text.
 * Values come in canonical form (times as ISO-8601 UTC text, booleans as true/false) and are converted here.
 *
 * - PostgreSQL: one array parameter per column and `unnest(...)`: a batch is a handful of parameters.
 * - MariaDB/MySQL: multi-row `VALUES` lists; conflicts handled with `ON DUPLICATE KEY UPDATE`.
 * - SQL Server: T-SQL has no `ON CONFLICT`: `MERGE` for upserts and `INSERT … SELECT … WHERE NOT EXISTS` for
 *   insert-if-absent; at most 2,100 parameters per request and 1,000 rows per `VALUES`, so rows are chunked.
 */
export interface Stmt {
  sql: string;
  bindings: unknown[];
}

export type UpsertMode = 'coalesce' | 'replace';

export interface SetSql {
  readonly dialect: Exclude<Dialect, 'sqlite'>;
  /**
   * Appends rows; with `conflict`, a row whose key is already stored is skipped (rows must be unique on it).
   * With `returning` (column names) and `returnsIds`, the statements return those columns of the rows inserted.
   */
  insert(table: string, cols: readonly Column[], rows: readonly unknown[][], conflict?: readonly string[], returning?: readonly string[]): Stmt[];
  /**
   * Inserts or updates rows by their key (the first `keyCount` columns; rows unique on it). `coalesce`:
   * a null keeps the stored value; `replace`: the row's values win. `placeholder`: the row is set placeholder = false.
   * With `returnsIds`, the statements return `id` and the key columns of every row written.
   */
  upsert(table: string, cols: readonly Column[], keyCount: number, rows: readonly unknown[][], mode: UpsertMode, placeholder: boolean): Stmt[];
  /**
   * Inserts the rows whose `conflict` key is not stored yet (rows must be unique on it); each statement's
   * result gives the number of rows it inserted through `inserted`.
   */
  insertNew(table: string, cols: readonly Column[], rows: readonly unknown[][], conflict: readonly string[]): Stmt[];
  /** Rows inserted by one statement of `insertNew` (or a plain `insert`), from the driver's result. */
  inserted(result: unknown): number;
  /** `id` and the key columns of the rows whose first key column is one of `codes`. */
  selectIds(table: string, keyCols: readonly Column[], codes: readonly string[]): Stmt[];
  /** `id` and key columns of the rows exactly equal (by the database's own comparison) to one key. */
  selectOne(table: string, keyCols: readonly Column[], key: readonly unknown[]): Stmt;
  deleteIn(table: string, col: Column, values: readonly unknown[]): Stmt[];
  /**
   * Records event ids in ingest_event, skipping ids already there; the statements return the ids that were
   * new (`event_id` column), or null when the dialect needs a look-up first (see `claimNeedsLookup`).
   */
  claim(rows: readonly [string, string, string][]): Stmt[];
  /** True when `upsert` (and `insert` with `returning`) return the rows' ids (PostgreSQL): no look-up needed after them. */
  readonly returnsIds: boolean;
  /** True when `claim` cannot return the inserted ids (MySQL proper): look up existing ids, then insert the rest. */
  readonly claimNeedsLookup: boolean;
  /** The `event_id`s among `ids` already in ingest_event (for `claimNeedsLookup`). */
  selectEventIds(ids: readonly string[]): Stmt[];
}

const EVENT_COLS: Column[] = [
  { name: 'event_id', type: 'text' },
  { name: 'type', type: 'text' },
  { name: 'ingested_at', type: 'time' },
];

export function setSql(dialect: Exclude<Dialect, 'sqlite'>, opts: { mariadb?: boolean } = {}): SetSql {
  if (dialect === 'postgres') return postgres();
  if (dialect === 'mysql') return mysql(opts.mariadb ?? true);
  return mssql();
}

/* ---------------------------------------------------------------- PostgreSQL */

const PG_TYPES: Record<ColType, string> = { text: 'text', int: 'int4', float: 'float8', time: 'timestamptz', bool: 'boolean' };

function postgres(): SetSql {
  const q = (n: string) => `"${n}"`;
  const arrays = (cols: readonly Column[], rows: readonly unknown[][]) => {
    const out = cols.map(() => new Array<unknown>(rows.length));
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      for (let c = 0; c < cols.length; c++) out[c]![r] = row[c] ?? null;
    }
    return out;
  };
  const unnest = (cols: readonly Column[]) => `unnest(${cols.map((c) => `?::${PG_TYPES[c.type]}[]`).join(', ')})`;
  const names = (cols: readonly Column[]) => cols.map((c) => q(c.name)).join(', ');
  return {
    dialect: 'postgres',
    claimNeedsLookup: false,
    returnsIds: true,
    insert(table, cols, rows, conflict, returning) {
      if (!rows.length) return [];
      const onConflict = conflict ? ` on conflict (${conflict.map(q).join(', ')}) do nothing` : '';
      const ret = returning?.length ? ` returning ${returning.map(q).join(', ')}` : '';
      return [{ sql: `insert into ${q(table)} (${names(cols)}) select * from ${unnest(cols)}${onConflict}${ret}`, bindings: arrays(cols, rows) }];
    },
    insertNew(table, cols, rows, conflict) {
      return this.insert(table, cols, rows, conflict);
    },
    inserted(result) {
      return Number((result as { rowCount?: number | null }).rowCount ?? 0);
    },
    upsert(table, cols, keyCount, rows, mode, placeholder) {
      if (!rows.length) return [];
      const keys = cols.slice(0, keyCount).map((c) => q(c.name));
      const sets = cols.slice(keyCount).map((c) => (mode === 'coalesce' ? `${q(c.name)} = coalesce(excluded.${q(c.name)}, ${q(table)}.${q(c.name)})` : `${q(c.name)} = excluded.${q(c.name)}`));
      if (placeholder) sets.push(`${q('placeholder')} = false`);
      const action = sets.length ? `do update set ${sets.join(', ')}` : 'do nothing';
      return [
        {
          sql:
            `insert into ${q(table)} (${names(cols)}${placeholder ? `, ${q('placeholder')}` : ''}) select u.*${placeholder ? ', false' : ''} from ${unnest(cols)} as u` +
            ` on conflict (${keys.join(', ')}) ${action} returning ${q('id')}, ${keys.join(', ')}`,
          bindings: arrays(cols, rows),
        },
      ];
    },
    selectIds(table, keyCols, codes) {
      if (!codes.length) return [];
      return [{ sql: `select ${q('id')}, ${names(keyCols)} from ${q(table)} where ${q(keyCols[0]!.name)} = any(?::text[])`, bindings: [codes] }];
    },
    selectOne(table, keyCols, key) {
      return { sql: `select ${q('id')}, ${names(keyCols)} from ${q(table)} where ${keyCols.map((c) => `${q(c.name)} = ?`).join(' and ')}`, bindings: [...key] };
    },
    deleteIn(table, col, values) {
      if (!values.length) return [];
      return [{ sql: `delete from ${q(table)} where ${q(col.name)} = any(?::${PG_TYPES[col.type]}[])`, bindings: [values] }];
    },
    selectEventIds(ids) {
      return ids.length ? [{ sql: `select ${q('event_id')} from ${q('ingest_event')} where ${q('event_id')} = any(?::text[])`, bindings: [ids] }] : [];
    },
    claim(rows) {
      if (!rows.length) return [];
      return [
        {
          sql: `insert into ${q('ingest_event')} (${names(EVENT_COLS)}) select * from ${unnest(EVENT_COLS)} on conflict (${q('event_id')}) do nothing returning ${q('event_id')}`,
          bindings: arrays(EVENT_COLS, rows as unknown as unknown[][]),
        },
      ];
    },
  };
}

/* ---------------------------------------------------------------- MariaDB / MySQL */

/** Bound values per statement: well below MariaDB's 65,535 and its packet limit. */
const MYSQL_MAX_BINDINGS = 20_000;

function mysql(mariadb: boolean): SetSql {
  const q = (n: string) => `\`${n}\``;
  const names = (cols: readonly Column[]) => cols.map((c) => q(c.name)).join(', ');
  const values = (cols: readonly Column[], rows: readonly unknown[][], extra = '') => {
    const tuple = `(${cols.map(() => '?').join(', ')}${extra})`;
    const bindings: unknown[] = [];
    for (const row of rows) for (let c = 0; c < cols.length; c++) bindings.push(toMysql(row[c], cols[c]!.type));
    return { list: rows.map(() => tuple).join(', '), bindings };
  };
  const chunked = (cols: readonly Column[], rows: readonly unknown[][], make: (part: readonly unknown[][]) => Stmt) =>
    chunk(rows, Math.max(1, Math.floor(MYSQL_MAX_BINDINGS / Math.max(1, cols.length)))).map(make);
  return {
    dialect: 'mysql',
    claimNeedsLookup: !mariadb,
    returnsIds: false,
    insertNew(table, cols, rows) {
      if (!rows.length) return [];
      // The driver reports matched rows for ON DUPLICATE KEY UPDATE; INSERT IGNORE's affected rows are the inserted ones.
      return chunked(cols, rows, (part) => {
        const v = values(cols, part);
        return { sql: `insert ignore into ${q(table)} (${names(cols)}) values ${v.list}`, bindings: v.bindings };
      });
    },
    inserted(result) {
      const header = (result as unknown[])[0] as { affectedRows?: number } | undefined;
      return Number(header?.affectedRows ?? 0);
    },
    insert(table, cols, rows, conflict) {
      if (!rows.length) return [];
      // A no-op update skips a duplicate key without INSERT IGNORE, which would also hide other errors.
      const onDup = conflict ? ` on duplicate key update ${q(conflict[0]!)} = ${q(conflict[0]!)}` : '';
      return chunked(cols, rows, (part) => {
        const v = values(cols, part);
        return { sql: `insert into ${q(table)} (${names(cols)}) values ${v.list}${onDup}`, bindings: v.bindings };
      });
    },
    upsert(table, cols, keyCount, rows, mode, placeholder) {
      if (!rows.length) return [];
      const sets = cols.slice(keyCount).map((c) => (mode === 'coalesce' ? `${q(c.name)} = coalesce(values(${q(c.name)}), ${q(c.name)})` : `${q(c.name)} = values(${q(c.name)})`));
      if (placeholder) sets.push(`${q('placeholder')} = false`);
      if (!sets.length) sets.push(`${q(cols[0]!.name)} = ${q(cols[0]!.name)}`);
      return chunked(cols, rows, (part) => {
        const v = values(cols, part, placeholder ? ', false' : '');
        return {
          sql: `insert into ${q(table)} (${names(cols)}${placeholder ? `, ${q('placeholder')}` : ''}) values ${v.list} on duplicate key update ${sets.join(', ')}`,
          bindings: v.bindings,
        };
      });
    },
    selectIds(table, keyCols, codes) {
      return chunk(codes, MYSQL_MAX_BINDINGS).map((part) => ({
        sql: `select ${q('id')}, ${names(keyCols)} from ${q(table)} where ${q(keyCols[0]!.name)} in (${part.map(() => '?').join(', ')})`,
        bindings: [...part],
      }));
    },
    selectOne(table, keyCols, key) {
      return { sql: `select ${q('id')}, ${names(keyCols)} from ${q(table)} where ${keyCols.map((c) => `${q(c.name)} = ?`).join(' and ')}`, bindings: [...key] };
    },
    deleteIn(table, col, vals) {
      return chunk(vals, MYSQL_MAX_BINDINGS).map((part) => ({
        sql: `delete from ${q(table)} where ${q(col.name)} in (${part.map(() => '?').join(', ')})`,
        bindings: [...part],
      }));
    },
    selectEventIds(ids) {
      return chunk(ids, MYSQL_MAX_BINDINGS).map((part) => ({
        sql: `select ${q('event_id')} from ${q('ingest_event')} where ${q('event_id')} in (${part.map(() => '?').join(', ')})`,
        bindings: [...part],
      }));
    },
    claim(rows) {
      if (!rows.length) return [];
      return chunked(EVENT_COLS, rows as unknown as unknown[][], (part) => {
        const v = values(EVENT_COLS, part);
        // MariaDB returns only the rows INSERT IGNORE really inserted; MySQL has no RETURNING (see claimNeedsLookup).
        return mariadb
          ? { sql: `insert ignore into ${q('ingest_event')} (${names(EVENT_COLS)}) values ${v.list} returning ${q('event_id')}`, bindings: v.bindings }
          : { sql: `insert into ${q('ingest_event')} (${names(EVENT_COLS)}) values ${v.list}`, bindings: v.bindings };
      });
    },
  };
}

function toMysql(v: unknown, type: ColType): unknown {
  if (v === undefined || v === null) return null;
  if (type === 'time') return new Date(v as string);
  return v;
}

/* ---------------------------------------------------------------- SQL Server */

/** SQL Server allows 2,100 parameters per request; a table value constructor holds at most 1,000 rows. */
export const MSSQL_MAX_BINDINGS = 2_000;
export const MSSQL_MAX_ROWS = 1_000;

const MSSQL_TYPES: Record<ColType, string> = { text: 'nvarchar(500)', int: 'int', float: 'float', time: 'datetime2(3)', bool: 'bit' };

function mssql(): SetSql {
  const q = (n: string) => `[${n}]`;
  const names = (cols: readonly Column[], prefix = '') => cols.map((c) => prefix + q(c.name)).join(', ');
  /** A typed derived table `(select cast(v.c as type) as c, … from (values (?, …), …) as v (c, …)) as s`. */
  const source = (cols: readonly Column[], rows: readonly unknown[][]) => {
    const tuple = `(${cols.map(() => '?').join(', ')})`;
    const bindings: unknown[] = [];
    for (const row of rows) for (let c = 0; c < cols.length; c++) bindings.push(toMssql(row[c], cols[c]!.type));
    const casts = cols.map((c) => `cast(v.${q(c.name)} as ${MSSQL_TYPES[c.type]}) as ${q(c.name)}`).join(', ');
    return { sql: `(select ${casts} from (values ${rows.map(() => tuple).join(', ')}) as v (${names(cols)})) as s`, bindings };
  };
  const chunked = <T>(width: number, rows: readonly T[], make: (part: readonly T[]) => Stmt) =>
    chunk(rows, Math.max(1, Math.min(MSSQL_MAX_ROWS, Math.floor(MSSQL_MAX_BINDINGS / Math.max(1, width))))).map(make);
  const matchOn = (keys: readonly string[], a: string, b: string) => keys.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(' and ');
  const insertWhereNew = (table: string, cols: readonly Column[], rows: readonly unknown[][], conflict: readonly string[] | undefined, output: string) => {
    if (!rows.length) return [];
    return chunked(cols.length, rows, (part) => {
      const s = source(cols, part);
      const where = conflict ? ` where not exists (select 1 from ${q(table)} as t with (updlock, holdlock) where ${matchOn(conflict, 't', 's')})` : '';
      return { sql: `insert into ${q(table)} (${names(cols)})${output} select ${names(cols, 's.')} from ${s.sql}${where};`, bindings: s.bindings };
    });
  };
  return {
    dialect: 'mssql',
    claimNeedsLookup: false,
    returnsIds: false,
    insert(table, cols, rows, conflict) {
      return insertWhereNew(table, cols, rows, conflict, '');
    },
    insertNew(table, cols, rows, conflict) {
      // One output row per inserted row: their number is what was inserted.
      return insertWhereNew(table, cols, rows, conflict, ` output inserted.${q(cols[0]!.name)}`);
    },
    inserted(result) {
      return Array.isArray(result) ? result.length : 0;
    },
    upsert(table, cols, keyCount, rows, mode, placeholder) {
      if (!rows.length) return [];
      const keys = cols.slice(0, keyCount).map((c) => c.name);
      const sets = cols.slice(keyCount).map((c) => (mode === 'coalesce' ? `t.${q(c.name)} = coalesce(s.${q(c.name)}, t.${q(c.name)})` : `t.${q(c.name)} = s.${q(c.name)}`));
      if (placeholder) sets.push(`t.${q('placeholder')} = 0`);
      const insertCols = `${names(cols)}${placeholder ? `, ${q('placeholder')}` : ''}`;
      const insertVals = `${names(cols, 's.')}${placeholder ? ', 0' : ''}`;
      return chunked(cols.length, rows, (part) => {
        const s = source(cols, part);
        return {
          sql:
            `merge into ${q(table)} with (holdlock) as t using ${s.sql} on ${matchOn(keys, 't', 's')}` +
            (sets.length ? ` when matched then update set ${sets.join(', ')}` : '') +
            ` when not matched then insert (${insertCols}) values (${insertVals});`,
          bindings: s.bindings,
        };
      });
    },
    selectIds(table, keyCols, codes) {
      return chunked(1, codes, (part) => ({
        sql: `select ${q('id')}, ${names(keyCols)} from ${q(table)} where ${q(keyCols[0]!.name)} in (${part.map(() => '?').join(', ')});`,
        bindings: [...part],
      }));
    },
    selectOne(table, keyCols, key) {
      return { sql: `select ${q('id')}, ${names(keyCols)} from ${q(table)} where ${keyCols.map((c) => `${q(c.name)} = ?`).join(' and ')};`, bindings: [...key] };
    },
    deleteIn(table, col, vals) {
      return chunked(1, vals, (part) => ({ sql: `delete from ${q(table)} where ${q(col.name)} in (${part.map(() => '?').join(', ')});`, bindings: [...part] }));
    },
    selectEventIds(ids) {
      return chunked(1, ids, (part) => ({
        sql: `select ${q('event_id')} from ${q('ingest_event')} where ${q('event_id')} in (${part.map(() => '?').join(', ')});`,
        bindings: [...part],
      }));
    },
    claim(rows) {
      if (!rows.length) return [];
      return chunked(EVENT_COLS.length, rows as unknown as unknown[][], (part) => {
        const s = source(EVENT_COLS, part);
        return {
          sql:
            `insert into ${q('ingest_event')} (${names(EVENT_COLS)}) output inserted.${q('event_id')} select ${names(EVENT_COLS, 's.')} from ${s.sql}` +
            ` where not exists (select 1 from ${q('ingest_event')} as t with (updlock, holdlock) where t.${q('event_id')} = s.${q('event_id')});`,
          bindings: s.bindings,
        };
      });
    },
  };
}

function toMssql(v: unknown, type: ColType): unknown {
  if (v === undefined || v === null) return null;
  // datetime2 holds UTC without a zone; the ISO text minus its Z converts exactly (a Date would be bound as datetime, rounded to 1/300 s).
  if (type === 'time') return (v as string).endsWith('Z') ? (v as string).slice(0, -1) : v;
  return v;
}

export function chunk<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
