/**
 * One delivery attempt per channel: an HTTP POST (generic webhook, WeCom robot, DingTalk robot) or
 * an e-mail through nodemailer. An attempt resolves when the peer accepted the message and rejects
 * with a {@link SendError} otherwise; retries are the caller's.
 */
import nodemailer from 'nodemailer';
import type { NotifyConfig } from '../config.js';
import type { AlarmChange } from '../types.js';
import { dingtalkBody, dingtalkSignedUrl, emailHtml, emailSubject, emailText, webhookBody, wecomBody } from './format.js';

export class SendError extends Error {
  /** False when trying again cannot help (the peer refused the request itself). */
  readonly retryable: boolean;
  constructor(message: string, retryable = true) {
    super(message);
    this.name = 'SendError';
    this.retryable = retryable;
  }
}

export interface Sender {
  send(change: AlarmChange, signal: AbortSignal): Promise<void>;
  close(): void;
}

export interface SenderOptions {
  /** Milliseconds one attempt may take. */
  timeoutMs: number;
  /** The clock for DingTalk's signature (tests may fix it). */
  now: () => number;
}

/** Where a URL points, without its query (robot URLs carry their key or token there). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

async function postJson(url: string, shownUrl: string, body: unknown, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : err.name === 'AbortError' ? 'aborted' : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new SendError(`POST ${shownUrl} failed: ${why}`);
  }
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).slice(0, 200);
    // 4xx other than timeout / rate limit: the request itself is wrong, sending it again won't help.
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    throw new SendError(`POST ${shownUrl} answered HTTP ${res.status}${text ? `: ${text}` : ''}`, retryable);
  }
  return res;
}

/** WeCom and DingTalk answer HTTP 200 with `{"errcode":0}` on success and a non-zero errcode otherwise. */
async function checkRobotAnswer(res: Response, who: string): Promise<void> {
  const text = await res.text();
  let answer: { errcode?: unknown; errmsg?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new SendError(`${who} answered something other than JSON: ${text.slice(0, 200)}`);
  }
  if (answer.errcode !== 0) throw new SendError(`${who} refused the message: errcode ${String(answer.errcode)} ${String(answer.errmsg ?? '')}`.trim());
}

export function createSender(config: NotifyConfig, opts: SenderOptions): Sender {
  switch (config.type) {
    case 'webhook':
      return {
        async send(c, signal) {
          await postJson(config.url, safeUrl(config.url), webhookBody(c), config.headers, signal, opts.timeoutMs);
        },
        close() {},
      };
    case 'wecom':
      return {
        async send(c, signal) {
          const res = await postJson(config.url, safeUrl(config.url), wecomBody(c), {}, signal, opts.timeoutMs);
          await checkRobotAnswer(res, 'WeCom robot');
        },
        close() {},
      };
    case 'dingtalk':
      return {
        async send(c, signal) {
          // Signed afresh per attempt: DingTalk refuses a timestamp more than an hour old.
          const url = config.secret ? dingtalkSignedUrl(config.url, config.secret, opts.now()) : config.url;
          const res = await postJson(url, safeUrl(config.url), dingtalkBody(c), {}, signal, opts.timeoutMs);
          await checkRobotAnswer(res, 'DingTalk robot');
        },
        close() {},
      };
    case 'email': {
      const transport = nodemailer.createTransport({
        url: config.smtp,
        connectionTimeout: opts.timeoutMs,
        greetingTimeout: opts.timeoutMs,
        socketTimeout: opts.timeoutMs,
      });
      return {
        async send(c, signal) {
          if (signal.aborted) throw new SendError('aborted');
          try {
            await transport.sendMail({ from: config.from, to: config.to, subject: emailSubject(c), text: emailText(c), html: emailHtml(c) });
          } catch (e) {
            const err = e as Error & { responseCode?: number; code?: string };
            // 5xx SMTP replies are permanent (mailbox unknown, relay denied…); 4xx and connection errors are worth another try.
            const permanent = typeof err.responseCode === 'number' && err.responseCode >= 500;
            throw new SendError(`e-mail via ${safeUrl(config.smtp)} failed: ${err.code ? `${err.code} ` : ''}${err.message}`, !permanent);
          }
        },
        close() {
          transport.close();
        },
      };
    }
  }
}
