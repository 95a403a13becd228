import type { Command } from 'commander';
import { DataSource } from '../datasources/data-source.js';
import { migrateTraceStore } from '../trace/migrate.js';
import { defaultTraceDb } from '../trace/store.js';
import { action, DB_OPTION_HELP } from './common.js';
import fs from 'node:fs';
import path from 'node:path';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('create or update the trace store schema')
    .option('--db <db>', DB_OPTION_HELP)
    .action(
      action(async (opts: { db?: string }) => {
        const ds = new DataSource('trace', opts.db ?? defaultTraceDb());
        if (ds.dialect === 'sqlite' && ds.spec.database !== ':memory:') fs.mkdirSync(path.dirname(ds.spec.database), { recursive: true });
        try {
          const r = await migrateTraceStore(ds);
          const what = r.applied.length ? `applied ${r.applied.join(', ')}` : 'already up to date';
          process.stdout.write(`trace store ${ds.display}: ${what} (${r.current.length} migrations)\n`);
        } finally {
          await ds.close();
        }
      }),
    );
}
