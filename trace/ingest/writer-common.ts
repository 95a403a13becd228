import type { TraceEvent } from './events.js';
import type { Entity } from './store-tables.js';

export interface WriteResult {
  /** Events stored (their id was new). */
  written: number;
  /** Events skipped because their id was already stored or repeated earlier in the input. */
  duplicates: number;
}

export interface WriteOptions {
  /**
   * False lets the database acknowledge the commit before its log reaches the disk (PostgreSQL
   * `synchronous_commit = off`; other stores ignore it). A run of such batches must end with a durable write or
   * `sync()`: a crash of the database server before that loses only whole batches, ids included, so running the
   * same input again writes them.
   */
  durable?: boolean;
}

/** Writes validated events to the trace store, one transaction per call. */
export interface EventWriter {
  /**
   * Writes a batch. With `concurrency` > 1 the next batches may be passed before this one is done (up to that
   * many in flight); they are applied in call order all the same.
   */
  write(events: readonly TraceEvent[], opts?: WriteOptions): Promise<WriteResult>;
  /** How many `write` calls may be in flight at once (1 when absent). */
  readonly concurrency?: number;
  /** Makes every batch written so far durable (after non-durable writes). */
  sync(): Promise<void>;
  /**
   * Opens one transaction for any number of batches, committed or rolled back as a whole: the ingest writes
   * while it validates and rolls back if a line turns out bad. Only where one long transaction is cheap and
   * holds little (SQLite: one commit instead of one per batch); undefined for the other stores.
   */
  atomic?(): Promise<AtomicWrite>;
}

/** Batches written inside one open transaction (see `EventWriter.atomic`). */
export interface AtomicWrite {
  /** Applies a batch inside the transaction (nothing is visible to others before `commit`). */
  write(events: readonly TraceEvent[]): Promise<WriteResult>;
  commit(): Promise<void>;
  /** Undoes every batch; safe to call after a failure or twice. */
  rollback(): Promise<void>;
}

/** Code → id per table, so that repeated codes are looked up once. Bounded: a table's map is cleared when it grows too big. */
export class IdCache {
  private readonly maps = new Map<Entity, Map<string, number>>();
  constructor(private readonly maxPerTable = 500_000) {}

  get(entity: Entity, key: string): number | undefined {
    return this.maps.get(entity)?.get(key);
  }

  set(entity: Entity, key: string, id: number): void {
    let m = this.maps.get(entity);
    if (!m) this.maps.set(entity, (m = new Map()));
    else if (m.size >= this.maxPerTable) m.clear();
    m.set(key, id);
  }

  /** Forgets everything (after a rolled-back transaction the cached ids may not exist). */
  clear(): void {
    this.maps.clear();
  }
}
