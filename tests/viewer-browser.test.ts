/**
 * The web viewer in a real Chromium (playwright-core) against a real server over a small demo plant:
 * log in through the form (and back to the asked-for page), the reports home; the batch trace of the
 * planted incident through the parameter panel, paged, exported to PDF and XLSX (read back); per-field
 * errors; drill-down through a report link and back by the breadcrumb and by browser back; the
 * auditor's page with the rows just made, filters, paging, chain check and CSV.
 * Screenshots go to /tmp/tracereport-viewer-shots/.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
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
const AUDITOR = { username: 'audrey', password: 'Auditor-pass-2026!' };

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
  for (const [u, role, displayName] of [[VIEWER, 'viewer', 'Vera Viewer'], [AUDITOR, 'auditor', 'Audrey Auditor']] as const) {
    const r = await admin.request('POST', '/api/users', { username: u.username, password: u.password, roles: [role], displayName });
    if (r.status !== 201) throw new Error(`creating ${role}: ${JSON.stringify(r.json)}`);
  }
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

describe('a report: panel, pages, exports, drill-down', () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    ({ context, page } = await newPage());
    await page.goto(server.url + '/login');
    await logIn(page);
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
  });

  afterAll(async () => {
    await context?.close();
  });

  const status = () => page.getByTestId('page-status').textContent();
  const report = () => page.getByTestId('report');

  it('the batch trace of the planted incident lot: required mark, Query, page N of M, next / previous / last / first', async () => {
    await page.getByRole('link', { name: 'Batch trace', exact: true }).click();
    await page.getByTestId('report-title').filter({ hasText: 'Batch trace' }).waitFor();
    const lot = page.getByLabel('Lot');
    await lot.waitFor();
    expect(await lot.getAttribute('aria-required')).toBe('true');
    // Query without the required lot: the field says so.
    await page.getByTestId('query').click();
    await expect.poll(() => page.getByTestId('error-lot').textContent()).toContain('Required');
    await lot.fill(incident.sampleFinishedLot);
    await page.getByTestId('query').click();
    await expect.poll(status).toBe('Page 1 of 5');
    expect(await page.getByTestId('error-lot').count()).toBe(0);
    expect(await report().textContent()).toContain(incident.supplierLot);
    expect(await report().locator('table[data-sheet="Genealogy"]').count()).toBe(1);
    expect(page.url()).toBe(`${server.url}/reports/1?lot=${incident.sampleFinishedLot}#page=1`);
    await page.getByTestId('page-next').click();
    await expect.poll(status).toBe('Page 2 of 5');
    expect(await report().locator('table[data-sheet="Operations"]').count()).toBe(1);
    await page.getByTestId('page-prev').click();
    await expect.poll(status).toBe('Page 1 of 5');
    await page.getByTestId('page-last').click();
    await expect.poll(status).toBe('Page 5 of 5');
    expect(await page.getByTestId('page-next').isDisabled()).toBe(true);
    await page.getByTestId('page-first').click();
    await expect.poll(status).toBe('Page 1 of 5');
    expect(await page.getByTestId('page-prev').isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'batch-trace.png'), fullPage: true });
  });

  it('PDF and Excel from the buttons: downloads named by the server, holding the lots the view shows', async () => {
    const pdf = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-pdf').click()]).then(([d]) => d);
    expect(pdf.suggestedFilename()).toBe('Batch trace.pdf');
    const pdfFile = path.join(tmp, 'batch-trace.pdf');
    await pdf.saveAs(pdfFile);
    const text = execFileSync('pdftotext', [pdfFile, '-'], { encoding: 'utf8' });
    expect(text).toContain(incident.sampleFinishedLot);
    expect(text).toContain(incident.supplierLot);
    const xlsx = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-xlsx').click()]).then(([d]) => d);
    expect(xlsx.suggestedFilename()).toBe('Batch trace.xlsx');
    const xlsxFile = path.join(tmp, 'batch-trace.xlsx');
    await xlsx.saveAs(xlsxFile);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(xlsxFile);
    const all = wb.worksheets.map((ws) => JSON.stringify(ws.getSheetValues())).join('');
    expect(all).toContain(incident.sampleFinishedLot);
    expect(all).toContain(incident.supplierLot);
  });

  it('drill-down: a lot link opens its batch trace with a breadcrumb; the crumb and browser back return to the page left', async () => {
    await page.getByTestId('page-next').click();
    await expect.poll(status).toBe('Page 2 of 5');
    const link = report().locator('a[href^="/view/batch-trace?lot="]').first();
    const target = new URL(await link.getAttribute('href') ?? '', server.url).searchParams.get('lot')!;
    expect(target).toBeTruthy();
    await link.click();
    await page.waitForURL(`${server.url}/view/batch-trace?lot=${target}#page=1`);
    await expect.poll(status).toBe(`Page 1 of 5`);
    expect(await page.getByLabel('Lot').inputValue()).toBe(target);
    expect(await page.getByTestId('crumb').allTextContents()).toEqual([`Batch trace (${incident.sampleFinishedLot})`]);
    expect(await page.getByTestId('crumb-current').textContent()).toBe(`Batch trace (${target})`);
    // Back through the breadcrumb: the first report, its lot, its page.
    await page.getByTestId('crumb').click();
    await page.waitForURL(`${server.url}/reports/1?lot=${incident.sampleFinishedLot}#page=2`);
    await expect.poll(status).toBe('Page 2 of 5');
    expect(await page.getByLabel('Lot').inputValue()).toBe(incident.sampleFinishedLot);
    expect(await page.getByTestId('breadcrumb').count()).toBe(0);
    // Down again, then browser back.
    await report().locator(`a[href="/view/batch-trace?lot=${target}"]`).first().click();
    await expect.poll(() => page.getByTestId('crumb-current').textContent()).toBe(`Batch trace (${target})`);
    await page.goBack();
    await page.waitForURL(`${server.url}/reports/1?lot=${incident.sampleFinishedLot}#page=2`);
    await expect.poll(status).toBe('Page 2 of 5');
    expect(await page.getByLabel('Lot').inputValue()).toBe(incident.sampleFinishedLot);
    // And forward again.
    await page.goForward();
    await expect.poll(() => page.getByTestId('crumb-current').textContent()).toBe(`Batch trace (${target})`);
    await expect.poll(status).toBe('Page 1 of 5');
  });

  it('a link such as the demo prints (/view/batch-trace?lot=…) runs the report at once', async () => {
    await page.goto(`${server.url}/view/batch-trace?lot=${incident.supplierLot}`);
    await expect.poll(status).toMatch(/^Page 1 of \d+$/);
    expect(await report().textContent()).toContain(incident.supplierLot);
    expect(await page.getByTestId('report-title').textContent()).toBe('Batch trace');
  });

  it('a bad number is a per-field error, from the panel and from the render', async () => {
    await page.goto(server.url + '/');
    await page.getByRole('link', { name: 'Process parameters', exact: true }).click();
    const step = page.getByLabel('Step');
    await step.waitFor();
    await step.fill('ten');
    await page.getByTestId('query').click();
    await expect.poll(() => page.getByTestId('error-step').textContent()).toContain('expected a number');
    expect(await step.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('report').count()).toBe(0);
    await step.fill('10');
    await expect.poll(() => page.getByTestId('error-step').count()).toBe(0);
  });
});

describe('the audit page', () => {
  it('an auditor sees the views and exports just made, filters and pages them, verifies the chain, exports CSV', async () => {
    // 55 trace queries by the viewer: more than one page of the trail.
    const vera = new Client(server.url);
    await vera.login(VIEWER.username, VIEWER.password);
    for (let i = 0; i < 55; i++) expect((await vera.request('GET', `/api/trace/${incident.sampleFinishedLot}?depth=1`)).status).toBe(200);
    const { context, page } = await newPage();
    try {
      await page.goto(server.url + '/audit');
      await logIn(page, AUDITOR.username, AUDITOR.password);
      await page.waitForURL('**/audit');
      expect(await page.getByTestId('roles').textContent()).toBe('auditor');
      const rows = page.getByTestId('audit-rows').locator('tbody tr');
      await rows.first().waitFor();
      const filter = async (user: string, action: string) => {
        await page.getByLabel('User').fill(user);
        await page.getByLabel('Action').fill(action);
        await page.getByTestId('audit-apply').click();
        await expect.poll(async () => (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')))).every((a) => a === action)).toBe(true);
      };
      await filter(VIEWER.username, 'report.export');
      const exports = await rows.allTextContents();
      expect(exports.length).toBe(2);
      expect(exports.join('\n')).toContain('"format":"pdf"');
      expect(exports.join('\n')).toContain('"format":"xlsx"');
      expect(exports.join('\n')).toContain(`"lot":"${incident.sampleFinishedLot}"`);
      await filter(VIEWER.username, 'report.view');
      const views = (await rows.allTextContents()).join('\n');
      expect(views).toContain(`"lot":"${incident.sampleFinishedLot}"`);
      expect(views).toContain('"page":2');
      // Paging by sequence number: 50 a page.
      await filter(VIEWER.username, 'trace');
      await expect.poll(() => rows.count()).toBe(50);
      expect(await page.getByTestId('audit-range').textContent()).toBe('Rows 1–50');
      await page.getByTestId('audit-older').click();
      await expect.poll(() => page.getByTestId('audit-range').textContent()).toBe('Rows 51–55');
      expect(await rows.count()).toBe(5);
      expect(await page.getByTestId('audit-older').isDisabled()).toBe(true);
      await page.getByTestId('audit-newer').click();
      await expect.poll(() => page.getByTestId('audit-range').textContent()).toBe('Rows 1–50');
      // Changes show before and after.
      await filter('admin', 'user.create');
      await rows.first().locator('summary').click();
      expect(await rows.first().locator('pre').last().textContent()).toMatch(/"roles": \[\s*"auditor"\s*\]|"username": "audrey"/);
      await page.getByTestId('audit-verify').click();
      await expect.poll(() => page.getByTestId('verify-result').textContent()).toMatch(/^Chain OK: \d+ rows/);
      await filter(VIEWER.username, 'report.export');
      const csv = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-csv').click()]).then(([d]) => d);
      expect(csv.suggestedFilename()).toBe('audit.csv');
      const text = fs.readFileSync((await csv.path())!, 'utf8');
      expect(text.split('\r\n').filter((l) => l.includes('report.export')).length).toBe(2);
      expect(text).not.toContain('report.view');
      await page.screenshot({ path: path.join(SHOTS, 'audit.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
