/**
 * Where a file output (XLSX, CSV) goes: a path or a writable stream. A path is written to a temporary
 * file beside it and renamed when complete, so a failed render never leaves a partial file. Any
 * failure to write becomes OUTPUT_FAILED naming the file and the cause; errors of the report itself
 * (already TraceReportErrors) pass through unchanged.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TraceReportError } from '../../datasources/errors.js';

export interface OutputTarget {
  readonly stream: NodeJS.WritableStream;
  /** The file name for messages (`<stream>` for a stream). */
  readonly name: string;
  /** Rejects when the stream fails; never resolves. Race it against work that could otherwise wait forever. */
  readonly failed: Promise<never>;
  /** The first write error, once there is one. */
  error(): Error | undefined;
  /** After the stream has been ended: waits until the data is on disk and moves the file in place. */
  complete(): Promise<void>;
  /** Removes the temporary file (after a failure). */
  discard(): Promise<void>;
}

export function openOutput(out: string | NodeJS.WritableStream): OutputTarget {
  const isPath = typeof out === 'string';
  const name = isPath ? out : '<stream>';
  const tmp = isPath ? join(dirname(out), `.${basename(out)}.${process.pid}.${Date.now().toString(36)}.tmp`) : '';
  // A 1 MB buffer: a band of CSV or a stretch of zip output goes to the file in one write instead of waiting at every 16 KB.
  const stream: NodeJS.WritableStream = isPath ? createWriteStream(tmp, { highWaterMark: 2 ** 20 }) : out;
  let error: Error | undefined;
  let rejectFailed!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => {});
  stream.on('error', (e: Error) => {
    if (!error) {
      error = e;
      rejectFailed(e);
    }
  });
  const closed = isPath
    ? new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
      })
    : Promise.resolve();
  return {
    stream,
    name,
    failed,
    error: () => error,
    async complete() {
      await Promise.race([closed, failed]);
      if (error) throw error;
      if (isPath) await rename(tmp, out);
    },
    async discard() {
      if (!isPath) return;
      const s = stream as NodeJS.WritableStream & { destroy?: () => void; closed?: boolean };
      if (!s.closed && s.destroy) {
        s.destroy();
        await closed;
      }
      await rm(tmp, { force: true });
    },
  };
}

/** The error to throw for a failed output: report errors unchanged, anything else as OUTPUT_FAILED. */
export function outputError(kind: string, target: OutputTarget, cause: unknown): Error {
  if (cause instanceof TraceReportError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TraceReportError(
    'OUTPUT_FAILED',
    `could not write the ${kind} output ${target.name}: ${reason}; check that the directory exists, is writable and has free space`,
    { file: target.name },
    { cause },
  );
}
