/**
 * Renders a stored template to a temporary file and sends it as the response, streamed, with
 * Content-Disposition and the render metadata in X-Render-Meta; counts it in the metrics and writes
 * the audit row once the file is ready.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderToFile, type OutputFormat } from '../../renderer/render.js';
import type { Template } from '../../renderer/template/schema.js';
import type { BoundValues } from '../../renderer/user-values.js';
import { audit, type ApiContext } from '../routes/route.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../audit/chain.js';
import { renderSources } from './sources.js';

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

export interface SendRenderRequest {
  id: number;
  version: number;
  template: Template;
  params: Record<string, unknown>;
  /** The `$user.*` values of the user the report is rendered for (row-level security). */
  bound: BoundValues;
  format: OutputFormat;
  /** The audit row (action and, for embeds, the user); object and parameters are filled in. */
  audit: Pick<AuditEntry, 'action' | 'user'>;
}

export async function sendRender(ctx: ApiContext, s: Services, r: SendRenderRequest): Promise<void> {
  const { format, template } = r;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-render-'));
  const started = performance.now();
  let result;
  try {
    result = await renderToFile({
      template,
      params: r.params,
      bound: r.bound,
      format,
      out: path.join(dir, `report.${format}`),
      ...(await renderSources(s, template)),
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
  try {
    await audit(ctx, { ...r.audit, object: `template:${r.id}`, params: { version: r.version, format, params: r.params, rows: result.meta.outputRows } });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  ctx.set('Content-Disposition', contentDisposition(format === 'html' ? 'inline' : 'attachment', `${template.name}.${format}`));
  ctx.set('X-Render-Meta', asciiJson({ template: r.id, version: r.version, ...result.meta }));
  ctx.type = MIME[format];
  if (result.bytes === 0) {
    cleanup();
    ctx.body = Buffer.alloc(0);
    return;
  }
  const stream = fs.createReadStream(result.file);
  stream.on('close', cleanup);
  stream.on('error', cleanup);
  ctx.length = result.bytes;
  ctx.body = stream;
}
