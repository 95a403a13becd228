/**
 * The viewer's collectors page in a real Chromium (playwright-core) against a real server whose trace store holds
 * collector_status rows written through the heartbeat module, from a second connection as a collector process
 * would: up/down badges, last update, figures and drivers; the page follows new heartbeats without a reload;
 * the link only for roles with collectors.read; Chinese. Screenshots go to /tmp/tracereport-viewer-shots/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import type { CollectorStatus } from '../collectors/collector.js';
import { writeCollectorStatus } from '../collectors/heartbeat.js';
import { viewerDir } from '../server/static.js';
import { openTraceStore } from '../trace/store.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = path.join(os.tmpdir(), 'tracereport-viewer-shots');
const VIEWER = { username: 'vic', password: 'Viewer-pass-2026!' };

let server: TestServer;
let browser: Browser;
let store: DataSource;
const started = new Date();

function status(readings: number, state: 'running' | 'stopped' = 'running'): CollectorStatus {
  return {
    pipeline: {
      state, readingsIn: readings, rejected: 0, refused: 0, alarmsIn: 0, written: readings, duplicates: 0, alarmsWritten: 0,
      batchesSealed: 1, batchesWritten: 1, journalBytes: 3 * 1024 * 1024, journalSegments: 1, replayBytes: 0, db: 'up',
    },
    drivers: [
      { name: 'line-1', type: 'mqtt', state: state === 'stopped' ? 'stopped' : 'connected', readings, reconnects: 0 },
      { name: 'press', type: 'modbus', state: state === 'stopped' ? 'stopped' : 'reconnecting', readings: 0, reconnects: 3, lastError: 'connecting to 10.0.0.9:502 timed out after 2000 ms' },
    ],
    rules: { enabled: true, limits: 4, openAlarms: 1, alarmChanges: 2 },
  };
}

async function beat(id: string, readings: number, opts: { state?: 'running' | 'stopped'; at?: Date } = {}): Promise<void> {
  await writeCollectorStatus(store, {
    id, host: 'edge-07', pid: 3141, startedAt: started, updatedAt: opts.at ?? new Date(), intervalMs: 5000, state: opts.state ?? 'running', status: status(readings, opts.state),
  });
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(viewerDir(), 'index.html'))) throw new Error(`${viewerDir()}/index.html is missing: run \`npm run build\` before the viewer tests`);
  fs.mkdirSync(SHOTS, { recursive: true });
  [server, browser] = await Promise.all([startTestServer(), chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })]);
  // The collectors' side: its own connection to the server's trace store.
  store = await openTraceStore(path.join(server.dir, 'trace.sqlite'));
  await beat('press-line', 25);
  const oldStatus = { ...status(9) };
  await writeCollectorStatus(store, {
    id: 'old-edge', host: 'edge-01', pid: 99, startedAt: new Date(Date.now() - 3_600_000), updatedAt: new Date(Date.now() - 10 * 60_000), intervalMs: 5000, state: 'running',
    status: { ...oldStatus, pipeline: { ...oldStatus.pipeline, db: 'down', lastError: 'trace store: cannot connect to source "trace"' } },
  });
  const admin = new Client(server.url);
  await admin.login('admin', ADMIN_PASSWORD);
  const r = await admin.request('POST', '/api/users', { username: VIEWER.username, password: VIEWER.password, roles: ['viewer'] });
  if (r.status !== 201) throw new Error(`creating the viewer: ${JSON.stringify(r.json)}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await server?.stop();
});

async function logIn(page: Page, user: string, password: string): Promise<void> {
  await page.locator('input[name=username]').fill(user);
  await page.locator('input[name=password]').fill(password);
  await page.locator('button[type=submit]').click();
}

/** A new English browser context with the admin logged in on the collectors page. */
async function adminOnCollectorsPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(server.url + '/collectors');
  await logIn(page, 'admin', ADMIN_PASSWORD);
  return { context, page };
}

describe('the collectors page', () => {
  it('an admin follows the header link and sees each collector; new heartbeats show without a reload', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(server.url + '/');
      await logIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByTestId('nav-collectors').click();
      await page.waitForURL('**/collectors');
      await page.getByRole('heading', { name: 'Collectors', level: 1 }).waitFor();

      const live = page.locator('[data-testid=collector][data-id="press-line"]');
      await live.waitFor();
      expect(await live.getByTestId('collector-badge').textContent()).toBe('up');
      expect(await live.getByTestId('collector-updated').textContent()).toMatch(/^last update \d+ s ago$/);
      expect(await live.getByTestId('collector-state').textContent()).toBe('running');
      expect(await live.getByTestId('collector-readings-in').textContent()).toBe('25');
      expect(await live.getByTestId('collector-journal').textContent()).toBe('3 MiB');
      expect(await live.getByTestId('collector-store').textContent()).toBe('up');
      expect(await live.getByTestId('collector-error').count()).toBe(0);
      const line = live.locator('[data-testid=driver-row][data-driver="line-1"]');
      expect(await line.textContent()).toContain('connected');
      expect(await line.getByTestId('driver-readings').textContent()).toBe('25');
      expect(await live.locator('[data-testid=driver-row][data-driver="press"]').textContent()).toContain('timed out after 2000 ms');

      const old = page.locator('[data-testid=collector][data-id="old-edge"]');
      expect(await old.getByTestId('collector-badge').textContent()).toBe('down');
      expect(await old.getByTestId('collector-updated').textContent()).toBe('last update 10 min ago');
      expect(await old.getByTestId('collector-store').textContent()).toBe('down');
      expect(await old.getByTestId('collector-state').textContent()).toBe('running (last reported)');
      expect(await old.getByTestId('collector-error').textContent()).toContain('cannot connect to source "trace"');
      await page.screenshot({ path: path.join(SHOTS, 'collectors.png'), fullPage: true });

      // A marker a reload would lose.
      await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
      await beat('press-line', 1234);
      await expect.poll(() => live.getByTestId('collector-readings-in').textContent(), { timeout: 15_000 }).toBe('1,234');
      await beat('press-line', 1300, { state: 'stopped' });
      await expect.poll(() => live.getByTestId('collector-badge').textContent(), { timeout: 15_000 }).toBe('down');
      expect(await live.getByTestId('collector-state').textContent()).toBe('stopped');
      expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    } finally {
      await context.close();
    }
  });

  it('a viewer has no link and no page; in Chinese the page speaks Chinese', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(server.url + '/collectors');
      await page.waitForURL(/\/login\?next=/);
      await logIn(page, VIEWER.username, VIEWER.password);
      await page.waitForURL('**/collectors');
      await page.getByText('There is no page at this address.').waitFor();
      expect(await page.getByTestId('nav-collectors').count()).toBe(0);
      expect(await page.getByTestId('collector').count()).toBe(0);
    } finally {
      await context.close();
    }

    const zh = await browser.newContext({ locale: 'zh-CN' });
    const zhPage = await zh.newPage();
    zhPage.setDefaultTimeout(20_000);
    try {
      await zhPage.goto(server.url + '/collectors');
      await logIn(zhPage, 'admin', ADMIN_PASSWORD);
      await zhPage.getByRole('heading', { name: '数据采集器', level: 1 }).waitFor();
      expect(await zhPage.getByTestId('nav-collectors').textContent()).toBe('采集器');
      const old = zhPage.locator('[data-testid=collector][data-id="old-edge"]');
      expect(await old.getByTestId('collector-badge').textContent()).toBe('离线');
      expect(await old.getByTestId('collector-updated').textContent()).toBe('最后更新：10 分钟前');
      expect(await old.getByTestId('collector-store').textContent()).toBe('不可用');
      expect(await old.getByTestId('collector-remove').textContent()).toBe('移除');
    } finally {
      await zh.close();
    }
  });

  it('a collector whose clock runs 2 minutes behind turns up once seen writing, with a note on its clock', async () => {
    const behind = 120_000;
    const slowStart = new Date(Date.now() - behind - 60_000);
    const slowBeat = () => writeCollectorStatus(store, {
      id: 'slow-gateway', host: 'gw-3', pid: 77, startedAt: slowStart, updatedAt: new Date(Date.now() - behind), intervalMs: 5000, state: 'running', status: status(3),
    });
    await slowBeat();
    const { context, page } = await adminOnCollectorsPage();
    try {
      const slow = page.locator('[data-testid=collector][data-id="slow-gateway"]');
      await slow.waitFor();
      expect(await slow.getByTestId('collector-badge').textContent()).toBe('down');
      expect(await slow.getByTestId('collector-clock').count()).toBe(0);
      await slowBeat();
      await expect.poll(() => slow.getByTestId('collector-badge').textContent(), { timeout: 15_000 }).toBe('up');
      expect(await slow.getByTestId('collector-clock').textContent()).toMatch(/^its clock is 12\d s behind the server’s \(allowed for\)$/);
      expect(await slow.getByTestId('collector-updated').textContent()).toMatch(/^last update \d s ago$/);
    } finally {
      await context.close();
      await store.knex('collector_status').where({ id: 'slow-gateway' }).delete();
    }
  });

  it('an admin removes a collector that is down after confirming it; one that is up has no Remove button', async () => {
    await beat('fresh-edge', 5);
    await beat('retired-edge', 7, { at: new Date(Date.now() - 3 * 86_400_000) });
    const { context, page } = await adminOnCollectorsPage();
    try {
      const fresh = page.locator('[data-testid=collector][data-id="fresh-edge"]');
      const retired = page.locator('[data-testid=collector][data-id="retired-edge"]');
      await retired.waitFor();
      expect(await fresh.getByTestId('collector-badge').textContent()).toBe('up');
      expect(await fresh.getByTestId('collector-remove').count()).toBe(0);
      expect(await retired.getByTestId('collector-updated').textContent()).toBe('last update 3 days ago');

      // Cancelled: nothing happens.
      const messages: string[] = [];
      page.once('dialog', (d) => {
        messages.push(d.message());
        void d.dismiss();
      });
      await retired.getByTestId('collector-remove').click();
      expect(messages).toEqual([expect.stringMatching(/^Remove collector "retired-edge" from the list\?/)]);
      await page.waitForTimeout(300);
      expect(await retired.count()).toBe(1);

      page.once('dialog', (d) => void d.accept());
      await retired.getByTestId('collector-remove').click();
      await retired.waitFor({ state: 'detached' });
      expect(await fresh.count()).toBe(1);
      // Gone on the server too, and audited.
      await page.reload();
      await fresh.waitFor();
      expect(await retired.count()).toBe(0);
      const admin = new Client(server.url);
      await admin.login('admin', ADMIN_PASSWORD);
      const a = await admin.request('GET', '/api/audit?action=collector.delete');
      expect(a.json.rows).toEqual([expect.objectContaining({ user: 'admin', object: 'collector:retired-edge', params: expect.objectContaining({ host: 'edge-07', state: 'running' }) })]);
    } finally {
      await context.close();
    }
  });
});
