import type { Knex } from 'knex';

/**
 * Embed links as issued: one row per token (by its jti), so that a link can be listed and revoked one by one.
 * A token without a row (made before this table existed, or not by this server's store) is refused.
 */
const iso = (t: Knex.CreateTableBuilder, name: string) => t.string(name, 30);

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('srv_embed_link', (t) => {
    t.string('jti', 32).primary();
    t.integer('template_id').notNullable();
    t.integer('version').notNullable();
    t.text('params').notNullable(); // JSON object: the locked parameter values
    t.string('created_by', 64).notNullable();
    iso(t, 'created_at').notNullable();
    iso(t, 'expires_at').notNullable();
    iso(t, 'revoked_at');
    t.string('revoked_by', 64);
    t.index(['created_by']);
    t.index(['template_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('srv_embed_link');
}
