import type { DataSource } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import type { TraceEvent } from '../ingest/events.js';
import { ingestEvents } from '../ingest/ingest.js';
import { refreshStatistics, STATISTICS_REFRESH_ROWS } from '../statistics.js';
import type { DemoPlant } from './plant.js';

export { refreshStatistics } from '../statistics.js';

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
  // A bigger ingest refreshed the statistics itself.
  if (r.written > 0 && r.written <= STATISTICS_REFRESH_ROWS) await refreshStatistics(db);
  return { events, written: r.written, duplicates: r.duplicates, ms: performance.now() - started };
}
