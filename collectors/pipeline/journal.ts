/**
 * The collector's journal: append-only segment files (`seg-<n>.journal`, lines of journal-format.ts) in one
 * folder, plus `checkpoint.json`, the position after the last batch written to the trace store.
 *
 * - Lines are encoded (and counted against `maxBytes`) as they are appended, and reach the operating system
 *   together at `flush()`: the pipeline flushes once per turn of the event loop (one write for a burst of
 *   messages instead of one per message), and a driver that acknowledges its peer (MQTT) flushes before it sends
 *   the acknowledgements, so a killed process loses nothing that was acknowledged. A batch ends with a seal line
 *   and an fdatasync (so a power cut loses at most the open batch).
 * - The writer reads sealed batches back in order from the checkpoint, and commits each once stored; a
 *   segment is rotated at a batch boundary once it is big enough, and deleted once every batch in it is stored.
 * - On open, a line torn by a crash at the end is cut off, an unsealed last batch is sealed, and the batches
 *   after the checkpoint are read again (replay): the store's unique keys make that write nothing twice.
 * - Unwritten bytes beyond `maxBytes`, or a write the disk refuses, throw JournalFullError: never a silent drop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeLine, encodeLine, type JournalAlarm, type JournalReading } from './journal-format.js';

export interface JournalOptions {
  dir: string;
  /** Unwritten bytes the journal may hold. */
  maxBytes: number;
  /** A segment is rotated at the first batch boundary after it reaches this size (default 64 MiB). */
  segmentBytes?: number;
  /** Called for a damaged line in the middle of a segment (skipped); the default writes to stderr. */
  onWarning?: (message: string) => void;
}

export interface JournalPosition {
  segment: number;
  offset: number;
}

export interface JournalBatch {
  batch: number;
  readings: JournalReading[];
  alarms: JournalAlarm[];
  /** Position after the batch's seal: commit it once the batch is stored. */
  end: JournalPosition;
  /** Bytes of the batch's lines. */
  bytes: number;
}

export interface RecoveryInfo {
  /** Unwritten bytes found on open. */
  bytes: number;
  /** Bytes of a torn last line cut off. */
  tornBytes: number;
  /** Whether an unsealed last batch was sealed. */
  sealedOnOpen: boolean;
}

/** The journal cannot take more: its limit is reached or the disk refused a write. Collection must stop. */
export class JournalFullError extends Error {
  readonly code = 'JOURNAL_FULL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalFullError';
  }
}

const SEGMENT = /^seg-(\d{12})\.journal$/;
const segName = (n: number) => `seg-${String(n).padStart(12, '0')}.journal`;
const READ_CHUNK = 4 << 20;

export class Journal {
  readonly dir: string;
  readonly recovery: RecoveryInfo;
  /** Damaged lines skipped while reading. */
  corruptLines = 0;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly warn: (m: string) => void;
  /** Size of every segment still on disk. */
  private readonly sizes = new Map<number, number>();
  private current: number;
  private fd: number;
  private nextBatchId: number;
  private checkpoint: JournalPosition;
  /** End of the last sealed batch in the current segment (earlier segments are sealed to their end). */
  private sealedOffset: number;
  private openBatch: number | undefined;
  private readonly reader: Reader;
  private closed = false;
  /** Lines appended and not yet written (flush() writes them in one call). */
  private unflushed: Buffer[] = [];
  private unflushedBytes = 0;

  constructor(opts: JournalOptions) {
    this.dir = path.resolve(opts.dir);
    this.maxBytes = opts.maxBytes;
    this.segmentBytes = opts.segmentBytes ?? 64 << 20;
    this.warn = opts.onWarning ?? ((m) => process.stderr.write(`tracereport collect: ${m}\n`));
    fs.mkdirSync(this.dir, { recursive: true });

    const segments = fs
      .readdirSync(this.dir)
      .map((f) => SEGMENT.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const saved = readCheckpoint(this.dir);
    for (const s of segments) {
      // Left by a crash between a checkpoint and the deletion it allowed.
      if (saved && s < saved.segment) fs.rmSync(this.segPath(s), { force: true });
      else this.sizes.set(s, fs.statSync(this.segPath(s)).size);
    }
    const kept = [...this.sizes.keys()];
    this.checkpoint = saved && this.sizes.has(saved.segment) ? saved : { segment: kept[0] ?? 1, offset: 0 };
    if (this.checkpoint.offset > (this.sizes.get(this.checkpoint.segment) ?? 0)) this.checkpoint = { segment: this.checkpoint.segment, offset: 0 };

    const last = kept.at(-1);
    const repaired = last === undefined ? { tornBytes: 0, sealedOnOpen: false, maxBatch: 0 } : this.repairLast(last);
    this.nextBatchId = repaired.maxBatch + 1;
    this.current = (last ?? 0) + 1;
    this.fd = fs.openSync(this.segPath(this.current), 'a');
    this.sizes.set(this.current, 0);
    this.sealedOffset = 0;
    this.recovery = { bytes: this.pendingBytes(), tornBytes: repaired.tornBytes, sealedOnOpen: repaired.sealedOnOpen };
    this.reader = new Reader(this, { ...this.checkpoint });
  }

  /** Unwritten bytes: everything after the checkpoint. */
  pendingBytes(): number {
    let n = -this.checkpoint.offset;
    for (const [s, size] of this.sizes) if (s >= this.checkpoint.segment) n += size;
    return Math.max(0, n);
  }

  segments(): number {
    return this.sizes.size;
  }

  /** Appends readings to the open batch (one is opened if needed); returns the batch id. */
  appendReadings(readings: JournalReading[]): number {
    const b = (this.openBatch ??= this.nextBatchId++);
    this.append(encodeLine({ b, r: readings }));
    return b;
  }

  appendAlarms(alarms: JournalAlarm[]): number {
    const b = (this.openBatch ??= this.nextBatchId++);
    this.append(encodeLine({ b, a: alarms }));
    return b;
  }

  /** Whether a batch is open (has lines but no seal). */
  get hasOpenBatch(): boolean {
    return this.openBatch !== undefined;
  }

  /** Whether lines wait for flush(). */
  get hasUnflushed(): boolean {
    return this.unflushed.length > 0;
  }

  /**
   * Writes the lines appended since the last flush to the file (one system call for all of them). Throws
   * JournalFullError when the disk refuses: the lines not written are not kept (a line torn by the failure is
   * cut off when the journal is opened again).
   */
  flush(): void {
    if (this.unflushed.length === 0) return;
    const lines = this.unflushed;
    const bytes = this.unflushedBytes;
    this.unflushed = [];
    this.unflushedBytes = 0;
    let done = 0;
    try {
      if (lines.length === 1) {
        const line = lines[0]!;
        while (done < line.length) done += fs.writeSync(this.fd, line, done, line.length - done);
      } else {
        let rest = lines;
        while (rest.length) {
          let n = fs.writevSync(this.fd, rest);
          done += n;
          // A short write: go on from the first byte not written.
          let i = 0;
          while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
          rest = rest.slice(i);
          if (rest.length && n > 0) rest[0] = rest[0]!.subarray(n);
        }
      }
    } catch (e) {
      this.sizes.set(this.current, this.sizes.get(this.current)! - (bytes - done));
      throw new JournalFullError(`cannot write the journal ${this.segPath(this.current)}: ${(e as Error).message}; free disk space and restart`, { cause: e });
    }
  }

  /** Seals the open batch and makes it durable (fdatasync); rotates the segment when it is big enough. */
  seal(): void {
    if (this.openBatch === undefined) return;
    this.append(encodeLine({ s: this.openBatch }), true);
    this.openBatch = undefined;
    this.flush();
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw new JournalFullError(`cannot flush the journal ${this.segPath(this.current)} to disk: ${(e as Error).message}`, { cause: e });
    }
    this.sealedOffset = this.sizes.get(this.current)!;
    if (this.sealedOffset >= this.segmentBytes) this.rotate();
  }

  /** The next sealed batch after the ones already read, or undefined when none is sealed yet. */
  readBatch(): JournalBatch | undefined {
    return this.reader.next();
  }

  /** Records that every batch up to `end` is stored; deletes segments no longer needed. */
  commit(end: JournalPosition): void {
    this.checkpoint = { ...end };
    const tmp = path.join(this.dir, 'checkpoint.json.tmp');
    fs.writeFileSync(tmp, JSON.stringify(end));
    fs.renameSync(tmp, path.join(this.dir, 'checkpoint.json'));
    for (const s of [...this.sizes.keys()]) {
      if (s < end.segment) {
        fs.rmSync(this.segPath(s), { force: true });
        this.sizes.delete(s);
      }
    }
  }

  /**
   * Closes the file. When every batch is stored (and none is open) the folder is left empty: nothing to replay.
   * Otherwise the open batch is sealed first, so the next start replays it.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
    try {
      this.seal();
    } finally {
      fs.closeSync(this.fd);
    }
    if (this.pendingBytes() === 0) {
      for (const s of this.sizes.keys()) fs.rmSync(this.segPath(s), { force: true });
      this.sizes.clear();
      fs.rmSync(path.join(this.dir, 'checkpoint.json'), { force: true });
    }
  }

  // ------------------------------------------------------------ internals used by the reader

  segPath(n: number): string {
    return path.join(this.dir, segName(n));
  }

  /** The readable end of a segment: its size when closed, the last seal in the current one; -1 when gone. */
  readableEnd(segment: number): number {
    if (segment === this.current) return this.sealedOffset;
    return this.sizes.get(segment) ?? -1;
  }

  isCurrent(segment: number): boolean {
    return segment === this.current;
  }

  /** The first segment after `segment` still on disk, if any. */
  nextSegment(segment: number): number | undefined {
    let best: number | undefined;
    for (const s of this.sizes.keys()) if (s > segment && (best === undefined || s < best)) best = s;
    return best;
  }

  warnCorrupt(message: string): void {
    this.corruptLines++;
    this.warn(message);
  }

  // ------------------------------------------------------------ private

  private append(line: Buffer, isSeal = false): void {
    // The seal of a batch is always accepted (it ends what is already there); new data is refused past the limit.
    if (!isSeal && this.pendingBytes() + line.length > this.maxBytes) {
      throw new JournalFullError(
        `the journal in ${this.dir} holds ${this.pendingBytes()} unwritten bytes and its limit is ${this.maxBytes} (journal.maxBytes); ` +
          'the trace store has not taken the data fast enough (is it down?). Collection stops; restart when the store answers, or raise journal.maxBytes',
      );
    }
    this.unflushed.push(line);
    this.unflushedBytes += line.length;
    this.sizes.set(this.current, this.sizes.get(this.current)! + line.length);
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    this.current++;
    this.fd = fs.openSync(this.segPath(this.current), 'a');
    this.sizes.set(this.current, 0);
    this.sealedOffset = 0;
  }

  /** Cuts a torn last line, seals an unsealed last batch; returns the highest batch id seen. */
  private repairLast(segment: number): { tornBytes: number; sealedOnOpen: boolean; maxBatch: number } {
    const file = this.segPath(segment);
    const data = fs.readFileSync(file);
    let pos = 0;
    let goodEnd = 0;
    let maxBatch = 0;
    let open: number | undefined;
    while (pos < data.length) {
      const nl = data.indexOf(0x0a, pos);
      const rec = nl < 0 ? undefined : decodeLine(data.subarray(pos, nl));
      if (!rec) {
        // A damaged line followed by good ones is damage, skipped when read; a bad tail is a torn write.
        if (nl < 0 || !hasGoodLineAfter(data, nl + 1)) break;
        pos = nl + 1;
        goodEnd = pos;
        continue;
      }
      if ('s' in rec) open = undefined;
      else {
        open = rec.b;
        maxBatch = Math.max(maxBatch, rec.b);
      }
      pos = nl + 1;
      goodEnd = pos;
    }
    const tornBytes = data.length - goodEnd;
    if (tornBytes > 0) {
      fs.truncateSync(file, goodEnd);
      this.warn(`journal ${file}: cut ${tornBytes} bytes of a line torn by a crash at its end`);
    }
    let size = goodEnd;
    if (open !== undefined) {
      const seal = encodeLine({ s: open });
      const fd = fs.openSync(file, 'a');
      try {
        fs.writeSync(fd, seal);
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      size += seal.length;
    }
    this.sizes.set(segment, size);
    return { tornBytes, sealedOnOpen: open !== undefined, maxBatch };
  }
}

function hasGoodLineAfter(data: Buffer, from: number): boolean {
  let pos = from;
  while (pos < data.length) {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) return false;
    if (decodeLine(data.subarray(pos, nl))) return true;
    pos = nl + 1;
  }
  return false;
}

function readCheckpoint(dir: string): JournalPosition | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as JournalPosition;
    return Number.isInteger(c.segment) && Number.isInteger(c.offset) && c.offset >= 0 ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Reads sealed batches in order, chunk by chunk (never a whole journal in memory). */
class Reader {
  private fd: number | undefined;
  private fdSegment = -1;
  /** Bytes read from the segment but not yet consumed, starting at `bufAt`. */
  private buf: Buffer = Buffer.alloc(0);
  private bufAt: number;

  constructor(
    private readonly j: Journal,
    private pos: JournalPosition,
  ) {
    this.bufAt = pos.offset;
  }

  next(): JournalBatch | undefined {
    for (;;) {
      const end = this.j.readableEnd(this.pos.segment);
      if (this.pos.offset >= end) {
        // Finished with this segment: move on once it is closed (a later one is being written).
        if (this.j.isCurrent(this.pos.segment)) return undefined;
        const after = this.j.nextSegment(this.pos.segment);
        if (after === undefined) return undefined;
        this.moveTo({ segment: after, offset: 0 });
        continue;
      }
      const batch = this.readBatchUpTo(end);
      if (batch) return batch;
      // Only damaged lines up to the end: go round (the segment is exhausted).
    }
  }

  private moveTo(p: JournalPosition): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.fdSegment = -1;
    this.pos = p;
    this.buf = Buffer.alloc(0);
    this.bufAt = p.offset;
  }

  /** Reads lines from pos to `end` until a seal; returns the batch, or undefined when `end` came first. */
  private readBatchUpTo(end: number): JournalBatch | undefined {
    const start = this.pos.offset;
    const readings: JournalReading[] = [];
    const alarms: JournalAlarm[] = [];
    let batchId: number | undefined;
    let offset = this.pos.offset;
    while (offset < end) {
      let rel = offset - this.bufAt;
      let nl = this.buf.indexOf(0x0a, rel);
      if (nl < 0) {
        nl = this.fill(offset, end);
        rel = 0;
        if (nl < 0) break; // cannot happen below a seal; guards a truncated file
      }
      const line = this.buf.subarray(rel, nl);
      const lineEnd = this.bufAt + nl + 1;
      const rec = decodeLine(line);
      offset = lineEnd;
      if (!rec) {
        this.j.warnCorrupt(`journal ${this.j.segPath(this.pos.segment)}: skipped a damaged line at byte ${lineEnd - line.length - 1}`);
        continue;
      }
      if ('s' in rec) {
        this.pos = { segment: this.pos.segment, offset };
        return { batch: rec.s, readings, alarms, end: { ...this.pos }, bytes: offset - start };
      }
      batchId ??= rec.b;
      if ('r' in rec) for (const r of rec.r) readings.push(r);
      else for (const a of rec.a) alarms.push(a);
    }
    // Reached the readable end without a seal: only possible with damaged seals; hand over what was read.
    this.pos = { segment: this.pos.segment, offset };
    if (batchId === undefined) return undefined;
    return { batch: batchId, readings, alarms, end: { ...this.pos }, bytes: offset - start };
  }

  /** Makes the buffer start at `offset` and hold at least one whole line (up to `end`); returns its newline's index, or -1. */
  private fill(offset: number, end: number): number {
    if (this.fdSegment !== this.pos.segment) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = fs.openSync(this.j.segPath(this.pos.segment), 'r');
      this.fdSegment = this.pos.segment;
    }
    let buf = this.buf.subarray(Math.max(0, offset - this.bufAt));
    for (;;) {
      const from = offset + buf.length;
      const want = Math.min(READ_CHUNK, end - from);
      if (want <= 0) break;
      const chunk = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(this.fd!, chunk, got, want - got, from + got);
        if (n === 0) break;
        got += n;
      }
      const searchFrom = buf.length;
      buf = buf.length ? Buffer.concat([buf, chunk.subarray(0, got)]) : chunk.subarray(0, got);
      if (got === 0) break;
      const nl = buf.indexOf(0x0a, searchFrom);
      if (nl >= 0) {
        this.buf = buf;
        this.bufAt = offset;
        return nl;
      }
    }
    this.buf = buf;
    this.bufAt = offset;
    return buf.indexOf(0x0a);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
