/** Liveness and Prometheus metrics. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { TraceReportError } from '../../datasources/errors.js';
import type { RouteDef } from './route.js';

/** The environment variable giving the bearer token `/metrics` asks for. */
export const METRICS_TOKEN_ENV = 'TRACEREPORT_METRICS_TOKEN';

/** Refuses the request unless it carries the metrics token (when one is set), compared in constant time. */
function checkMetricsToken(ctx: Context, token: string | undefined): void {
  if (!token) return;
  const given = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1] ?? '';
  const digest = (v: string) => createHash('sha256').update(v).digest();
  if (!given || !timingSafeEqual(digest(given), digest(token))) {
    ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
    throw new TraceReportError('AUTH_REQUIRED', `/metrics needs "Authorization: Bearer <token>" with the token set in ${METRICS_TOKEN_ENV} on the server`);
  }
}

export const healthRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/healthz',
    permission: 'public',
    summary: 'liveness: 200 {status:"ok"} when the config database and trace store answer, else 503',
    async handler(ctx, s) {
      try {
        await s.store.db.query('select 1 as ok');
        await s.traceDb.query('select 1 as ok');
        ctx.body = { status: 'ok' };
      } catch {
        ctx.status = 503;
        ctx.body = { status: 'unavailable' };
      }
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    permission: 'public',
    summary: 'Prometheus metrics (text exposition format); holds no user data; a bearer token when TRACEREPORT_METRICS_TOKEN is set',
    async handler(ctx, s) {
      checkMetricsToken(ctx, s.settings.metricsToken);
      ctx.type = s.metrics.registry.contentType;
      ctx.body = await s.metrics.registry.metrics();
    },
  },
];
