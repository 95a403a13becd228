import type { Knex } from 'knex';
import type { DataSource } from '../datasources/data-source.js';
import * as m001 from './migrations/001-trace-store.js';
import * as m002 from './migrations/002-sample-without-equipment-fk.js';
import * as m003 from './migrations/003-collector-status.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Migrations are compiled into the package (no files to find at run time), applied in name order. */
const MIGRATIONS: Record<string, Migration> = {
  '001-trace-store': m001,
  '002-sample-without-equipment-fk': m002,
  '003-collector-status': m003,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};

export const MIGRATION_TABLE = 'tr_migrations';

export interface MigrateResult {
  applied: string[];
  current: string[];
}

/** Brings the trace store's schema up to date; safe to run any number of times. */
export async function migrateTraceStore(db: DataSource): Promise<MigrateResult> {
  try {
    const [, applied] = (await db.knex.migrate.latest({ migrationSource: source, tableName: MIGRATION_TABLE })) as [number, string[]];
    const [completed] = (await db.knex.migrate.list({ migrationSource: source, tableName: MIGRATION_TABLE })) as [Array<{ name: string } | string>, unknown];
    return { applied, current: completed.map((c) => (typeof c === 'string' ? c : c.name)) };
  } catch (e) {
    throw db.wrapError(e);
  }
}

export async function rollbackTraceStore(db: DataSource): Promise<void> {
  await db.knex.migrate.rollback({ migrationSource: source, tableName: MIGRATION_TABLE }, true);
}
