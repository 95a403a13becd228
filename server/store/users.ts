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

async function toUser(knex: Knex, row: UserRow, roles?: Role[]): Promise<User> {
  return {
    id: Number(row.id),
    username: row.username,
    displayName: row.display_name,
    roles: roles ?? (await rolesOf(knex, Number(row.id))),
    attributes: row.attributes ? (JSON.parse(row.attributes) as Record<string, unknown>) : {},
    disabled: Boolean(row.disabled),
  };
}

export async function findUserForLogin(knex: Knex, username: string): Promise<{ user: User; passwordHash: string } | null> {
  const row = (await knex('srv_user').where({ username }).first()) as UserRow | undefined;
  return row ? { user: await toUser(knex, row), passwordHash: row.password_hash } : null;
}

/** The user with their roles, in one statement (every request with a session asks). */
export async function getUser(knex: Knex, id: number): Promise<User | null> {
  const rows = (await knex('srv_user as u')
    .leftJoin('srv_user_role as r', 'r.user_id', 'u.id')
    .where('u.id', id)
    .select('u.*', 'r.role as role')) as (UserRow & { role: Role | null })[];
  const row = rows[0];
  if (!row) return null;
  return toUser(knex, row, rows.flatMap((r) => (r.role ? [r.role] : [])).sort());
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

export interface UserPatch {
  roles?: Role[];
  disabled?: boolean;
  displayName?: string | null;
  attributes?: Record<string, unknown>;
}

async function enabledAdmins(knex: Knex): Promise<number[]> {
  const rows = (await knex('srv_user as u').join('srv_user_role as r', 'r.user_id', 'u.id').where('r.role', 'admin').andWhere('u.disabled', false).select('u.id')) as { id: number }[];
  return rows.map((r) => Number(r.id));
}

/** Changes roles, disabled, display name or attributes; refuses to leave no enabled admin. */
export async function updateUser(knex: Knex, id: number, patch: UserPatch): Promise<{ before: User; after: User }> {
  const before = await getUser(knex, id);
  if (!before) throw new TraceReportError('NOT_FOUND', `no user with id ${id}`, { id });
  if (patch.roles !== undefined) {
    const bad = patch.roles.filter((r) => !isRole(r));
    if (bad.length || patch.roles.length === 0) throw new TraceReportError('BODY_INVALID', `roles: give one or more of ${ROLES.join(', ')}`, { path: '$.roles', unknown: bad });
  }
  const losesAdmin = (patch.roles !== undefined && !patch.roles.includes('admin')) || patch.disabled === true;
  if (losesAdmin && before.roles.includes('admin') && !before.disabled) {
    const admins = await enabledAdmins(knex);
    if (admins.length === 1 && admins[0] === id) throw new TraceReportError('CONFLICT', 'this is the only enabled admin; make another admin first');
  }
  await knex.transaction(async (trx) => {
    const row: Record<string, unknown> = {};
    if (patch.disabled !== undefined) row.disabled = patch.disabled;
    if (patch.displayName !== undefined) row.display_name = patch.displayName;
    if (patch.attributes !== undefined) row.attributes = JSON.stringify(patch.attributes);
    if (Object.keys(row).length) await trx('srv_user').where({ id }).update(row);
    if (patch.roles !== undefined) {
      await trx('srv_user_role').where({ user_id: id }).delete();
      await trx('srv_user_role').insert([...new Set(patch.roles)].map((role) => ({ user_id: id, role })));
    }
    if (patch.disabled === true) await trx('srv_session').where({ user_id: id }).delete();
  });
  return { before, after: (await getUser(knex, id))! };
}

/** Sets a new password (policy checked) and ends the user's sessions except `keepSessionHash`. */
export async function setPassword(knex: Knex, user: User, password: string, keepSessionHash?: string): Promise<void> {
  checkPasswordPolicy(password, user.username);
  const hash = await hashPassword(password);
  await knex.transaction(async (trx) => {
    await trx('srv_user').where({ id: user.id }).update({ password_hash: hash, password_changed_at: nowIso() });
    const q = trx('srv_session').where({ user_id: user.id });
    if (keepSessionHash) q.andWhereNot({ id_hash: keepSessionHash });
    await q.delete();
  });
}
