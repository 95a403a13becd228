import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupedChineseReport, HEADER } from '../bench/pdf-report.js';
import { BrowserPool } from '../renderer/pdf/browser-pool.js';
import { renderPdf, writePdf } from '../renderer/pdf/write-pdf.js';
import { TraceReportError } from '../datasources/errors.js';
import { reportOf } from './support/resolved.js';

let dir: string;
let pool: BrowserPool;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tracereport-pdf-'));
  pool = new BrowserPool({ maxPages: 2 });
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

function pdfInfo(file: string): { pages: number; size: string } {
  const out = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
  return { pages: Number(/^Pages:\s+(\d+)/m.exec(out)![1]), size: /^Page size:\s+(.+)$/m.exec(out)![1]!.trim() };
}

/** The text of each page (pdftotext -layout separates pages with form feeds). */
function pageTexts(file: string): string[] {
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return text.split('\f').filter((p, i, all) => i < all.length - 1 || p.trim() !== '');
}

function save(bytes: Uint8Array, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

describe('PDF output', () => {
  it('prints a 2,000-row grouped Chinese report: header and footer on every page, page size from the template', async () => {
    const file = join(dir, 'grouped.pdf');
    const r = await writePdf(groupedChineseReport({ rows: 2000 }), file, { pool });
    const info = pdfInfo(file);
    expect(info.pages).toBe(r.pages);
    expect(info.pages).toBeGreaterThan(40);
    expect(info.size).toMatch(/^841\.\d+ x 59[45]\.\d+ pts \(A4\)$/); // landscape
    const pages = pageTexts(file);
    expect(pages).toHaveLength(info.pages);
    pages.forEach((text, i) => {
      for (const h of HEADER) expect(text).toContain(h);
      expect(text.replace(/\s+/g, " ")).toContain(`Page ${i + 1} of ${info.pages} · 苏州工厂`); // Latin and CJK fonts: separate text blocks
    });
    const all = pages.join('\n');
    expect(all).toContain('第1车间');
    expect(all).toContain('第20车间');
    expect(all).toContain('批次-00200');
    expect(all).toMatch(/设备\d+号/);
    expect(all).toContain('不合格');
    expect(all).not.toMatch(/[\u25a1\ufffd]/); // no boxes / replacement characters
    // Every data row made it: 2,000 status cells.
    expect(all.match(/合格/g)!.length).toBe(2000);
  });

  it('takes the paper size, orientation and header text from the page setup; escapes parameters in it', async () => {
    const rep = reportOf({
      page: { size: 'A5', orientation: 'portrait', margins: { top: 20, bottom: 20, left: 10, right: 10 }, header: 'Lot {{lot}} — {{page}}/{{pages}}' },
      params: { lot: '<b>L-7</b>' },
      sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: '数量' }, { col: 1, value: 1234.5, numFmt: '#,##0.0' }] }] }],
    });
    const { bytes, pages } = await renderPdf(rep, { pool });
    const file = save(bytes, 'a5.pdf');
    expect(pages).toBe(1);
    expect(pdfInfo(file).size).toMatch(/^4[12]\d(\.\d+)? x 59[45](\.\d+)? pts \(A5\)$/);
    const text = pageTexts(file)[0]!;
    expect(text).toContain('Lot <b>L-7</b> — 1/1');
    expect(text).toMatch(/数量\s+1,234\.5/);
  });

  it('starts each sheet on a new page', async () => {
    const sheet = (name: string) => ({ name, rows: [{ row: 0, cells: [{ col: 0, value: `sheet ${name}` }], }], columns: [{ width: 20 }] });
    const { bytes, pages } = await renderPdf(reportOf({ sheets: [sheet('one'), sheet('two')] }), { pool });
    expect(pages).toBe(2);
    expect(pageTexts(save(bytes, 'sheets.pdf')).map((t) => t.trim())).toEqual(['sheet one', 'sheet two']);
  });

  it('leaves hidden columns out', async () => {
    const rep = reportOf({
      sheets: [{ name: 'S', columns: [{ width: 12 }, { hidden: true }, { width: 12 }], rows: [{ row: 0, cells: [{ col: 0, value: 'shown' }, { col: 1, value: 'HIDDEN' }, { col: 2, value: 'also' }] }] }],
    });
    const text = pageTexts(save((await renderPdf(rep, { pool })).bytes, 'hidden.pdf'))[0]!;
    expect(text).toMatch(/shown\s+also/);
    expect(text).not.toContain('HIDDEN');
  });

  it('writes to a stream', async () => {
    const file = join(dir, 'stream.pdf');
    const out = createWriteStream(file);
    const r = await writePdf(reportOf({ page: { size: 'Letter', orientation: 'landscape' }, sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: 'hello' }] }] }] }), out, { pool });
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');
    expect(r.size).toBe(readFileSync(file).length);
    expect(pdfInfo(file).size).toMatch(/^792 x 612 pts \(letter\)$/);
  });

  it('draws charts as vector SVG with their Chinese labels as text', async () => {
    const option = { xAxis: { type: 'category', data: ['一月', '二月'] }, yAxis: { type: 'value' }, series: [{ type: 'bar', data: [3, 5] }] };
    const rep = reportOf({ sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: null, chart: { option, width: 400, height: 240 } }] }] }] });
    const text = pageTexts(save((await renderPdf(rep, { pool })).bytes, 'chart.pdf'))[0]!;
    expect(text).toContain('一月');
    expect(text).toContain('二月');
  });
});

describe('browser pool', () => {
  it('a render over its time limit fails with PDF_FAILED naming the timeout, and the next render works', async () => {
    const own = new BrowserPool({ maxPages: 1 });
    try {
      const err = await renderPdf(groupedChineseReport({ rows: 2000 }), { pool: own, timeoutMs: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TraceReportError);
      expect((err as TraceReportError).code).toBe('PDF_FAILED');
      expect((err as TraceReportError).message).toMatch(/within 50 ms \(timeout\)/);
      const ok = await renderPdf(reportOf({ sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: 'later' }] }], columns: [{ width: 30 }] }] }), { pool: own });
      expect(pageTexts(save(ok.bytes, 'after-timeout.pdf'))[0]).toContain('later');
    } finally {
      await own.close();
    }
  });

  it('replaces a crashed browser: the next render launches a new one and works', async () => {
    const own = new BrowserPool({ maxPages: 1 });
    try {
      const small = (t: string) => reportOf({ sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: t }] }] }] });
      await renderPdf(small('first'), { pool: own });
      const pid = own.browserPid!;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => own.browserPid === undefined);
      const r = await renderPdf(small('after crash'), { pool: own });
      expect(pageTexts(save(r.bytes, 'after-crash.pdf'))[0]).toContain('after crash');
      expect(own.browserPid).not.toBe(pid);
    } finally {
      await own.close();
    }
  });

  it('recycles the browser after N renders; runs at most maxPages at once; refuses renders after close', async () => {
    const own = new BrowserPool({ maxPages: 2, recycleAfter: 3 });
    let running = 0;
    let most = 0;
    const pids = new Set<number>();
    const job = () =>
      own.withPage(async (page) => {
        running++;
        most = Math.max(most, running);
        pids.add(own.browserPid!);
        await page.setContent('<p>x</p>');
        // Hold the page until a second render runs beside it (or 2 s pass: a pool that serialised renders
        // would leave `most` at 1), so a slow page start on a loaded machine does not hide the overlap.
        await waitFor(() => most >= 2, 2000).catch(() => undefined);
        running--;
      });
    await Promise.all(Array.from({ length: 7 }, job));
    expect(most).toBe(2);
    expect(pids.size).toBeGreaterThanOrEqual(2);
    await own.close();
    const err = await own.withPage(async () => 1).catch((e: unknown) => e);
    expect((err as TraceReportError).code).toBe('PDF_FAILED');
  });
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
