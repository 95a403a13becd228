/**
 * Server-side sessions: the cookie carries a random token; the database keeps its SHA-256, the user,
 * the CSRF token bound to the session and the expiry (idle timeout, renewed on use).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export interface SessionRow {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  address: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export async function createSession(knex: Knex, userId: number, address: string, ttlMs: number): Promise<{ token: string; csrfToken: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
  await knex('srv_session').insert({
    id_hash: hashToken(token),
    user_id: userId,
    csrf_token: csrfToken,
    address,
    created_at: now.toISOString(),
    last_seen_at: now.toISOString(),
    expires_at: expiresAt,
  });
  return { token, csrfToken, expiresAt };
}

/** The live session for a cookie token, renewed (at most once a minute); expired ones are deleted. */
export async function findSession(knex: Knex, token: string, ttlMs: number): Promise<SessionRow | null> {
  const idHash = hashToken(token);
  const row = (await knex('srv_session').where({ id_hash: idHash }).first()) as SessionRow | undefined;
  if (!row) return null;
  const now = new Date();
  if (row.expires_at <= now.toISOString()) {
    await knex('srv_session').where({ id_hash: idHash }).delete();
    return null;
  }
  if (now.getTime() - Date.parse(row.last_seen_at) > 60_000) {
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    await knex('srv_session').where({ id_hash: idHash }).update({ last_seen_at: now.toISOString(), expires_at: expiresAt });
    row.expires_at = expiresAt;
  }
  return row;
}

export async function deleteSession(knex: Knex, token: string): Promise<void> {
  await knex('srv_session').where({ id_hash: hashToken(token) }).delete();
}

export async function deleteExpiredSessions(knex: Knex): Promise<number> {
  return knex('srv_session').where('expires_at', '<=', new Date().toISOString()).delete();
}

/** Login failures, counted per account and per address within a window (shared by every node). */
export async function recordLoginFailure(knex: Knex, username: string, address: string): Promise<void> {
  const at = new Date().toISOString();
  await knex('srv_login_failure').insert([
    { kind: 'user', key: username.toLowerCase(), at },
    { kind: 'address', key: address, at },
  ]);
}

export async function recentLoginFailures(knex: Knex, kind: 'user' | 'address', key: string, windowMs: number): Promise<number> {
  const since = new Date(Date.now() - windowMs).toISOString();
  const [row] = (await knex('srv_login_failure')
    .where({ kind, key: kind === 'user' ? key.toLowerCase() : key })
    .andWhere('at', '>', since)
    .count({ n: '*' })) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

export async function clearLoginFailures(knex: Knex, username: string): Promise<void> {
  await knex('srv_login_failure').where({ kind: 'user', key: username.toLowerCase() }).delete();
}
