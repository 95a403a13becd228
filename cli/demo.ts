import type { Command } from 'commander';
import { demoPlant, DEFAULT_DEMO_LOTS, DEFAULT_DEMO_SEED, DEFAULT_SAMPLES_PER_PARAMETER, type DemoPlant } from '../trace/demo/index.js';
import { loadDemoPlant, type LoadResult } from '../trace/demo/load.js';
import { action, DB_OPTION_HELP, parsePositiveInt, withTraceStore } from './common.js';
import { progressBar } from './progress.js';

interface GenerateOptions {
  db?: string;
  lots: number;
  seed: string;
  samples: number;
  json?: boolean;
}

export function register(program: Command): void {
  const demo = program.command('demo').description('the demo plant: a generated plastics plant with a planted supplier-lot incident');
  demo
    .command('generate')
    .description('generate the demo plant into the trace store (deterministic for a seed; running it again writes nothing new)')
    .option('--db <db>', DB_OPTION_HELP)
    .option('--lots <n>', 'lots in the plant: raw, intermediate and finished', parsePositiveInt('--lots'), DEFAULT_DEMO_LOTS)
    .option('--seed <seed>', 'random seed: the same seed gives the same plant', DEFAULT_DEMO_SEED)
    .option('--samples <n>', 'process samples per parameter per operation (fewer for big plants)', parsePositiveInt('--samples'), DEFAULT_SAMPLES_PER_PARAMETER)
    .option('--json', 'print {incident, lots, events, ...} as one JSON object')
    .action(
      action(async (opts: GenerateOptions) => {
        const started = performance.now();
        const plant = demoPlant({ lots: opts.lots, seed: opts.seed, samplesPerParameter: opts.samples });
        const result = await withTraceStore(opts.db, async (ds) => {
          const bar = progressBar('demo plant', plant.estimatedEvents, 'events');
          try {
            return { ...(await loadDemoPlant(ds, plant, { onProgress: (done) => bar.update(Math.min(done, plant.estimatedEvents)) })), db: ds.display };
          } finally {
            bar.stop();
          }
        });
        const seconds = (performance.now() - started) / 1000;
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({
              incident: plant.incident,
              lots: plant.counts.lots,
              events: result.events,
              written: result.written,
              duplicates: result.duplicates,
              counts: plant.counts,
              seed: plant.options.seed,
              samplesPerParameter: plant.options.samplesPerParameter,
              db: result.db,
              seconds: Math.round(seconds * 1000) / 1000,
            })}\n`,
          );
          return;
        }
        process.stdout.write(summary(plant, result, seconds, opts.db));
      }),
    );
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** A shell word: quoted when it holds anything but safe characters. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function list(items: string[], max = 12): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} … (${items.length - max} more)`;
}

function summary(plant: DemoPlant, r: LoadResult & { db: string }, seconds: number, db: string | undefined): string {
  const c = plant.counts;
  const i = plant.incident;
  const rate = r.ms > 0 ? Math.round((r.events / r.ms) * 1000) : 0;
  const dbArg = db ? ` --db ${shellWord(db)}` : '';
  const stored =
    r.written === 0
      ? `nothing new: all ${fmt(r.events)} events were already in the store`
      : `${fmt(r.written)} new events written${r.duplicates ? `, ${fmt(r.duplicates)} already stored` : ''}`;
  return [
    `Demo plant (seed "${plant.options.seed}") into ${r.db}:`,
    `  ${fmt(c.lots)} lots (${fmt(c.raw)} raw, ${fmt(c.intermediate)} intermediate, ${fmt(c.finished)} finished), ${fmt(c.operations)} operations, ${fmt(c.shipments)} shipments`,
    `  ${fmt(r.events)} events in ${seconds.toFixed(1)} s (stored at ${fmt(rate)} events/s); ${stored}`,
    '',
    `Planted incident: supplier lot ${i.supplierLot} of ${i.material} from ${i.supplier} (their lot ${i.vendorLot})`,
    `  pushed ${i.parameter} above its USL on ${list(i.equipment)} (alarms raised, inspections failed)`,
    `  went into ${i.intermediateLots.length} intermediate lots: ${list(i.intermediateLots)}`,
    `  reached ${i.finishedLots.length} finished lots: ${list(i.finishedLots)}`,
    `  shipped to ${i.customers.length} customers: ${list(i.customers)}`,
    '',
    'Trace it:',
    `  tracereport trace forward ${i.supplierLot}${dbArg}     # every lot and customer it reached: the recall list`,
    `  tracereport trace backward ${i.sampleFinishedLot}${dbArg}    # one affected part back to its raw materials and suppliers`,
    '',
  ].join('\n');
}
