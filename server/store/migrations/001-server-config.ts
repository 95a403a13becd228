import type { Knex } from 'knex';

/**
 * The server's own database (DESIGN §8–§9): users and roles, sessions, login failures (rate limit),
 * folders and per-folder grants, data sources (passwords encrypted), templates with versions, and the
 * hash-chained audit trail. Times are ISO-8601 UTC text so they compare, hash and round-trip the
 * same on SQLite and PostgreSQL.
 */
const iso = (t: Knex.CreateTableBuilder, name: string) => t.string(name, 30);

export const ROLES = ['admin', 'designer', 'viewer', 'operator', 'auditor'] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('srv_role', (t) => {
    t.string('name', 32).primary();
    t.string('description', 200);
  });
  await knex('srv_role').insert([
    { name: 'admin', description: 'everything: users, grants, data sources, templates' },
    { name: 'designer', description: 'builds and changes reports in folders granted edit' },
    { name: 'viewer', description: 'views and exports reports in folders granted view/export; traces lots' },
    { name: 'operator', description: 'views reports granted to operators; traces lots; fills forms' },
    { name: 'auditor', description: 'reads and exports the audit trail' },
  ]);
  await knex.schema.createTable('srv_user', (t) => {
    t.increments('id').primary();
    t.string('username', 64).notNullable().unique();
    t.string('display_name', 200);
    t.string('password_hash', 300).notNullable();
    t.text('attributes'); // JSON object: row-level security values such as plant
    t.boolean('disabled').notNullable().defaultTo(false);
    iso(t, 'created_at').notNullable();
    iso(t, 'password_changed_at').notNullable();
  });
  await knex.schema.createTable('srv_user_role', (t) => {
    t.integer('user_id').unsigned().notNullable().references('srv_user.id').onDelete('CASCADE');
    t.string('role', 32).notNullable().references('srv_role.name');
    t.primary(['user_id', 'role']);
  });
  await knex.schema.createTable('srv_session', (t) => {
    // SHA-256 of the cookie token: reading the table does not give a usable session.
    t.string('id_hash', 64).primary();
    t.integer('user_id').unsigned().notNullable().references('srv_user.id').onDelete('CASCADE');
    t.string('csrf_token', 64).notNullable();
    t.string('address', 64);
    iso(t, 'created_at').notNullable();
    iso(t, 'last_seen_at').notNullable();
    iso(t, 'expires_at').notNullable();
    t.index(['expires_at']);
  });
  await knex.schema.createTable('srv_login_failure', (t) => {
    t.increments('id').primary();
    t.string('kind', 16).notNullable(); // user | address
    t.string('key', 200).notNullable();
    iso(t, 'at').notNullable();
    t.index(['kind', 'key', 'at']);
  });
  await knex.schema.createTable('srv_folder', (t) => {
    t.increments('id').primary();
    t.string('name', 200).notNullable().unique();
    iso(t, 'created_at').notNullable();
  });
  await knex.schema.createTable('srv_folder_grant', (t) => {
    t.increments('id').primary();
    t.integer('folder_id').unsigned().notNullable().references('srv_folder.id').onDelete('CASCADE');
    t.string('subject_kind', 8).notNullable(); // role | user
    t.string('subject', 64).notNullable();
    t.string('permission', 8).notNullable(); // view | export | edit
    t.unique(['folder_id', 'subject_kind', 'subject', 'permission']);
  });
  await knex.schema.createTable('srv_data_source', (t) => {
    t.increments('id').primary();
    t.string('name', 64).notNullable().unique();
    t.string('url', 1000).notNullable(); // without the password
    t.text('password_enc'); // AES-256-GCM: base64(iv | tag | ciphertext)
    t.integer('row_limit');
    t.integer('statement_timeout_ms');
    iso(t, 'created_at').notNullable();
    iso(t, 'updated_at').notNullable();
  });
  await knex.schema.createTable('srv_template', (t) => {
    t.increments('id').primary();
    t.integer('folder_id').unsigned().notNullable().references('srv_folder.id');
    t.string('name', 200).notNullable();
    t.string('kind', 16).notNullable();
    t.integer('current_version').notNullable();
    t.boolean('deleted').notNullable().defaultTo(false);
    iso(t, 'created_at').notNullable();
    iso(t, 'updated_at').notNullable();
    t.index(['folder_id']);
  });
  await knex.schema.createTable('srv_template_version', (t) => {
    t.increments('id').primary();
    t.integer('template_id').unsigned().notNullable().references('srv_template.id').onDelete('CASCADE');
    t.integer('version').notNullable();
    t.text('body', 'mediumtext').notNullable();
    t.string('note', 500);
    t.string('created_by', 64);
    iso(t, 'created_at').notNullable();
    t.unique(['template_id', 'version']);
  });
  await knex.schema.createTable('srv_audit', (t) => {
    t.bigInteger('seq').primary(); // 1, 2, 3 … with no gaps
    iso(t, 'at').notNullable();
    t.string('user_name', 64);
    t.string('address', 64);
    t.string('action', 64).notNullable();
    t.string('object', 300);
    t.text('params');
    t.text('before');
    t.text('after');
    t.string('prev_hash', 64).notNullable();
    t.string('hash', 64).notNullable();
    t.index(['at']);
  });
  // The chain's head, locked while a row is appended so concurrent writers (several nodes) queue.
  await knex.schema.createTable('srv_audit_head', (t) => {
    t.integer('id').primary();
    t.bigInteger('seq').notNullable();
    t.string('hash', 64).notNullable();
  });
  await knex('srv_audit_head').insert({ id: 1, seq: 0, hash: '0'.repeat(64) });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of [
    'srv_audit_head',
    'srv_audit',
    'srv_template_version',
    'srv_template',
    'srv_data_source',
    'srv_folder_grant',
    'srv_folder',
    'srv_login_failure',
    'srv_session',
    'srv_user_role',
    'srv_user',
    'srv_role',
  ]) {
    await knex.schema.dropTableIfExists(t);
  }
}
