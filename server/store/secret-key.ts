/**
 * The server's secret key (32 bytes): encrypts data-source passwords and keys the audit chain.
 * From TRACEREPORT_SECRET_KEY (64 hex digits or base64 of 32 bytes), else DIR/secret.key, created
 * at first start with mode 0600. Nodes sharing one config database must share the key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, hkdfSync } from 'node:crypto';
import { TraceReportError } from '../../datasources/errors.js';

export const SECRET_KEY_ENV = 'TRACEREPORT_SECRET_KEY';
export const KEY_FILE = 'secret.key';

export function parseSecretKey(text: string, where: string): Buffer {
  const s = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
  if (key.length !== 32) {
    throw new TraceReportError('SECRET_KEY_INVALID', `${where} must hold 32 bytes as 64 hex digits or base64 (make one with: openssl rand -hex 32)`);
  }
  return key;
}

/** Reads the key from the environment or the data dir; with `create`, makes the key file when missing. */
export function loadSecretKey(dataDir: string, opts: { create: boolean } = { create: true }): { key: Buffer; from: string } {
  const env = process.env[SECRET_KEY_ENV];
  if (env) return { key: parseSecretKey(env, SECRET_KEY_ENV), from: SECRET_KEY_ENV };
  const file = path.join(dataDir, KEY_FILE);
  if (!fs.existsSync(file)) {
    if (!opts.create) {
      throw new TraceReportError('SECRET_KEY_INVALID', `no secret key: set ${SECRET_KEY_ENV} or give the --data-dir holding ${KEY_FILE}`);
    }
    fs.mkdirSync(dataDir, { recursive: true });
    const fd = fs.openSync(file, 'wx', 0o600);
    try {
      fs.writeSync(fd, randomBytes(32).toString('hex') + '\n');
    } finally {
      fs.closeSync(fd);
    }
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new TraceReportError('SECRET_KEY_INVALID', `${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${file}`);
  }
  return { key: parseSecretKey(fs.readFileSync(file, 'utf8'), file), from: file };
}

/** A key for one purpose derived from the secret key, so no two uses share key material. */
export function deriveKey(secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `tracereport ${purpose}`, 32));
}
