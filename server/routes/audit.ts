/** The audit trail for auditors: list with filters, and a chain check. */
import { TraceReportError } from '../../datasources/errors.js';
import { verifyAudit } from '../audit/verify.js';
import type { AuditRow } from '../audit/chain.js';
import type { RouteDef } from './route.js';

const parse = (t: string | null) => (t === null ? null : (JSON.parse(t) as unknown));

export const auditRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/audit',
    permission: 'audit.read',
    summary: 'audit rows, newest first: ?user=&action=&from=ISO&to=ISO&before=SEQ&limit=N (≤ 1000)',
    async handler(ctx, s) {
      const q = ctx.query;
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new TraceReportError('ARGUMENT_INVALID', 'limit: 1 to 1000', { parameter: 'limit' });
      const query = s.store.knex('srv_audit').orderBy('seq', 'desc').limit(limit);
      if (typeof q.user === 'string') query.where('user_name', q.user);
      if (typeof q.action === 'string') query.where('action', q.action);
      if (typeof q.from === 'string') query.where('at', '>=', q.from);
      if (typeof q.to === 'string') query.where('at', '<', q.to);
      if (typeof q.before === 'string') query.where('seq', '<', Number(q.before));
      const rows = (await query) as AuditRow[];
      ctx.body = {
        rows: rows.map((r) => ({
          seq: Number(r.seq),
          at: r.at,
          user: r.user_name,
          address: r.address,
          action: r.action,
          object: r.object,
          params: parse(r.params),
          before: parse(r.before),
          after: parse(r.after),
          hash: r.hash,
        })),
      };
    },
  },
  {
    method: 'GET',
    path: '/api/audit/verify',
    permission: 'audit.read',
    summary: 'walk the hash chain: {ok, rows, head, problems: [{seq, kind: changed|removed|inserted, message}]}',
    async handler(ctx, s) {
      ctx.body = await verifyAudit(s.store.knex, s.auditKey);
    },
  },
];
