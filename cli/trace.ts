import type { Command } from 'commander';
import { traceGenealogy, DEFAULT_MAX_DEPTH, MAX_DEPTH, type Direction } from '../trace/genealogy.js';
import { traceDetail } from '../trace/detail.js';
import { formatGenealogy } from '../trace/genealogy-text.js';
import { TraceReportError } from '../datasources/errors.js';
import { action, withTraceStore, DB_OPTION_HELP } from './common.js';

interface TraceOpts {
  db?: string;
  depth?: number;
  json?: boolean;
  detail?: boolean;
}

const ABOUT: Record<Direction, string> = {
  backward: 'every input lot of LOT, down to raw material and supplier',
  forward: 'every lot LOT went into, down to shipments and customers (a recall list)',
};

function parseDepth(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > MAX_DEPTH) {
    throw new TraceReportError('ARGUMENT_INVALID', `--depth must be a whole number from 0 to ${MAX_DEPTH}, got "${v}"`);
  }
  return n;
}

/** `tracereport trace backward|forward LOT [--db DB] [--depth N] [--json] [--detail]` */
export function register(program: Command): void {
  const trace = program.command('trace').description('genealogy of a lot: backward to raw materials and suppliers, forward to shipments and customers');
  for (const direction of ['backward', 'forward'] as const) {
    trace
      .command(direction)
      .description(ABOUT[direction])
      .argument('<lot>', 'lot code')
      .option('--db <db>', DB_OPTION_HELP)
      .option('--depth <n>', `deepest level walked, 0 to ${MAX_DEPTH} (default ${DEFAULT_MAX_DEPTH})`, parseDepth)
      .option('--json', 'print one JSON object: root, direction, lots, edges, shipments, cycles, truncated (and detail)')
      .option('--detail', "add each lot's operations, process parameters against spec, inspections and alarms")
      .action(
        action(async (lot: string, opts: TraceOpts) => {
          await withTraceStore(opts.db, async (db) => {
            const g = await traceGenealogy(db, lot, { direction, maxDepth: opts.depth });
            const detail = opts.detail ? await traceDetail(db, g.lots.map((l) => l.lot)) : undefined;
            if (opts.json) {
              process.stdout.write(JSON.stringify(detail ? { ...g, detail } : g, null, 2) + '\n');
            } else {
              process.stdout.write(formatGenealogy(g, detail, { maxDepth: opts.depth ?? DEFAULT_MAX_DEPTH }));
            }
          });
        }),
      );
  }
}
