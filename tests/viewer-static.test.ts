/**
 * The web viewer over HTTP: the built app is served at its pages (deep links fall back to
 * index.html) under the CSP with no inline script, hashed assets are cacheable, the API keeps its
 * JSON answers (an unknown /api path is still a JSON 404); without a build the pages answer a clear
 * 503 and the API still works. The viewer's routes: a drill-down reference resolves to a template
 * the user may view (exact name, then slug, or id), and the session's permissions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportSlug } from '../server/routes/viewer.js';
import { VIEWER_DIR_ENV, viewerDir } from '../server/static.js';
import { Client, startTestServer, usersByRole, type TestServer } from './server-support.js';

let server: TestServer;
let clients: Record<string, Client>;

beforeAll(async () => {
  if (!fs.existsSync(path.join(viewerDir(), 'index.html'))) throw new Error(`${viewerDir()}/index.html is missing: run \`npm run build\` before the viewer tests`);
  server = await startTestServer();
  clients = await usersByRole(server.url, ['viewer', 'auditor']);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

const get = (p: string) => new Client(server.url).request('GET', p);

describe('serving the built viewer', () => {
  it('the viewer pages, deep links included, are index.html without a session; no inline script under the CSP', async () => {
    for (const p of ['/', '/login', '/login?next=%2Faudit', '/view/batch-trace?lot=FG-1&x=2', '/reports/3', '/audit', '/collectors']) {
      const r = await get(p);
      expect(r.status, p).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/html');
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
      const { document } = parseHTML(r.bytes.toString('utf8'));
      const scripts = [...document.querySelectorAll('script')];
      expect(scripts.length).toBeGreaterThan(0);
      for (const s of scripts) {
        expect(s.getAttribute('src'), 'every script is a file').toMatch(/^\/assets\/[\w-]+\.js$/);
        expect(s.textContent?.trim()).toBe('');
      }
      expect(r.headers.get('cache-control')).not.toContain('max-age');
    }
  });

  it('hashed assets are served with a long cache; a missing asset is a JSON 404', async () => {
    const html = (await get('/')).bytes.toString('utf8');
    const { document } = parseHTML(html);
    const js = document.querySelector('script')!.getAttribute('src')!;
    const css = document.querySelector('link[rel=stylesheet]')!.getAttribute('href')!;
    const a = await get(js);
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toMatch(/javascript/);
    expect(a.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    expect(a.bytes.length).toBeGreaterThan(10_000);
    expect((await get(css)).headers.get('content-type')).toContain('text/css');
    const missing = await get('/assets/nothing-here.js');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NOT_FOUND');
    const traversal = await get('/assets/..%2f..%2fpackage.json');
    expect(traversal.status).toBe(404);
  });

  it('the API is unchanged: JSON 404 for unknown /api paths, 401 without a session, health and metrics', async () => {
    const nothing = await get('/api/nothing');
    expect(nothing.status).toBe(404);
    expect(nothing.json.error).toMatchObject({ code: 'NOT_FOUND', details: null });
    expect((await get('/api/templates')).status).toBe(401);
    expect((await get('/healthz')).json).toEqual({ status: 'ok' });
    expect((await get('/metrics')).bytes.toString('utf8')).toContain('tracereport_http_request_duration_seconds');
    const other = await get('/not-a-viewer-page');
    expect(other.status).toBe(404);
    expect(other.json.error.code).toBe('NOT_FOUND');
    const post = await new Client(server.url).request('POST', '/', {});
    expect(post.status).toBe(404);
  });
});

describe('without a build', () => {
  let bare: TestServer;
  const before = process.env[VIEWER_DIR_ENV];

  beforeAll(async () => {
    process.env[VIEWER_DIR_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-noviewer-'));
    try {
      bare = await startTestServer();
    } finally {
      if (before === undefined) delete process.env[VIEWER_DIR_ENV];
      else process.env[VIEWER_DIR_ENV] = before;
    }
  });

  afterAll(async () => {
    await bare?.stop();
  });

  it('the server starts; viewer pages answer 503 saying to run the build; the API works', async () => {
    const c = new Client(bare.url);
    for (const p of ['/', '/view/batch-trace?lot=X']) {
      const r = await c.request('GET', p);
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('VIEWER_NOT_BUILT');
      expect(r.json.error.message).toContain('npm run build');
    }
    expect((await c.request('GET', '/healthz')).status).toBe(200);
    expect((await c.login('admin', 'Boss-password-2026')).status).toBe(200);
    expect((await c.request('GET', '/api/folders')).status).toBe(200);
  });
});

describe('viewer routes', () => {
  it('slugs: lower case, other characters one dash, accents dropped, CJK kept', () => {
    expect(reportSlug('Batch trace')).toBe('batch-trace');
    expect(reportSlug('SPC X̄-R')).toBe('spc-x-r');
    expect(reportSlug('  Recall / list (v2) ')).toBe('recall-list-v2');
    expect(reportSlug('批次 追溯')).toBe('批次-追溯');
  });

  it('a drill-down reference resolves by exact name, then slug, or id, to a template the user may view, with the grants', async () => {
    const viewer = clients.viewer!;
    const bySlug = await viewer.request('GET', '/api/viewer/reports/batch-trace');
    expect(bySlug.status, JSON.stringify(bySlug.json)).toBe(200);
    expect(bySlug.json.template).toMatchObject({ name: 'Batch trace', kind: 'grid' });
    expect(bySlug.json.grants).toEqual(['export', 'view']);
    expect(bySlug.json.folder.name).toBe('Built-in');
    const id = bySlug.json.template.id as number;
    expect((await viewer.request('GET', `/api/viewer/reports/${encodeURIComponent('Batch trace')}`)).json.template.id).toBe(id);
    expect((await viewer.request('GET', `/api/viewer/reports/${id}`)).json.template.name).toBe('Batch trace');
    const none = await viewer.request('GET', '/api/viewer/reports/no-such-report');
    expect(none.status).toBe(404);
    expect(none.json.error).toMatchObject({ code: 'TEMPLATE_NOT_FOUND', details: { report: 'no-such-report' } });
  });

  it('exact name wins over a slug match; templates in folders the user may not view are not found', async () => {
    const admin = clients.admin!;
    const folder = (await admin.request('POST', '/api/folders', { name: 'Slug tests' })).json.folder.id as number;
    const body = (name: string) => ({ format: 1, kind: 'grid', name, parameters: [], datasets: [], sheets: [{ name: 'S', cells: { A1: { text: name } } }] });
    const dashed = (await admin.request('POST', '/api/templates', { folderId: folder, template: body('lot-list') })).json.template.id as number;
    const spaced = (await admin.request('POST', '/api/templates', { folderId: folder, template: body('Lot list') })).json.template.id as number;
    expect((await admin.request('GET', '/api/viewer/reports/lot-list')).json.template.id).toBe(dashed);
    expect((await admin.request('GET', `/api/viewer/reports/${encodeURIComponent('Lot list')}`)).json.template.id).toBe(spaced);
    // The viewer has no grant on that folder.
    expect((await clients.viewer!.request('GET', '/api/viewer/reports/lot-list')).status).toBe(404);
    expect((await clients.viewer!.request('GET', `/api/viewer/reports/${dashed}`)).status).toBe(404);
  });

  it("permissions: what the session's roles hold; an auditor may not resolve reports", async () => {
    const v = await clients.viewer!.request('GET', '/api/viewer/permissions');
    expect(v.json).toEqual({ roles: ['viewer'], permissions: ['authenticated', 'templates.read', 'reports.view', 'trace.query'] });
    const a = await clients.auditor!.request('GET', '/api/viewer/permissions');
    expect(a.json.permissions).toContain('audit.read');
    expect(a.json.permissions).not.toContain('reports.view');
    expect((await clients.auditor!.request('GET', '/api/viewer/reports/batch-trace')).status).toBe(403);
    expect((await get('/api/viewer/permissions')).status).toBe(401);
  });
});
