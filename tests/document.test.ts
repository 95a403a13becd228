import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDocumentHtml, writeDocument, type DocumentInput } from '../renderer/document/render-document.js';
import { BrowserPool } from '../renderer/pdf/browser-pool.js';
import { parseTemplate } from '../renderer/template/load.js';
import type { DocumentTemplate } from '../renderer/template/schema.js';
import { TraceReportError } from '../datasources/errors.js';

/** A certificate of analysis: parameters in the heading, one table row per test result, a total. */
const coa = parseTemplate(
  {
    format: 1,
    kind: 'document',
    name: 'Certificate of analysis',
    parameters: [
      { name: 'lot', type: 'string', required: true },
      { name: 'released', type: 'date' },
    ],
    datasets: [{ name: 'results', source: 'trace', sql: 'select name, spec, value, result from inspection where lot = :lot' }],
    html: `<h1>分析证书 Certificate of Analysis</h1>
<p class="lot">Lot <b>{{params.lot}}</b> released {{format params.released "yyyy-mm-dd"}}</p>
<table id="results"><thead><tr><th>Characteristic</th><th>Spec</th><th>Value</th><th>Result</th></tr></thead><tbody>
{{#each results}}<tr class="{{#if (eq result "PASS")}}pass{{else}}fail{{/if}}"><td>{{name}}</td><td>{{spec}}</td><td>{{format value "0.00"}}</td><td>{{result}}</td></tr>
{{/each}}</tbody></table>
<p id="total">Sum of values: {{format (sum results "value") "#,##0.0"}} over {{results.length}} tests</p>`,
    css: 'h1{font-size:16pt}.fail{color:#c00}',
    page: { size: 'A4', orientation: 'portrait', footer: 'Lot {{lot}} · Page {{page}} of {{pages}}' },
  },
  'coa.json',
) as DocumentTemplate;

const input: DocumentInput = {
  template: coa,
  params: { lot: 'FG-24-0001', released: new Date(Date.UTC(2024, 4, 17)) },
  datasets: {
    results: [
      { name: '含量 Assay', spec: '98.0–102.0 %', value: 99.456, result: 'PASS' },
      { name: 'Moisture', spec: '≤ 0.5 %', value: 0.7, result: 'FAIL' },
      { name: '<script>alert(1)</script>', spec: 'n/a', value: 3n, result: 'PASS' },
    ],
  },
};

let dir: string;
let pool: BrowserPool;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tracereport-doc-'));
  pool = new BrowserPool({ maxPages: 1 });
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('document templates', () => {
  it('render to HTML with parameters, dataset rows, helpers and escaping', () => {
    const html = renderDocumentHtml(input);
    const doc = parseHTML(html).document as unknown as Document;
    expect(doc.querySelector('h1')!.textContent).toBe('分析证书 Certificate of Analysis');
    expect(doc.querySelector('p.lot')!.textContent).toBe('Lot FG-24-0001 released 2024-05-17');
    const rows = [...doc.querySelectorAll('#results tbody tr')];
    expect(rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))).toEqual([
      ['含量 Assay', '98.0–102.0 %', '99.46', 'PASS'],
      ['Moisture', '≤ 0.5 %', '0.70', 'FAIL'],
      ['<script>alert(1)</script>', 'n/a', '3.00', 'PASS'],
    ]);
    expect(rows.map((r) => r.className)).toEqual(['pass', 'fail', 'pass']);
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(doc.querySelector('#total')!.textContent).toBe('Sum of values: 103.2 over 3 tests');
    const css = doc.querySelector('style')!.textContent!;
    expect(css).toContain('@page{size:A4 portrait;margin:15mm 10mm 15mm 10mm}');
    expect(css).toContain('.fail{color:#c00}');
  });

  it('print to PDF through the browser pool with the footer from the page setup', async () => {
    const file = join(dir, 'coa.pdf');
    const r = await writeDocument(input, file, { format: 'pdf', pool });
    expect(r.pages).toBe(1);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).toContain('分析证书 Certificate of Analysis');
    expect(text).toMatch(/含量 Assay\s+98\.0–102\.0 %\s+99\.46\s+PASS/);
    expect(text).toMatch(/Moisture\s+≤ 0\.5 %\s+0\.70\s+FAIL/);
    expect(text).toContain('Lot FG-24-0001 · Page 1 of 1');
    expect(execFileSync('pdfinfo', [file], { encoding: 'utf8' })).toMatch(/Page size:\s+59[45]\.\d+ x 841\.\d+ pts \(A4\)/);
  });

  it('prints without fetching anything: a remote image or stylesheet is never requested', async () => {
    const http = await import('node:http');
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    try {
      const spy = parseTemplate(
        { ...coa, html: `<link rel="stylesheet" href="http://127.0.0.1:${port}/s.css"><img src="http://127.0.0.1:${port}/i.png"><p>{{params.lot}}</p>` },
        'spy.json',
      ) as DocumentTemplate;
      const file = join(dir, 'spy.pdf');
      await writeDocument({ ...input, template: spy }, file, { format: 'pdf', pool });
      expect(execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' })).toContain('FG-24-0001');
      expect(requests).toBe(0);
    } finally {
      server.close();
    }
  });

  it('writes HTML to a file', async () => {
    const file = join(dir, 'coa.html');
    await writeDocument(input, file, { format: 'html' });
    expect(readFileSync(file, 'utf8')).toContain('<td>Moisture</td>');
  });

  it('a template with a handlebars syntax error is TEMPLATE_INVALID naming the template', () => {
    const bad = { ...coa, html: '{{#each results}}<p>{{name}}</p>' } as DocumentTemplate;
    let err: unknown;
    try {
      renderDocumentHtml({ ...input, template: bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceReportError);
    expect((err as TraceReportError).code).toBe('TEMPLATE_INVALID');
    expect((err as TraceReportError).message).toContain('Certificate of analysis');
  });
});
