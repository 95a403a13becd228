import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { notifySchema, type NotifyConfig } from '../collectors/config.js';
import { Notifier, type ChannelStatus } from '../collectors/notify/notifier.js';
import type { AlarmChange } from '../collectors/types.js';

/**
 * Notifications against real local peers: an HTTP server that records what it receives (and fails or
 * hangs on request), a closed port, and an SMTP server (the smtp-server package).
 */

const RAISE: AlarmChange = {
  kind: 'raise',
  rule: 'limit_high',
  equipment: 'EXT-1',
  parameter: 'melt_pressure',
  value: 131.2,
  limit: 120,
  severity: 'critical',
  at: new Date('2026-03-01T08:00:00.000Z'),
  message: 'melt_pressure 131.2 bar above USL 120',
};
const SPC: AlarmChange = {
  kind: 'raise',
  rule: 'spc_nelson_1',
  equipment: 'EXT-1',
  parameter: 'melt_pressure',
  value: 86,
  limit: 84.4721,
  severity: 'warning',
  at: new Date('2026-03-01T08:05:00.000Z'),
  message: 'melt_pressure X̄ 86: Nelson rule 1, subgroup mean beyond 3σ <b>&</b>',
};

interface Received {
  path: string;
  url: URL;
  rawQuery: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  at: number;
}

const received: Received[] = [];
const byPath = (p: string) => received.filter((r) => r.path === p);
let flakyHits = 0;
let server: http.Server;
let base: string;
let deadUrl: string;
const hanging: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({ path: url.pathname, url, rawQuery: req.url!.split('?')[1] ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined, at: Date.now() });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      switch (url.pathname) {
        case '/hook':
          return json(200, { ok: true });
        case '/flaky':
          return ++flakyHits <= 2 ? json(503, { error: 'try later' }) : json(200, { ok: true });
        case '/bad-request':
          return json(400, { error: 'bad' });
        case '/robot':
          return json(200, { errcode: 0, errmsg: 'ok' });
        case '/robot-refuses':
          return json(200, { errcode: 310000, errmsg: 'sign not match' });
        case '/hang':
          hanging.push(res); // never answered
          return;
        default:
          return json(404, {});
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port nothing listens on: bind one, note it, close it.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/hook?token=SECRET-TOKEN`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(async () => {
  for (const r of hanging) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const cfg = (c: Record<string, unknown>): NotifyConfig => notifySchema.parse(c);
const channel = (n: Notifier, i = 0): ChannelStatus => n.status().channels[i]!;
const quiet = { warn: () => undefined };

describe('webhooks', () => {
  it('generic webhook: POSTs the change as JSON with the configured headers', async () => {
    const n = new Notifier([cfg({ type: 'webhook', name: 'hook', url: `${base}/hook`, headers: { 'x-api-key': 'k1' } })], quiet);
    n.notify(RAISE);
    n.notify({ ...RAISE, kind: 'clear', value: 97.5, message: 'melt_pressure 97.5 bar back below USL 120' });
    await n.close();
    const got = byPath('/hook');
    expect(got.map((r) => r.body)).toEqual([
      { source: 'tracereport', kind: 'raise', rule: 'limit_high', equipment: 'EXT-1', parameter: 'melt_pressure', value: 131.2, limit: 120, severity: 'critical', at: '2026-03-01T08:00:00.000Z', message: 'melt_pressure 131.2 bar above USL 120' },
      { source: 'tracereport', kind: 'clear', rule: 'limit_high', equipment: 'EXT-1', parameter: 'melt_pressure', value: 97.5, limit: 120, severity: 'critical', at: '2026-03-01T08:00:00.000Z', message: 'melt_pressure 97.5 bar back below USL 120' },
    ]);
    expect(got[0]!.headers['x-api-key']).toBe('k1');
    expect(got[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(channel(n)).toMatchObject({ name: 'hook', type: 'webhook', sent: 2, failed: 0, errors: 0, dropped: 0, queued: 0 });
  });

  it('WeCom robot: a markdown message with the alarm', async () => {
    const n = new Notifier([cfg({ type: 'wecom', name: 'wecom', url: `${base}/robot?key=wecom-key` })], quiet);
    n.notify(RAISE);
    await n.close();
    const [r] = byPath('/robot').filter((x) => x.url.searchParams.get('key') === 'wecom-key');
    const body = r!.body as { msgtype: string; markdown: { content: string } };
    expect(Object.keys(body).sort()).toEqual(['markdown', 'msgtype']);
    expect(body.msgtype).toBe('markdown');
    expect(Object.keys(body.markdown)).toEqual(['content']);
    expect(body.markdown.content).toContain('### TraceReport alarm: EXT-1 melt_pressure');
    expect(body.markdown.content).toContain('> melt_pressure 131.2 bar above USL 120');
    expect(body.markdown.content).toContain('- **Limit**: 120');
    expect(body.markdown.content).toContain('- **Severity**: critical');
    expect(channel(n).sent).toBe(1);
  });

  it('DingTalk robot with a secret: markdown message on the signed URL (signature recomputed here)', async () => {
    const now = 1_772_352_000_123;
    const secret = 'SEC0123456789abcdef+/=';
    const n = new Notifier([cfg({ type: 'dingtalk', name: 'ding', url: `${base}/robot?access_token=ding-token`, secret })], { ...quiet, now: () => now });
    n.notify(SPC);
    await n.close();
    const [r] = byPath('/robot').filter((x) => x.url.searchParams.get('access_token') === 'ding-token');
    const expected = createHmac('sha256', secret).update(`${now}\n${secret}`).digest('base64');
    expect(r!.url.searchParams.get('timestamp')).toBe(String(now));
    expect(r!.url.searchParams.get('sign')).toBe(expected);
    // URL-encoded on the wire (base64's + / = would otherwise be misread).
    expect(r!.rawQuery).toBe(`access_token=ding-token&timestamp=${now}&sign=${encodeURIComponent(expected)}`);
    const body = r!.body as { msgtype: string; markdown: { title: string; text: string } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('TraceReport ALARM warning | EXT-1 melt_pressure | spc_nelson_1');
    expect(body.markdown.text).toContain('> melt_pressure X̄ 86: Nelson rule 1, subgroup mean beyond 3σ');
    expect(channel(n).sent).toBe(1);
  });

  it('DingTalk without a secret posts to the URL as given', async () => {
    const n = new Notifier([cfg({ type: 'dingtalk', name: 'ding2', url: `${base}/robot?access_token=plain-token` })], quiet);
    n.notify(RAISE);
    await n.close();
    const [r] = byPath('/robot').filter((x) => x.url.searchParams.get('access_token') === 'plain-token');
    expect(r!.rawQuery).toBe('access_token=plain-token');
  });

  it('a robot answering a non-zero errcode is a failure, retried, then given up and counted', async () => {
    const n = new Notifier([cfg({ type: 'dingtalk', name: 'refused', url: `${base}/robot-refuses?access_token=t`, secret: 's', retries: 1, backoffMs: 5 })], quiet);
    n.notify(RAISE);
    await n.close();
    expect(byPath('/robot-refuses')).toHaveLength(2);
    expect(channel(n)).toMatchObject({ sent: 0, failed: 1, errors: 2, retries: 1 });
    expect(channel(n).lastError).toMatch(/errcode 310000 sign not match/);
  });

  it('a failing server: retried with exponential backoff, delivered once', async () => {
    const n = new Notifier([cfg({ type: 'webhook', name: 'flaky', url: `${base}/flaky`, retries: 5, backoffMs: 50 })], quiet);
    n.notify(RAISE);
    await vi.waitFor(() => expect(channel(n).sent).toBe(1), { timeout: 10_000 });
    await n.close();
    const hits = byPath('/flaky');
    expect(hits).toHaveLength(3);
    expect(hits.every((h) => (h.body as { message: string }).message === RAISE.message)).toBe(true);
    // Waits of at least 50 and 100 ms (lower bounds only: a wait is never shorter than asked).
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(45);
    expect(hits[2]!.at - hits[1]!.at).toBeGreaterThanOrEqual(95);
    expect(channel(n)).toMatchObject({ sent: 1, failed: 0, errors: 2, retries: 2, dropped: 0 });
  });

  it('a 4xx answer is not retried', async () => {
    const n = new Notifier([cfg({ type: 'webhook', name: 'bad', url: `${base}/bad-request`, retries: 5, backoffMs: 5 })], quiet);
    n.notify(RAISE);
    await n.close();
    expect(byPath('/bad-request')).toHaveLength(1);
    expect(channel(n)).toMatchObject({ sent: 0, failed: 1, errors: 1, retries: 0 });
    expect(channel(n).lastError).toMatch(/HTTP 400/);
  });

  it('a dead endpoint: notify returns at once, the failure is counted after the retries, no secret in the error', async () => {
    const warnings: string[] = [];
    const n = new Notifier([cfg({ type: 'webhook', name: 'dead', url: deadUrl, retries: 2, backoffMs: 10 })], { warn: (m) => warnings.push(m) });
    n.notify(RAISE);
    // notify only queued it: nothing has been attempted yet when it returns.
    expect(channel(n)).toMatchObject({ queued: 1, sent: 0, failed: 0, errors: 0 });
    await vi.waitFor(() => expect(channel(n).failed).toBe(1), { timeout: 10_000 });
    expect(channel(n)).toMatchObject({ queued: 0, sent: 0, failed: 1, errors: 3, retries: 2 });
    expect(channel(n).lastError).toMatch(/ECONNREFUSED/);
    expect(channel(n).lastError).not.toContain('SECRET-TOKEN');
    expect(warnings.join('\n')).toMatch(/gave up on raise limit_high EXT-1\/melt_pressure after 3 attempt\(s\)/);
    expect(warnings.join('\n')).not.toContain('SECRET-TOKEN');
    await n.close();
  });

  it('a hanging endpoint: the queue stays bounded (oldest dropped, counted, warned); close gives up at its limit', async () => {
    const warnings: string[] = [];
    const n = new Notifier(
      [cfg({ type: 'webhook', name: 'hang', url: `${base}/hang`, retries: 0 }), cfg({ type: 'webhook', name: 'ok', url: `${base}/hook` })],
      { warn: (m) => warnings.push(m), queueSize: 10 },
    );
    for (let i = 0; i < 1000; i++) n.notify({ ...RAISE, value: i });
    // The first change is in flight; of the rest only the newest 10 wait.
    expect(channel(n, 0)).toMatchObject({ queued: 11, dropped: 989, sent: 0 });
    expect(warnings.filter((w) => w.startsWith('notify hang: queue full'))).toHaveLength(10); // the first drop and every 100th
    await n.close(300);
    expect(channel(n, 0)).toMatchObject({ queued: 0, sent: 0, failed: 1, dropped: 999 });
    // The other channel is independent: it delivered the first change and the newest 10.
    expect(channel(n, 1)).toMatchObject({ sent: 11, dropped: 989, failed: 0 });
    const values = byPath('/hook').slice(-11).map((r) => (r.body as { value: number }).value);
    expect(values).toEqual([0, 990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
    expect(warnings.some((w) => w.includes('notify hang: closed with 10 alarm change(s) not delivered'))).toBe(true);
    // After close, notify is ignored and still does not throw.
    n.notify(RAISE);
    expect(channel(n, 1).queued).toBe(0);
  });
});

// ---------------------------------------------------------------- e-mail

/** RFC 2047 encoded words (Q and B). */
function decodeWords(s: string): string {
  return s.replace(/\s*=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _cs: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

interface Mail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** The subject and the text/plain and text/html parts of a (multipart/alternative) message. */
function parseMail(raw: string, session: SMTPServerSession): Mail {
  const [head] = raw.split(/\r?\n\r?\n/);
  const unfolded = head!.replace(/\r?\n[ \t]+/g, ' ');
  const subject = decodeWords(/^Subject: (.*)$/m.exec(unfolded)![1]!);
  const part = (type: string) => {
    const m = new RegExp(`Content-Type: ${type}[^\\r\\n]*\\r?\\n(?:Content-Transfer-Encoding: ([^\\r\\n]+)\\r?\\n)?\\r?\\n([\\s\\S]*?)\\r?\\n--`, 'i').exec(raw);
    return m ? decodeBody(m[2]!, m[1]?.trim().toLowerCase()) : '';
  };
  const env = session.envelope;
  return {
    from: env.mailFrom ? env.mailFrom.address : '',
    to: env.rcptTo.map((a) => a.address),
    subject,
    text: part('text/plain'),
    html: part('text/html'),
  };
}

describe('e-mail', () => {
  const mails: Mail[] = [];
  let smtp: SMTPServer;
  let port: number;
  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('nobody@')) {
          const err = new Error('5.1.1 no such mailbox') as Error & { responseCode: number };
          err.responseCode = 550;
          return cb(err);
        }
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push(parseMail(Buffer.concat(chunks).toString('utf8'), session));
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('sends a message with from, to, subject, text and HTML bodies to a real SMTP peer', async () => {
    const n = new Notifier(
      [cfg({ type: 'email', name: 'mail', smtp: `smtp://127.0.0.1:${port}`, from: 'tracereport@plant.example', to: ['qa@plant.example', 'shift@plant.example'] })],
      quiet,
    );
    n.notify(RAISE);
    n.notify(SPC);
    await n.close();
    expect(channel(n)).toMatchObject({ sent: 2, failed: 0, errors: 0 });
    expect(mails).toHaveLength(2);
    const [a, b] = mails;
    expect(a!.from).toBe('tracereport@plant.example');
    expect(a!.to).toEqual(['qa@plant.example', 'shift@plant.example']);
    expect(a!.subject).toBe('[TraceReport] ALARM critical | EXT-1 melt_pressure | limit_high');
    expect(a!.text).toContain('melt_pressure 131.2 bar above USL 120');
    expect(a!.text).toContain('Limit: 120');
    expect(a!.text).toContain('Time: 2026-03-01T08:00:00.000Z');
    expect(a!.html).toContain('<p style="color:#c62828;font-weight:bold">melt_pressure 131.2 bar above USL 120</p>');
    expect(a!.html).toContain('<th align="left" style="padding:2px 12px 2px 0">Equipment</th><td>EXT-1</td>');
    // Non-ASCII text survives; markup in a message is escaped in the HTML body.
    expect(b!.subject).toBe('[TraceReport] ALARM warning | EXT-1 melt_pressure | spc_nelson_1');
    expect(b!.text).toContain('X̄ 86: Nelson rule 1, subgroup mean beyond 3σ <b>&</b>');
    expect(b!.html).toContain('beyond 3σ &lt;b&gt;&amp;&lt;/b&gt;');
  });

  it('a permanent SMTP refusal (550) is not retried; a dead SMTP port is retried and counted', async () => {
    const n = new Notifier(
      [
        cfg({ type: 'email', name: 'refused', smtp: `smtp://127.0.0.1:${port}`, from: 'tracereport@plant.example', to: ['nobody@plant.example'], retries: 3, backoffMs: 5 }),
        cfg({ type: 'email', name: 'dead', smtp: `smtp://user:pw-secret@${new URL(deadUrl).host}`, from: 'tracereport@plant.example', to: ['qa@plant.example'], retries: 1, backoffMs: 5 }),
      ],
      quiet,
    );
    n.notify(RAISE);
    await vi.waitFor(() => expect(channel(n, 0).failed + channel(n, 1).failed).toBe(2), { timeout: 10_000 });
    await n.close();
    expect(channel(n, 0)).toMatchObject({ sent: 0, failed: 1, errors: 1, retries: 0 });
    expect(channel(n, 0).lastError).toMatch(/550|no such mailbox/);
    expect(channel(n, 1)).toMatchObject({ sent: 0, failed: 1, errors: 2, retries: 1 });
    expect(channel(n, 1).lastError).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    expect(channel(n, 1).lastError).not.toContain('pw-secret');
  });
});
