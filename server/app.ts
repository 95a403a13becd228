/**
 * The koa app: errors as `{error: {code, message, details}}`, request log and metrics, security
 * headers, JSON bodies with a size limit, the session from its cookie, then the router built from
 * the route table, each route behind the same guard: 401 without a session, 403 without the CSRF
 * token on a state-changing request, 403 when the user's roles lack the route's permission.
 */
import { timingSafeEqual } from 'node:crypto';
import Koa from 'koa';
import { Router } from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { TraceReportError } from '../datasources/errors.js';
import { errorResponse } from './errors.js';
import { securityHeaders } from './security-headers.js';
import { allows } from './auth/permissions.js';
import { CSRF_HEADER, SESSION_COOKIE } from './auth/session-cookie.js';
import { findSession } from './store/sessions.js';
import { getUser } from './store/users.js';
import { ROUTES } from './routes/table.js';
import { viewerStatic } from './static.js';
import { STATE_CHANGING, type ApiContext, type ApiState, type RouteDef } from './routes/route.js';
import type { Services } from './services.js';

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function guard(def: RouteDef, services: Services) {
  return async (ctx: ApiContext): Promise<void> => {
    ctx.state.route = def.path;
    if (def.permission !== 'public') {
      const session = ctx.state.session;
      if (!session) throw new TraceReportError('AUTH_REQUIRED', 'log in first: POST /api/auth/login (the session may have expired)');
      if (STATE_CHANGING.includes(def.method)) {
        const sent = ctx.get(CSRF_HEADER);
        if (!sent || !sameToken(sent, session.csrfToken)) {
          throw new TraceReportError('CSRF_INVALID', `send the session's CSRF token (from login or GET /api/auth/me) in the ${CSRF_HEADER} header`);
        }
      }
      if (!allows(session.user.roles, def.permission)) {
        throw new TraceReportError('FORBIDDEN', `${def.method} ${def.path} needs the permission "${def.permission}", which roles ${session.user.roles.join(', ')} do not have`, {
          permission: def.permission,
        });
      }
    }
    await def.handler(ctx, services);
  };
}

export function createApp(services: Services): Koa<ApiState> {
  const app = new Koa<ApiState>();
  const { logger, metrics, settings } = services;

  app.use(async (ctx, next) => {
    const started = performance.now();
    ctx.state.services = services;
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new TraceReportError('NOT_FOUND', `no route ${ctx.method} ${ctx.path}; \`tracereport routes\` lists them`);
      }
    } catch (e) {
      const { status, body } = errorResponse(e);
      ctx.status = status;
      ctx.body = body;
      if (status >= 500) logger.error({ err: e, method: ctx.method, path: ctx.path }, 'request failed');
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const route = ctx.state.route ?? 'unmatched';
      metrics.httpDuration.observe({ method: ctx.method, route, status: String(ctx.status) }, seconds);
      logger.info({ method: ctx.method, route, path: ctx.path.startsWith('/embed/') ? '/embed/…' : ctx.path, status: ctx.status, ms: Math.round(seconds * 1000), user: ctx.state.session?.user.username, ip: ctx.ip }, 'request');
    }
  });
  app.use(securityHeaders(settings.tls));
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: settings.jsonLimit, jsonStrict: true }));
  app.use(async (ctx, next) => {
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) {
      const row = await findSession(services.store.knex, token, settings.sessionTtlMs);
      const user = row ? await getUser(services.store.knex, Number(row.user_id)) : null;
      if (row && user && !user.disabled) ctx.state.session = { user, csrfToken: row.csrf_token, token, expiresAt: row.expires_at };
    }
    await next();
  });

  // Errors after the response started (a client that went away mid-download): logged, not printed.
  app.on('error', (err: Error & { code?: string }) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET') logger.debug({ err }, 'client went away');
    else logger.error({ err }, 'response failed');
  });

  const router = new Router<ApiState>();
  for (const def of ROUTES) {
    const method = def.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
    router[method](def.path, guard(def, services) as unknown as Parameters<typeof router.get>[1]);
  }
  app.use(router.routes());
  // After the API: the built web viewer's files and pages (server/static.ts).
  app.use(viewerStatic());
  return app;
}
