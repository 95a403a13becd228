/** Users (admin only). */
import { TraceReportError } from '../../datasources/errors.js';
import { createUser, listUsers, type Role } from '../store/users.js';
import { audit, bodyOf, type RouteDef } from './route.js';

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
];
