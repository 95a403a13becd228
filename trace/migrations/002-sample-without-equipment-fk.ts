/**
 * The sample table keeps no foreign key to equipment on PostgreSQL, MySQL/MariaDB and SQL Server.
 *
 * Samples are the store's high-volume, append-only time series. On PostgreSQL the per-row check of that key
 * (an after-row trigger running a `SELECT … FOR KEY SHARE` on equipment for every sample) was measured at 45 %
 * of the server's work per sample (perf on the collector benchmark; without it MQTT → PostgreSQL went from
 * 47–49k to 69–70k samples/s). Integrity holds by construction: the only writers of samples (the ingest writer
 * and the collectors, through it) resolve each equipment code to the id of a committed equipment row, creating
 * a placeholder row first when the code is new, and nothing in TraceReport deletes equipment.
 *
 * SQLite keeps the key: its check is one index lookup, and dropping it would mean rebuilding the whole sample
 * table of an existing store.
 */
import type { Knex } from 'knex';

const isSqlite = (knex: Knex) => (knex as { client?: { dialect?: string } }).client?.dialect === 'sqlite3';

export async function up(knex: Knex): Promise<void> {
  if (isSqlite(knex)) return;
  await knex.schema.alterTable('sample', (t) => {
    t.dropForeign(['equipment_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  if (isSqlite(knex)) return;
  await knex.schema.alterTable('sample', (t) => {
    t.foreign('equipment_id').references('equipment.id');
  });
}
