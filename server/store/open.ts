/**
 * Opening the server's config database: SQLite at DIR/server.sqlite by default, or any URL the data
 * sources take (postgres://… so several nodes share it). Migrated on open.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { DataSource } from '../../datasources/data-source.js';
import { migrateServerStore } from './migrate.js';
import { loadSecretKey } from './secret-key.js';

export const CONFIG_DB_ENV = 'TRACEREPORT_CONFIG_DB';

export interface ServerStoreOptions {
  /** Data folder: the SQLite config database and the key file (default ./data). */
  dataDir?: string;
  /** Config database URL (default $TRACEREPORT_CONFIG_DB or DIR/server.sqlite). */
  configDb?: string;
  /** Create the key file when missing (the server does; `audit verify` does not). */
  createKey?: boolean;
  migrate?: boolean;
}

export interface ServerStore {
  db: DataSource;
  knex: Knex;
  dataDir: string;
  secretKey: Buffer;
  close(): Promise<void>;
}

export function defaultDataDir(): string {
  return path.resolve('data');
}

export function configDbUrl(opts: ServerStoreOptions): string {
  const dataDir = path.resolve(opts.dataDir ?? defaultDataDir());
  return opts.configDb ?? process.env[CONFIG_DB_ENV] ?? path.join(dataDir, 'server.sqlite');
}

export async function openServerStore(opts: ServerStoreOptions = {}): Promise<ServerStore> {
  const dataDir = path.resolve(opts.dataDir ?? defaultDataDir());
  const { key } = loadSecretKey(dataDir, { create: opts.createKey ?? true });
  const db = new DataSource('config', configDbUrl(opts));
  if (db.dialect === 'sqlite' && db.spec.database !== ':memory:') fs.mkdirSync(path.dirname(db.spec.database), { recursive: true });
  try {
    if (opts.migrate ?? true) await migrateServerStore(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return { db, knex: db.knex, dataDir, secretKey: key, close: () => db.close() };
}

export const nowIso = (): string => new Date().toISOString();
