/**
 * Datasets of a render: SQL run on a named data source with bound parameters (streamed), or inline
 * rows. Sources are opened on first use and closed together at the end.
 */
import { DataSource, type Row, type SourceOptions } from '../datasources/data-source.js';
import { TraceReportError } from '../datasources/errors.js';
import type { ParamValues } from '../datasources/named-params.js';
import type { Template, TemplateDataset } from './template/schema.js';
import type { TypedValue } from './params.js';

export interface SourceRegistryOptions {
  /** Source name → URL or SQLite path (`--source main=./plant.sqlite`); `trace` is the trace store. */
  sources?: Readonly<Record<string, string>>;
  /** Opens a source (default: a plain DataSource); the CLI and server open `trace` as the migrated trace store. */
  openSource?: (name: string, url: string, options: SourceOptions) => Promise<DataSource>;
  rowLimit?: number;
  statementTimeoutMs?: number;
}

/** Opens named data sources on demand and closes them all at the end. */
export class SourceRegistry {
  private readonly open = new Map<string, Promise<DataSource>>();

  constructor(private readonly options: SourceRegistryOptions = {}) {}

  /** Whether a source of that name can be opened. */
  has(name: string): boolean {
    return name in (this.options.sources ?? {});
  }

  names(): string[] {
    return Object.keys(this.options.sources ?? {});
  }

  get(name: string): Promise<DataSource> {
    let ds = this.open.get(name);
    if (!ds) {
      const url = this.options.sources?.[name];
      const limits = { rowLimit: this.options.rowLimit, statementTimeoutMs: this.options.statementTimeoutMs };
      if (url !== undefined) {
        ds = this.options.openSource ? this.options.openSource(name, url, limits) : Promise.resolve(new DataSource(name, url, limits));
      } else {
        return Promise.reject(
          new TraceReportError('SOURCE_UNKNOWN', `no data source named "${name}"; define it with --source ${name}=URL (a SQLite path or a postgres://, mysql:// or mssql:// URL)`, {
            source: name,
          }),
        );
      }
      this.open.set(name, ds);
    }
    return ds;
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => null))?.close()));
  }
}

/** Parameter values as the SQL binder takes them (lists stay lists). */
export function bindableParams(params: Readonly<Record<string, TypedValue>>): ParamValues {
  const out: Record<string, ParamValues[string]> = {};
  for (const [k, v] of Object.entries(params)) out[k] = v === null ? null : (v as ParamValues[string]);
  return out;
}

function datasetOf(template: Template, name: string): TemplateDataset {
  const ds = template.datasets.find((d) => d.name === name);
  if (!ds) {
    throw new TraceReportError('DATASET_UNKNOWN', `no dataset named "${name}" in template "${template.name}"; it has ${template.datasets.map((d) => `"${d.name}"`).join(', ') || 'none'}`, {
      dataset: name,
    });
  }
  return ds;
}

/** The rows of one dataset, streamed. */
export async function* datasetRows(template: Template, name: string, params: Readonly<Record<string, TypedValue>>, sources: SourceRegistry): AsyncIterable<Row> {
  const ds = datasetOf(template, name);
  if ('rows' in ds) {
    yield* ds.rows;
    return;
  }
  const source = await sources.get(ds.source);
  yield* source.stream(ds.sql, bindableParams(params));
}

/** All rows of one dataset (for parameter defaults, documents, charts). */
export async function datasetArray(template: Template, name: string, params: Readonly<Record<string, TypedValue>>, sources: SourceRegistry): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const r of datasetRows(template, name, params, sources)) rows.push(r);
  return rows;
}

/** Dataset → the fields the template reads from it (cells with `field`). */
export function fieldsUsed(template: Template): Map<string, Map<string, string>> {
  const used = new Map<string, Map<string, string>>();
  if (template.kind !== 'grid') return used;
  for (const sheet of template.sheets) {
    for (const [addr, cell] of Object.entries(sheet.cells)) {
      if (!cell.field) continue;
      const dot = cell.field.indexOf('.');
      const ds = cell.field.slice(0, dot);
      const field = cell.field.slice(dot + 1);
      if (!used.has(ds)) used.set(ds, new Map());
      used.get(ds)!.set(field, `${sheet.name}!${addr}`);
    }
  }
  return used;
}

/**
 * Checks, before any rows are read, that every source is defined and every field a cell reads is a
 * column of its dataset (where the columns can be told without running the query).
 */
export async function checkDatasets(template: Template, params: Readonly<Record<string, TypedValue>>, sources: SourceRegistry): Promise<void> {
  for (const ds of template.datasets) {
    if ('sql' in ds && !sources.has(ds.source)) {
      throw new TraceReportError('SOURCE_UNKNOWN', `dataset "${ds.name}" reads source "${ds.source}", which is not defined; give --source ${ds.source}=URL (a SQLite path or a postgres://, mysql:// or mssql:// URL)`, {
        dataset: ds.name,
        source: ds.source,
      });
    }
  }
  for (const [name, fields] of fieldsUsed(template)) {
    const ds = datasetOf(template, name);
    let columns: string[] | null;
    if ('rows' in ds) columns = ds.rows.length > 0 ? [...new Set(ds.rows.flatMap((r) => Object.keys(r)))] : null;
    else columns = await (await sources.get(ds.source)).columns(ds.sql, bindableParams(params));
    if (!columns) continue;
    for (const [field, where] of fields) {
      if (!columns.includes(field)) {
        throw new TraceReportError('FIELD_UNKNOWN', `cell ${where} reads field "${field}" of dataset "${name}", which has no such column; it has ${columns.map((c) => `"${c}"`).join(', ')}`, {
          dataset: name,
          field,
          cell: where,
          columns,
        });
      }
    }
  }
}
