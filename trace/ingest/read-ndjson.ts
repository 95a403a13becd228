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

/**
 * Reads NDJSON lines from files (`-` is standard input) in chunks of lines, streaming: the input is never
 * held whole, and reading waits while the consumer works (the stream's own backpressure). Blank lines are
 * skipped but counted; a byte-order mark and CR of CRLF line ends are dropped.
 */
export async function* readNdjsonChunks(files: readonly string[], opts: { labels?: readonly string[] } = {}): AsyncGenerator<NdjsonLine[]> {
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const label = opts.labels?.[f] ?? (file === '-' ? STDIN_LABEL : file);
    const stream = openInput(file);
    stream.setEncoding('utf8');
    let rest = '';
    let lineNo = 0;
    let first = true;
    try {
      for await (const chunk of stream as AsyncIterable<string>) {
        let buf = rest ? rest + chunk : chunk;
        if (first) {
          if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
          first = false;
        }
        const out: NdjsonLine[] = [];
        let start = 0;
        let nl: number;
        while ((nl = buf.indexOf('\n', start)) !== -1) {
          lineNo++;
          const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
          if (!isBlank(buf, start, end)) out.push({ file: label, line: lineNo, text: buf.slice(start, end) });
          start = nl + 1;
        }
        rest = buf.slice(start);
        if (rest.length > MAX_LINE_CHARS) {
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
    if (rest.length) {
      lineNo++;
      const end = rest.charCodeAt(rest.length - 1) === 13 ? rest.length - 1 : rest.length;
      if (!isBlank(rest, 0, end)) yield [{ file: label, line: lineNo, text: rest.slice(0, end) }];
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

function isBlank(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
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
