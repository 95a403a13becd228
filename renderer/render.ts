/**
 * One render, end to end: template + raw parameter values + sources → typed parameters → checked
 * datasets → resolved report (grid) or HTML document → the output format, written to a temporary
 * file and renamed when complete, so a failed render never leaves a partial file behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TraceReportError, isTraceReportError } from '../datasources/errors.js';
import { checkDatasets, datasetArray, datasetRows, SourceRegistry, type SourceRegistryOptions } from './datasets.js';
import { resolveParams, type RawValue, type TypedValue } from './params.js';
import { boundValuesFor, refuseBoundNames, type BoundValues } from './user-values.js';
import type { RenderMeta } from './resolved.js';
import type { Template } from './template/schema.js';
import { expandGrid } from './engine/expand.js';
import { writeXlsx } from './xlsx/write-xlsx.js';
import { writeCsv } from './csv/write-csv.js';
import { writeHtml } from './html/write-html.js';
import { writePdf } from './pdf/write-pdf.js';
import { renderChartSvg } from './charts/render.js';
import { BrowserPool } from './pdf/browser-pool.js';
import { writeDocument } from './document/render-document.js';

import { OUTPUT_FORMATS, type OutputFormat } from './output-formats.js';

export { OUTPUT_FORMATS, type OutputFormat };

export interface RenderRequest extends SourceRegistryOptions {
  template: Template;
  /** Raw parameter values by name (strings or lists of strings from a command line, JSON values from an API). */
  params?: Readonly<Record<string, RawValue>>;
  /** `$user.*` values bound by the caller (row-level security); never taken from `params`. */
  bound?: BoundValues;
  format: OutputFormat;
  /** Output file path. */
  out: string;
  /** CSV: write a UTF-8 byte-order mark (for Excel). */
  csvBom?: boolean;
  /** CSV: raw values instead of formatted ones. */
  csvRaw?: boolean;
  /** CSV: the sheet to write, by name or 1-based number (default: the first). */
  csvSheet?: string;
  /** Base URL prefixed to drill-down links in files opened outside the viewer. */
  linkBase?: string;
  /** Chromium pool for PDF; one is made (and closed) for this render when not given. */
  browserPool?: BrowserPool;
  /** `full` forces full mode. */
  mode?: 'auto' | 'full';
}

export interface RenderResult {
  file: string;
  bytes: number;
  meta: RenderMeta;
  params: Record<string, TypedValue>;
}

/**
 * Validates parameters and datasets (nothing is read yet): the checks done before any query runs.
 * The result holds the typed parameters and the bound `$user.*` values the datasets use.
 */
export async function prepareRender(
  template: Template,
  raw: Readonly<Record<string, RawValue>>,
  sources: SourceRegistry,
  bound?: BoundValues,
): Promise<Record<string, TypedValue>> {
  refuseBoundNames(raw);
  const fixed = boundValuesFor(template, bound);
  const params = await resolveParams(template.parameters, raw, (dataset, known) => datasetArray(template, dataset, { ...known, ...fixed }, sources));
  const all = { ...params, ...fixed };
  await checkDatasets(template, all, sources);
  return all;
}

/** The CSV sheet option as the writer takes it (0-based index), checked against the template's sheets. */
function csvSheetOf(template: Template, sheet: string | undefined): number | undefined {
  if (sheet === undefined || template.kind !== 'grid') return undefined;
  const names = template.sheets.map((s) => s.name);
  const byName = names.indexOf(sheet);
  if (byName >= 0) return byName;
  const n = Number(sheet);
  if (Number.isInteger(n) && n >= 1 && n <= names.length) return n - 1;
  throw new TraceReportError('ARGUMENT_INVALID', `--sheet "${sheet}": template "${template.name}" has sheets ${names.map((x, i) => `${i + 1} "${x}"`).join(', ')}; give a name or number`);
}

function tempPathFor(out: string): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function renderToFile(req: RenderRequest): Promise<RenderResult> {
  const { template, format } = req;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new TraceReportError('ARGUMENT_INVALID', `unknown output format "${format}"; use one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  if (template.kind === 'document' && (format === 'xlsx' || format === 'csv')) {
    throw new TraceReportError('ARGUMENT_INVALID', `template "${template.name}" is a document; it renders to html or pdf, not ${format}`);
  }
  const out = path.resolve(req.out);
  if (!fs.existsSync(path.dirname(out))) {
    throw new TraceReportError('OUTPUT_FAILED', `cannot write ${req.out}: folder ${path.dirname(out)} does not exist`);
  }
  const sources = new SourceRegistry(req);
  const ownPool = format === 'pdf' && !req.browserPool ? new BrowserPool() : undefined;
  const pool = req.browserPool ?? ownPool;
  const tmp = tempPathFor(out);
  try {
    const params = await prepareRender(template, req.params ?? {}, sources, req.bound);
    let meta: RenderMeta;
    if (template.kind === 'document') {
      const rows: Record<string, Record<string, unknown>[]> = {};
      for (const ds of template.datasets) rows[ds.name] = await datasetArray(template, ds.name, params, sources);
      meta = { mode: 'full', warnings: [], rowCounts: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length])), outputRows: {} };
      await writeDocument({ template, params, datasets: rows }, tmp, { format: format as 'html' | 'pdf', pool });
    } else {
      const report = expandGrid({
        template,
        params,
        openDataset: (name) => datasetRows(template, name, params, sources),
        rowLimit: req.rowLimit,
        mode: req.mode,
      });
      meta = report.meta;
      if (format === 'xlsx') await writeXlsx(report, tmp, { linkBase: req.linkBase });
      else if (format === 'csv') await writeCsv(report, tmp, { bom: req.csvBom, raw: req.csvRaw, sheet: csvSheetOf(template, req.csvSheet) });
      else if (format === 'html') await writeHtml(report, fs.createWriteStream(tmp), { layout: 'continuous', linkBase: req.linkBase, chartSvg: renderChartSvg });
      else await writePdf(report, tmp, { pool: pool!, linkBase: req.linkBase, chartSvg: renderChartSvg });
    }
    fs.renameSync(tmp, out);
    return { file: out, bytes: fs.statSync(out).size, meta, params };
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (isTraceReportError(e)) throw e;
    throw new TraceReportError('OUTPUT_FAILED', `rendering "${template.name}" to ${format} failed: ${(e as Error)?.message ?? e}`, undefined, { cause: e });
  } finally {
    await sources.close();
    await ownPool?.close();
  }
}
