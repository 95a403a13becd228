/**
 * Print HTML → PDF in a page of the browser pool, with the paper, orientation and margins of a page
 * setup and its header/footer text (`{{page}}`, `{{pages}}` and the report parameters). Shared by grid
 * reports and document templates.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import Handlebars from 'handlebars';
import type { PageSetup } from '../template/schema.js';
import { formatValue } from '../format/number-format.js';
import { TraceReportError } from '../../datasources/errors.js';
import type { BrowserPool } from './browser-pool.js';

export interface PrintOptions {
  /** Time limit of the render in milliseconds (default: the pool's). */
  timeoutMs?: number;
  /**
   * A tagged (accessible) PDF. Off by default: for the 61-page benchmark report tagging made the file
   * 4.4 MB instead of 443 KB and the render slower.
   */
  tagged?: boolean;
}

export interface PdfResult {
  /** The PDF file. */
  bytes: Uint8Array;
  pages: number;
}

const hb = Handlebars.create();

/**
 * Chinese text prints from the regular Noto Sans CJK face only; bold CJK is drawn by Chromium as synthetic
 * bold. Each font file a page uses goes whole into the recording Chromium's renderer passes to its PDF
 * compositor (the two Noto CJK collections are 19.5 and 20 MB), and copying and parsing them took a large
 * part of the print: the 61-page benchmark report sent 46.7 MB, 26.7 MB with this rule, and printed in
 * ≈ 20–30 % less Chromium CPU (docs/performance.md, PDF). Latin bold still comes from DejaVu's bold face.
 * Where the font is not installed `local()` finds nothing and the family falls back as before.
 */
export const PRINT_FONT_FACES = `<style>@font-face{font-family:"Noto Sans CJK SC";src:local("NotoSansCJKsc-Regular");font-weight:400}</style>`;

/** The HTML with {@link PRINT_FONT_FACES} first in its `<head>` (unchanged when it has none). */
export function withPrintFonts(html: string): string {
  return html.replace(/<head(\s[^>]*)?>/i, (m) => `${m}${PRINT_FONT_FACES}`);
}

/** Header/footer template for Chromium: `{{page}}`/`{{pages}}` become its page number spans, parameters are escaped. */
export function marginTemplate(text: string | undefined, params: Readonly<Record<string, unknown>>): string {
  if (!text) return '<span></span>';
  let body: string;
  try {
    body = hb.compile(text, { strict: false })({
      ...displayParams(params),
      page: new hb.SafeString('<span class="pageNumber"></span>'),
      pages: new hb.SafeString('<span class="totalPages"></span>'),
    });
  } catch (e) {
    throw new TraceReportError('TEMPLATE_INVALID', `page header/footer "${text}" is not valid handlebars: ${(e as Error).message}`);
  }
  return `${PRINT_FONT_FACES}<div style="width:100%;margin:0 8mm;font-size:8pt;font-family:'DejaVu Sans Condensed','Noto Sans CJK SC',sans-serif;text-align:center">${body}</div>`;
}

/** Parameter values as text for headers and footers: dates as Excel shows them, lists comma-joined. */
function displayParams(params: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    const one = (x: unknown) => (x === null || x === undefined ? '' : x instanceof Date || typeof x === 'number' || typeof x === 'boolean' ? formatValue(x) : String(x));
    out[k] = Array.isArray(v) ? v.map(one).join(', ') : one(v);
  }
  return out;
}

/** Prints a complete HTML document to PDF. The HTML's own `@page` rule, when it has one, sets the paper. */
export async function printPdf(pool: BrowserPool, html: string, page: PageSetup, params: Readonly<Record<string, unknown>>, options: PrintOptions = {}): Promise<PdfResult> {
  const header = page.header ? marginTemplate(page.header, params) : undefined;
  const footer = page.footer ? marginTemplate(page.footer, params) : undefined;
  const m = page.margins;
  const bytes = await pool.withPage(
    async (p) => {
      await p.setContent(withPrintFonts(html), { waitUntil: 'load' });
      return p.pdf({
        format: page.size,
        landscape: page.orientation === 'landscape',
        margin: { top: `${m.top}mm`, bottom: `${m.bottom}mm`, left: `${m.left}mm`, right: `${m.right}mm` },
        preferCSSPageSize: true,
        printBackground: true,
        displayHeaderFooter: header !== undefined || footer !== undefined,
        headerTemplate: header ?? '<span></span>',
        footerTemplate: footer ?? '<span></span>',
        tagged: options.tagged ?? false,
        outline: false,
        waitForFonts: false,
        timeout: 0,
      });
    },
    { timeoutMs: options.timeoutMs },
  );
  return { bytes, pages: countPages(bytes) };
}

/** Pages of a PDF: its page objects (`/Type /Page`, not `/Pages`). */
export function countPages(pdf: Uint8Array): number {
  const text = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString('latin1');
  return text.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
}

/** Writes bytes to a file path or a stream (the stream is ended). */
export async function writeBytes(bytes: Uint8Array, out: string | Writable, what = 'PDF'): Promise<void> {
  const target = typeof out === 'string' ? createWriteStream(out) : out;
  try {
    await pipeline(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), target);
  } catch (e) {
    throw new TraceReportError('OUTPUT_FAILED', `could not write the ${what}${typeof out === 'string' ? ` to ${out}` : ''}: ${(e as Error).message}`, undefined, { cause: e });
  }
}
