/**
 * Password hashing with scrypt (node:crypto) and the password policy. Stored as
 * `scrypt$N$r$p$salt$hash` (base64) so the cost can be raised later without breaking old hashes.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TraceReportError } from '../../datasources/errors.js';

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

const COST = { N: 1 << 15, r: 8, p: 1 };
const KEY_LEN = 32;
const maxmem = 128 * 1024 * 1024;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, KEY_LEN, { ...COST, maxmem });
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(password.normalize('NFC'), salt, expected.length, { N, r, p, maxmem });
  return timingSafeEqual(key, expected);
}

/** A hash of a random password: verified against when the account does not exist, so timing does not tell. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** The policy: 12–256 characters, at least two of letters / digits / other characters, not containing the user name. */
export function checkPasswordPolicy(password: string, username: string): void {
  const problems: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) problems.push(`at least ${PASSWORD_MIN_LENGTH} characters`);
  if (password.length > PASSWORD_MAX_LENGTH) problems.push(`at most ${PASSWORD_MAX_LENGTH} characters`);
  const classes = [/\p{L}/u, /\p{N}/u, /[^\p{L}\p{N}]/u].filter((re) => re.test(password)).length;
  if (classes < 2) problems.push('at least two of: letters, digits, other characters');
  if (username && password.toLowerCase().includes(username.toLowerCase())) problems.push('must not contain the user name');
  if (problems.length) {
    throw new TraceReportError('PASSWORD_WEAK', `password does not meet the policy: ${problems.join('; ')}`, { rules: problems });
  }
}

/** A random password that meets the policy (for the first admin). */
export function randomPassword(): string {
  return `${randomBytes(12).toString('base64url')}-${randomBytes(2).readUInt16BE() % 90 + 10}`;
}
