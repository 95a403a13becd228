/**
 * A pool over one headless Chromium (Debian's, driven by puppeteer-core): launched on first use, a
 * bounded number of pages rendering at once (idle pages are kept for the next render), the browser
 * replaced after `recycleAfter` renders or as soon as it crashes or disconnects, and a time limit per
 * render. Failures are TraceReportError PDF_FAILED naming the cause.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { TraceReportError } from '../../datasources/errors.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface BrowserPoolOptions {
  executablePath?: string;
  /** Pages rendering at once (default 2: one per core on this machine); more wait their turn. */
  maxPages?: number;
  /** Renders after which the browser is closed and a fresh one launched (default 500). */
  recycleAfter?: number;
  /** Time limit of one render in milliseconds, including the wait for a page (default 60,000). */
  timeoutMs?: number;
  /** Time limit of launching Chromium in milliseconds (default 30,000). */
  launchTimeoutMs?: number;
}

/** What the pool holds at one moment (for metrics). */
export interface BrowserPoolStats {
  /** Chromium processes running (a retiring one still finishing its renders counts). */
  browsers: number;
  /** Pages open in them: rendering plus idle ones kept for the next render. */
  pages: number;
  /** Renders holding a place among the pages (rendering, or waiting for Chromium to start). */
  busy: number;
  /** Renders waiting for a place. */
  queued: number;
  /** Places among the pages (maxPages). */
  capacity: number;
}

/** One launched browser and the pages it has. */
interface Generation {
  readonly browser: Browser;
  readonly idle: Page[];
  renders: number;
  active: number;
  alive: boolean;
  retiring: boolean;
}

export class BrowserPool {
  private readonly opts: Required<BrowserPoolOptions>;
  private current: Generation | undefined;
  private launching: Promise<Generation> | undefined;
  private readonly waiting: (() => void)[] = [];
  private busy = 0;
  private queued = 0;
  private closed = false;
  private readonly generations = new Set<Generation>();

  constructor(options: BrowserPoolOptions = {}) {
    this.opts = {
      executablePath: options.executablePath ?? CHROMIUM_PATH,
      maxPages: options.maxPages ?? 2,
      recycleAfter: options.recycleAfter ?? 500,
      timeoutMs: options.timeoutMs ?? 60_000,
      launchTimeoutMs: options.launchTimeoutMs ?? 30_000,
    };
  }

  /** Process id of the current browser (none before the first render or after a crash). */
  get browserPid(): number | undefined {
    return this.current?.alive ? this.current.browser.process()?.pid : undefined;
  }

  /** Browsers and pages open, renders busy and queued, right now. */
  stats(): BrowserPoolStats {
    let pages = 0;
    for (const g of this.generations) pages += g.active + g.idle.length;
    return { browsers: this.generations.size, pages, busy: this.busy, queued: this.queued, capacity: this.opts.maxPages };
  }

  /**
   * Launches the browser now instead of on the first render, and prints a line of Chinese text once
   * so the page, the CJK fonts and the print path are loaded before the first real render.
   */
  async warm(): Promise<void> {
    await this.withPage(
      async (page) => {
        await page.setContent(`<p style="font-family:'Noto Sans CJK SC',sans-serif">报表 Report 123</p>`);
        await page.pdf({ tagged: false, waitForFonts: false });
      },
      { what: 'warming the browser' },
    );
  }

  /**
   * Runs `fn` with a page of the pool, within the time limit. The page is reset for the next user
   * (a blank document) or closed when the render failed.
   */
  async withPage<T>(fn: (page: Page) => Promise<T>, options: { timeoutMs?: number; what?: string } = {}): Promise<T> {
    if (this.closed) throw new TraceReportError('PDF_FAILED', 'the browser pool is closed (the server is shutting down); retry on a running server');
    const timeoutMs = options.timeoutMs ?? this.opts.timeoutMs;
    const what = options.what ?? 'the PDF render';
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new TraceReportError('PDF_FAILED', `${what} did not finish within ${timeoutMs} ms (timeout); the page was closed. Make the report smaller or raise the timeout.`, { timeoutMs }));
      }, timeoutMs);
    });
    deadline.catch(() => {});
    let page: Page | undefined;
    let gen: Generation | undefined;
    let ok = false;
    const slot = this.acquireSlot();
    try {
      await Promise.race([slot.granted, deadline]);
    } catch (e) {
      slot.cancel();
      clearTimeout(timer);
      throw e;
    }
    try {
      const got = await Promise.race([this.page(), deadline]);
      gen = got.gen;
      page = got.page;
      const result = await Promise.race([fn(page), deadline]);
      ok = true;
      return result;
    } catch (e) {
      throw this.explain(e, gen, what);
    } finally {
      clearTimeout(timer);
      this.busy--;
      if (gen) await this.release(gen, page, ok);
      this.waiting.shift()?.();
    }
  }

  /** Closes every browser; later renders fail with PDF_FAILED. */
  async close(): Promise<void> {
    this.closed = true;
    const launching = this.launching;
    if (launching) await launching.catch(() => undefined);
    await Promise.all([...this.generations].map((g) => this.shutdown(g)));
    this.current = undefined;
  }

  /** A place among the pages; a cancelled wait hands its turn on. */
  private acquireSlot(): { granted: Promise<void>; cancel: () => void } {
    if (this.busy < this.opts.maxPages) {
      this.busy++;
      return { granted: Promise.resolve(), cancel: () => {} };
    }
    let state: 'waiting' | 'granted' | 'cancelled' = 'waiting';
    this.queued++;
    const granted = new Promise<void>((resolve) =>
      this.waiting.push(() => {
        if (state === 'cancelled') {
          this.waiting.shift()?.();
          return;
        }
        state = 'granted';
        this.queued--;
        this.busy++;
        resolve();
      }),
    );
    const cancel = () => {
      if (state === 'waiting') this.queued--;
      else if (state === 'granted') {
        // Granted in the same tick as the time limit won the race: hand the place on.
        this.busy--;
        this.waiting.shift()?.();
      }
      state = 'cancelled';
    };
    return { granted, cancel };
  }

  private async page(): Promise<{ gen: Generation; page: Page }> {
    const gen = await this.generation();
    gen.active++;
    gen.renders++;
    if (gen.renders >= this.opts.recycleAfter) gen.retiring = true;
    const idle = gen.idle.pop();
    if (idle) return { gen, page: idle };
    try {
      const page = await gen.browser.newPage();
      await page.setJavaScriptEnabled(false);
      // A report prints from its own markup: nothing is fetched (no remote image, font or stylesheet can
      // leak the server's network or stall a render until its time limit).
      await page.setRequestInterception(true);
      page.on('request', (req) => {
        const url = req.url();
        if (url.startsWith('data:') || url.startsWith('about:')) void req.continue().catch(() => undefined);
        else void req.abort('blockedbyclient').catch(() => undefined);
      });
      return { gen, page };
    } catch (e) {
      gen.active--;
      throw e;
    }
  }

  private async release(gen: Generation, page: Page | undefined, ok: boolean): Promise<void> {
    gen.active--;
    if (page && gen.alive) {
      if (ok && !gen.retiring && gen.idle.length < this.opts.maxPages) gen.idle.push(page);
      else await Promise.race([page.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    }
    if (gen.retiring && gen.active === 0) {
      if (this.current === gen) this.current = undefined;
      await this.shutdown(gen);
    }
  }

  private async generation(): Promise<Generation> {
    const cur = this.current;
    if (cur && cur.alive && !cur.retiring) return cur;
    if (cur && cur.retiring && cur.active === 0) void this.shutdown(cur);
    this.launching ??= this.launch().finally(() => (this.launching = undefined));
    return this.launching;
  }

  private async launch(): Promise<Generation> {
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: this.opts.executablePath,
        args: CHROMIUM_ARGS,
        headless: true,
        pipe: true,
        timeout: this.opts.launchTimeoutMs,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (e) {
      throw new TraceReportError(
        'PDF_FAILED',
        `could not launch Chromium at ${this.opts.executablePath}: ${(e as Error).message}. Install it (the setup script installs Debian's chromium) or set the executable path.`,
        undefined,
        { cause: e },
      );
    }
    const gen: Generation = { browser, idle: [], renders: 0, active: 0, alive: true, retiring: false };
    this.generations.add(gen);
    browser.once('disconnected', () => {
      gen.alive = false;
      gen.idle.length = 0;
      this.generations.delete(gen);
      if (this.current === gen) this.current = undefined;
    });
    if (this.closed) {
      await this.shutdown(gen);
      throw new TraceReportError('PDF_FAILED', 'the browser pool was closed while Chromium was starting');
    }
    this.current = gen;
    return gen;
  }

  private async shutdown(gen: Generation): Promise<void> {
    gen.alive = false;
    gen.idle.length = 0;
    this.generations.delete(gen);
    const closed = await Promise.race([
      gen.browser.close().then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(resolve, 5_000, false).unref()),
    ]);
    if (!closed) gen.browser.process()?.kill('SIGKILL');
  }

  private explain(e: unknown, gen: Generation | undefined, what: string): TraceReportError {
    if (e instanceof TraceReportError) {
      // A page that timed out may be stuck: do not trust the browser with the next render.
      if (gen && /timeout/.test(e.message)) gen.retiring = true;
      return e;
    }
    const message = (e as Error)?.message ?? String(e);
    if (gen && !gen.alive) {
      return new TraceReportError('PDF_FAILED', `${what} failed: Chromium crashed or disconnected (${message}); it is replaced for the next render.`, undefined, { cause: e });
    }
    return new TraceReportError('PDF_FAILED', `${what} failed in Chromium: ${message}`, undefined, { cause: e });
  }
}
