/**
 * knex's better-sqlite3 client, keeping the statements it prepares. knex prepares every query anew, and on the
 * server's cached page that preparation was ≈ 9 % of the CPU (docs/performance.md): the same few statements
 * (session, template, audit) run on every request. Each connection keeps its last 256 statements by SQL text
 * (the values are bound, so the texts repeat); SQLite re-prepares a kept statement by itself after a schema change.
 * Only knex's queries use them: code that prepares on the raw connection (streams, the ingest writer) gets its own
 * statements as before, so a statement's modes (pluck, iterate) never leak between users.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { createRequire } from 'node:module';

/** Statements kept per connection. */
export const KEPT_STATEMENTS = 256;

/** What this client uses of knex's better-sqlite3 client (knex ships it without types). */
interface KnexBetterSqlite3Client {
  _formatBindings(bindings: unknown[] | undefined): unknown[];
  _optSafeIntegers(options: unknown): boolean | undefined;
}
interface QueryObject {
  sql?: string;
  bindings?: unknown[];
  options?: unknown;
  response?: unknown;
  context?: { lastID: number | bigint; changes: number };
}

const BaseClient = createRequire(import.meta.url)('knex/lib/dialects/better-sqlite3/index.js') as new (config: unknown) => KnexBetterSqlite3Client;

const kept = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

/** The connection's statement for `sql`, prepared once and kept (least recently used dropped beyond the limit). */
export function keptStatement(connection: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
  let statements = kept.get(connection);
  if (!statements) kept.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (statement) {
    statements.delete(sql);
  } else {
    statement = connection.prepare(sql);
    if (statements.size >= KEPT_STATEMENTS) statements.delete(statements.keys().next().value!);
  }
  statements.set(sql, statement);
  return statement;
}

/** The better-sqlite3 client with kept statements: pass the class as knex's `client`. */
export class SqliteClient extends BaseClient {
  /** knex's own query step (knex/lib/dialects/better-sqlite3), with the statement taken from the connection's kept ones. */
  async _query(connection: BetterSqlite3.Database, obj: QueryObject): Promise<QueryObject> {
    if (!obj.sql) throw new Error('The query is empty');
    if (!connection) throw new Error('No connection provided');
    const safeIntegers = this._optSafeIntegers(obj.options);
    // A statement switched to safe integers for one query would keep it: such queries get one of their own.
    const statement = safeIntegers === undefined ? keptStatement(connection, obj.sql) : connection.prepare(obj.sql).safeIntegers(safeIntegers);
    const bindings = this._formatBindings(obj.bindings);
    if (statement.reader) {
      obj.response = statement.all(bindings);
      return obj;
    }
    const response = statement.run(bindings);
    obj.response = response;
    obj.context = { lastID: response.lastInsertRowid, changes: response.changes };
    return obj;
  }
}
