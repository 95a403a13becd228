import fs from 'node:fs';
import type { Command } from 'commander';
import { TraceReportError } from '../datasources/errors.js';
import { formatIngestError, ingestFiles, MAX_REPORTED_ERRORS, type IngestPhase, type IngestSummary } from '../trace/ingest/ingest.js';
import { action, DB_OPTION_HELP, withTraceStore } from './common.js';
import { progressBar, type Progress } from './progress.js';

interface IngestCliOptions {
  db?: string;
  skipInvalid?: boolean;
  rejects?: string;
  batchSize?: number;
}

export function register(program: Command): void {
  program
    .command('ingest')
    .description('validate NDJSON trace events and write them to the trace store (- reads standard input)')
    .argument('<files...>', 'NDJSON files, one event per line; - for standard input')
    .option('--db <db>', DB_OPTION_HELP)
    .option('--skip-invalid', 'write the valid lines and put the invalid ones in a rejects file (default: any invalid line and nothing is written)')
    .option('--rejects <file>', 'rejects file for --skip-invalid (default <first file>.rejects.ndjson, or rejects.ndjson for stdin)')
    .option('--batch-size <n>', 'events per transaction (default 5000)', parseBatchSize)
    .action(
      action(async (files: string[], opts: IngestCliOptions) => {
        if (opts.rejects && !opts.skipInvalid) throw new TraceReportError('ARGUMENT_INVALID', '--rejects is used with --skip-invalid; add --skip-invalid or drop --rejects');
        const bar = new PhaseBar(files);
        let summary: IngestSummary;
        let started = 0;
        try {
          summary = await withTraceStore(opts.db, (db) => {
            // The rate counts the ingest itself, not opening and migrating the store.
            started = performance.now();
            return ingestFiles(db, files, {
              skipInvalid: opts.skipInvalid,
              rejectsPath: opts.rejects,
              batchSize: opts.batchSize,
              onPhase: (phase, lines) => bar.phase(phase, lines),
              onProgress: (done) => bar.update(done),
            });
          });
        } finally {
          bar.stop();
        }
        const seconds = (performance.now() - started) / 1000;
        process.stdout.write(summaryLine(summary, files, seconds) + '\n');
        if (summary.invalid) {
          for (const e of summary.errors) process.stderr.write(`${formatIngestError(e)}\n`);
          const more = summary.errors.length >= MAX_REPORTED_ERRORS ? ` (the first ${MAX_REPORTED_ERRORS} errors are listed above)` : '';
          process.stderr.write(`tracereport: ${summary.invalid} invalid lines skipped${more}; they are in ${summary.rejectsPath}\n`);
        }
      }),
    );
}

function parseBatchSize(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TraceReportError('ARGUMENT_INVALID', `--batch-size must be a whole number ≥ 1, got "${v}"`);
  return n;
}

/** `ingested 3 files: 120000 read, 119990 written, 10 duplicates, 0 invalid (95,000 events/s, 1.3 s)` */
export function summaryLine(s: IngestSummary, files: string[], seconds: number): string {
  const rate = seconds > 0 ? Math.round(s.read / seconds) : s.read;
  const what = files.length === 1 ? (files[0] === '-' ? 'standard input' : files[0]) : `${files.length} files`;
  return (
    `ingested ${what}: ${s.read} read, ${s.written} written, ${s.duplicates} duplicates, ${s.invalid} invalid` +
    ` (${rate.toLocaleString('en-US')} events/s, ${seconds.toFixed(1)} s)`
  );
}

/**
 * A progress bar per phase on a terminal (none when stderr is not one, or for standard input): lines done
 * against the files' line count, counted up front (a newline scan, fast next to the ingest itself).
 */
class PhaseBar {
  private bar: Progress | undefined;
  private total: number | undefined;
  constructor(private readonly files: string[]) {}

  phase(phase: IngestPhase, lines?: number): void {
    this.stop();
    if (!process.stderr.isTTY || process.env.CI === 'true' || this.files.includes('-')) return;
    this.total ??= lines ?? countLines(this.files);
    this.bar = progressBar(phase === 'validate' ? 'validating' : 'writing   ', Math.max(1, this.total), 'lines');
  }

  update(done: number): void {
    this.bar?.update(done);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

function countLines(files: string[]): number {
  const buf = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  for (const f of files) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(f, 'r');
      let n: number;
      let last = 10;
      while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) {
        for (let i = buf.indexOf(10, 0); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
        last = buf[n - 1]!;
      }
      if (last !== 10) lines++;
    } catch {
      // unreadable files are reported by the ingest itself
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  return lines;
}
