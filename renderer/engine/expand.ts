/**
 * The report engine: a grid template, parameter values and dataset rows → a resolved report
 * (DESIGN §3, §4). Lazy: nothing is read until the first sheet is asked for. Streaming mode is
 * chosen when the template allows it (streaming.ts); everything else runs in full mode (full.ts).
 */
import type { Row } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import type { RenderMeta, RenderWarning, ResolvedReport, ResolvedRow, ResolvedSheet, RowBand } from '../resolved.js';
import { StyleTable } from '../style-table.js';
import type { GridTemplate } from '../template/schema.js';
import type { EngineInput } from './api.js';
import { expandSheetFull } from './full.js';
import { planSheet, type SheetPlan } from './plan.js';
import { expandSheetStreaming, streamable } from './streaming.js';

export const DEFAULT_ROW_LIMIT = 1_000_000;
/** Rows per band in full mode (a band is cut only where no merge is open). */
const BAND_ROWS = 256;

export function expandGrid(input: EngineInput): ResolvedReport {
  const template = input.template;
  const styles = new StyleTable();
  const meta: RenderMeta = { mode: 'full', warnings: [], rowCounts: {}, outputRows: {} };
  const seen = new Set<string>();
  const warn = (w: RenderWarning) => {
    const key = `${w.sheet}|${w.cell}|${w.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    meta.warnings.push(w);
  };
  // plans are made up front (cheap, no rows): template errors surface before any query runs
  const plans = template.sheets.map((s) => planSheet(template, s, input.params, styles));

  const stream = input.mode !== 'full' ? streamable(template, plans) : undefined;
  if (stream) meta.mode = 'streaming';

  async function* sheets(): AsyncGenerator<ResolvedSheet> {
    if (stream) {
      // the streamed sheet reads its dataset as it goes; the other sheets read no data
      for (let k = 0; k < plans.length; k++) {
        const plan = plans[k]!;
        if (k !== stream.sheetIndex) {
          yield fullSheet(template, plan, new Map(), input, styles, meta, warn);
          continue;
        }
        yield expandSheetStreaming({
          template,
          plan,
          stream,
          input,
          styles,
          meta,
          warn,
          checkFirst: (first) => checkFields(stream.dataset, first, plans),
        });
      }
      return;
    }
    const rows = await loadDatasets(template, plans, input, meta);
    for (const plan of plans) yield fullSheet(template, plan, rows, input, styles, meta, warn);
  }

  return { name: template.name, page: template.page, params: input.params, styles, sheets: sheets(), meta };
}

function fullSheet(
  template: GridTemplate,
  plan: SheetPlan,
  rows: ReadonlyMap<string, readonly Row[]>,
  input: EngineInput,
  styles: StyleTable,
  meta: RenderMeta,
  warn: (w: RenderWarning) => void,
): ResolvedSheet {
  const name = plan.sheet.name;
  const out = expandSheetFull({ plan, sheetName: name, rows, params: input.params, styles, warn }, plan.sheet.repeatRows ?? template.page.repeatRows);
  meta.outputRows[name] = out.outputRows;
  return {
    name,
    columns: out.columns,
    ...(out.frozen ? { frozen: out.frozen } : {}),
    ...(out.repeatRows ? { repeatRows: out.repeatRows } : {}),
    floats: out.floats,
    bands: bandsOf(out.rows),
  };
}

/** Rows in bands of about BAND_ROWS, cut only where no merge reaches past the cut. */
export async function* bandsOf(rows: readonly ResolvedRow[]): AsyncGenerator<RowBand> {
  let band: ResolvedRow[] = [];
  let openUntil = -1;
  for (const r of rows) {
    if (band.length >= BAND_ROWS && r.row > openUntil) {
      yield { rows: band };
      band = [];
    }
    band.push(r);
    for (const c of r.cells) if (c.rowSpan !== undefined && c.rowSpan > 1) openUntil = Math.max(openUntil, r.row + c.rowSpan - 1);
  }
  if (band.length > 0) yield { rows: band };
}

async function loadDatasets(template: GridTemplate, plans: readonly SheetPlan[], input: EngineInput, meta: RenderMeta): Promise<Map<string, Row[]>> {
  const limit = input.rowLimit ?? DEFAULT_ROW_LIMIT;
  const used = new Set<string>();
  for (const p of plans) for (const d of p.datasets) used.add(d);
  const out = new Map<string, Row[]>();
  for (const name of template.datasets.map((d) => d.name)) {
    if (!used.has(name)) continue;
    const rows: Row[] = [];
    for await (const r of input.openDataset(name)) {
      if (rows.length >= limit) {
        throw new TraceReportError(
          'SOURCE_ROW_LIMIT',
          `dataset "${name}" returned more than ${limit} rows, the limit for a report held in memory; narrow it with parameters, or raise the row limit`,
          { dataset: name, limit },
        );
      }
      if (rows.length === 0) checkFields(name, r, plans);
      rows.push(r);
    }
    meta.rowCounts[name] = rows.length;
    out.set(name, rows);
  }
  return out;
}

/** Every field the template reads from `dataset` must be a column of its rows (checked on the first row). */
export function checkFields(dataset: string, first: Row, plans: readonly SheetPlan[]): void {
  const columns = Object.keys(first);
  for (const p of plans) {
    for (const c of p.cells) {
      const fields: string[] = [];
      if (c.dataset === dataset && c.field !== undefined) fields.push(c.field);
      if (c.dataset === dataset && c.filter) fields.push(c.filter.field);
      if (c.filter && c.filter.otherDataset === dataset) fields.push(c.filter.otherField);
      for (const f of fields) {
        if (!(f in first)) {
          throw new TraceReportError(
            'FIELD_UNKNOWN',
            `sheet "${p.sheet.name}" cell ${c.address}: dataset "${dataset}" has no column "${f}" (it has ${columns.join(', ') || 'no columns'})`,
            { sheet: p.sheet.name, cell: c.address, dataset, field: f, columns },
          );
        }
      }
    }
  }
}
