/** AES-256-GCM for secrets at rest: base64(iv(12) | tag(16) | ciphertext), bound to a purpose string. */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TraceReportError } from '../../datasources/errors.js';

export function encryptSecret(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function decryptSecret(key: Buffer, sealed: string, aad: string): string {
  const raw = Buffer.from(sealed, 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new TraceReportError('SECRET_KEY_INVALID', 'a stored secret cannot be decrypted with this secret key; start the server with the key it was saved under');
  }
}
