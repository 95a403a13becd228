/** One row of the route table: the router is built from these, `tracereport routes` prints them. */
import type { Context } from 'koa';
import type { Permission } from '../auth/permissions.js';
import type { Services } from '../services.js';
import type { User } from '../store/users.js';
import { appendAudit, type AuditEntry } from '../audit/chain.js';
import { TraceReportError } from '../../datasources/errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface SessionState {
  user: User;
  csrfToken: string;
  token: string;
  expiresAt: string;
}

export interface ApiState {
  services: Services;
  session?: SessionState;
  /** The route-table path that matched (for metrics and logs). */
  route?: string;
}

export type ApiContext = Context & { state: ApiState; params: Record<string, string> };

/** A handler sees the context and the session's user (undefined only on public routes). */
export type Handler = (ctx: ApiContext, s: Services) => Promise<void>;

export interface RouteDef {
  method: HttpMethod;
  path: string;
  permission: Permission;
  summary: string;
  handler: Handler;
}

export const STATE_CHANGING: readonly HttpMethod[] = ['POST', 'PUT', 'DELETE'];

/** The logged-in user of a non-public route. */
export function userOf(ctx: ApiContext): User {
  const u = ctx.state.session?.user;
  if (!u) throw new Error('route without a session reached a handler');
  return u;
}

export function clientAddress(ctx: ApiContext): string {
  return ctx.ip || ctx.request.socket.remoteAddress || 'unknown';
}

/** Writes an audit row for this request (user and address filled in). */
export function audit(ctx: ApiContext, entry: AuditEntry): Promise<number> {
  const s = ctx.state.services;
  return appendAudit(s.store.knex, s.auditKey, { user: ctx.state.session?.user.username ?? null, address: clientAddress(ctx), ...entry });
}

/** A whole-number path parameter. */
export function idParam(ctx: ApiContext, name = 'id'): number {
  const v = ctx.params[name];
  const n = Number(v);
  if (!v || !/^\d+$/.test(v) || !Number.isSafeInteger(n)) {
    throw new TraceReportError('ARGUMENT_INVALID', `path parameter ${name} must be a whole number, got "${v}"`, { parameter: name });
  }
  return n;
}

/** The JSON body as an object. */
export function bodyOf(ctx: ApiContext): Record<string, unknown> {
  const b = (ctx.request as unknown as { body?: unknown }).body;
  return b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}
