import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { dialectTargets, type TestDatabase } from './support/databases.js';
import { openTraceStore } from '../trace/store.js';
import type { DataSource } from '../datasources/data-source.js';

const targets = await dialectTargets();

describe.each(targets)('trace store schema on $label', (target) => {
  let tdb: TestDatabase;
  let db: DataSource;
  beforeAll(async () => {
    if (target.unavailable) return;
    tdb = await target.create();
    db = await openTraceStore(tdb.url);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it.skipIf(!!target.unavailable)('creates every table and migrates idempotently', async () => {
    const tables = ['supplier', 'customer', 'material', 'equipment', 'personnel', 'route', 'route_step', 'parameter_spec', 'work_order', 'lot', 'operation', 'lot_link', 'sample', 'inspection', 'alarm', 'shipment', 'ingest_event'];
    for (const t of tables) expect(await db.knex.schema.hasTable(t), t).toBe(true);
    const again = await openTraceStore(tdb.url);
    await again.close();
  });
});
