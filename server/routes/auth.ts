/** Login, logout and the current session. */
import { TraceReportError } from '../../datasources/errors.js';
import { dummyHash, verifyPassword } from '../auth/password.js';
import { hashToken } from '../store/sessions.js';
import { clearSessionCookie, setSessionCookie } from '../auth/session-cookie.js';
import { clearLoginFailures, createSession, deleteSession, recentLoginFailures, recordLoginFailure } from '../store/sessions.js';
import { findUserForLogin, setPassword } from '../store/users.js';
import { audit, bodyOf, clientAddress, userOf, type RouteDef } from './route.js';

const publicUser = (u: { id: number; username: string; displayName: string | null; roles: string[] }) => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  roles: u.roles,
});

export const authRoutes: RouteDef[] = [
  {
    method: 'POST',
    path: '/api/auth/login',
    permission: 'public',
    summary: 'log in with {username, password}: sets the session cookie, returns the user and the CSRF token',
    async handler(ctx, s) {
      const body = bodyOf(ctx);
      const { username, password } = body;
      if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
        throw new TraceReportError('BODY_INVALID', 'send {"username": "…", "password": "…"} as JSON');
      }
      const address = clientAddress(ctx);
      const { knex } = s.store;
      const st = s.settings;
      const [byAccount, byAddress] = await Promise.all([
        recentLoginFailures(knex, 'user', username, st.loginWindowMs),
        recentLoginFailures(knex, 'address', address, st.loginWindowMs),
      ]);
      if (byAccount >= st.loginFailuresPerAccount || byAddress >= st.loginFailuresPerAddress) {
        await audit(ctx, { action: 'login.blocked', object: `user:${username}`, params: { byAccount, byAddress } });
        ctx.set('Retry-After', String(Math.ceil(st.loginWindowMs / 1000)));
        throw new TraceReportError('LOGIN_RATE_LIMITED', `too many failed logins ${byAccount >= st.loginFailuresPerAccount ? 'for this account' : 'from this address'}; wait ${Math.ceil(st.loginWindowMs / 60000)} minutes or ask an administrator`);
      }
      const found = await findUserForLogin(knex, username);
      const ok = await verifyPassword(password, found?.passwordHash ?? (await dummyHash()));
      if (!found || !ok || found.user.disabled) {
        await recordLoginFailure(knex, username, address);
        await audit(ctx, { action: 'login.failed', object: `user:${username}` });
        throw new TraceReportError('LOGIN_FAILED', 'the user name or password is wrong, or the account is disabled');
      }
      await clearLoginFailures(knex, username);
      const session = await createSession(knex, found.user.id, address, st.sessionTtlMs);
      setSessionCookie(ctx, session.token, st.tls);
      ctx.state.session = { user: found.user, csrfToken: session.csrfToken, token: session.token, expiresAt: session.expiresAt };
      await audit(ctx, { action: 'login', object: `user:${username}` });
      ctx.body = { user: publicUser(found.user), csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  },
  {
    method: 'POST',
    path: '/api/auth/logout',
    permission: 'authenticated',
    summary: 'end the session (server-side) and clear the cookie',
    async handler(ctx, s) {
      const session = ctx.state.session!;
      await deleteSession(s.store.knex, session.token);
      clearSessionCookie(ctx, s.settings.tls);
      await audit(ctx, { action: 'logout', object: `user:${session.user.username}` });
      ctx.status = 204;
    },
  },
  {
    method: 'GET',
    path: '/api/auth/me',
    permission: 'authenticated',
    summary: "the session's user, roles, CSRF token and expiry",
    async handler(ctx) {
      const session = ctx.state.session!;
      ctx.body = { user: publicUser(userOf(ctx)), csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  },
  {
    method: 'POST',
    path: '/api/auth/password',
    permission: 'authenticated',
    summary: 'change your own password {currentPassword, newPassword}; your other sessions end',
    async handler(ctx, s) {
      const { currentPassword, newPassword } = bodyOf(ctx);
      if (typeof currentPassword !== 'string' || typeof newPassword !== 'string') {
        throw new TraceReportError('BODY_INVALID', 'send {"currentPassword": "…", "newPassword": "…"}');
      }
      const session = ctx.state.session!;
      if ((await recentLoginFailures(s.store.knex, 'user', session.user.username, s.settings.loginWindowMs)) >= s.settings.loginFailuresPerAccount) {
        throw new TraceReportError('LOGIN_RATE_LIMITED', `too many wrong passwords for this account; wait ${Math.ceil(s.settings.loginWindowMs / 60000)} minutes`);
      }
      const found = await findUserForLogin(s.store.knex, session.user.username);
      if (!found || !(await verifyPassword(currentPassword, found.passwordHash))) {
        await recordLoginFailure(s.store.knex, session.user.username, clientAddress(ctx));
        await audit(ctx, { action: 'password.change.failed', object: `user:${session.user.username}` });
        throw new TraceReportError('LOGIN_FAILED', 'the current password is wrong');
      }
      await setPassword(s.store.knex, found.user, newPassword, hashToken(session.token));
      await audit(ctx, { action: 'password.change', object: `user:${session.user.username}` });
      ctx.status = 204;
    },
  },
];
