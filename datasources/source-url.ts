import path from 'node:path';
import type { Knex } from 'knex';
import { SqliteClient } from './sqlite-client.js';
import { TraceReportError } from './errors.js';

export type Dialect = 'sqlite' | 'postgres' | 'mysql' | 'mssql';

export interface SourceSpec {
  dialect: Dialect;
  /** Knex connection settings for this source. */
  knexConfig: Knex.Config;
  /** Where the source lives, safe to print (never contains a password). */
  display: string;
  /** Database name (or file path for SQLite). */
  database: string;
}

/** Bare words that name a database kind: taken for a SQLite file name they would make a new empty file by mistake. */
const DIALECT_WORDS = new Set(['postgres', 'postgresql', 'pg', 'mysql', 'mariadb', 'mssql', 'sqlserver', 'sqlite']);

/**
 * Parses a data-source URL: a file path or `sqlite:PATH` for SQLite, `postgres://`, `postgresql://`,
 * `mysql://`, `mariadb://` or `mssql://`/`sqlserver://`.
 */
export function parseSourceUrl(url: string): SourceSpec {
  const trimmed = url.trim();
  if (!trimmed) {
    throw new TraceReportError('SOURCE_URL_INVALID', 'data-source URL is empty; give a file path, sqlite:PATH, postgres://, mysql:// or mssql:// URL');
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (!scheme || scheme === 'sqlite' || scheme === 'file' || scheme.length === 1 /* windows drive */) {
    let file = trimmed;
    if (scheme === 'sqlite' || scheme === 'file') file = trimmed.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, '');
    if (!scheme && DIALECT_WORDS.has(trimmed.toLowerCase())) {
      throw new TraceReportError(
        'SOURCE_URL_INVALID',
        `"${trimmed}" names a kind of database, not where one is: give a URL such as postgres://user@127.0.0.1:5432/db, mysql://root@127.0.0.1:3306/db or mssql://user:password@host:1433/db (for a SQLite file of that name, write ./${trimmed})`,
      );
    }
    if (file === ':memory:') {
      return { dialect: 'sqlite', knexConfig: sqliteConfig(':memory:'), display: 'sqlite::memory:', database: ':memory:' };
    }
    const abs = path.resolve(file);
    return { dialect: 'sqlite', knexConfig: sqliteConfig(abs), display: `sqlite:${abs}`, database: abs };
  }
  let u: URL;
  try {
    u = new URL(trimmed);
  } catch {
    throw new TraceReportError('SOURCE_URL_INVALID', `data-source URL is not a valid URL: ${redactUrl(trimmed)}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const host = u.hostname || '127.0.0.1';
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const display = `${scheme}://${user ? `${user}@` : ''}${host}${u.port ? `:${u.port}` : ''}/${database}`;
  const params = Object.fromEntries(u.searchParams.entries());
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return {
        dialect: 'postgres',
        display,
        database,
        knexConfig: {
          client: 'pg',
          connection: {
            host,
            port: u.port ? Number(u.port) : 5432,
            user: user || 'postgres',
            password: password || undefined,
            database: database || 'postgres',
            ssl: params.sslmode && params.sslmode !== 'disable' ? { rejectUnauthorized: params.sslmode === 'verify-full' } : undefined,
          },
          pool: { min: 0, max: 10 },
        },
      };
    case 'mysql':
    case 'mariadb':
      return {
        dialect: 'mysql',
        display,
        database,
        knexConfig: {
          client: 'mysql2',
          connection: {
            host,
            port: u.port ? Number(u.port) : 3306,
            user: user || 'root',
            password: password || undefined,
            database: database || undefined,
            timezone: 'Z',
            dateStrings: false,
            decimalNumbers: true,
            supportBigNumbers: true,
            multipleStatements: false,
            charset: 'utf8mb4',
          },
          pool: { min: 0, max: 10 },
        },
      };
    case 'mssql':
    case 'sqlserver':
      return {
        dialect: 'mssql',
        display,
        database,
        knexConfig: {
          client: 'mssql',
          connection: {
            server: host,
            port: u.port ? Number(u.port) : 1433,
            user: user || 'sa',
            password: password || undefined,
            database: database || 'master',
            options: {
              encrypt: params.encrypt === 'true',
              trustServerCertificate: params.trustServerCertificate !== 'false',
            },
          },
          pool: { min: 0, max: 10 },
        } as Knex.Config,
      };
    default:
      throw new TraceReportError(
        'SOURCE_URL_INVALID',
        `unsupported data-source scheme "${scheme}:"; use a file path, sqlite:PATH, postgres://, mysql:// (MariaDB too) or mssql://`,
      );
  }
}

function sqliteConfig(filename: string): Knex.Config {
  return {
    // knex's better-sqlite3 client, keeping prepared statements (sqlite-client.ts).
    client: SqliteClient as unknown as typeof Knex.Client,
    connection: { filename },
    useNullAsDefault: true,
    pool: { min: 1, max: 1 },
  };
}

/** Replaces the password in a URL-looking string so that it can be printed. */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/[^/:@\s]*:)[^@\s]*@/g, '$1***@');
}
