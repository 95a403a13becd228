import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type { DataSource } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import { refreshStatisticsAfterIngest } from '../statistics.js';
import type { TraceEvent } from './events.js';
import { checkInputsReadable, readNdjsonChunks, spoolStdin, STDIN_LABEL } from './read-ndjson.js';
import { validateLine, type FieldError } from './validate.js';
import { createEventWriter, DEFAULT_BATCH_SIZE, type AtomicWrite, type WriteResult } from './writer.js';

export interface IngestError {
  file: string;
  line: number;
  field: string;
  message: string;
}

export interface IngestSummary {
  /** Non-blank lines read. */
  read: number;
  valid: number;
  invalid: number;
  /** Events stored. */
  written: number;
  /** Valid events skipped because their id was stored before (a replay) or repeated in the input. */
  duplicates: number;
  /** The first 100 errors (with skipInvalid; every bad line is in the rejects file). */
  errors: IngestError[];
  /** Where bad lines went (skipInvalid, only when there were any). */
  rejectsPath?: string;
}

export type IngestPhase = 'validate' | 'write';

export interface IngestFileOptions {
  /** Write the good lines and put the bad ones in the rejects file, instead of writing nothing. */
  skipInvalid?: boolean;
  /** Rejects file for skipInvalid (default `<first input without .ndjson>.rejects.ndjson`, `rejects.ndjson` for stdin). */
  rejectsPath?: string;
  /** Events per transaction (default 5,000). */
  batchSize?: number;
  /** Lines done so far in the current phase (see onPhase), called once per chunk read. */
  onProgress?: (linesDone: number) => void;
  /** Called when a phase starts: `validate` (default mode's first pass), then `write` with the number of lines it will go through. */
  onPhase?: (phase: IngestPhase, lines?: number) => void;
}

/** While a batch is being written, the event loop gets a turn after this many events read (a power of two). */
const YIELD_EVERY = 256;

/** Errors listed in an INGEST_INVALID message and kept in a summary. */
export const MAX_REPORTED_ERRORS = 100;

/**
 * Validates and writes NDJSON files (`-` is standard input) into the trace store.
 *
 * Default: the whole input is validated first (a streamed pass that keeps only errors and counts); if any
 * line is bad nothing is written and TraceReportError('INGEST_INVALID') lists the first 100 errors as
 * `file:line: field: message`. Then a second pass writes, in transactions of `batchSize` events (standard
 * input is first copied to a temporary file so that it can be read twice).
 * With `skipInvalid`, one pass writes the good lines and appends each bad one to the rejects file.
 */
export async function ingestFiles(db: DataSource, files: string[], opts: IngestFileOptions = {}): Promise<IngestSummary> {
  await checkInputsReadable(files);
  const batchSize = checkBatchSize(opts.batchSize);
  const labels = files.map((f) => (f === '-' ? STDIN_LABEL : f));
  if (opts.skipInvalid) return ingestSkippingInvalid(db, files, labels, batchSize, opts);
  const writer = createEventWriter(db);
  if (writer.atomic) return ingestInOneTransaction(db, writer.atomic.bind(writer), files, labels, batchSize, opts);

  const inputs = [...files];
  let cleanup: (() => void) | undefined;
  const stdinAt = files.indexOf('-');
  if (stdinAt >= 0) {
    const spooled = await spoolStdin();
    inputs[stdinAt] = spooled.path;
    cleanup = spooled.cleanup;
  }
  try {
    // Pass 1: validate everything, store nothing.
    opts.onPhase?.('validate');
    const summary: IngestSummary = { read: 0, valid: 0, invalid: 0, written: 0, duplicates: 0, errors: [] };
    let errorCount = 0;
    for await (const chunk of readNdjsonChunks(inputs, { labels })) {
      for (const l of chunk) {
        summary.read++;
        const r = validateLine(l.text);
        if (r.ok) {
          summary.valid++;
          continue;
        }
        summary.invalid++;
        errorCount += r.errors.length;
        for (const e of r.errors) if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push({ file: l.file, line: l.line, ...e });
      }
      opts.onProgress?.(summary.read);
    }
    if (summary.invalid) {
      throw new TraceReportError('INGEST_INVALID', invalidMessage(summary, errorCount), {
        errors: summary.errors,
        invalid: summary.invalid,
        errorCount,
        read: summary.read,
      });
    }

    // Pass 2: write.
    opts.onPhase?.('write', summary.read);
    const r = await writeValidatedInputs(db, inputs, labels, batchSize, opts.onProgress);
    await refreshStatisticsAfterIngest(db, r.written);
    summary.written = r.written;
    summary.duplicates = r.duplicates;
    return summary;
  } finally {
    cleanup?.();
  }
}

/**
 * The default mode where the store offers one transaction across batches (SQLite): each line is read and
 * validated once, and valid batches are written inside the transaction as they come. At the first bad line
 * writing stops (validation goes on, to report every error); at the end a bad input rolls the transaction
 * back, so nothing was written, exactly as if the input had been validated first.
 */
async function ingestInOneTransaction(
  db: DataSource,
  begin: () => Promise<AtomicWrite>,
  files: string[],
  labels: string[],
  batchSize: number,
  opts: IngestFileOptions,
): Promise<IngestSummary> {
  const summary: IngestSummary = { read: 0, valid: 0, invalid: 0, written: 0, duplicates: 0, errors: [] };
  let errorCount = 0;
  let batch: TraceEvent[] = [];
  const tx = await begin();
  opts.onPhase?.('write');
  try {
    const flush = async () => {
      const r = await tx.write(batch);
      batch = [];
      summary.written += r.written;
      summary.duplicates += r.duplicates;
    };
    for await (const chunk of readNdjsonChunks(files, { labels })) {
      for (const l of chunk) {
        summary.read++;
        const r = validateLine(l.text);
        if (r.ok) {
          summary.valid++;
          if (summary.invalid) continue;
          batch.push(r.event);
          if (batch.length >= batchSize) await flush();
          continue;
        }
        summary.invalid++;
        batch = [];
        errorCount += r.errors.length;
        for (const e of r.errors) if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push({ file: l.file, line: l.line, ...e });
      }
      opts.onProgress?.(summary.read);
    }
    if (summary.invalid) {
      await tx.rollback();
      summary.written = 0;
      summary.duplicates = 0;
      throw new TraceReportError('INGEST_INVALID', invalidMessage(summary, errorCount), {
        errors: summary.errors,
        invalid: summary.invalid,
        errorCount,
        read: summary.read,
      });
    }
    if (batch.length) await flush();
    await tx.commit();
  } finally {
    await tx.rollback(); // after a failure; a no-op once committed or rolled back
  }
  await refreshStatisticsAfterIngest(db, summary.written);
  return summary;
}

/** Pass 2 of the default mode: re-reads inputs that validated and writes them (a line that changed meanwhile stops it). */
async function writeValidatedInputs(
  db: DataSource,
  inputs: string[],
  labels: string[],
  batchSize: number,
  onProgress: ((linesDone: number) => void) | undefined,
): Promise<WriteResult> {
  const batcher = new Batcher(db, batchSize);
  let done = 0;
  try {
    for await (const chunk of readNdjsonChunks(inputs, { labels })) {
      for (const l of chunk) {
        const r = validateLine(l.text);
        if (!r.ok) {
          throw new TraceReportError(
            'INGEST_INVALID',
            `${l.file}:${l.line} changed while it was being ingested and is now invalid (${formatFieldErrors(r.errors)}); the events before it were written; fix the input and run again (stored events are skipped)`,
            { errors: r.errors.map((e) => ({ file: l.file, line: l.line, ...e })), invalid: 1 },
          );
        }
        const due = batcher.add(r.event);
        if (due) await due;
      }
      done += chunk.length;
      onProgress?.(done);
    }
    await batcher.finish();
  } finally {
    await batcher.abandon();
  }
  return { written: batcher.written, duplicates: batcher.duplicates };
}

/**
 * Writes events that are already valid (the demo generator, collectors), streaming: events are taken from
 * the iterable batch by batch, never all held in memory. Duplicates (ids already stored) are skipped.
 */
export async function ingestEvents(
  db: DataSource,
  events: Iterable<TraceEvent> | AsyncIterable<TraceEvent>,
  opts: { batchSize?: number; onProgress?: (done: number) => void } = {},
): Promise<{ written: number; duplicates: number }> {
  const batcher = new Batcher(db, checkBatchSize(opts.batchSize), opts.onProgress);
  try {
    if (Symbol.iterator in events) {
      for (const e of events as Iterable<TraceEvent>) {
        const due = batcher.add(e);
        if (due) await due;
      }
    } else {
      for await (const e of events) {
        const due = batcher.add(e);
        if (due) await due;
      }
    }
    await batcher.finish();
  } finally {
    await batcher.abandon();
  }
  await refreshStatisticsAfterIngest(db, batcher.written);
  return { written: batcher.written, duplicates: batcher.duplicates };
}

/** `file:line: field: message` (no field part when the whole line is wrong). */
export function formatIngestError(e: IngestError): string {
  return e.field ? `${e.file}:${e.line}: ${e.field}: ${e.message}` : `${e.file}:${e.line}: ${e.message}`;
}

/** The rejects file used with skipInvalid when none is named. */
export function defaultRejectsPath(files: readonly string[]): string {
  const first = files[0];
  if (first === undefined || first === '-') return 'rejects.ndjson';
  return `${first.replace(/\.(ndjson|jsonl|json)$/i, '')}.rejects.ndjson`;
}

class Batcher {
  written = 0;
  duplicates = 0;
  private batch: TraceEvent[] = [];
  /** Batches being written, oldest first (at most the writer's concurrency). */
  private inFlight: Promise<WriteResult>[] = [];
  /** Whether a batch was written without waiting for the disk (then `finish()` syncs). */
  private unsynced = false;
  private readonly writer;
  private readonly concurrency: number;

  constructor(
    db: DataSource,
    private readonly size: number,
    private readonly onProgress?: (done: number) => void,
  ) {
    this.writer = createEventWriter(db);
    this.concurrency = Math.max(1, this.writer.concurrency ?? 1);
  }

  /**
   * Adds an event. Returns a promise to await when there is work for the event loop: the batch is full (it is
   * flushed), or, every few hundred events while a batch is being written, a turn of the event loop, so that
   * the write's statements go out as soon as the database answers instead of after the whole next batch is
   * parsed. Otherwise undefined (this runs once per event).
   */
  add(e: TraceEvent): Promise<void> | undefined {
    this.batch.push(e);
    if (this.batch.length >= this.size) return this.flush();
    if (this.inFlight.length && (this.batch.length & (YIELD_EVERY - 1)) === 0) return setImmediatePromise();
    return undefined;
  }

  /**
   * Starts writing the current batch and returns once there is room for another one in flight: the next batch
   * is read and parsed while the database works on this one (server databases), and batches still apply in
   * order. Batches before the last one commit without waiting for the disk (PostgreSQL); `finish()` makes them
   * durable.
   */
  async flush(durable = false): Promise<void> {
    while (this.inFlight.length >= this.concurrency) await this.settleOne();
    if (!this.batch.length) return;
    const batch = this.batch;
    this.batch = [];
    const p = this.writer.write(batch, { durable });
    p.catch(() => undefined); // awaited (and thrown) by settleOne()
    this.inFlight.push(p);
    if (!durable) this.unsynced = true;
  }

  /** Waits for the oldest batch in flight. */
  private async settleOne(): Promise<void> {
    const p = this.inFlight.shift();
    if (!p) return;
    const r = await p;
    this.written += r.written;
    this.duplicates += r.duplicates;
    this.onProgress?.(this.written + this.duplicates);
  }

  /** After a failure elsewhere: lets the batches in flight end (committed or rolled back) before the caller closes the store. */
  async abandon(): Promise<void> {
    const left = this.inFlight;
    this.inFlight = [];
    await Promise.all(left.map((p) => p.catch(() => undefined)));
  }

  /** Writes what is left, durably, waits for every batch, and makes them all durable. */
  async finish(): Promise<void> {
    await this.flush(true);
    while (this.inFlight.length) await this.settleOne();
    if (this.unsynced) {
      await this.writer.sync();
      this.unsynced = false;
    }
  }
}

async function ingestSkippingInvalid(db: DataSource, files: string[], labels: string[], batchSize: number, opts: IngestFileOptions): Promise<IngestSummary> {
  const rejectsPath = path.resolve(opts.rejectsPath ?? defaultRejectsPath(files));
  if (files.some((f) => f !== '-' && path.resolve(f) === rejectsPath)) {
    throw new TraceReportError('ARGUMENT_INVALID', `the rejects file ${rejectsPath} is also an input; name another one with --rejects`);
  }
  const summary: IngestSummary = { read: 0, valid: 0, invalid: 0, written: 0, duplicates: 0, errors: [] };
  const rejects = new RejectsFile(rejectsPath);
  const batcher = new Batcher(db, batchSize);
  opts.onPhase?.('write');
  try {
    for await (const chunk of readNdjsonChunks(files, { labels })) {
      for (const l of chunk) {
        summary.read++;
        const r = validateLine(l.text);
        if (r.ok) {
          summary.valid++;
          const due = batcher.add(r.event);
        if (due) await due;
          continue;
        }
        summary.invalid++;
        for (const e of r.errors) if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push({ file: l.file, line: l.line, ...e });
        await rejects.write({ file: l.file, line: l.line, errors: r.errors, text: l.text });
      }
      opts.onProgress?.(summary.read);
    }
    await batcher.finish();
  } finally {
    await batcher.abandon();
    await rejects.close();
  }
  await refreshStatisticsAfterIngest(db, batcher.written);
  summary.written = batcher.written;
  summary.duplicates = batcher.duplicates;
  if (rejects.opened) summary.rejectsPath = rejectsPath;
  return summary;
}

/** NDJSON lines `{"file","line","errors":[{field,message}],"text"}`; the file is created at the first bad line. */
class RejectsFile {
  private out: fs.WriteStream | undefined;
  private failed: Error | undefined;
  constructor(private readonly file: string) {}

  get opened(): boolean {
    return this.out !== undefined;
  }

  async write(rec: { file: string; line: number; errors: FieldError[]; text: string }): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.out) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.out = fs.createWriteStream(this.file, { flags: 'w' });
      this.out.on('error', (e) => (this.failed = new TraceReportError('INGEST_READ_FAILED', `cannot write the rejects file ${this.file}: ${e.message}`)));
    }
    if (!this.out.write(JSON.stringify(rec) + '\n')) await new Promise<void>((resolve) => this.out!.once('drain', resolve));
  }

  async close(): Promise<void> {
    const out = this.out;
    if (!out) return;
    await new Promise<void>((resolve) => out.end(resolve));
    if (this.failed) throw this.failed;
  }
}

function checkBatchSize(n: number | undefined): number {
  if (n === undefined) return DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(n) || n < 1) throw new TraceReportError('ARGUMENT_INVALID', `batch size must be a whole number ≥ 1, got ${n}`);
  return n;
}

function formatFieldErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}

function invalidMessage(summary: IngestSummary, errorCount: number): string {
  const lines = summary.errors.map((e) => formatIngestError(e));
  const more = errorCount - summary.errors.length;
  return (
    `${summary.invalid} of ${summary.read} lines are invalid, so nothing was written. ` +
    'Fix them and run again, or skip them with --skip-invalid (bad lines go to a rejects file):\n' +
    lines.join('\n') +
    (more > 0 ? `\n… and ${more} more errors` : '')
  );
}
