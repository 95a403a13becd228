import type { Command } from 'commander';
import { action } from './common.js';

/** `tracereport routes [--json]`: the server's route table with each route's required permission. */
export function register(program: Command): void {
  program
    .command('routes')
    .description("print the server's route table: method, path, required permission (or public), from the table the server enforces")
    .option('--json', 'print a JSON array of {method, path, permission, summary}')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { routeTable } = await import('../server/routes/table.js');
        const table = routeTable();
        if (opts.json) {
          process.stdout.write(JSON.stringify(table, null, 2) + '\n');
          return;
        }
        const w = (k: 'method' | 'path' | 'permission') => Math.max(...table.map((r) => r[k].length), k.length);
        const [wm, wp, wq] = [w('method'), w('path'), w('permission')];
        const line = (m: string, p: string, q: string, s: string) => `${m.padEnd(wm)}  ${p.padEnd(wp)}  ${q.padEnd(wq)}  ${s}`;
        process.stdout.write([line('METHOD', 'PATH', 'PERMISSION', 'WHAT'), ...table.map((r) => line(r.method, r.path, r.permission, r.summary))].join('\n') + '\n');
      }),
    );
}
