import type { DataSource } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import type { TraceEvent } from '../ingest/events.js';
import { ingestEvents } from '../ingest/ingest.js';
import type { DemoPlant } from './plant.js';

export interface LoadResult {
  /** Events streamed into the store. */
  events: number;
  /** Events newly stored; the rest were already there (a second run writes nothing). */
  written: number;
  duplicates: number;
  ms: number;
}

export interface LoadOptions {
  batchSize?: number;
  /** Called now and then with the events streamed so far. */
  onProgress?: (done: number) => void;
}

/**
 * Whether the store holds this plant already (its first event), nothing, or other lots: a different demo
 * plant or real data, whose lot codes the demo's would collide with.
 */
export async function demoPlantState(db: DataSource, plant: DemoPlant): Promise<'empty' | 'same' | 'other'> {
  const mine = await db.query('select event_id from ingest_event where event_id = :id', { id: plant.firstEventId });
  if (mine.length) return 'same';
  const lots = await db.query('select id from lot where id = (select min(id) from lot)');
  return lots.length ? 'other' : 'empty';
}

/**
 * Streams a demo plant into a trace store through the ingest path (batched, idempotent on event ids).
 * Refuses a store that holds other lots: the demo's lot codes would mix with them.
 */
export async function loadDemoPlant(db: DataSource, plant: DemoPlant, opts: LoadOptions = {}): Promise<LoadResult> {
  if ((await demoPlantState(db, plant)) === 'other') {
    const o = plant.options;
    throw new TraceReportError(
      'ARGUMENT_INVALID',
      `the trace store ${db.display} already holds lots that are not this demo plant (lots ${o.lots}, seed "${o.seed}", samples ${o.samplesPerParameter}); ` +
        'generate the demo into an empty store (--db PATH) or repeat the options it was generated with',
      { db: db.display },
    );
  }
  const started = performance.now();
  let events = 0;
  function* counted(): Generator<TraceEvent> {
    for (const e of plant.events()) {
      events++;
      yield e;
    }
  }
  const r = await ingestEvents(db, counted(), { batchSize: opts.batchSize, onProgress: opts.onProgress });
  if (r.written > 0) await refreshStatistics(db);
  return { events, written: r.written, duplicates: r.duplicates, ms: performance.now() - started };
}

/** The tables a bulk load fills; their planner statistics go stale after it. */
const LOADED_TABLES = ['lot', 'lot_link', 'operation', 'sample', 'inspection', 'alarm', 'shipment', 'work_order', 'material', 'equipment', 'personnel'];

/**
 * Refreshes the planner's statistics after a bulk load. Without it PostgreSQL plans the genealogy and
 * detail queries of a freshly loaded million-lot store as if its tables were tiny (hash joins over
 * sequential scans of lot and operation: seconds instead of milliseconds) until autovacuum catches up.
 * SQLite plans these queries well without statistics; SQL Server updates its statistics automatically.
 */
export async function refreshStatistics(db: DataSource): Promise<void> {
  if (db.dialect === 'postgres') await db.query(`ANALYZE ${LOADED_TABLES.join(', ')}`);
  else if (db.dialect === 'mysql') await db.query(`ANALYZE TABLE ${LOADED_TABLES.join(', ')}`);
}
