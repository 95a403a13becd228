/** Data sources: create, test, list, update, delete. Passwords go in, never out. */
import { TraceReportError } from '../../datasources/errors.js';
import { DataSource } from '../../datasources/data-source.js';
import type { DataSourceInput } from '../store/data-sources.js';
import { audit, bodyOf, idParam, type RouteDef } from './route.js';

function inputOf(b: Record<string, unknown>): DataSourceInput {
  const known = ['name', 'url', 'password', 'rowLimit', 'statementTimeoutMs'];
  const extra = Object.keys(b).filter((k) => !known.includes(k));
  if (extra.length) throw new TraceReportError('BODY_INVALID', `unknown field(s) ${extra.join(', ')}; a data source has ${known.join(', ')}`, { path: `$.${extra[0]}` });
  return b as DataSourceInput;
}

export const dataSourceRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/datasources',
    permission: 'datasources.read',
    summary: 'list data sources (URL without password, hasPassword, limits)',
    async handler(ctx, s) {
      ctx.body = { dataSources: await s.dataSources.list() };
    },
  },
  {
    method: 'POST',
    path: '/api/datasources',
    permission: 'datasources.manage',
    summary: 'create {name, url, password?, rowLimit?, statementTimeoutMs?}; a password in the URL is moved out and encrypted',
    async handler(ctx, s) {
      const created = await s.dataSources.create(inputOf(bodyOf(ctx)));
      await audit(ctx, { action: 'datasource.create', object: `datasource:${created.id}`, after: created });
      ctx.status = 201;
      ctx.body = { dataSource: created };
    },
  },
  {
    method: 'GET',
    path: '/api/datasources/:id',
    permission: 'datasources.read',
    summary: 'one data source',
    async handler(ctx, s) {
      ctx.body = { dataSource: await s.dataSources.get(idParam(ctx)) };
    },
  },
  {
    method: 'PUT',
    path: '/api/datasources/:id',
    permission: 'datasources.manage',
    summary: 'update any of {name, url, password (null removes it), rowLimit, statementTimeoutMs}',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const input = inputOf(bodyOf(ctx));
      const { before, after } = await s.dataSources.update(id, input);
      s.sourcePool.forget(id);
      s.queryCache.clear();
      await audit(ctx, { action: 'datasource.update', object: `datasource:${id}`, before, after, params: { passwordChanged: input.password !== undefined } });
      ctx.body = { dataSource: after };
    },
  },
  {
    method: 'DELETE',
    path: '/api/datasources/:id',
    permission: 'datasources.manage',
    summary: 'delete a data source',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const before = await s.dataSources.delete(id);
      s.sourcePool.forget(id);
      s.queryCache.clear();
      await audit(ctx, { action: 'datasource.delete', object: `datasource:${id}`, before });
      ctx.status = 204;
    },
  },
  {
    method: 'POST',
    path: '/api/datasources/:id/test',
    permission: 'datasources.manage',
    summary: 'connect and run `select 1`: {ok: true, ms} or the connection error',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const c = await s.dataSources.connectionUrl(id);
      const ds = new DataSource(c.name, c.url, { statementTimeoutMs: Math.min(c.statementTimeoutMs ?? 10_000, 10_000) });
      const started = performance.now();
      try {
        await ds.ping();
        await audit(ctx, { action: 'datasource.test', object: `datasource:${id}`, params: { ok: true } });
        ctx.body = { ok: true, ms: Math.round(performance.now() - started) };
      } catch (e) {
        await audit(ctx, { action: 'datasource.test', object: `datasource:${id}`, params: { ok: false } });
        throw e;
      } finally {
        await ds.close();
      }
    },
  },
];
