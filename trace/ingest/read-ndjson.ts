import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { TraceReportError } from '../../datasources/errors.js';

/** One non-blank line of an NDJSON input: where it came from and its text. */
export interface NdjsonLine {
  /** The file as given, or `<stdin>` for `-`. */
  file: string;
  /** 1-based line number in that file (blank lines count). */
  line: number;
  text: string;
}

/** The name under which standard input appears in lines and errors. */
export const STDIN_LABEL = '<stdin>';
/** A line longer than this is not NDJSON (and would not fit a JS string for long). */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Reads NDJSON lines from files (`-` is standard input) in chunks of lines, streaming: the input is never
 * held whole, and reading waits while the consumer works (the stream's own backpressure). Blank lines are
 * skipped but counted; a byte-order mark and CR of CRLF line ends are dropped.
 *
 * Lines are cut in the bytes (a newline byte never occurs inside a UTF-8 character) and each line is decoded
 * on its own, as UTF-8 with invalid bytes replaced (U+FFFD): several times cheaper than decoding the stream
 * to text and cutting that.
 */
export async function* readNdjsonChunks(files: readonly string[], opts: { labels?: readonly string[] } = {}): AsyncGenerator<NdjsonLine[]> {
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const label = opts.labels?.[f] ?? (file === '-' ? STDIN_LABEL : file);
    const stream = openInput(file);
    /** The start of a line whose newline has not been read yet. */
    let rest: Buffer | undefined;
    let lineNo = 0;
    let first = true;
    const push = (out: NdjsonLine[], buf: Buffer, start: number, end: number) => {
      lineNo++;
      if (end > start && buf[end - 1] === 13) end--;
      const text = buf.toString('utf8', start, end);
      if (!isBlank(text)) out.push({ file: label, line: lineNo, text });
    };
    try {
      for await (const data of stream as AsyncIterable<Buffer | string>) {
        let buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        if (first) {
          // A byte-order mark (EF BB BF) starting the input, even if it arrives in pieces.
          if (rest) buf = Buffer.concat([rest, buf]);
          rest = undefined;
          if (buf.length < 3 && BOM.subarray(0, buf.length).equals(buf)) {
            rest = Buffer.from(buf);
            continue;
          }
          if (buf.subarray(0, 3).equals(BOM)) buf = buf.subarray(3);
          first = false;
        }
        const out: NdjsonLine[] = [];
        let start = 0;
        let nl = buf.indexOf(10);
        if (rest && nl !== -1) {
          // The line begun in an earlier chunk ends in this one.
          const line = Buffer.concat([rest, buf.subarray(0, nl)]);
          push(out, line, 0, line.length);
          rest = undefined;
          start = nl + 1;
          nl = buf.indexOf(10, start);
        }
        for (; nl !== -1; nl = buf.indexOf(10, start)) {
          push(out, buf, start, nl);
          start = nl + 1;
        }
        if (start < buf.length) rest = rest ? Buffer.concat([rest, buf.subarray(start)]) : Buffer.from(buf.subarray(start));
        if (rest && rest.length > MAX_LINE_CHARS && rest.toString('utf8').length > MAX_LINE_CHARS) {
          throw new TraceReportError('INGEST_INVALID', `${label}:${lineNo + 1}: line is longer than ${MAX_LINE_CHARS} characters; NDJSON has one event per line`, {
            errors: [{ file: label, line: lineNo + 1, field: '', message: 'line is too long' }],
            invalid: 1,
          });
        }
        if (out.length) yield out;
      }
    } catch (e) {
      throw readError(e, label);
    } finally {
      if (file !== '-') stream.destroy();
    }
    if (rest?.length) {
      const out: NdjsonLine[] = [];
      push(out, rest, 0, rest.length);
      if (out.length) yield out;
    }
  }
}

/** The lines of NDJSON inputs one at a time: `{file, line, text}`, blank lines skipped. */
export async function* readNdjsonLines(files: readonly string[]): AsyncGenerator<NdjsonLine> {
  for await (const chunk of readNdjsonChunks(files)) yield* chunk;
}

/** Checks up front that every input file can be read, so that a typo fails before any work. */
export async function checkInputsReadable(files: readonly string[]): Promise<void> {
  if (files.length === 0) throw new TraceReportError('ARGUMENT_INVALID', 'no input given; name one or more NDJSON files, or - for standard input');
  if (files.filter((f) => f === '-').length > 1) throw new TraceReportError('ARGUMENT_INVALID', 'standard input (-) can be read only once; name it once');
  for (const f of files) {
    if (f === '-') continue;
    try {
      const st = await fs.promises.stat(f);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      await fs.promises.access(f, fs.constants.R_OK);
    } catch (e) {
      throw readError(e, f);
    }
  }
}

/**
 * Copies standard input to a temporary file, so that it can be read twice (validate, then write).
 * `cleanup()` removes the file.
 */
export async function spoolStdin(input: Readable = process.stdin): Promise<{ path: string; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-ingest-'));
  const file = path.join(dir, 'stdin.ndjson');
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await pipeline(input, fs.createWriteStream(file));
  } catch (e) {
    cleanup();
    throw readError(e, STDIN_LABEL);
  }
  return { path: file, cleanup };
}

function openInput(file: string): Readable {
  if (file === '-') return process.stdin;
  return fs.createReadStream(file, { highWaterMark: 1 << 20 });
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) return false;
  }
  return true;
}

function readError(e: unknown, label: string): Error {
  if (e instanceof TraceReportError) return e;
  const err = e as NodeJS.ErrnoException;
  const why =
    err?.code === 'ENOENT' ? 'no such file' : err?.code === 'EACCES' ? 'permission denied' : err?.code === 'EISDIR' ? 'is a directory, not a file' : String(err?.message ?? e);
  return new TraceReportError('INGEST_READ_FAILED', `cannot read ${label}: ${why}; check the path`, { file: label, errno: err?.code });
}
