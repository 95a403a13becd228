import type { Knex } from 'knex';

/**
 * The trace store (DESIGN §6): master data, lots and their genealogy, operations, process samples,
 * inspections, alarms, shipments and the ingest ledger. Every code a fact refers to is resolved to an
 * integer id; a code seen before its own event becomes a placeholder row (placeholder = true) that the
 * event fills later.
 */
const time = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { useTz: true, precision: 3 });
/** A foreign key to table.id (unsigned, to match increments on MySQL). */
const ref = (t: Knex.CreateTableBuilder, name: string, table: string) => t.integer(name).unsigned().references(`${table}.id`);
const code = (t: Knex.CreateTableBuilder, name = 'code') => t.string(name, 64);

/** SQLite (better-sqlite3 reports the sqlite3 dialect); false for a knex without a client (DDL compiled in tests). */
const isSqlite = (knex: Knex) => (knex as { client?: { dialect?: string } }).client?.dialect === 'sqlite3';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('supplier', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    t.string('name', 200);
    t.string('country', 64);
    t.boolean('placeholder').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('customer', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    t.string('name', 200);
    t.string('country', 64);
    t.boolean('placeholder').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('material', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    t.string('name', 200);
    t.string('kind', 16); // raw | intermediate | finished
    t.string('uom', 16);
    t.boolean('placeholder').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('equipment', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    t.string('name', 200);
    t.string('equipment_class', 64);
    t.string('line', 64);
    t.string('area', 64);
    t.string('plant', 64);
    t.boolean('placeholder').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('personnel', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    t.string('name', 200);
    t.string('role', 64);
    t.boolean('placeholder').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('route', (t) => {
    t.increments('id').primary();
    code(t).notNullable();
    t.integer('version').notNullable();
    t.string('name', 200);
    ref(t, 'product_id', 'material');
    t.boolean('placeholder').notNullable().defaultTo(false);
    t.unique(['code', 'version']);
  });
  await knex.schema.createTable('route_step', (t) => {
    t.increments('id').primary();
    ref(t, 'route_id', 'route').notNullable();
    t.integer('seq').notNullable();
    t.string('operation', 100).notNullable();
    t.string('equipment_class', 64);
    t.unique(['route_id', 'seq']);
  });
  await knex.schema.createTable('parameter_spec', (t) => {
    t.increments('id').primary();
    ref(t, 'route_id', 'route').notNullable();
    t.integer('step_seq').notNullable();
    t.string('parameter', 64).notNullable();
    t.double('lsl');
    t.double('target');
    t.double('usl');
    t.string('unit', 16);
    t.unique(['route_id', 'step_seq', 'parameter']);
  });
  await knex.schema.createTable('work_order', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    ref(t, 'product_id', 'material');
    t.double('qty');
    ref(t, 'route_id', 'route');
    t.string('status', 16);
    t.string('erp_ref', 64);
    t.string('plant', 64);
    t.boolean('placeholder').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('lot', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    ref(t, 'material_id', 'material');
    t.double('qty');
    t.string('uom', 16);
    t.string('status', 16); // released | hold | quarantine | consumed | shipped
    ref(t, 'supplier_id', 'supplier');
    t.string('supplier_lot', 64);
    ref(t, 'work_order_id', 'work_order');
    time(t, 'produced_at');
    t.boolean('placeholder').notNullable().defaultTo(false);
    t.index(['material_id']);
    t.index(['supplier_id']);
    t.index(['work_order_id']);
  });
  await knex.schema.createTable('operation', (t) => {
    t.increments('id').primary();
    code(t).notNullable().unique();
    ref(t, 'work_order_id', 'work_order');
    ref(t, 'lot_id', 'lot');
    t.integer('step_seq');
    ref(t, 'equipment_id', 'equipment');
    ref(t, 'operator_id', 'personnel');
    time(t, 'started_at');
    time(t, 'ended_at');
    t.string('result', 16);
    t.index(['lot_id']);
    t.index(['equipment_id', 'started_at']);
  });
  await knex.schema.createTable('lot_link', (t) => {
    t.increments('id').primary();
    ref(t, 'input_lot_id', 'lot').notNullable();
    ref(t, 'output_lot_id', 'lot').notNullable();
    t.double('qty');
    ref(t, 'operation_id', 'operation');
    time(t, 'at');
    // The genealogy graph, indexed both ways: backward walks output -> input, forward input -> output.
    t.index(['output_lot_id', 'input_lot_id'], 'lot_link_backward');
    t.index(['input_lot_id', 'output_lot_id'], 'lot_link_forward');
  });
  const sample = (t: Knex.CreateTableBuilder) => {
    ref(t, 'equipment_id', 'equipment').notNullable();
    t.string('parameter', 64).notNullable();
    time(t, 'ts').notNullable();
    t.double('value').notNullable();
    t.string('quality', 16);
    t.primary(['equipment_id', 'parameter', 'ts']);
  };
  if (isSqlite(knex)) {
    // One b-tree ordered by the key instead of a rowid table plus a key index: one b-tree insert per sample instead of two.
    const [create, ...rest] = knex.schema.createTable('sample', sample).toSQL();
    await knex.raw(`${create!.sql} without rowid`, create!.bindings);
    for (const st of rest) await knex.raw(st.sql, st.bindings);
  } else {
    await knex.schema.createTable('sample', sample);
  }
  await knex.schema.createTable('inspection', (t) => {
    t.increments('id').primary();
    ref(t, 'lot_id', 'lot').notNullable();
    t.string('characteristic', 64).notNullable();
    t.double('value');
    t.double('lsl');
    t.double('usl');
    t.string('result', 16); // pass | fail
    ref(t, 'inspector_id', 'personnel');
    time(t, 'at');
    t.index(['lot_id']);
  });
  await knex.schema.createTable('alarm', (t) => {
    t.increments('id').primary();
    t.string('rule', 64).notNullable();
    ref(t, 'equipment_id', 'equipment');
    t.string('parameter', 64);
    t.double('value');
    t.double('limit_value');
    t.string('severity', 16);
    time(t, 'raised_at').notNullable();
    time(t, 'cleared_at');
    t.string('acked_by', 64);
    t.string('message', 500);
    t.index(['equipment_id', 'raised_at']);
  });
  await knex.schema.createTable('shipment', (t) => {
    t.increments('id').primary();
    ref(t, 'lot_id', 'lot').notNullable();
    ref(t, 'customer_id', 'customer').notNullable();
    t.double('qty');
    time(t, 'at');
    t.string('order_ref', 64);
    t.index(['lot_id']);
    t.index(['customer_id']);
  });
  await knex.schema.createTable('ingest_event', (t) => {
    t.string('event_id', 128).notNullable().primary();
    t.string('type', 32).notNullable();
    time(t, 'ingested_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'ingest_event', 'shipment', 'alarm', 'inspection', 'sample', 'lot_link', 'operation', 'lot', 'work_order',
    'parameter_spec', 'route_step', 'route', 'personnel', 'equipment', 'material', 'customer', 'supplier',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
