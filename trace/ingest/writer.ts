import type { DataSource } from '../../datasources/data-source.js';
import { createSetWriter } from './writer-sets.js';
import { createSqliteWriter } from './writer-sqlite.js';
import type { EventWriter } from './writer-common.js';

export type { AtomicWrite, EventWriter, WriteOptions, WriteResult } from './writer-common.js';

/** Events per transaction unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 5_000;

/**
 * A writer of validated events into the trace store of `db` (schema migrated). Each `write(batch)` is one
 * transaction; an event whose id is already stored is skipped as a duplicate; codes named before their own
 * event become placeholder rows, filled when it arrives.
 */
export function createEventWriter(db: DataSource): EventWriter {
  return db.dialect === 'sqlite' ? createSqliteWriter(db) : createSetWriter(db);
}
