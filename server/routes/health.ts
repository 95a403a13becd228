/** Liveness and Prometheus metrics. */
import type { RouteDef } from './route.js';

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
    summary: 'Prometheus metrics (text exposition format); holds no user data',
    async handler(ctx, s) {
      ctx.type = s.metrics.registry.contentType;
      ctx.body = await s.metrics.registry.metrics();
    },
  },
];
