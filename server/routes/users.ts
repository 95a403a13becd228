/** Users (admin only). */
import { TraceReportError } from '../../datasources/errors.js';
import { createUser, getUser, listUsers, setPassword, updateUser, type Role, type UserPatch } from '../store/users.js';
import { checkPasswordPolicy } from '../auth/password.js';
import { audit, bodyOf, idParam, type RouteDef } from './route.js';

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
      if (b.attributes !== undefined && (b.attributes === null || typeof b.attributes !== 'object' || Array.isArray(b.attributes))) {
        throw new TraceReportError('BODY_INVALID', 'attributes: an object such as {"plant": "A"}', { path: '$.attributes' });
      }
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
      if (b.attributes !== undefined && (b.attributes === null || typeof b.attributes !== 'object' || Array.isArray(b.attributes))) {
        throw new TraceReportError('BODY_INVALID', 'attributes: an object such as {"plant": "A"}', { path: '$.attributes' });
      }
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
