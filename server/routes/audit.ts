/** The audit trail for auditors: list with filters, and a chain check. */
import { TraceReportError } from '../../datasources/errors.js';
import { verifyAudit } from '../audit/verify.js';
import type { AuditRow } from '../audit/chain.js';
import type { Knex } from 'knex';
import { audit, type ApiContext, type RouteDef } from './route.js';

const parse = (t: string | null) => (t === null ? null : (JSON.parse(t) as unknown));

/** The rows the query string asks for, newest first: user, action, from, to (ISO), before (seq), limit. */
function filtered(ctx: ApiContext, knex: Knex, maxLimit: number, defaultLimit: number): Knex.QueryBuilder {
  const q = ctx.query;
  const limit = q.limit === undefined ? defaultLimit : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw new TraceReportError('ARGUMENT_INVALID', `limit: 1 to ${maxLimit}`, { parameter: 'limit' });
  const query = knex('srv_audit').orderBy('seq', 'desc').limit(limit);
  if (typeof q.user === 'string') query.where('user_name', q.user);
  if (typeof q.action === 'string') query.where('action', q.action);
  if (typeof q.from === 'string') query.where('at', '>=', q.from);
  if (typeof q.to === 'string') query.where('at', '<', q.to);
  if (typeof q.before === 'string') {
    if (!/^\d+$/.test(q.before)) throw new TraceReportError('ARGUMENT_INVALID', 'before: a sequence number', { parameter: 'before' });
    query.where('seq', '<', Number(q.before));
  }
  return query;
}

/** One CSV field: quoted when needed; a leading = + - @ is prefixed with ' so spreadsheets do not run it as a formula. */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CSV_COLUMNS = ['seq', 'at', 'user_name', 'address', 'action', 'object', 'params', 'before', 'after', 'prev_hash', 'hash'] as const;

export const auditRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/audit',
    permission: 'audit.read',
    summary: 'audit rows, newest first: ?user=&action=&from=ISO&to=ISO&before=SEQ&limit=N (≤ 1000)',
    async handler(ctx, s) {
      const rows = (await filtered(ctx, s.store.knex, 1000, 100)) as AuditRow[];
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
  {
    method: 'GET',
    path: '/api/audit/csv',
    permission: 'audit.read',
    summary: 'the filtered rows (same query as /api/audit, limit ≤ 100000, default 10000) as a CSV download',
    async handler(ctx, s) {
      const rows = (await filtered(ctx, s.store.knex, 100_000, 10_000)) as AuditRow[];
      const lines = [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(c === 'seq' ? Number(r.seq) : r[c])).join(','))];
      await audit(ctx, { action: 'audit.export', object: 'audit', params: { ...ctx.query, rows: rows.length } });
      ctx.set('Content-Disposition', 'attachment; filename="audit.csv"');
      ctx.type = 'text/csv; charset=utf-8';
      ctx.body = '\ufeff' + lines.join('\r\n') + '\r\n';
    },
  },
];
