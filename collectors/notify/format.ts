/**
 * What an alarm change looks like on each channel: the generic webhook's JSON, the WeCom and
 * DingTalk robots' markdown messages, an e-mail's subject and bodies, and DingTalk's signed URL.
 */
import { createHmac } from 'node:crypto';
import type { AlarmChange } from '../types.js';

/** The generic webhook body: the change as JSON, times as ISO text. */
export interface WebhookBody {
  readonly source: 'tracereport';
  readonly kind: AlarmChange['kind'];
  readonly rule: AlarmChange['rule'];
  readonly equipment: string;
  readonly parameter: string;
  readonly value: number;
  readonly limit: number | null;
  readonly severity: AlarmChange['severity'];
  readonly at: string;
  readonly message: string;
}

export function webhookBody(c: AlarmChange): WebhookBody {
  return {
    source: 'tracereport',
    kind: c.kind,
    rule: c.rule,
    equipment: c.equipment,
    parameter: c.parameter,
    value: c.value,
    limit: c.limit ?? null,
    severity: c.severity,
    at: c.at.toISOString(),
    message: c.message,
  };
}

/** One line title: "ALARM critical | EXT-1 melt_pressure | limit_high". */
export function title(c: AlarmChange): string {
  return `${c.kind === 'raise' ? 'ALARM' : 'CLEARED'} ${c.severity} | ${c.equipment} ${c.parameter} | ${c.rule}`;
}

/**
 * Free text (codes, messages) kept on one line, so it cannot start a heading or a list of its own. Not
 * backslash-escaped: the robots' markdown subsets show backslashes literally, and codes such as
 * `melt_pressure` render fine as they are.
 */
function md(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function fields(c: AlarmChange): Array<[string, string]> {
  return [
    ['Equipment', c.equipment],
    ['Parameter', c.parameter],
    ['Rule', c.rule],
    ['Value', String(c.value)],
    ...(c.limit !== undefined ? ([['Limit', String(c.limit)]] as Array<[string, string]>) : []),
    ['Severity', c.severity],
    ['Time', c.at.toISOString()],
  ];
}

/** The markdown both robots show. */
export function markdown(c: AlarmChange): string {
  const head = c.kind === 'raise' ? `### TraceReport alarm: ${md(c.equipment)} ${md(c.parameter)}` : `### TraceReport alarm cleared: ${md(c.equipment)} ${md(c.parameter)}`;
  return [head, `> ${md(c.message)}`, '', ...fields(c).map(([k, v]) => `- **${k}**: ${md(v)}`)].join('\n');
}

/** WeCom group robot: `{"msgtype":"markdown","markdown":{"content":…}}` (content at most 4096 bytes). */
export function wecomBody(c: AlarmChange): { msgtype: 'markdown'; markdown: { content: string } } {
  return { msgtype: 'markdown', markdown: { content: truncateBytes(markdown(c), 4096) } };
}

/** DingTalk robot: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`. */
export function dingtalkBody(c: AlarmChange): { msgtype: 'markdown'; markdown: { title: string; text: string } } {
  return { msgtype: 'markdown', markdown: { title: `TraceReport ${title(c)}`, text: markdown(c) } };
}

/**
 * DingTalk's signed URL: `sign` = base64(HmacSHA256(key = secret, data = timestamp + "\n" + secret)),
 * URL-encoded, appended with the timestamp (ms) as `&timestamp=…&sign=…`.
 */
export function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): string {
  const sign = createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
  return `${url}${url.includes('?') ? '&' : '?'}timestamp=${timestampMs}&sign=${encodeURIComponent(sign)}`;
}

export function emailSubject(c: AlarmChange): string {
  return `[TraceReport] ${title(c)}`;
}

export function emailText(c: AlarmChange): string {
  return [c.message, '', ...fields(c).map(([k, v]) => `${k}: ${v}`)].join('\n');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function html(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

export function emailHtml(c: AlarmChange): string {
  const colour = c.kind === 'clear' ? '#2e7d32' : c.severity === 'critical' ? '#c62828' : '#ef6c00';
  const rows = fields(c).map(([k, v]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${html(k)}</th><td>${html(v)}</td></tr>`).join('');
  return `<p style="color:${colour};font-weight:bold">${html(c.message)}</p><table>${rows}</table>`;
}

/** Cuts text to at most `max` UTF-8 bytes without splitting a character. */
export function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > max - 3) break;
    out += ch;
    bytes += b;
  }
  return `${out}…`;
}
