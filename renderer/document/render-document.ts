/**
 * The `document` template kind: handlebars HTML (a certificate of analysis, a batch record) over the
 * report's parameters and dataset rows, to a full HTML document or, through the browser pool, to PDF.
 *
 * The template sees `params` (the typed parameter values) and each dataset's rows under its name
 * (`{{#each results}}`). Output is HTML-escaped unless the template uses `{{{triple}}}`. Helpers:
 * - `{{format value "0.00"}}`: the value as Excel shows it under a number/date format code;
 * - `{{#if (eq a b)}}`: equality (dates by instant);
 * - `{{sum rows "field"}}`: the sum of a field's numeric values over rows.
 */
import type { Writable } from 'node:stream';
import Handlebars from 'handlebars';
import type { Row } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import { formatValue } from '../format/number-format.js';
import { escapeHtml } from '../html/escape.js';
import { FONT_STACK, pageRule } from '../html/style-css.js';
import type { CellValue } from '../resolved.js';
import type { DocumentTemplate } from '../template/schema.js';
import type { BrowserPool } from '../pdf/browser-pool.js';
import { printPdf, writeBytes, type PdfResult } from '../pdf/print-pdf.js';

export interface DocumentInput {
  readonly template: DocumentTemplate;
  /** Validated, typed parameter values. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Each dataset's rows by dataset name. */
  readonly datasets: Readonly<Record<string, readonly Row[]>>;
}

const hb = Handlebars.create();

/** A dataset or parameter value as a cell value (what formatValue understands). */
function cellValue(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) return v;
  if (typeof v === 'bigint') return Number(v);
  return String(v);
}

/** Handlebars passes an options hash as the last argument; a helper called with fewer arguments sees it in their place. */
const given = (v: unknown): unknown => (v !== null && typeof v === 'object' && 'hash' in (v as object) && 'data' in (v as object) ? undefined : v);

hb.registerHelper('format', (value: unknown, numFmt: unknown) => {
  const fmt = given(numFmt);
  return formatValue(cellValue(value), typeof fmt === 'string' ? fmt : undefined);
});
hb.registerHelper('eq', (a: unknown, b: unknown) => {
  const x = given(a);
  const y = given(b);
  if (x instanceof Date && y instanceof Date) return x.getTime() === y.getTime();
  return x === y || (typeof x === 'bigint' || typeof y === 'bigint' ? String(x) === String(y) : false);
});
hb.registerHelper('sum', (rows: unknown, field: unknown) => {
  const f = given(field);
  if (!Array.isArray(rows) || typeof f !== 'string') {
    throw new Error('sum needs a dataset and a field name: {{sum results "value"}}');
  }
  let total = 0;
  for (const row of rows as Row[]) {
    const v = row?.[f];
    const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isFinite(n)) total += n;
  }
  return total;
});

const compiled = new WeakMap<DocumentTemplate, HandlebarsTemplateDelegate>();

function compile(template: DocumentTemplate): HandlebarsTemplateDelegate {
  let fn = compiled.get(template);
  if (!fn) {
    try {
      // Compilation is lazy in handlebars: parse now so syntax errors surface here.
      hb.parse(template.html);
      fn = hb.compile(template.html, { strict: false });
    } catch (e) {
      throw new TraceReportError('TEMPLATE_INVALID', `document template "${template.name}": ${(e as Error).message}`);
    }
    compiled.set(template, fn);
  }
  return fn;
}

/** The document as a complete HTML page (with the page setup's `@page` rule and the template's CSS). */
export function renderDocumentHtml(input: DocumentInput): string {
  const { template } = input;
  const fn = compile(template);
  let body: string;
  try {
    body = fn({ ...input.datasets, params: input.params }, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
  } catch (e) {
    throw new TraceReportError('TEMPLATE_INVALID', `document template "${template.name}" failed to render: ${(e as Error).message}`);
  }
  const css = `body{margin:0;font:10pt/1.4 ${FONT_STACK};color:#000}${pageRule(template.page)}${template.css ?? ''}`;
  const style = `<style>${css.replace(/<\/style/gi, '<\\/style')}</style>`;
  if (/^\s*(<!doctype|<html)/i.test(body)) {
    return /<\/head>/i.test(body) ? body.replace(/<\/head>/i, `${style}</head>`) : body.replace(/<html[^>]*>/i, (m) => `${m}<head>${style}</head>`);
  }
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(template.name)}</title>${style}</head><body>${body}</body></html>`;
}

/** The document printed to PDF by the browser pool, with the page setup's paper, margins, header and footer. */
export async function renderDocumentPdf(input: DocumentInput, options: { pool: BrowserPool; timeoutMs?: number }): Promise<PdfResult> {
  return printPdf(options.pool, renderDocumentHtml(input), input.template.page, input.params, { timeoutMs: options.timeoutMs });
}

/** Writes the document as HTML or PDF to a file path or a stream (ended when done). */
export async function writeDocument(
  input: DocumentInput,
  out: string | Writable,
  options: { format: 'html' | 'pdf'; pool?: BrowserPool; timeoutMs?: number },
): Promise<{ size: number; pages?: number }> {
  if (options.format === 'html') {
    const bytes = Buffer.from(renderDocumentHtml(input), 'utf8');
    await writeBytes(bytes, out, 'HTML document');
    return { size: bytes.byteLength };
  }
  if (!options.pool) throw new TraceReportError('PDF_FAILED', 'a PDF document needs the browser pool; pass options.pool');
  const { bytes, pages } = await renderDocumentPdf(input, { pool: options.pool, timeoutMs: options.timeoutMs });
  await writeBytes(bytes, out, 'PDF document');
  return { size: bytes.byteLength, pages };
}
