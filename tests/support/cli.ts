/** Runs the built `bin/tracereport` the way a user does, for tests of the command's public surface. */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'tracereport');

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

const options = { cwd: ROOT, encoding: 'utf8' as const, env: { ...process.env, CI: 'true' }, timeout: 120_000, maxBuffer: 64 << 20 };

/** Throws when dist/ has not been built: the CLI tests need `npm run build` first. */
export function requireBuild(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before the CLI tests');
}

/** Runs the command to completion (blocking), with optional standard input. */
export function runCli(args: string[], input?: string): CliRun {
  const r = spawnSync(BIN, args, { ...options, input });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the command without blocking the test process (several can run at once). */
export function runCliAsync(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(BIN, args, options, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}
