/**
 * The databases every shared suite runs against. SQLite always; PostgreSQL and MariaDB when they answer
 * (with CI=true they must); SQL Server when MSSQL_URL is set. Each suite gets a database of its own, so
 * test files run in parallel without seeing each other's rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { DataSource } from '../../datasources/data-source.js';
import type { Dialect } from '../../datasources/source-url.js';

export const PG_ADMIN_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_ADMIN_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const MSSQL_URL = process.env.MSSQL_URL;

export interface TestDatabase {
  dialect: Dialect;
  /** URL of the fresh database made for this suite. */
  url: string;
  drop(): Promise<void>;
}

export interface DialectTarget {
  dialect: Dialect;
  label: string;
  /** Empty when available; otherwise why the suite is skipped. */
  unavailable: string;
  create(): Promise<TestDatabase>;
}

async function answers(url: string): Promise<string> {
  const ds = new DataSource('probe', url, { statementTimeoutMs: 5000 });
  try {
    await Promise.race([ds.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('no answer in 5 s')), 5000))]);
    return '';
  } catch (e) {
    return (e as Error).message;
  } finally {
    await ds.close().catch(() => undefined);
  }
}

function uniqueName(): string {
  return `tr_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const sqliteTarget: DialectTarget = {
  dialect: 'sqlite',
  label: 'sqlite',
  unavailable: '',
  async create() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-sqlite-'));
    const file = path.join(dir, 'trace.sqlite');
    return { dialect: 'sqlite', url: file, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  },
};

async function serverTarget(dialect: Dialect, label: string, adminUrl: string | undefined): Promise<DialectTarget> {
  const unavailable = adminUrl ? await answers(adminUrl) : `${label}: set MSSQL_URL (mssql://user:password@host:1433/db) to run it live; its generated SQL is still checked`;
  if (unavailable && process.env.CI === 'true' && dialect !== 'mssql') {
    throw new Error(`CI=true but ${label} at ${adminUrl} does not answer: ${unavailable}. .ci/run must start it.`);
  }
  if (unavailable) console.warn(`\n!!! SKIPPING ${label} suites: ${unavailable}\n`);
  return {
    dialect,
    label,
    unavailable,
    async create() {
      const name = uniqueName();
      const admin = knexFactory(new DataSource('admin', adminUrl!).spec.knexConfig);
      try {
        if (dialect === 'mysql') await admin.raw(`create database ${name} character set utf8mb4 collate utf8mb4_bin`);
        else await admin.raw(`create database ${name}`);
      } finally {
        await admin.destroy();
      }
      const url = withDatabase(adminUrl!, name);
      return {
        dialect,
        url,
        async drop() {
          const a = knexFactory(new DataSource('admin', adminUrl!).spec.knexConfig);
          try {
            if (dialect === 'postgres') await a.raw(`drop database if exists ${name} with (force)`);
            else if (dialect === 'mssql') await a.raw(`alter database ${name} set single_user with rollback immediate; drop database ${name}`);
            else await a.raw(`drop database if exists ${name}`);
          } finally {
            await a.destroy();
          }
        },
      };
    },
  };
}

/** Every dialect target, with unavailable ones marked (and loudly announced). */
export async function dialectTargets(): Promise<DialectTarget[]> {
  return [
    sqliteTarget,
    await serverTarget('postgres', 'postgres', PG_ADMIN_URL),
    await serverTarget('mysql', 'mariadb', MYSQL_ADMIN_URL),
    await serverTarget('mssql', 'mssql', MSSQL_URL),
  ];
}

/** Creates a table in a test database and fills it (server suites that register the database as a data source). */
export async function seedTable(url: string, table: string, build: (tb: import('knex').Knex.CreateTableBuilder) => void, rows: Record<string, unknown>[]): Promise<void> {
  const ds = new DataSource('setup', url);
  const knex = knexFactory(ds.spec.knexConfig);
  try {
    await knex.schema.createTable(table, build);
    await knex(table).insert(rows);
  } finally {
    await knex.destroy();
    await ds.close();
  }
}
