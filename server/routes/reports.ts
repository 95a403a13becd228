/**
 * Rendering a stored template: HTML (a view, needs the folder's view grant) or a PDF / XLSX / CSV
 * download (needs export), streamed with Content-Disposition. The render metadata (mode, warnings,
 * row counts) is in the X-Render-Meta header as JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TraceReportError } from '../../datasources/errors.js';
import { DataSource } from '../../datasources/data-source.js';
import { OUTPUT_FORMATS, renderToFile, type OutputFormat } from '../../renderer/render.js';
import { openTraceStore } from '../../trace/store.js';
import { requireGrant } from '../auth/folder-grant.js';
import { audit, bodyOf, idParam, userOf, type RouteDef } from './route.js';

const MIME: Record<OutputFormat, string> = {
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
};

/** `attachment; filename="Batch trace.pdf"; filename*=UTF-8''…` with an ASCII fallback. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** JSON with every non-ASCII character escaped, so it fits in an HTTP header. */
const asciiJson = (v: unknown) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

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
      const params = b.params ?? {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) {
        throw new TraceReportError('BODY_INVALID', 'params: an object of parameter values', { path: '$.params' });
      }
      const user = userOf(ctx);
      const info = await s.templates.get(id);
      const action = format === 'html' ? 'view' : 'export';
      await requireGrant(s, user, info.folderId, action);
      const { template, version } = await s.templates.body(id);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-render-'));
      const out = path.join(dir, `report.${format}`);
      const started = performance.now();
      let result;
      try {
        result = await renderToFile({
          template,
          params: params as Record<string, unknown>,
          format,
          out,
          sources: { ...(await s.dataSources.allConnectionUrls()), trace: s.traceDbUrl },
          openSource: (name, url, limits) => (name === 'trace' ? openTraceStore(url, { ...limits, migrate: false }) : Promise.resolve(new DataSource(name, url, limits))),
          browserPool: format === 'pdf' ? s.browserPool() : undefined,
        });
        s.metrics.renders.inc({ format, outcome: 'ok' });
      } catch (e) {
        fs.rmSync(dir, { recursive: true, force: true });
        s.metrics.renders.inc({ format, outcome: 'failed' });
        throw e;
      } finally {
        s.metrics.renderDuration.observe({ format }, (performance.now() - started) / 1000);
      }
      await audit(ctx, {
        action: `report.${action}`,
        object: `template:${id}`,
        params: { version, format, params, rows: result.meta.outputRows },
      });
      const stream = fs.createReadStream(result.file);
      const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
      stream.on('close', cleanup);
      stream.on('error', cleanup);
      ctx.set('Content-Disposition', contentDisposition(format === 'html' ? 'inline' : 'attachment', `${template.name}.${format}`));
      ctx.set('X-Render-Meta', asciiJson({ template: id, version, ...result.meta }));
      ctx.type = MIME[format];
      ctx.length = result.bytes;
      ctx.body = stream;
    },
  },
];
