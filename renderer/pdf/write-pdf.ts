/**
 * PDF output of a resolved report: the print-layout HTML (repeat rows in `<thead>`, `@page` from the
 * page setup) printed by Chromium from the browser pool, with the page setup's header and footer.
 */
import type { Writable } from 'node:stream';
import type { ResolvedChart, ResolvedReport } from '../resolved.js';
import { renderHtml } from '../html/write-html.js';
import type { BrowserPool } from './browser-pool.js';
import { printPdf, writeBytes, type PdfResult } from './print-pdf.js';

export interface PdfOptions {
  pool: BrowserPool;
  /** Time limit of the render in milliseconds (default: the pool's). */
  timeoutMs?: number;
  /** Prefix of report link addresses in the PDF (e.g. `https://host`). */
  linkBase?: string;
  chartSvg?: (chart: ResolvedChart) => string;
  /** A tagged (accessible) PDF: about ten times larger; off by default. */
  tagged?: boolean;
}

/** The report as PDF bytes. */
export async function renderPdf(report: ResolvedReport, options: PdfOptions): Promise<PdfResult> {
  const { html } = await renderHtml(report, { layout: 'print', linkBase: options.linkBase, chartSvg: options.chartSvg });
  return printPdf(options.pool, html, report.page, report.params, { timeoutMs: options.timeoutMs, tagged: options.tagged });
}

/** Writes the report as PDF to a file path or a stream (ended when done); returns its page count and size. */
export async function writePdf(report: ResolvedReport, out: string | Writable, options: PdfOptions): Promise<{ pages: number; size: number }> {
  const { bytes, pages } = await renderPdf(report, options);
  await writeBytes(bytes, out);
  return { pages, size: bytes.byteLength };
}
