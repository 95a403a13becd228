/** Users (admin only). */
import { attributeValue } from '../../renderer/user-values.js';
import { TraceReportError } from '../../datasources/errors.js';
import { createUser, getUser, listUsers, setPassword, updateUser, type Role, type UserPatch } from '../store/users.js';
import { checkPasswordPolicy } from '../auth/password.js';
import { audit, bodyOf, idParam, type RouteDef } from './route.js';

/**
 * User attributes become `$user.<name>` values bound into reports (row-level security), so each
 * name is an identifier and each value text, a number, true/false or a list of them.
 */
function checkAttributes(a: unknown): void {
  if (a === undefined) return;
  if (a === null || typeof a !== 'object' || Array.isArray(a)) {
    throw new TraceReportError('BODY_INVALID', 'attributes: an object such as {"plant": "A"}', { path: '$.attributes' });
  }
  for (const [name, value] of Object.entries(a)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || ['id', 'username', 'roles'].includes(name)) {
      throw new TraceReportError('BODY_INVALID', `attributes.${name}: a name of letters, digits and _ other than id, username and roles`, { path: `$.attributes.${name}` });
    }
    if (attributeValue(value) === undefined) {
      throw new TraceReportError('BODY_INVALID', `attributes.${name}: text, a number, true/false or a list of them`, { path: `$.attributes.${name}` });
    }
  }
}

export const userRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/users',
    permission: 'users.manage',
    summary: 'list users with roles and attributes',
    async handler(ctx, s) {
      ctx.body = { users: await listUsers(s.store.knex) };
    },
  },
  {
    method: 'POST',
    path: '/api/users',
    permission: 'users.manage',
    summary: 'create a user {username, password, roles, displayName?, attributes?}; the password must meet the policy',
    async handler(ctx, s) {
      const b = bodyOf(ctx);
      if (typeof b.username !== 'string' || typeof b.password !== 'string' || !Array.isArray(b.roles)) {
        throw new TraceReportError('BODY_INVALID', 'send {"username", "password", "roles": [...]} (displayName and attributes optional)');
      }
      checkAttributes(b.attributes);
      const user = await createUser(s.store.knex, {
        username: b.username,
        password: b.password,
        roles: b.roles as Role[], // checked by createUser
        displayName: typeof b.displayName === 'string' ? b.displayName : undefined,
        attributes: b.attributes as Record<string, unknown> | undefined,
      });
      await audit(ctx, { action: 'user.create', object: `user:${user.username}`, after: { username: user.username, roles: user.roles, attributes: user.attributes } });
      ctx.status = 201;
      ctx.body = { user };
    },
  },
  {
    method: 'PUT',
    path: '/api/users/:id',
    permission: 'users.manage',
    summary: 'change {roles?, disabled?, displayName?, attributes?, password?}; disabling or a new password ends the user\'s sessions',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const b = bodyOf(ctx);
      const known = ['roles', 'disabled', 'displayName', 'attributes', 'password'];
      const extra = Object.keys(b).filter((k) => !known.includes(k));
      if (extra.length) throw new TraceReportError('BODY_INVALID', `unknown field(s) ${extra.join(', ')}; a user change has ${known.join(', ')}`, { path: `$.${extra[0]}` });
      if (b.roles !== undefined && !Array.isArray(b.roles)) throw new TraceReportError('BODY_INVALID', 'roles: a list', { path: '$.roles' });
      if (b.disabled !== undefined && typeof b.disabled !== 'boolean') throw new TraceReportError('BODY_INVALID', 'disabled: true or false', { path: '$.disabled' });
      if (b.displayName !== undefined && b.displayName !== null && typeof b.displayName !== 'string') throw new TraceReportError('BODY_INVALID', 'displayName: text or null', { path: '$.displayName' });
      checkAttributes(b.attributes);
      if (b.password !== undefined && typeof b.password !== 'string') throw new TraceReportError('BODY_INVALID', 'password: text', { path: '$.password' });
      const target = await getUser(s.store.knex, id);
      if (!target) throw new TraceReportError('NOT_FOUND', `no user with id ${id}`, { id });
      if (typeof b.password === 'string') checkPasswordPolicy(b.password, target.username);
      const { before, after } = await updateUser(s.store.knex, id, b as UserPatch);
      if (typeof b.password === 'string') await setPassword(s.store.knex, target, b.password);
      const view = (u: typeof before) => ({ roles: u.roles, disabled: u.disabled, displayName: u.displayName, attributes: u.attributes });
      await audit(ctx, { action: 'user.update', object: `user:${after.username}`, before: view(before), after: view(after), params: { passwordReset: typeof b.password === 'string' } });
      ctx.body = { user: after };
    },
  },
];
