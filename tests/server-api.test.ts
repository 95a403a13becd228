/**
 * The API over a real server: data sources (password encrypted at rest and never returned),
 * templates in folders with versions, grants, validation errors with JSON paths; rendering a
 * built-in template over the demo plant to real PDF / XLSX / CSV / HTML files (read back); the
 * trace API; every one of them leaves its audit row.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlant, type DemoIncident } from '../trace/demo/index.js';
import { loadDemoPlant } from '../trace/demo/load.js';
import { openTraceStore } from '../trace/store.js';
import { Client, startTestServer, usersByRole, type TestServer } from './server-support.js';

const SECRET = 'Sup3r-Secret-Pw!9';

let server: TestServer;
let clients: Record<string, Client>;
let incident: DemoIncident;
let traceDb: string;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-api-'));
  traceDb = path.join(tmp, 'plant.sqlite');
  const plant = demoPlant({ lots: 300 });
  incident = plant.incident;
  const db = await openTraceStore(traceDb);
  try {
    await loadDemoPlant(db, plant);
  } finally {
    await db.close();
  }
  server = await startTestServer({ traceDb });
  clients = await usersByRole(server.url, ['designer', 'viewer', 'operator', 'auditor']);
}, 240_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The bytes of the config database (with its WAL) as text, for grepping. */
function configDbBytes(): string {
  const base = path.join(server.dir, 'data', 'server.sqlite');
  return [base, `${base}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f).toString('latin1')).join('');
}

async function auditActions(): Promise<string[]> {
  const r = await clients.auditor!.request('GET', '/api/audit?limit=1000');
  expect(r.status).toBe(200);
  return (r.json.rows as { user: string; action: string; object: string }[]).map((x) => `${x.user} ${x.action} ${x.object}`);
}

describe('data sources', () => {
  let id: number;

  it('create: the password (given in the URL) is moved out, encrypted, and never returned', async () => {
    const admin = clients.admin!;
    const r = await admin.request('POST', '/api/datasources', { name: 'qa', url: `postgres://postgres:${encodeURIComponent(SECRET)}@127.0.0.1:5432/test`, rowLimit: 5000 });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    id = r.json.dataSource.id;
    expect(r.json.dataSource).toMatchObject({ name: 'qa', dialect: 'postgres', hasPassword: true, rowLimit: 5000 });
    expect(r.json.dataSource.url).toBe('postgres://postgres@127.0.0.1:5432/test');
    const all = [r, await admin.request('GET', '/api/datasources'), await admin.request('GET', `/api/datasources/${id}`), await clients.designer!.request('GET', '/api/datasources')];
    for (const x of all) {
      expect(x.status).toBe(200 + (x === r ? 1 : 0));
      expect(x.bytes.toString('utf8')).not.toContain(SECRET);
      expect(x.bytes.toString('utf8')).not.toContain(encodeURIComponent(SECRET));
    }
  });

  it('the password is not readable in the database file', () => {
    const bytes = configDbBytes();
    expect(bytes).toContain('postgres://postgres@127.0.0.1:5432/test');
    expect(bytes).not.toContain(SECRET);
    expect(bytes).not.toContain(encodeURIComponent(SECRET));
    expect(bytes).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 12));
  });

  it('test: connects with the decrypted password; a source that is down gives SOURCE_CONNECT_FAILED', async () => {
    const admin = clients.admin!;
    const ok = await admin.request('POST', `/api/datasources/${id}/test`);
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json.ok).toBe(true);
    const down = await admin.request('POST', '/api/datasources', { name: 'down', url: 'postgres://postgres@127.0.0.1:1/none', password: SECRET });
    const bad = await admin.request('POST', `/api/datasources/${down.json.dataSource.id}/test`);
    expect(bad.status).toBe(502);
    expect(bad.json.error.code).toBe('SOURCE_CONNECT_FAILED');
    expect(bad.bytes.toString('utf8')).not.toContain(SECRET);
  });

  it('update keeps the password unless given; null removes it; bad input names its field', async () => {
    const admin = clients.admin!;
    const u = await admin.request('PUT', `/api/datasources/${id}`, { rowLimit: 10 });
    expect(u.json.dataSource).toMatchObject({ rowLimit: 10, hasPassword: true });
    const n = await admin.request('PUT', `/api/datasources/${id}`, { password: null });
    expect(n.json.dataSource.hasPassword).toBe(false);
    const bad = await admin.request('POST', '/api/datasources', { name: '9bad', url: 'x.sqlite' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'BODY_INVALID', details: { path: '$.name' } });
    const dup = await admin.request('POST', '/api/datasources', { name: 'qa', url: 'x.sqlite' });
    expect(dup.status).toBe(409);
    const own = await admin.request('POST', '/api/datasources', { name: 'config', url: path.join(server.dir, 'data', 'server.sqlite') });
    expect(own.status).toBe(400);
    expect(own.json.error.details.path).toBe('$.url');
  });

  it('delete, then 404', async () => {
    const admin = clients.admin!;
    expect((await admin.request('DELETE', `/api/datasources/${id}`)).status).toBe(204);
    const gone = await admin.request('GET', `/api/datasources/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('NOT_FOUND');
    const actions = await auditActions();
    for (const a of ['datasource.create', 'datasource.test', 'datasource.update', 'datasource.delete']) expect(actions.some((x) => x.includes(` ${a} datasource:${id}`))).toBe(true);
  });
});

describe('templates', () => {
  let folderId: number;
  let id: number;
  const body = (title: string) => ({
    format: 1,
    kind: 'grid',
    name: 'Lots by status',
    parameters: [],
    datasets: [{ name: 'lots', source: 'trace', sql: 'select status, count(*) as n from lot group by status order by status' }],
    sheets: [{ name: 'Lots', cells: { A1: { text: title }, A2: { field: 'lots.status' }, B2: { field: 'lots.n', display: 'list' } } }],
  });

  it('the built-in templates are loaded in the Built-in folder, visible to viewers', async () => {
    const r = await clients.viewer!.request('GET', '/api/templates');
    expect(r.status).toBe(200);
    const names = (r.json.templates as { name: string }[]).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['Recall', 'Batch trace']));
    const folders = await clients.viewer!.request('GET', '/api/folders');
    expect(folders.json.folders).toEqual([expect.objectContaining({ name: 'Built-in', grants: ['export', 'view'] })]);
  });

  it('create in a folder needs an edit grant: designer without one gets 403; after the grant, 201', async () => {
    const admin = clients.admin!;
    folderId = (await admin.request('POST', '/api/folders', { name: 'Plant reports' })).json.folder.id;
    const denied = await clients.designer!.request('POST', '/api/templates', { folderId, template: body('v1') });
    expect(denied.status).toBe(403);
    expect(denied.json.error.code).toBe('FORBIDDEN');
    const g = await admin.request('PUT', `/api/folders/${folderId}/grants`, {
      grants: [
        { subjectKind: 'role', subject: 'designer', permission: 'edit' },
        { subjectKind: 'user', subject: 'u-viewer', permission: 'view' },
      ],
    });
    expect(g.status).toBe(200);
    const r = await clients.designer!.request('POST', '/api/templates', { folderId, template: body('v1'), note: 'first' });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    id = r.json.template.id;
    expect(r.json.template).toMatchObject({ name: 'Lots by status', version: 1, folderId });
  });

  it('validation errors carry JSON paths', async () => {
    const bad = { ...body('x'), sheets: [{ name: 'Lots', cells: { A1: { field: 'nope.status' }, A2: { display: 'sideways' } } }] };
    const r = await clients.designer!.request('PUT', `/api/templates/${id}`, { template: bad });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('TEMPLATE_INVALID');
    const paths = (r.json.error.details.issues as { path: string }[]).map((i) => i.path);
    expect(paths.some((p) => p.startsWith('$.sheets[0].cells.A2'))).toBe(true);
  });

  it('each save is a version; list, fetch and restore versions', async () => {
    const designer = clients.designer!;
    expect((await designer.request('PUT', `/api/templates/${id}`, { template: body('v2') })).json.template.version).toBe(2);
    expect((await designer.request('PUT', `/api/templates/${id}`, { template: body('v3') })).json.template.version).toBe(3);
    const versions = await designer.request('GET', `/api/templates/${id}/versions`);
    expect((versions.json.versions as { version: number }[]).map((v) => v.version)).toEqual([3, 2, 1]);
    expect(versions.json.versions[2]).toMatchObject({ note: 'first', createdBy: 'u-designer' });
    const v1 = await designer.request('GET', `/api/templates/${id}/versions/1`);
    expect(v1.json.body.sheets[0].cells.A1.text).toBe('v1');
    const restored = await designer.request('POST', `/api/templates/${id}/versions/1/restore`);
    expect(restored.json.template.version).toBe(4);
    const current = await clients.viewer!.request('GET', `/api/templates/${id}`);
    expect(current.status).toBe(200);
    expect(current.json.body.sheets[0].cells.A1.text).toBe('v1');
    expect((await designer.request('GET', `/api/templates/${id}/versions/9`)).status).toBe(404);
  });

  it('a viewer with only a view grant can view but not export; the operator sees nothing in that folder', async () => {
    const html = await clients.viewer!.request('POST', `/api/reports/${id}/render`, { format: 'html' });
    expect(html.status, html.bytes.toString()).toBe(200);
    const xlsx = await clients.viewer!.request('POST', `/api/reports/${id}/render`, { format: 'xlsx' });
    expect(xlsx.status).toBe(403);
    expect(xlsx.json.error.details).toMatchObject({ grant: 'export' });
    expect((await clients.operator!.request('GET', `/api/templates/${id}`)).status).toBe(403);
    const list = await clients.operator!.request('GET', '/api/templates');
    expect((list.json.templates as { id: number }[]).some((t) => t.id === id)).toBe(false);
  });

  it('delete; changes are audited with before/after', async () => {
    expect((await clients.designer!.request('DELETE', `/api/templates/${id}`)).status).toBe(204);
    expect((await clients.viewer!.request('GET', `/api/templates/${id}`)).status).toBe(404);
    const actions = await auditActions();
    for (const a of ['create', 'update', 'restore', 'delete']) expect(actions).toContain(`u-designer template.${a} template:${id}`);
    expect(actions).toContain(`admin grant.change folder:${folderId}`);
  });
});

describe('render and trace over the demo plant', () => {
  let recallId: number;

  beforeAll(async () => {
    const r = await clients.viewer!.request('GET', '/api/templates');
    recallId = (r.json.templates as { id: number; name: string }[]).find((t) => t.name === 'Recall')!.id;
  });

  async function render(format: string) {
    const r = await clients.viewer!.request('POST', `/api/reports/${recallId}/render`, { format, params: { lot: incident.supplierLot } });
    expect(r.status, r.bytes.toString('utf8').slice(0, 500)).toBe(200);
    return r;
  }

  it('PDF: a real PDF download whose text shows the recall list', async () => {
    const r = await render('pdf');
    expect(r.headers.get('content-type')).toBe('application/pdf');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="Recall.pdf"/);
    expect(r.bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const file = path.join(tmp, 'recall.pdf');
    fs.writeFileSync(file, r.bytes);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain(`Recall list for lot ${incident.supplierLot}`);
    for (const c of incident.customers.slice(0, 3)) expect(text).toContain(c);
    const meta = JSON.parse(r.headers.get('x-render-meta')!);
    expect(meta).toMatchObject({ template: recallId, version: 1 });
    expect(meta.mode).toMatch(/full|streaming/);
    expect(Object.keys(meta.rowCounts ?? meta.outputRows).length).toBeGreaterThan(0);
  });

  it('XLSX: read back with exceljs', async () => {
    const r = await render('xlsx');
    expect(r.headers.get('content-disposition')).toMatch(/filename="Recall.xlsx"/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.bytes as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('Recall list')!;
    expect(ws.getCell('A1').value).toBe(`Recall list for lot ${incident.supplierLot}`);
    const all = JSON.stringify(ws.getSheetValues());
    for (const lot of incident.finishedLots.slice(0, 3)) expect(all).toContain(lot);
  });

  it('CSV and HTML', async () => {
    const csv = await render('csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.bytes.toString('utf8')).toContain(`Recall list for lot ${incident.supplierLot}`);
    const html = await render('html');
    expect(html.headers.get('content-disposition')).toMatch(/^inline;/);
    const { document } = parseHTML(html.bytes.toString('utf8'));
    expect(document.body.textContent).toContain(`Recall list for lot ${incident.supplierLot}`);
  });

  it('parameter errors before any query: 400 with the catalogue code', async () => {
    const r = await clients.viewer!.request('POST', `/api/reports/${recallId}/render`, { format: 'pdf', params: {} });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('PARAM_MISSING');
    const f = await clients.viewer!.request('POST', `/api/reports/${recallId}/render`, { format: 'docx', params: {} });
    expect(f.json.error.code).toBe('ARGUMENT_INVALID');
  });

  it('renders are counted in /metrics by format', async () => {
    const m = (await new Client(server.url).request('GET', '/metrics')).bytes.toString('utf8');
    for (const f of ['pdf', 'xlsx', 'csv', 'html']) expect(m).toContain(`tracereport_renders_total{format="${f}",outcome="ok"}`);
    expect(m).toContain('tracereport_render_duration_seconds_bucket');
  });

  it('trace backward with detail, forward; unknown lot 404', async () => {
    const back = await clients.operator!.request('GET', `/api/trace/${encodeURIComponent(incident.sampleFinishedLot)}?direction=backward&detail=1`);
    expect(back.status, JSON.stringify(back.json)).toBe(200);
    expect((back.json.lots as { lot: string }[]).map((l) => l.lot)).toContain(incident.supplierLot);
    expect(Array.isArray(back.json.detail)).toBe(true);
    const fwd = await clients.operator!.request('GET', `/api/trace/${encodeURIComponent(incident.supplierLot)}?direction=forward`);
    const reached = (fwd.json.lots as { lot: string }[]).map((l) => l.lot);
    for (const lot of incident.finishedLots) expect(reached).toContain(lot);
    expect(fwd.json.detail).toBeUndefined();
    const none = await clients.operator!.request('GET', '/api/trace/NO-SUCH-LOT');
    expect(none.status).toBe(404);
    expect(none.json.error.code).toBe('LOT_NOT_FOUND');
    const bad = await clients.operator!.request('GET', `/api/trace/${incident.supplierLot}?direction=sideways`);
    expect(bad.status).toBe(400);
  });

  it('views, exports and traces are audited with their parameters; the chain verifies', async () => {
    const r = await clients.auditor!.request('GET', '/api/audit?limit=1000');
    const rows = r.json.rows as { user: string; action: string; object: string; params: Record<string, unknown> }[];
    const exp = rows.find((x) => x.action === 'report.export' && x.object === `template:${recallId}` && x.params.format === 'pdf')!;
    expect(exp.user).toBe('u-viewer');
    expect(exp.params.params).toEqual({ lot: incident.supplierLot });
    expect(rows.some((x) => x.action === 'report.view' && x.object === `template:${recallId}`)).toBe(true);
    expect(rows.some((x) => x.action === 'trace' && x.user === 'u-operator' && x.object === `lot:${incident.sampleFinishedLot}`)).toBe(true);
    const v = await clients.auditor!.request('GET', '/api/audit/verify');
    expect(v.json).toMatchObject({ ok: true, problems: [] });
  });
});

describe('parameter panel and paged viewer', () => {
  let folderId: number;
  let panelId: number;
  let listId: number;

  beforeAll(async () => {
    const admin = clients.admin!;
    folderId = (await admin.request('POST', '/api/folders', { name: 'Viewer tests' })).json.folder.id;
    await admin.request('PUT', `/api/folders/${folderId}/grants`, { grants: [{ subjectKind: 'role', subject: 'viewer', permission: 'view' }] });
    const panel = await admin.request('POST', '/api/templates', {
      folderId,
      template: {
        format: 1,
        kind: 'grid',
        name: 'Lots of a material',
        parameters: [
          { name: 'material', type: 'string', widget: 'select', options: { dataset: 'materials', value: 'code', label: 'name' } },
          { name: 'lot', type: 'string', required: true, widget: 'select', options: { dataset: 'lots', value: 'code' } },
          { name: 'from', type: 'date', default: '2025-01-01' },
          { name: 'shift', type: 'string', options: [{ value: 'A', label: 'Early' }, 'B'] },
        ],
        datasets: [
          { name: 'materials', source: 'trace', sql: "select code, name from material where kind = 'raw' order by code" },
          { name: 'lots', source: 'trace', sql: 'select l.code from lot l join material m on m.id = l.material_id where m.code = :material order by l.code' },
        ],
        sheets: [{ name: 'Lots', cells: { A1: { field: 'lots.code', display: 'list' } } }],
      },
    });
    expect(panel.status, JSON.stringify(panel.json)).toBe(201);
    panelId = panel.json.template.id;
    const list = await admin.request('POST', '/api/templates', {
      folderId,
      template: {
        format: 1,
        kind: 'grid',
        name: 'All lots',
        parameters: [],
        datasets: [{ name: 'lots', source: 'trace', sql: 'select code, status from lot order by code' }],
        sheets: [{ name: 'Lots', cells: { A1: { text: 'Lot' }, B1: { text: 'Status' }, A2: { field: 'lots.code', display: 'list' }, B2: { field: 'lots.status', display: 'list' } } }],
      },
    });
    expect(list.status, JSON.stringify(list.json)).toBe(201);
    listId = list.json.template.id;
  });

  const byName = (r: { json: { parameters: { name: string }[] } }, name: string) => r.json.parameters.find((p) => p.name === name) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('first load: options from SQL, literal defaults, fixed lists with labels, required marks; the dependent select is empty', async () => {
    const r = await clients.viewer!.request('POST', `/api/reports/${panelId}/parameters`, { params: {} });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const material = byName(r, 'material');
    expect(material.options.map((o: { value: string }) => o.value)).toContain(incident.material);
    expect(material.options.every((o: { label: string }) => typeof o.label === 'string' && o.label.length > 0)).toBe(true);
    expect(byName(r, 'lot')).toMatchObject({ required: true, value: null, options: [], error: null });
    expect(byName(r, 'from')).toMatchObject({ type: 'date', value: '2025-01-01' });
    expect(byName(r, 'shift').options).toEqual([{ value: 'A', label: 'Early' }, { value: 'B', label: 'B' }]);
  });

  it('cascading: choosing the material fills the lot options; a bad value is a per-field error', async () => {
    const r = await clients.viewer!.request('POST', `/api/reports/${panelId}/parameters`, { params: { material: incident.material, from: '2025-13-45' } });
    expect(r.status).toBe(200);
    const lots = byName(r, 'lot').options.map((o: { value: string }) => o.value);
    expect(lots).toContain(incident.supplierLot);
    expect(byName(r, 'from').error).toMatchObject({ code: 'PARAM_INVALID' });
    expect(byName(r, 'material').error).toBeNull();
    const unknown = await clients.viewer!.request('POST', `/api/reports/${panelId}/parameters`, { params: { plant: 'A' } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe('PARAM_UNKNOWN');
  });

  it('page N of a list report: the rows of that page only, the page count, the render metadata', async () => {
    const p1 = await clients.viewer!.request('POST', `/api/reports/${listId}/page`, { page: 1, rowsPerPage: 11 });
    const p2 = await clients.viewer!.request('POST', `/api/reports/${listId}/page`, { page: 2, rowsPerPage: 11 });
    expect(p2.status, JSON.stringify(p2.json)).toBe(200);
    const cells = (html: string) => [...parseHTML(`<div>${html}</div>`).document.querySelectorAll('tbody tr')].map((tr) => tr.textContent);
    const rows1 = cells(p1.json.html);
    const rows2 = cells(p2.json.html);
    expect(parseHTML(`<div>${p2.json.html}</div>`).document.querySelector('table[data-page]')!.getAttribute('data-page')).toBe('2');
    expect(rows2.length).toBeGreaterThan(0);
    expect(rows2.some((r) => rows1.includes(r) && !/Lot/.test(r ?? ''))).toBe(false);
    expect(p2.json.page).toBe(2);
    expect(p2.json.pages).toBeGreaterThanOrEqual(2);
    expect(p2.json.meta.mode).toMatch(/full|streaming/);
    if (p2.json.meta.mode === 'streaming') expect(p2.json.complete).toBe(false);
    const far = await clients.viewer!.request('POST', `/api/reports/${listId}/page`, { page: 10_000, rowsPerPage: 11 });
    expect(far.status).toBe(400);
    expect(far.json.error.code).toBe('ARGUMENT_INVALID');
  });

  it('paging needs the view grant like the rest', async () => {
    const r = await clients.operator!.request('POST', `/api/reports/${listId}/page`, { page: 1 });
    expect(r.status).toBe(403);
  });
});
