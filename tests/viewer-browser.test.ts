/**
 * The web viewer in a real Chromium (playwright-core) against a real server over a small demo plant:
 * log in through the form (and back to the asked-for page), the reports home; the batch trace of the
 * planted incident through the parameter panel, paged, exported to PDF and XLSX (read back); per-field
 * errors; drill-down through a report link and back by the breadcrumb and by browser back; the
 * auditor's page with the rows just made, filters, paging, chain check and CSV; Chinese; a phone.
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
async function newPage(opts: { locale?: string; phone?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    locale: opts.locale ?? 'en-US',
    acceptDownloads: true,
    ...(opts.phone ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : { viewport: { width: 1280, height: 900 } }),
  });
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

  it('cascading: choosing a material fills the lot choices; a lot the new material lacks is cleared; multi-select', async () => {
    const admin = new Client(server.url);
    await admin.login('admin', ADMIN_PASSWORD);
    const folderId = (await admin.request('POST', '/api/folders', { name: 'Viewer tests' })).json.folder.id as number;
    await admin.request('PUT', `/api/folders/${folderId}/grants`, { grants: [{ subjectKind: 'role', subject: 'viewer', permission: 'view' }] });
    const created = await admin.request('POST', '/api/templates', {
      folderId,
      template: {
        format: 1,
        kind: 'grid',
        name: 'Lots of a material',
        parameters: [
          { name: 'material', type: 'string', required: true, label: { en: 'Material', zh: '物料' }, widget: 'select', options: { dataset: 'materials', value: 'code', label: 'name' } },
          { name: 'lot', type: 'string', label: 'Lot', widget: 'select', options: { dataset: 'lots', value: 'code' } },
          { name: 'status', type: 'string', multi: true, label: 'Status', widget: 'multiselect', options: ['released', 'consumed', 'shipped', 'hold'] },
        ],
        datasets: [
          { name: 'materials', source: 'trace', sql: "select code, name from material where kind = 'raw' order by code" },
          { name: 'lots', source: 'trace', sql: 'select l.code from lot l join material m on m.id = l.material_id where m.code = :material order by l.code' },
          {
            name: 'list',
            source: 'trace',
            sql: 'select l.code, l.status from lot l join material m on m.id = l.material_id where m.code = :material {{#if lot}} and l.code = :lot{{/if}} {{#if status}} and l.status in (:status){{/if}} order by l.code',
          },
        ],
        sheets: [{ name: 'Lots', cells: { A1: { text: 'Lot' }, B1: { text: 'Status' }, A2: { field: 'list.code', display: 'list' }, B2: { field: 'list.status', display: 'list' } } }],
      },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    await page.goto(server.url + '/');
    await page.getByRole('link', { name: 'Lots of a material', exact: true }).click();
    const material = page.getByLabel('Material');
    const lot = page.getByLabel('Lot', { exact: true });
    await material.waitFor();
    const lotChoices = () => lot.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
    expect(await lotChoices()).toEqual([]);
    await material.selectOption(incident.material);
    await expect.poll(lotChoices).toContain(incident.supplierLot);
    await lot.selectOption(incident.supplierLot);
    await page.getByTestId('query').click();
    await expect.poll(status).toBe('Page 1 of 1');
    const lines = await report().locator('tbody tr').allTextContents();
    expect(lines.length, lines.join(' | ')).toBe(2); // the header row and the lot
    expect(lines[1]).toContain(incident.supplierLot);
    // Another material: its lots replace the choices and the chosen lot is cleared.
    const other = (await material.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).find((v) => v && v !== incident.material)!;
    await material.selectOption(other);
    await expect.poll(lotChoices).not.toContain(incident.supplierLot);
    expect(await lot.inputValue()).toBe('');
    // A multi-select: only the ticked statuses.
    await material.selectOption(incident.material);
    await page.getByRole('group', { name: 'Status' }).getByLabel('released').check();
    await page.getByTestId('query').click();
    await page.waitForURL(/status=released#page=1$/);
    const statuses = await report().locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.lastElementChild?.textContent?.trim()));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses.filter((x) => x !== 'Status'))).toEqual(new Set(['released']));
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

describe('languages and phones', () => {
  const status = (page: Page) => page.getByTestId('page-status').textContent();

  it('Chinese after switching the language: the UI, the parameter labels and field errors, remembered after a reload; a Chinese browser starts in Chinese', async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(server.url + '/login');
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.getByTestId('language').selectOption('zh');
      await page.getByRole('heading', { name: '登录' }).waitFor();
      await logIn(page);
      await page.getByRole('heading', { name: '报表' }).waitFor();
      expect(await page.getByTestId('roles').textContent()).toBe('查看者');
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
      await page.goto(`${server.url}/view/batch-trace?lot=${incident.sampleFinishedLot}`);
      await expect.poll(() => status(page)).toBe('第 1 页，共 5 页');
      expect(await page.getByLabel('批次').inputValue()).toBe(incident.sampleFinishedLot);
      expect(await page.getByTestId('query').textContent()).toBe('查询');
      expect(await page.getByTestId('export-xlsx').textContent()).toBe('Excel');
      await page.getByLabel('批次').fill('');
      await page.getByTestId('query').click();
      await expect.poll(() => page.getByTestId('error-lot').textContent()).toBe('必填项，请输入。');
      await page.screenshot({ path: path.join(SHOTS, 'zh.png'), fullPage: true });
    } finally {
      await context.close();
    }
    const zh = await newPage({ locale: 'zh-CN' });
    try {
      await zh.page.goto(server.url + '/');
      await zh.page.getByRole('heading', { name: '登录' }).waitFor();
      expect(await zh.page.getByTestId('language').inputValue()).toBe('zh');
    } finally {
      await zh.context.close();
    }
  });

  it('a phone (390×844): the panel stacks, buttons are touch-sized, the report scrolls sideways in its box and the page does not', async () => {
    const { context, page } = await newPage({ phone: true });
    try {
      await page.goto(`${server.url}/view/batch-trace?lot=${incident.sampleFinishedLot}`);
      await logIn(page);
      await expect.poll(() => status(page)).toBe('Page 1 of 5');
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth }));
      expect(widths.view).toBe(390);
      expect(widths.page).toBeLessThanOrEqual(widths.view);
      expect(widths.body).toBeLessThanOrEqual(widths.view);
      const box = page.getByTestId('report');
      const scroll = await box.evaluate((el) => {
        const before = { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth };
        el.scrollLeft = 300;
        return { ...before, scrolled: el.scrollLeft };
      });
      expect(scroll.scrollWidth).toBeGreaterThan(scroll.clientWidth);
      expect(scroll.scrolled).toBeGreaterThan(0);
      const lot = (await page.getByLabel('Lot').boundingBox())!;
      expect(lot.width).toBeGreaterThan(330);
      for (const id of ['query', 'page-next', 'export-pdf', 'logout']) {
        const b = (await page.getByTestId(id).boundingBox())!;
        expect(b.height, id).toBeGreaterThanOrEqual(44);
        expect(b.x + b.width, id).toBeLessThanOrEqual(390);
      }
      // The drill-down works by touch too.
      await box.locator('a[href^="/view/batch-trace?lot="]').nth(1).tap();
      await page.getByTestId('crumb').waitFor();
      await expect.poll(() => status(page)).toBe('Page 1 of 5');
      expect((await page.evaluate(() => document.documentElement.scrollWidth))).toBeLessThanOrEqual(390);
      await page.screenshot({ path: path.join(SHOTS, 'phone.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
