/** Lot genealogy: backward to raw materials, forward to shipments; with detail on request. */
import { TraceReportError } from '../../datasources/errors.js';
import { traceGenealogy, MAX_DEPTH, type Direction } from '../../trace/genealogy.js';
import { traceDetail } from '../../trace/detail.js';
import { audit, type RouteDef } from './route.js';

export const traceRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/trace/:lot',
    permission: 'trace.query',
    summary: 'genealogy of a lot: ?direction=backward|forward (default backward), &depth=N, &detail=1 adds operations, parameters, inspections, alarms',
    async handler(ctx, s) {
      const lot = ctx.params.lot!;
      const direction = (ctx.query.direction ?? 'backward') as Direction;
      if (direction !== 'backward' && direction !== 'forward') {
        throw new TraceReportError('ARGUMENT_INVALID', 'direction must be backward or forward', { parameter: 'direction' });
      }
      let maxDepth: number | undefined;
      if (ctx.query.depth !== undefined) {
        maxDepth = Number(ctx.query.depth);
        if (!Number.isInteger(maxDepth) || maxDepth < 0 || maxDepth > MAX_DEPTH) {
          throw new TraceReportError('ARGUMENT_INVALID', `depth must be a whole number from 0 to ${MAX_DEPTH}`, { parameter: 'depth' });
        }
      }
      const withDetail = ctx.query.detail === '1' || ctx.query.detail === 'true';
      const g = await traceGenealogy(s.traceDb, lot, { direction, maxDepth });
      const detail = withDetail ? await traceDetail(s.traceDb, g.lots.map((l) => l.lot)) : undefined;
      await audit(ctx, { action: 'trace', object: `lot:${lot}`, params: { direction, maxDepth, detail: withDetail, lots: g.lots.length } });
      ctx.body = detail ? { ...g, detail } : g;
    },
  },
];
