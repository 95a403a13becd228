/**
 * Rendering a stored template: HTML (a view, needs the folder's view grant) or a PDF / XLSX / CSV
 * download (needs export), streamed with Content-Disposition. The render metadata (mode, warnings,
 * row counts) is in the X-Render-Meta header as JSON.
 */
import { TraceReportError } from '../../datasources/errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../../renderer/render.js';
import { sendRender } from '../render/send-render.js';
import { SourceRegistry } from '../../renderer/datasets.js';
import { renderSources } from '../render/sources.js';
import { parameterPanel } from '../render/parameter-panel.js';
import { renderHtmlPage } from '../render/html-page.js';
import { requireGrant } from '../auth/folder-grant.js';
import { userBindings } from '../render/user-bindings.js';
import { audit, bodyOf, idParam, userOf, type RouteDef } from './route.js';

function paramsOf(b: Record<string, unknown>): Record<string, unknown> {
  const params = b.params ?? {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new TraceReportError('BODY_INVALID', 'params: an object of parameter values', { path: '$.params' });
  }
  return params as Record<string, unknown>;
}

export const reportRoutes: RouteDef[] = [
  {
    method: 'POST',
    path: '/api/reports/:id/render',
    permission: 'reports.view',
    summary: 'render template :id with {params, format: html|pdf|xlsx|csv}: the file, streamed; metadata in X-Render-Meta',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const b = bodyOf(ctx);
      const format = (b.format ?? 'html') as OutputFormat;
      if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
        throw new TraceReportError('ARGUMENT_INVALID', `format must be one of ${OUTPUT_FORMATS.join(', ')}`, { path: '$.format' });
      }
      const params = paramsOf(b);
      const user = userOf(ctx);
      const info = await s.templates.get(id);
      const action = format === 'html' ? 'view' : 'export';
      await requireGrant(s, user, info.folderId, action);
      const { template, version } = await s.templates.bodyOf(info);
      await sendRender(ctx, s, { id, version, template, params, bound: userBindings(user), format, audit: { action: `report.${action}` } });
    },
  },
  {
    method: 'POST',
    path: '/api/reports/:id/parameters',
    permission: 'reports.view',
    summary: 'the parameter panel for {params} chosen so far: each parameter with its value or default, options (cascading) and a per-field error',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const params = paramsOf(bodyOf(ctx));
      const user = userOf(ctx);
      const info = await s.templates.get(id);
      await requireGrant(s, user, info.folderId, 'view');
      const { template } = await s.templates.bodyOf(info);
      const sources = new SourceRegistry(await renderSources(s, template));
      try {
        ctx.body = { parameters: await parameterPanel(template, params, sources, userBindings(user)) };
      } finally {
        await sources.close();
      }
    },
  },
  {
    method: 'POST',
    path: '/api/reports/:id/page',
    permission: 'reports.view',
    summary: 'page N of a grid report as an HTML fragment {params, page, rowsPerPage?} → {page, pages, complete, html, meta}',
    async handler(ctx, s) {
      const id = idParam(ctx);
      const b = bodyOf(ctx);
      const params = paramsOf(b);
      const page = b.page ?? 1;
      if (!Number.isInteger(page) || (page as number) < 1) throw new TraceReportError('BODY_INVALID', 'page: a whole number from 1', { path: '$.page' });
      const rowsPerPage = b.rowsPerPage;
      if (rowsPerPage !== undefined && (!Number.isInteger(rowsPerPage) || (rowsPerPage as number) < 2 || (rowsPerPage as number) > 10_000)) {
        throw new TraceReportError('BODY_INVALID', 'rowsPerPage: a whole number from 2 to 10000', { path: '$.rowsPerPage' });
      }
      const user = userOf(ctx);
      const info = await s.templates.get(id);
      await requireGrant(s, user, info.folderId, 'view');
      const { template, version } = await s.templates.bodyOf(info);
      const started = performance.now();
      let result;
      try {
        result = await renderHtmlPage(template, params, await renderSources(s, template), {
          page: page as number,
          rowsPerPage: rowsPerPage as number | undefined,
          bound: userBindings(user),
        });
        s.metrics.renders.inc({ format: 'html-page', outcome: 'ok' });
      } catch (e) {
        s.metrics.renders.inc({ format: 'html-page', outcome: 'failed' });
        throw e;
      } finally {
        s.metrics.renderDuration.observe({ format: 'html-page' }, (performance.now() - started) / 1000);
      }
      await audit(ctx, { action: 'report.view', object: `template:${id}`, params: { version, format: 'html-page', page, params } });
      ctx.body = { template: id, version, ...result };
    },
  },
];
