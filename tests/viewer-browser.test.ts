/**
 * The web viewer in a real Chromium (playwright-core) against a real server over a small demo plant:
 * log in through the form (and back to the asked-for page), the reports home.
 * Screenshots go to /tmp/tracereport-viewer-shots/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlant, type DemoIncident } from '../trace/demo/index.js';
import { loadDemoPlant } from '../trace/demo/load.js';
import { openTraceStore } from '../trace/store.js';
import { viewerDir } from '../server/static.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = path.join(os.tmpdir(), 'tracereport-viewer-shots');
const VIEWER = { username: 'vera', password: 'Viewer-pass-2026!' };

let server: TestServer;
let browser: Browser;
let incident: DemoIncident;
let tmp: string;

beforeAll(async () => {
  if (!fs.existsSync(path.join(viewerDir(), 'index.html'))) throw new Error(`${viewerDir()}/index.html is missing: run \`npm run build\` before the viewer tests`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-viewer-'));
  fs.mkdirSync(SHOTS, { recursive: true });
  const traceDb = path.join(tmp, 'plant.sqlite');
  const plant = demoPlant({ lots: 300 });
  incident = plant.incident;
  const db = await openTraceStore(traceDb);
  try {
    await loadDemoPlant(db, plant);
  } finally {
    await db.close();
  }
  [server, browser] = await Promise.all([startTestServer({ traceDb }), chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })]);
  const admin = new Client(server.url);
  await admin.login('admin', ADMIN_PASSWORD);
  const r = await admin.request('POST', '/api/users', { username: VIEWER.username, password: VIEWER.password, roles: ['viewer'], displayName: 'Vera Viewer' });
  if (r.status !== 201) throw new Error(`creating the viewer: ${JSON.stringify(r.json)}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh browser profile (no cookie) with the given language and viewport. */
async function newPage(opts: { locale?: string; viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: opts.locale ?? 'en-US', viewport: opts.viewport ?? { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { context, page };
}

async function logIn(page: Page, user = VIEWER.username, password = VIEWER.password): Promise<void> {
  await page.locator('input[name=username]').fill(user);
  await page.locator('input[name=password]').fill(password);
  await page.locator('button[type=submit]').click();
}

describe('log in and the reports home', () => {
  it('a wrong password shows the error on the form; the right one logs in and lists the folders and reports', async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(server.url + '/');
      await page.waitForURL('**/login');
      await logIn(page, VIEWER.username, 'not-the-password');
      await expect.poll(() => page.getByTestId('login-error').textContent()).toContain('user name or password is wrong');
      expect(page.url()).toMatch(/\/login$/);
      await logIn(page);
      await page.getByRole('heading', { name: 'Reports' }).waitFor();
      expect(await page.getByTestId('user').textContent()).toContain('Vera Viewer');
      expect(await page.getByTestId('roles').textContent()).toBe('viewer');
      const folder = page.getByTestId('folder').filter({ hasText: 'Built-in' });
      for (const name of ['Batch trace', 'Recall', 'Process parameters']) await folder.getByRole('link', { name, exact: true }).waitFor();
      // A viewer has no audit link; the session cookie is not readable by scripts.
      expect(await page.getByTestId('nav-audit').count()).toBe(0);
      expect(await page.evaluate(() => document.cookie)).not.toContain('tr_session');
      await page.screenshot({ path: path.join(SHOTS, 'home.png') });
      await page.getByTestId('logout').click();
      await page.waitForURL('**/login');
      // After logout the server refuses the old session too.
      expect((await context.request.get(server.url + '/api/auth/me')).status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('a deep link asks for the login first and then opens the page that was asked for', async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(`${server.url}/reports/1?x=1`);
      await page.waitForURL(/\/login\?next=/);
      await logIn(page);
      await page.waitForURL(`${server.url}/reports/1?x=1`);
    } finally {
      await context.close();
    }
  });
});
