/**
 * The collector pipeline (DESIGN §7): readings (and alarm changes) → batcher → journal → writer.
 *
 * - `add()` is synchronous, as drivers deliver: its readings are encoded into journal lines (and checked
 *   against the journal's limit) before it returns, and reach the journal file at the end of the event loop's
 *   turn, together with every other line of that turn (one write for a burst of messages). A driver that
 *   acknowledges what it received (MQTT) calls `writeJournal()` before it sends the acknowledgements, so what
 *   was acknowledged survives the process being killed.
 * - A batch closes at `batch.size` readings or `batch.maxDelayMs` after its first one; closing seals it in
 *   the journal and flushes it to disk (fdatasync).
 * - The writer reads sealed batches back from the journal in order and writes each in one transaction (batches
 *   that were sealed while it was busy, together: up to 25,000 readings in one transaction); while
 *   the store is unavailable it retries with backoff and collection goes on into the journal, which drains in
 *   order when the store returns. On start, batches not yet written are replayed first.
 * - When the journal reaches `journal.maxBytes` or the disk refuses a write, the pipeline says so loudly
 *   (log line, status `full`, `onFatal`) and counts every reading it could not keep: nothing is dropped silently.
 */
import type { DataSource } from '../../datasources/data-source.js';
import type { AlarmChange, Reading } from '../types.js';
import { Journal, JournalFullError, type JournalBatch } from './journal.js';
import { toJournalAlarm, toJournalReading, type JournalReading } from './journal-format.js';
import { StoreWriter, type StoreWriteResult } from './store-writer.js';

export interface PipelineOptions {
  db: DataSource;
  journal: { dir: string; maxBytes: number; segmentBytes?: number };
  batch: { size: number; maxDelayMs: number };
  /** Backoff between write attempts while the store is unavailable (default 200 ms doubling to 10 s). */
  retry?: { minMs?: number; maxMs?: number };
  /** Collection must stop: the journal is full or the disk refused a write. Called once. */
  onFatal?: (e: JournalFullError) => void;
  /** Log lines (default: stderr). */
  log?: (message: string) => void;
}

export type StoreState = 'unknown' | 'up' | 'down';

export interface PipelineStatus {
  state: 'running' | 'full' | 'stopping' | 'stopped';
  /** Readings accepted into the journal. */
  readingsIn: number;
  /** Readings refused: not storable (bad value, time or code) — each also counted in `rejected`. */
  rejected: number;
  /**
   * Readings (and alarm changes) refused because the journal is full or the pipeline is stopping: `add` threw,
   * so the driver knows (MQTT leaves them unacknowledged at the broker). See lastError.
   */
  refused: number;
  alarmsIn: number;
  /** Samples stored. */
  written: number;
  /** Samples that were stored already (replays) or repeated. */
  duplicates: number;
  alarmsWritten: number;
  batchesSealed: number;
  batchesWritten: number;
  /** Unwritten bytes in the journal. */
  journalBytes: number;
  journalSegments: number;
  /** Unwritten bytes found in the journal at start (replayed). */
  replayBytes: number;
  db: StoreState;
  lastError?: string;
  lastErrorAt?: Date;
  lastWriteAt?: Date;
}

const MAX_CODE = 64;
/** Readings written in one transaction at most when sealed batches wait (the writer was behind). */
const MERGED_READINGS = 25_000;
/** Years 1000–9999, as every store keeps them. */
const MIN_MS = Date.UTC(1000, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export class Pipeline {
  private readonly journal: Journal;
  private readonly writer: StoreWriter;
  private readonly log: (m: string) => void;
  private readonly size: number;
  private readonly maxDelayMs: number;
  /** Groups of batches written at once (the store writer's concurrency: 2 on PostgreSQL, else 1). */
  private readonly concurrency: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly counters: PipelineStatus;
  private openCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private loop: Promise<void>;
  private stopping = false;
  private abandoned = false;
  private fatal: JournalFullError | undefined;
  private downSince: number | undefined;
  private cancelSleep: (() => void) | undefined;
  /** Readings and alarm changes appended to the journal in this turn and not yet written to its file. */
  private unwrittenReadings = 0;
  private unwrittenAlarms = 0;
  private writeScheduled = false;

  private constructor(private readonly opts: PipelineOptions) {
    this.log = opts.log ?? ((m) => process.stderr.write(`tracereport collect: ${m}\n`));
    this.size = opts.batch.size;
    this.maxDelayMs = opts.batch.maxDelayMs;
    this.minBackoff = opts.retry?.minMs ?? 200;
    this.maxBackoff = opts.retry?.maxMs ?? 10_000;
    this.journal = new Journal({ ...opts.journal, onWarning: this.log });
    this.writer = new StoreWriter(opts.db);
    this.concurrency = this.writer.concurrency;
    const replayBytes = this.journal.recovery.bytes;
    if (replayBytes > 0) this.log(`replaying ${replayBytes} unwritten journal bytes from ${this.journal.dir}`);
    this.counters = {
      state: 'running', readingsIn: 0, rejected: 0, refused: 0, alarmsIn: 0, written: 0, duplicates: 0, alarmsWritten: 0,
      batchesSealed: 0, batchesWritten: 0, journalBytes: replayBytes, journalSegments: this.journal.segments(), replayBytes, db: 'unknown',
    };
    this.loop = this.run();
  }

  /** Opens the journal (replaying what it holds) and starts the writer. */
  static start(opts: PipelineOptions): Pipeline {
    return new Pipeline(opts);
  }

  status(): PipelineStatus {
    return { ...this.counters, journalBytes: this.journal.pendingBytes(), journalSegments: this.journal.segments() };
  }

  /**
   * Accepts readings: journaled before this returns. Unstorable readings are counted as rejected. Throws
   * JournalFullError when the journal cannot take them (full, disk refused, or stopping): none of them was kept.
   */
  add(readings: readonly Reading[]): void {
    if (!readings.length) return;
    this.refuseIfClosed(readings.length);
    let rows: JournalReading[] = [];
    for (const r of readings) {
      const ms = r.ts instanceof Date ? r.ts.getTime() : Number.NaN;
      if (!Number.isFinite(r.value) || !(ms >= MIN_MS && ms <= MAX_MS) || !validCode(r.equipment) || !validCode(r.parameter)) {
        this.reject(r);
        continue;
      }
      rows.push(toJournalReading(r));
    }
    try {
      // Split so that no batch exceeds the size limit.
      while (rows.length) {
        const room = this.size - this.openCount;
        const part = rows.length <= room ? rows : rows.slice(0, room);
        this.journal.appendReadings(part);
        this.scheduleWrite();
        rows = rows.length <= room ? [] : rows.slice(room);
        this.counters.readingsIn += part.length;
        this.unwrittenReadings += part.length;
        this.openCount += part.length;
        if (this.openCount >= this.size) this.seal();
        else this.timer ??= setTimeout(() => this.sealSafely(), this.maxDelayMs);
      }
    } catch (e) {
      this.counters.refused += rows.length;
      throw this.fail(e);
    }
  }

  private refuseIfClosed(n: number): void {
    if (!this.fatal && !this.stopping) return;
    this.counters.refused += n;
    throw this.fatal ?? new JournalFullError('the collector is stopping; the readings were not taken');
  }

  /** Journals alarm changes in the open batch; they are written after its readings. */
  addAlarms(changes: readonly AlarmChange[]): void {
    if (!changes.length) return;
    this.refuseIfClosed(changes.length);
    try {
      this.journal.appendAlarms(changes.map(toJournalAlarm));
      this.scheduleWrite();
      this.counters.alarmsIn += changes.length;
      this.unwrittenAlarms += changes.length;
      this.timer ??= setTimeout(() => this.sealSafely(), this.maxDelayMs);
    } catch (e) {
      this.counters.refused += changes.length;
      throw this.fail(e);
    }
  }

  /**
   * Writes what `add()` and `addAlarms()` took in this turn to the journal file now (it happens by itself at the
   * end of the turn). A driver calls it before acknowledging what it received. Throws JournalFullError when the
   * disk refuses the write: then those readings were not kept (counted as refused) and collection stops.
   */
  writeJournal(): void {
    if (!this.journal.hasUnflushed) return;
    try {
      this.journal.flush();
      this.unwrittenReadings = 0;
      this.unwrittenAlarms = 0;
    } catch (e) {
      this.lostUnwritten();
      throw this.fail(e);
    }
  }

  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      try {
        this.writeJournal();
      } catch {
        // fail() said so loudly and stopped the pipeline
      }
    });
  }

  /** The lines of this turn did not reach the file: they count as refused, not as taken. */
  private lostUnwritten(): void {
    this.counters.readingsIn -= this.unwrittenReadings;
    this.counters.alarmsIn -= this.unwrittenAlarms;
    this.counters.refused += this.unwrittenReadings + this.unwrittenAlarms;
    this.unwrittenReadings = 0;
    this.unwrittenAlarms = 0;
  }

  /** Closes the open batch now (it is then written as soon as the store takes it). */
  flush(): void {
    this.sealSafely();
  }

  /** Resolves once every sealed batch is written (or at the timeout: false). */
  async drained(timeoutMs = 30_000): Promise<boolean> {
    if (this.isIdle()) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([done, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Seals the open batch and waits up to `drainTimeoutMs` for the writer to store everything; what it could
   * not store stays in the journal for the next start. Close the data source only after this resolves.
   */
  async stop(opts: { drainTimeoutMs?: number } = {}): Promise<PipelineStatus> {
    if (this.counters.state === 'stopped') return this.status();
    this.sealSafely();
    this.stopping = true;
    if (!this.fatal) this.counters.state = 'stopping';
    this.cancelSleep?.(); // a store that was down is tried again now
    const drained = await this.drained(opts.drainTimeoutMs ?? 15_000);
    this.abandoned = true;
    this.wake?.();
    this.cancelSleep?.();
    if (drained) await this.loop;
    this.journal.close();
    const left = this.journal.pendingBytes();
    if (left > 0) this.log(`${left} journal bytes not yet in the trace store stay in ${this.journal.dir}; they are written at the next start`);
    this.counters.state = 'stopped';
    return this.status();
  }

  // ------------------------------------------------------------ batching

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.journal.hasOpenBatch) return;
    // The turn's lines first (if the disk refuses them they count as refused), then the seal.
    this.writeJournal();
    this.journal.seal();
    this.writerCaughtUp = false;
    this.openCount = 0;
    this.counters.batchesSealed++;
    this.wake?.();
  }

  private sealSafely(): void {
    try {
      this.seal();
    } catch (e) {
      this.fail(e);
    }
  }


  private reject(r: Reading): void {
    this.counters.rejected++;
    this.noteError(
      `rejected a reading that cannot be stored (${JSON.stringify({ equipment: r.equipment, parameter: r.parameter, ts: r.ts, value: r.value })}): ` +
        'values must be finite numbers, times real dates in the years 1000-9999, codes 1-64 characters; fix the tag mapping',
    );
  }

  /** Makes the pipeline stop taking data, loudly (once); returns the error to throw. */
  private fail(error: unknown): JournalFullError {
    const e = error instanceof JournalFullError ? error : new JournalFullError(`the journal failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    if (this.fatal) return this.fatal;
    this.fatal = e;
    this.counters.state = 'full';
    this.noteError(e.message);
    this.log(`JOURNAL_FULL: ${e.message}`);
    // What was accepted is still written: close the open batch (a seal is taken even when full).
    try {
      this.seal();
    } catch {
      // the disk refuses even that: the open batch is sealed at the next start
    }
    this.opts.onFatal?.(e);
    return e;
  }

  private noteError(message: string): void {
    this.counters.lastError = message;
    this.counters.lastErrorAt = new Date();
  }

  // ------------------------------------------------------------ writing

  private isIdle(): boolean {
    return this.writerCaughtUp;
  }

  private writerCaughtUp = true;

  /**
   * The next sealed batch, and the ones sealed behind it while the writer was busy, up to MERGED_READINGS
   * readings (or one batch, when a batch is bigger): one transaction for all of them when the writer is
   * behind (fewer commits, each writing the same hot pages once), one per batch when it keeps up.
   */
  private nextBatches(): JournalBatch[] {
    const out: JournalBatch[] = [];
    let readings = 0;
    while (out.length === 0 || readings + this.size <= Math.max(MERGED_READINGS, this.size)) {
      const b = this.journal.readBatch();
      if (!b) break;
      out.push(b);
      readings += b.readings.length;
    }
    return out;
  }

  /** Starts writing a group of batches; the returned group settles (never rejects) with its result or error. */
  private startWrite(batches: JournalBatch[]): WriteGroup {
    const one = batches.length === 1;
    const group: WriteGroup = { batches, settled: false, done: Promise.resolve() };
    group.done = this.writer
      .write(one ? batches[0]!.readings : batches.flatMap((b) => b.readings), one ? batches[0]!.alarms : batches.flatMap((b) => b.alarms))
      .then(
        (r) => {
          group.result = r;
        },
        (e: unknown) => {
          group.error = e ?? new Error('the write failed');
        },
      )
      .finally(() => {
        group.settled = true;
      });
    return group;
  }

  /**
   * Writes sealed batches in journal order, up to the writer's concurrency at once (PostgreSQL: the next group is
   * prepared and sent while the store works on the one before). The journal's checkpoint moves only over groups
   * stored with every group before them. While the store fails, one group at a time is tried again with backoff;
   * groups that were stored behind a failed one are kept (not written again).
   */
  private async run(): Promise<void> {
    let backoff = this.minBackoff;
    const queue: WriteGroup[] = [];
    while (!this.abandoned) {
      while (queue.length < this.concurrency && (this.counters.db !== 'down' || queue.length === 0)) {
        const batches = this.nextBatches();
        if (!batches.length) break;
        queue.push(this.startWrite(batches));
      }
      const head = queue[0];
      if (!head) {
        this.writerCaughtUp = true;
        for (const w of this.idleWaiters.splice(0)) w();
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.writerCaughtUp = false;
      if (queue.length < this.concurrency && this.counters.db !== 'down') {
        // Room for another write: go on at the head's end or at the next sealed batch, whichever comes first.
        await Promise.race([head.done, new Promise<void>((resolve) => (this.wake = resolve))]);
        this.wake = undefined;
        if (!head.settled) continue;
      } else await head.done;
      if (this.abandoned) return;
      if (head.error === undefined) {
        queue.shift();
        const r = head.result!;
        this.journal.commit(head.batches[head.batches.length - 1]!.end);
        this.counters.written += r.written;
        this.counters.duplicates += r.duplicates;
        this.counters.alarmsWritten += r.alarms;
        this.counters.batchesWritten += head.batches.length;
        this.counters.lastWriteAt = new Date();
        if (this.counters.db === 'down') {
          this.log(`trace store back after ${((Date.now() - this.downSince!) / 1000).toFixed(1)} s; writing the ${this.journal.pendingBytes()} journal bytes collected meanwhile`);
        }
        this.counters.db = 'up';
        backoff = this.minBackoff;
        // A group that failed behind this one (the store was away) goes again now that the store answers.
        for (let i = 0; i < queue.length; i++) if (queue[i]!.error !== undefined) queue[i] = this.startWrite(queue[i]!.batches);
        continue;
      }
      // The head failed: let the groups behind it settle, then try the head again after the backoff.
      await Promise.all(queue.map((g) => g.done));
      if (this.abandoned) return;
      const message = (head.error as Error)?.message ?? String(head.error);
      if (this.counters.db !== 'down') {
        this.downSince = Date.now();
        this.log(`cannot write to the trace store (${message}); collecting into the journal and retrying`);
      }
      this.counters.db = 'down';
      this.noteError(`trace store: ${message}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff);
        this.cancelSleep = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.cancelSleep = undefined;
      if (this.abandoned) return;
      backoff = Math.min(this.maxBackoff, backoff * 2);
      queue[0] = this.startWrite(head.batches);
    }
  }
}

/** Batches written in one transaction, and how that went. */
interface WriteGroup {
  batches: JournalBatch[];
  settled: boolean;
  done: Promise<void>;
  result?: StoreWriteResult;
  error?: unknown;
}

function validCode(s: unknown): boolean {
  return typeof s === 'string' && s.length > 0 && s.length <= MAX_CODE;
}
