/**
 * /metrics over HTTP on a real server: the PDF browser pool's gauges (0 before the first PDF, the
 * browser and its page after one), renders by format, render and request durations, cache lookups.
 * Plus the pool's own figures while renders queue for its pages.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserPool } from '../renderer/pdf/browser-pool.js';
import { METRICS_TOKEN_ENV } from '../server/routes/health.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

let server: TestServer;
let admin: Client;
let templateId: number;

beforeAll(async () => {
  server = await startTestServer();
  const dbFile = path.join(server.dir, 'plant.sqlite');
  const db = new Database(dbFile);
  db.exec("create table item (code text, qty integer); insert into item values ('A', 1), ('B', 2)");
  db.close();
  admin = new Client(server.url);
  expect((await admin.login('admin', ADMIN_PASSWORD)).status).toBe(200);
  expect((await admin.request('POST', '/api/datasources', { name: 'plant', url: dbFile })).status).toBe(201);
  const folderId = (await admin.request('POST', '/api/folders', { name: 'Metrics' })).json.folder.id;
  const r = await admin.request('POST', '/api/templates', {
    folderId,
    template: {
      format: 1,
      kind: 'grid',
      name: 'items',
      datasets: [{ name: 'rows', source: 'plant', sql: 'select code, qty from item order by code', cacheTtl: 60 }],
      sheets: [{ name: 'Items', cells: { A1: { field: 'rows.code', display: 'list' }, B1: { field: 'rows.qty' } } }],
    },
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  templateId = r.json.template.id;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** Scrapes /metrics without a session and returns sample lines as name{labels} → value. */
async function scrape(): Promise<Map<string, number>> {
  const r = await new Client(server.url).request('GET', '/metrics');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
  const out = new Map<string, number>();
  for (const line of r.bytes.toString('utf8').split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('/metrics', () => {
  it('shows the PDF pool as 0 before the first PDF render, and its browser and page after one', async () => {
    const before = await scrape();
    for (const g of ['browsers', 'pages', 'busy', 'queued', 'capacity']) expect(before.get(`tracereport_pdf_pool_${g}`), g).toBe(0);

    const pdf = await admin.request('POST', `/api/reports/${templateId}/render`, { format: 'pdf', params: {} });
    expect(pdf.status, pdf.bytes.toString().slice(0, 300)).toBe(200);
    expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');

    const after = await scrape();
    expect(after.get('tracereport_pdf_pool_browsers')).toBe(1);
    expect(after.get('tracereport_pdf_pool_pages')).toBeGreaterThanOrEqual(1); // kept idle for the next render
    expect(after.get('tracereport_pdf_pool_capacity')).toBeGreaterThanOrEqual(1);
    expect(after.get('tracereport_pdf_pool_busy')).toBe(0);
    expect(after.get('tracereport_pdf_pool_queued')).toBe(0);
    expect(after.get('tracereport_renders_total{format="pdf",outcome="ok"}')).toBe(1);
    expect(after.get('tracereport_render_duration_seconds_count{format="pdf"}')).toBe(1);
    expect(after.get('tracereport_query_cache_lookups_total{result="miss"}')).toBe(1);
  }, 90_000);

  it('counts viewer pages, cache hits and request durations by route', async () => {
    const start = await scrape();
    for (let i = 0; i < 2; i++) {
      const r = await admin.request('POST', `/api/reports/${templateId}/page`, { params: {}, page: 1 });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.html).toContain('A');
    }
    const m = await scrape();
    const delta = (k: string) => (m.get(k) ?? 0) - (start.get(k) ?? 0);
    expect(delta('tracereport_renders_total{format="html-page",outcome="ok"}')).toBe(2);
    expect(delta('tracereport_query_cache_lookups_total{result="hit"}')).toBe(2); // cached by the PDF render above
    expect(delta('tracereport_http_request_duration_seconds_count{method="POST",route="/api/reports/:id/page",status="200"}')).toBe(2);
  }, 30_000);
});

describe('/metrics with a token (TRACEREPORT_METRICS_TOKEN)', () => {
  it.each([
    ['the setting', { settings: { metricsToken: 's3cret-scrape-token' } }, undefined],
    ['the environment variable', {}, 's3cret-scrape-token'],
  ])('set through %s: only "Authorization: Bearer <token>" is answered, a session is not enough', async (_how, opts, env) => {
    const before = process.env[METRICS_TOKEN_ENV];
    if (env) process.env[METRICS_TOKEN_ENV] = env;
    let guarded: TestServer;
    try {
      guarded = await startTestServer(opts);
    } finally {
      if (before === undefined) delete process.env[METRICS_TOKEN_ENV];
      else process.env[METRICS_TOKEN_ENV] = before;
    }
    try {
      const anon = new Client(guarded.url);
      for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token' }, { authorization: 's3cret-scrape-token' }, { authorization: 'Bearer s3cret-scrape-token extra' }]) {
        const r = await anon.request('GET', '/metrics', undefined, { headers });
        expect(r.status, JSON.stringify(headers)).toBe(401);
        expect(r.json.error.code).toBe('AUTH_REQUIRED');
        expect(r.json.error.message).toMatch(/Bearer .*TRACEREPORT_METRICS_TOKEN/);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(r.bytes.toString('utf8')).not.toMatch(/tracereport_/);
      }
      // An admin session is not the scraper's token.
      const logged = new Client(guarded.url);
      expect((await logged.login('admin', ADMIN_PASSWORD)).status).toBe(200);
      expect((await logged.request('GET', '/metrics')).status).toBe(401);
      const ok = await anon.request('GET', '/metrics', undefined, { headers: { authorization: 'bearer  s3cret-scrape-token' } });
      expect(ok.status).toBe(200);
      expect(ok.bytes.toString('utf8')).toMatch(/^tracereport_pdf_pool_browsers 0$/m);
      // Health stays public for load balancers.
      expect((await anon.request('GET', '/healthz')).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});

describe('browser pool figures', () => {
  it('counts busy and queued renders while more renders than pages are under way, and none after', async () => {
    const pool = new BrowserPool({ maxPages: 1 });
    try {
      expect(pool.stats()).toEqual({ browsers: 0, pages: 0, busy: 0, queued: 0, capacity: 1 });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const first = pool.withPage(async () => {
        started();
        await held;
      });
      await running;
      const second = pool.withPage(async (page) => page.evaluate(() => 1 + 1));
      const third = pool.withPage(async () => 3);
      expect(pool.stats()).toMatchObject({ browsers: 1, pages: 1, busy: 1, queued: 2 });
      release();
      await Promise.all([first, second, third]);
      expect(pool.stats()).toEqual({ browsers: 1, pages: 1, busy: 0, queued: 0, capacity: 1 });
    } finally {
      await pool.close();
    }
    expect(pool.stats()).toMatchObject({ browsers: 0, pages: 0 });
  }, 60_000);

  it('a render that times out while queued leaves the queue', async () => {
    const pool = new BrowserPool({ maxPages: 1 });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const first = pool.withPage(async () => {
        started();
        await held;
      });
      await running;
      const late = pool.withPage(async () => 1, { timeoutMs: 50 });
      expect(pool.stats().queued).toBe(1);
      await expect(late).rejects.toMatchObject({ code: 'PDF_FAILED' });
      expect(pool.stats()).toMatchObject({ busy: 1, queued: 0 });
      release();
      await first;
      expect(await pool.withPage(async () => 'next')).toBe('next');
      expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
    } finally {
      await pool.close();
    }
  }, 60_000);
});
