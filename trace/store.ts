import fs from 'node:fs';
import path from 'node:path';
import { DataSource, type SourceOptions } from '../datasources/data-source.js';
import { migrateTraceStore } from './migrate.js';

/** Where the embedded trace store lives when no --db is given. */
export function defaultTraceDb(): string {
  return process.env.TRACEREPORT_DB || path.resolve('data', 'tracereport.sqlite');
}

/**
 * Opens the trace store (a data source named "trace"). For a SQLite file the folder is created.
 * With `migrate` (the default) the schema is brought up to date first.
 */
export async function openTraceStore(db: string = defaultTraceDb(), opts: SourceOptions & { migrate?: boolean } = {}): Promise<DataSource> {
  const source = new DataSource('trace', db, opts);
  if (source.dialect === 'sqlite' && source.spec.database !== ':memory:') {
    fs.mkdirSync(path.dirname(source.spec.database), { recursive: true });
  }
  if (opts.migrate ?? true) {
    try {
      await migrateTraceStore(source);
    } catch (e) {
      await source.close();
      throw e;
    }
  }
  return source;
}
