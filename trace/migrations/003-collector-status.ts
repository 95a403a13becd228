/**
 * `collector_status`: one row per collector process (`tracereport collect`), upserted by its heartbeat every 5 s
 * (collectors/heartbeat.ts) and read by the server for `GET /api/collectors`, `/metrics` and the viewer's
 * collectors page. Collectors and servers are separate processes, often on separate machines (DESIGN §8, §9):
 * the trace store they share is the link.
 *
 * `id` names the collector (`--name`, else `<host>:<journal folder>`); `status` is the collector's status as JSON
 * text (pipeline counters, drivers, rules; no secrets); `state` is `running`, `full`, `stopping` or `stopped`;
 * `interval_ms` is the heartbeat interval the row is refreshed at, so a reader knows when it is stale.
 */
import type { Knex } from 'knex';

const time = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { useTz: true, precision: 3 });

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('collector_status', (t) => {
    t.string('id', 255).notNullable().primary();
    t.string('host', 255).notNullable();
    t.integer('pid').notNullable();
    time(t, 'started_at').notNullable();
    time(t, 'updated_at').notNullable();
    t.integer('interval_ms').notNullable();
    t.string('state', 16).notNullable();
    // MySQL/MariaDB: mediumtext (text holds 64 KiB); the other stores take the type for long text.
    t.text('status', 'mediumtext');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('collector_status');
}
