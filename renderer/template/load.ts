/**
 * Reading a template: JSON text or a parsed value → migrated to the current format → validated with
 * zod → cross-checked (names that must exist do). Every problem names its JSON path.
 */
import type { z } from 'zod';
import { TraceReportError, isTraceReportError } from '../../datasources/errors.js';
import { checkSqlTemplate } from '../../datasources/named-params.js';
import { CURRENT_FORMAT, templateSchema, type Template } from './schema.js';

export interface TemplateIssue {
  /** JSON path such as `$.sheets[0].cells.A2.display`. */
  path: string;
  message: string;
}

/** One step per older format: migrations[n] turns format n into format n + 1. */
const migrations: Record<number, (t: Record<string, unknown>) => Record<string, unknown>> = {};

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) out += `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

function invalid(issues: TemplateIssue[], where: string): TraceReportError {
  const shown = issues.slice(0, 20).map((i) => `  ${i.path}: ${i.message}`);
  const more = issues.length > 20 ? [`  … and ${issues.length - 20} more`] : [];
  return new TraceReportError(
    'TEMPLATE_INVALID',
    [`template ${where} is not valid; fix these and load it again:`, ...shown, ...more].join('\n'),
    { issues },
  );
}

function migrate(raw: Record<string, unknown>, where: string): Record<string, unknown> {
  let t = raw;
  const declared = t.format;
  if (declared === undefined) throw invalid([{ path: '$.format', message: `missing; this version writes "format": ${CURRENT_FORMAT}` }], where);
  if (typeof declared !== 'number' || !Number.isInteger(declared) || declared < 1) {
    throw invalid([{ path: '$.format', message: `expected a format version number such as ${CURRENT_FORMAT}` }], where);
  }
  let format: number = declared;
  if (format > CURRENT_FORMAT) {
    throw new TraceReportError(
      'TEMPLATE_VERSION_UNSUPPORTED',
      `template ${where} has format ${format}, newer than this TraceReport reads (${CURRENT_FORMAT}); upgrade TraceReport`,
      { format, supported: CURRENT_FORMAT },
    );
  }
  while (format < CURRENT_FORMAT) {
    const step = migrations[format];
    if (!step) throw new TraceReportError('TEMPLATE_VERSION_UNSUPPORTED', `template ${where}: no migration from format ${format}`);
    t = step(t);
    format += 1;
  }
  return t;
}

function zodIssues(error: z.ZodError): TemplateIssue[] {
  return error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
}

/** Names used by the template that must be defined in it. */
function crossCheck(t: Template): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const seen = (list: { name: string }[], what: string, at: string) => {
    const names = new Set<string>();
    list.forEach((x, i) => {
      if (names.has(x.name)) issues.push({ path: `$.${at}[${i}].name`, message: `${what} "${x.name}" is defined twice` });
      names.add(x.name);
    });
    return names;
  };
  seen(t.parameters, 'parameter', 'parameters');
  const datasets = seen(t.datasets, 'dataset', 'datasets');
  t.datasets.forEach((d, i) => {
    if ('sql' in d) {
      try {
        checkSqlTemplate(d.sql);
      } catch (e) {
        issues.push({ path: `$.datasets[${i}].sql`, message: isTraceReportError(e) ? e.message : String(e) });
      }
    }
  });
  t.parameters.forEach((p, i) => {
    for (const key of ['default', 'options'] as const) {
      const v = p[key];
      if (v && typeof v === 'object' && !Array.isArray(v) && 'dataset' in v && !datasets.has(v.dataset)) {
        issues.push({ path: `$.parameters[${i}].${key}.dataset`, message: `no dataset named "${v.dataset}"` });
      }
    }
  });
  if (t.kind === 'grid') {
    t.sheets.forEach((sheet, s) => {
      for (const [addr, cell] of Object.entries(sheet.cells)) {
        const at = `$.sheets[${s}].cells.${addr}`;
        if (cell.field) {
          const ds = cell.field.split('.')[0]!;
          if (!datasets.has(ds)) issues.push({ path: `${at}.field`, message: `no dataset named "${ds}"` });
        }
        if (cell.chart?.dataset && !datasets.has(cell.chart.dataset)) {
          issues.push({ path: `${at}.chart.dataset`, message: `no dataset named "${cell.chart.dataset}"` });
        }
        const styles = [cell.style, ...(cell.conditions ?? []).map((c) => c.style)];
        styles.forEach((name, k) => {
          if (name !== undefined && !(name in t.styles)) {
            issues.push({ path: k === 0 ? `${at}.style` : `${at}.conditions[${k - 1}].style`, message: `no style named "${name}" in styles` });
          }
        });
        for (const key of ['leftParent', 'topParent'] as const) {
          const ref = cell[key];
          if (ref && ref !== 'none' && !(ref in sheet.cells)) issues.push({ path: `${at}.${key}`, message: `${ref} is not a cell of this sheet` });
        }
      }
      sheet.floats.forEach((f, k) => {
        if (f.chart.dataset && !datasets.has(f.chart.dataset)) {
          issues.push({ path: `$.sheets[${s}].floats[${k}].chart.dataset`, message: `no dataset named "${f.chart.dataset}"` });
        }
      });
    });
  }
  return issues;
}

/** Parse a template from JSON text or an already-parsed value. `where` names it in messages. */
export function parseTemplate(input: string | unknown, where = '(inline)'): Template {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw invalid([{ path: '$', message: `not JSON: ${(e as Error).message}` }], where);
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid([{ path: '$', message: 'expected a JSON object' }], where);
  }
  const migrated = migrate(raw as Record<string, unknown>, where);
  const parsed = templateSchema.safeParse(migrated);
  if (!parsed.success) throw invalid(zodIssues(parsed.error), where);
  const issues = crossCheck(parsed.data);
  if (issues.length > 0) throw invalid(issues, where);
  return parsed.data;
}
