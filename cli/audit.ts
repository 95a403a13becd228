import fs from 'node:fs';
import path from 'node:path';
import { TraceReportError } from '../datasources/errors.js';
import { parseSourceUrl } from '../datasources/source-url.js';
import type { Command } from 'commander';
import { auditKey } from '../server/audit/chain.js';
import { verifyAudit } from '../server/audit/verify.js';
import { openServerStore, configDbUrl, CONFIG_DB_ENV } from '../server/store/open.js';
import { SECRET_KEY_ENV } from '../server/store/secret-key.js';
import { action } from './common.js';

interface VerifyOpts {
  dataDir?: string;
  configDb?: string;
  json?: boolean;
}

/** `tracereport audit verify [--data-dir DIR] [--config-db URL] [--json]`: exit 0 when the chain is intact, 1 otherwise. */
export function register(program: Command): void {
  const audit = program.command('audit').description("the server's hash-chained audit trail");
  audit
    .command('verify')
    .description('walk the audit chain; report every row that was changed, removed or inserted (exit 1) or OK (exit 0)')
    .option('--data-dir <dir>', `server data folder holding server.sqlite and secret.key (default ./data; the key may come from ${SECRET_KEY_ENV})`)
    .option('--config-db <url>', `config database instead of DIR/server.sqlite (default $${CONFIG_DB_ENV})`)
    .option('--json', 'print {ok, rows, head, problems} as JSON')
    .action(
      action(async (opts: VerifyOpts) => {
        const spec = parseSourceUrl(configDbUrl({ dataDir: opts.dataDir, configDb: opts.configDb }));
        if (spec.dialect === 'sqlite' && !fs.existsSync(spec.database)) {
          throw new TraceReportError('ARGUMENT_INVALID', `no server database at ${spec.database}; give the --data-dir the server runs with (or --config-db)`);
        }
        const store = await openServerStore({ dataDir: opts.dataDir ? path.resolve(opts.dataDir) : undefined, configDb: opts.configDb, createKey: false, migrate: false });
        try {
          const r = await verifyAudit(store.knex, auditKey(store.secretKey));
          if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          else if (r.ok) process.stdout.write(`OK: ${r.rows} audit rows, chain intact up to row ${r.head.seq} (head ${r.head.hash})\n`);
          else {
            process.stdout.write(`BROKEN: ${r.problems.length} problem(s) in ${r.rows} audit rows\n`);
            for (const p of r.problems) process.stdout.write(`  row ${p.seq}: ${p.kind}: ${p.message}\n`);
          }
          if (!r.ok) process.exitCode = 1;
        } finally {
          await store.close();
        }
      }),
    );
}
