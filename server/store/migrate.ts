import type { Knex } from 'knex';
import type { DataSource } from '../../datasources/data-source.js';
import * as m001 from './migrations/001-server-config.js';
import * as m002 from './migrations/002-embed-links.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Compiled into the package like the trace store's; own table so both can share one database. */
const MIGRATIONS: Record<string, Migration> = { '001-server-config': m001, '002-embed-links': m002 };

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};

export const SERVER_MIGRATION_TABLE = 'srv_migrations';

export async function migrateServerStore(db: DataSource): Promise<string[]> {
  try {
    const [, applied] = (await db.knex.migrate.latest({ migrationSource: source, tableName: SERVER_MIGRATION_TABLE })) as [number, string[]];
    return applied;
  } catch (e) {
    throw db.wrapError(e);
  }
}
