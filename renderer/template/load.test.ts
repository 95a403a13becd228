import { describe, expect, it } from 'vitest';
import { parseTemplate } from './load.js';
import { isTraceReportError } from '../../datasources/errors.js';

const ok = {
  format: 1,
  kind: 'grid',
  name: 'Sales',
  parameters: [{ name: 'region', multi: true }],
  datasets: [{ name: 'ds1', source: 'main', sql: 'select * from sales where 1=1 {{#if region}} and region in (:region){{/if}}' }],
  styles: { hdr: { font: { bold: true } } },
  sheets: [{ name: 'Report', cells: { A1: { text: 'Region', style: 'hdr' }, A2: { field: 'ds1.region' } } }],
};

function issuesOf(t: unknown): { path: string; message: string }[] {
  try {
    parseTemplate(t, 't.json');
  } catch (e) {
    if (isTraceReportError(e) && e.code === 'TEMPLATE_INVALID') return (e.details as { issues: { path: string; message: string }[] }).issues;
    throw e;
  }
  throw new Error('expected the template to be refused');
}

describe('parseTemplate', () => {
  it('accepts a valid template and fills defaults', () => {
    const t = parseTemplate(JSON.stringify(ok));
    expect(t.kind).toBe('grid');
    if (t.kind !== 'grid') return;
    expect(t.page.size).toBe('A4');
    expect(t.parameters[0]!.type).toBe('string');
    expect(t.sheets[0]!.merges).toEqual([]);
  });

  it.each([
    ['bad display', { A2: { field: 'ds1.region', display: 'grouped' } }, '$.sheets[0].cells.A2.display'],
    ['unknown key', { A2: { field: 'ds1.region', colour: 'red' } }, '$.sheets[0].cells.A2'],
    ['two contents', { A2: { field: 'ds1.region', text: 'x' } }, '$.sheets[0].cells.A2'],
    ['summary without aggregate', { A2: { field: 'ds1.region', display: 'summary' } }, '$.sheets[0].cells.A2.aggregate'],
    ['unknown dataset', { A2: { field: 'nope.region' } }, '$.sheets[0].cells.A2.field'],
    ['unknown style', { A2: { field: 'ds1.region', style: 'zzz' } }, '$.sheets[0].cells.A2.style'],
    ['parent not a cell', { A2: { field: 'ds1.region', leftParent: 'Z9' } }, '$.sheets[0].cells.A2.leftParent'],
    ['expand on text', { A2: { text: 'x', expand: 'down' } }, '$.sheets[0].cells.A2.expand'],
  ])('%s: names the JSON path', (_name, cells, path) => {
    const issues = issuesOf({ ...ok, sheets: [{ name: 'Report', cells }] });
    expect(issues.map((i) => i.path)).toContain(path);
  });

  it('refuses {{x}} in SQL with a hint to use :x', () => {
    const issues = issuesOf({ ...ok, datasets: [{ name: 'ds1', source: 'main', sql: 'select * from t where a = {{region}}' }] });
    expect(issues[0]!.path).toBe('$.datasets[0].sql');
    expect(issues[0]!.message).toContain(':region');
  });

  it('refuses a newer format and a missing one', () => {
    expect(() => parseTemplate({ ...ok, format: 2 })).toThrow(/newer than this TraceReport reads/);
    const { format: _f, ...noFormat } = ok;
    expect(issuesOf(noFormat)[0]!.path).toBe('$.format');
  });

  it('refuses text that is not JSON', () => {
    expect(issuesOf('{"format": 1,')[0]!.message).toMatch(/not JSON/);
  });
});

describe('styles', () => {
  it('a style without a border gets none', () => {
    const t = parseTemplate(ok);
    if (t.kind !== 'grid') throw new Error('grid expected');
    expect(t.styles.hdr).toEqual({ font: { bold: true } });
  });
});
