/**
 * One page of a grid report as an HTML fragment for the viewer (server-side paging). In streaming
 * mode only the rows up to that page are read; the page count is then "at least" (complete: false).
 */
import { TraceReportError } from '../../datasources/errors.js';
import { datasetRows, SourceRegistry, type SourceRegistryOptions } from '../../renderer/datasets.js';
import { expandGrid } from '../../renderer/engine/expand.js';
import { renderHtml } from '../../renderer/html/write-html.js';
import { renderChartSvg } from '../../renderer/charts/render.js';
import { prepareRender } from '../../renderer/render.js';
import type { RawValue } from '../../renderer/params.js';
import type { BoundValues } from '../../renderer/user-values.js';
import type { RenderMeta } from '../../renderer/resolved.js';
import type { Template } from '../../renderer/template/schema.js';

export interface HtmlPage {
  page: number;
  /** Pages in the report; with `complete: false`, the pages read so far (there may be more). */
  pages: number;
  complete: boolean;
  html: string;
  meta: RenderMeta;
}

export async function renderHtmlPage(
  template: Template,
  raw: Readonly<Record<string, RawValue>>,
  sourceOptions: SourceRegistryOptions,
  opts: { page: number; rowsPerPage?: number; linkBase?: string; bound?: BoundValues },
): Promise<HtmlPage> {
  if (template.kind !== 'grid') {
    throw new TraceReportError('ARGUMENT_INVALID', `template "${template.name}" is a ${template.kind}; it has no pages: render it as html or pdf`);
  }
  const sources = new SourceRegistry(sourceOptions);
  try {
    const params = await prepareRender(template, raw, sources, opts.bound);
    const report = expandGrid({ template, params, openDataset: (name) => datasetRows(template, name, params, sources) });
    const result = await renderHtml(report, {
      layout: 'paged',
      page: opts.page,
      rowsPerPage: opts.rowsPerPage,
      fragment: true,
      countPages: report.meta.mode !== 'streaming',
      linkBase: opts.linkBase,
      chartSvg: renderChartSvg,
    });
    if (opts.page > result.pages) {
      throw new TraceReportError('ARGUMENT_INVALID', `page ${opts.page} does not exist: the report has ${result.pages} page(s)`, { page: opts.page, pages: result.pages });
    }
    return { page: opts.page, pages: result.pages, complete: result.complete, html: result.html, meta: report.meta };
  } finally {
    await sources.close();
  }
}
