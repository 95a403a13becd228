/** Users and their roles in the config database. */
import type { Knex } from 'knex';
import { TraceReportError } from '../../datasources/errors.js';
import { ROLES } from './migrations/001-server-config.js';
import { nowIso } from './open.js';
import { checkPasswordPolicy, hashPassword } from '../auth/password.js';

export type Role = (typeof ROLES)[number];
export { ROLES };

export interface User {
  id: number;
  username: string;
  displayName: string | null;
  roles: Role[];
  attributes: Record<string, unknown>;
  disabled: boolean;
}

interface UserRow {
  id: number;
  username: string;
  display_name: string | null;
  password_hash: string;
  attributes: string | null;
  disabled: number | boolean;
}

export function isRole(r: unknown): r is Role {
  return typeof r === 'string' && (ROLES as readonly string[]).includes(r);
}

async function rolesOf(knex: Knex, userId: number): Promise<Role[]> {
  const rows = (await knex('srv_user_role').where({ user_id: userId }).select('role')) as { role: Role }[];
  return rows.map((r) => r.role).sort();
}

async function toUser(knex: Knex, row: UserRow): Promise<User> {
  return {
    id: Number(row.id),
    username: row.username,
    displayName: row.display_name,
    roles: await rolesOf(knex, Number(row.id)),
    attributes: row.attributes ? (JSON.parse(row.attributes) as Record<string, unknown>) : {},
    disabled: Boolean(row.disabled),
  };
}

export async function findUserForLogin(knex: Knex, username: string): Promise<{ user: User; passwordHash: string } | null> {
  const row = (await knex('srv_user').where({ username }).first()) as UserRow | undefined;
  return row ? { user: await toUser(knex, row), passwordHash: row.password_hash } : null;
}

export async function getUser(knex: Knex, id: number): Promise<User | null> {
  const row = (await knex('srv_user').where({ id }).first()) as UserRow | undefined;
  return row ? toUser(knex, row) : null;
}

export async function listUsers(knex: Knex): Promise<User[]> {
  const rows = (await knex('srv_user').orderBy('username')) as UserRow[];
  return Promise.all(rows.map((r) => toUser(knex, r)));
}

export async function countUsers(knex: Knex): Promise<number> {
  const [row] = (await knex('srv_user').count({ n: '*' })) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

export interface NewUser {
  username: string;
  password: string;
  roles: Role[];
  displayName?: string;
  attributes?: Record<string, unknown>;
}

export async function createUser(knex: Knex, u: NewUser): Promise<User> {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(u.username)) {
    throw new TraceReportError('BODY_INVALID', 'username: 1–64 letters, digits, dot, underscore, @ or hyphen', { path: '$.username' });
  }
  const bad = u.roles.filter((r) => !isRole(r));
  if (bad.length || u.roles.length === 0) {
    throw new TraceReportError('BODY_INVALID', `roles: give one or more of ${ROLES.join(', ')}`, { path: '$.roles', unknown: bad });
  }
  checkPasswordPolicy(u.password, u.username);
  if (await knex('srv_user').where({ username: u.username }).first()) {
    throw new TraceReportError('CONFLICT', `a user named "${u.username}" exists`, { username: u.username });
  }
  const hash = await hashPassword(u.password);
  const now = nowIso();
  const id = await knex.transaction(async (trx) => {
    const [row] = (await trx('srv_user')
      .insert({ username: u.username, display_name: u.displayName ?? null, password_hash: hash, attributes: JSON.stringify(u.attributes ?? {}), created_at: now, password_changed_at: now })
      .returning('id')) as ({ id: number } | number)[];
    const userId = typeof row === 'object' ? Number(row.id) : Number(row);
    await trx('srv_user_role').insert([...new Set(u.roles)].map((role) => ({ user_id: userId, role })));
    return userId;
  });
  return (await getUser(knex, id))!;
}
