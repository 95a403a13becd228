/**
 * Alarm notifications (DESIGN §7): every alarm change goes to every configured channel. Each channel
 * has its own bounded queue and one worker that sends in order, retrying a failed send with
 * exponential backoff. `notify` only enqueues: it never waits, never throws, so a dead endpoint can
 * never hold up collection; a full queue drops its oldest change and says so.
 */
import type { NotifyConfig } from '../config.js';
import type { AlarmChange } from '../types.js';
import { createSender, SendError, type Sender } from './channels.js';

export interface NotifierOptions {
  /** Changes a channel may hold waiting, besides the one being sent; beyond, the oldest waiting is dropped. Default 1000. */
  queueSize?: number;
  /** Milliseconds one send attempt may take. Default 10 000. */
  timeoutMs?: number;
  /** Upper bound of one backoff wait. Default 60 000. */
  maxBackoffMs?: number;
  /** Where warnings go (drops, given-up sends). Default console.warn. */
  warn?: (message: string) => void;
  /** The clock (DingTalk signatures). Default Date.now. */
  now?: () => number;
}

export interface ChannelStatus {
  readonly name: string;
  readonly type: NotifyConfig['type'];
  /** Changes waiting (including the one being sent). */
  readonly queued: number;
  /** Changes delivered. */
  readonly sent: number;
  /** Changes given up after their last attempt. */
  readonly failed: number;
  /** Failed attempts (each retry that failed counts). */
  readonly errors: number;
  /** Attempts after a first failure. */
  readonly retries: number;
  /** Changes dropped because the queue was full or the notifier closed before they went out. */
  readonly dropped: number;
  readonly lastError?: string;
  readonly lastErrorAt?: Date;
  readonly lastSentAt?: Date;
}

export interface NotifierStatus {
  readonly channels: readonly ChannelStatus[];
}

class Channel {
  private readonly queue: AlarmChange[] = [];
  private running = false;
  private sending = false;
  private idle: Promise<void> = Promise.resolve();
  private sent = 0;
  private failed = 0;
  private errors = 0;
  private retries = 0;
  private dropped = 0;
  private lastError?: string;
  private lastErrorAt?: Date;
  private lastSentAt?: Date;

  constructor(
    readonly config: NotifyConfig,
    private readonly sender: Sender,
    private readonly opts: Required<Pick<NotifierOptions, 'queueSize' | 'maxBackoffMs' | 'warn'>>,
    private readonly signal: AbortSignal,
  ) {}

  push(change: AlarmChange): void {
    const inFlight = this.sending ? 1 : 0;
    if (this.queue.length - inFlight >= this.opts.queueSize) {
      // Drop the oldest waiting change (never the one being sent).
      this.queue.splice(inFlight, 1);
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 100 === 0) {
        this.opts.warn(`notify ${this.config.name}: queue full (${this.opts.queueSize}); dropped the oldest alarm change (${this.dropped} dropped so far)`);
      }
    }
    this.queue.push(change);
    if (!this.running) {
      this.running = true;
      this.idle = this.run();
    }
  }

  /** Resolves when the queue is empty (or the notifier is closing). */
  drained(): Promise<void> {
    return this.idle;
  }

  /** Counts what is still queued as dropped (after close gave up waiting); a send still in flight counts as sent or failed when it ends. */
  abandon(): void {
    const keep = this.sending ? 1 : 0;
    const n = this.queue.length - keep;
    if (n > 0) {
      this.dropped += n;
      this.opts.warn(`notify ${this.config.name}: closed with ${n} alarm change(s) not delivered`);
      this.queue.length = keep;
    }
  }

  close(): void {
    try {
      this.sender.close();
    } catch {
      // closing a transport is best effort
    }
  }

  status(): ChannelStatus {
    return {
      name: this.config.name,
      type: this.config.type,
      queued: this.queue.length,
      sent: this.sent,
      failed: this.failed,
      errors: this.errors,
      retries: this.retries,
      dropped: this.dropped,
      ...(this.lastError !== undefined ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt } : {}),
      ...(this.lastSentAt ? { lastSentAt: this.lastSentAt } : {}),
    };
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length && !this.signal.aborted) {
        const change = this.queue[0]!;
        this.sending = true;
        await this.deliver(change);
        this.sending = false;
        // The head may have been abandoned meanwhile (close).
        if (this.queue[0] === change) this.queue.shift();
      }
    } finally {
      this.sending = false;
      this.running = false;
    }
  }

  private async deliver(change: AlarmChange): Promise<void> {
    const { retries, backoffMs } = this.config;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) this.retries++;
      try {
        await this.sender.send(change, this.signal);
        this.sent++;
        this.lastSentAt = new Date();
        return;
      } catch (e) {
        this.errors++;
        this.lastError = e instanceof Error ? e.message : String(e);
        this.lastErrorAt = new Date();
        const retryable = !(e instanceof SendError) || e.retryable;
        if (!retryable || attempt >= retries || this.signal.aborted) {
          this.failed++;
          this.opts.warn(`notify ${this.config.name}: gave up on ${change.kind} ${change.rule} ${change.equipment}/${change.parameter} after ${attempt + 1} attempt(s): ${this.lastError}`);
          return;
        }
        if (!(await sleep(Math.min(backoffMs * 2 ** attempt, this.opts.maxBackoffMs), this.signal))) {
          this.failed++;
          return;
        }
      }
    }
  }
}

/** Waits `ms`; false when aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function raceTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export class Notifier {
  private readonly channels: Channel[];
  private readonly abort = new AbortController();
  private readonly warn: (message: string) => void;
  private closed = false;

  constructor(configs: readonly NotifyConfig[], options: NotifierOptions = {}) {
    this.warn = options.warn ?? ((m) => console.warn(m));
    const timeoutMs = options.timeoutMs ?? 10_000;
    const now = options.now ?? Date.now;
    const opts = { queueSize: options.queueSize ?? 1000, maxBackoffMs: options.maxBackoffMs ?? 60_000, warn: this.warn };
    this.channels = configs.map((c) => new Channel(c, createSender(c, { timeoutMs, now }), opts, this.abort.signal));
  }

  /** Queues the change on every channel and returns at once; never throws. Ignored after close. */
  notify(change: AlarmChange): void {
    if (this.closed) return;
    for (const ch of this.channels) {
      try {
        ch.push(change);
      } catch (e) {
        try {
          this.warn(`notify ${ch.config.name}: could not queue an alarm change: ${(e as Error).message}`);
        } catch {
          // A failing logger must not reach collection either.
        }
      }
    }
  }

  /**
   * Stops taking changes and waits up to `timeoutMs` (default 5000) for the queues to drain; then
   * aborts what is still in flight or waiting for a retry, and counts undelivered changes as dropped.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const drained = () => Promise.all(this.channels.map((c) => c.drained())).then(() => undefined);
    await raceTimeout(drained(), timeoutMs);
    // Aborts HTTP sends and backoff waits at once; an SMTP exchange in flight gets a short grace.
    this.abort.abort();
    for (const c of this.channels) c.close();
    await raceTimeout(drained(), 1000);
    for (const c of this.channels) c.abandon();
  }

  status(): NotifierStatus {
    return { channels: this.channels.map((c) => c.status()) };
  }
}
