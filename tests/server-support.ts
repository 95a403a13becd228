/** A real server on a random port over a temporary data folder, and a fetch client with a cookie jar. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer, type StartOptions } from '../server/start.js';

export const ADMIN_PASSWORD = 'Boss-password-2026';

export interface TestServer extends RunningServer {
  dir: string;
  stop(): Promise<void>;
}

export async function startTestServer(opts: Partial<StartOptions> = {}): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-server-'));
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: path.join(dir, 'data'),
    traceDb: path.join(dir, 'trace.sqlite'),
    logger: pino({ level: 'silent' }),
    adminPassword: ADMIN_PASSWORD,
    ...opts,
  });
  return {
    ...server,
    dir,
    async stop() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  bytes: Buffer;
}

/** One browser: keeps the session cookie, sends the CSRF token on changes unless told not to. */
export class Client {
  cookie: string | undefined;
  csrf: string | undefined;

  constructor(readonly base: string) {}

  async request(method: string, urlPath: string, body?: unknown, opts: { csrf?: boolean; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.csrf && (opts.csrf ?? true) && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const res = await fetch(this.base + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) {
      const m = /tr_session=([^;]*)/.exec(setCookie);
      if (m) this.cookie = m[1] ? `tr_session=${m[1]}` : undefined;
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').includes('application/json')) json = JSON.parse(bytes.toString('utf8'));
    return { status: res.status, headers: res.headers, json, bytes };
  }

  async login(username: string, password: string): Promise<Reply> {
    const r = await this.request('POST', '/api/auth/login', { username, password });
    if (r.status === 200) this.csrf = r.json.csrfToken;
    return r;
  }
}

/** Logs in as admin and creates a user per role (passwords follow the policy). */
export async function usersByRole(base: string, roles: string[]): Promise<Record<string, Client>> {
  const admin = new Client(base);
  const r = await admin.login('admin', ADMIN_PASSWORD);
  if (r.status !== 200) throw new Error(`admin login failed: ${JSON.stringify(r.json)}`);
  const out: Record<string, Client> = { admin };
  for (const role of roles) {
    if (role === 'admin') continue;
    const password = `Pw-for-${role}-2026!`;
    const c = await admin.request('POST', '/api/users', { username: `u-${role}`, password, roles: [role] });
    if (c.status !== 201) throw new Error(`creating ${role}: ${JSON.stringify(c.json)}`);
    const client = new Client(base);
    const l = await client.login(`u-${role}`, password);
    if (l.status !== 200) throw new Error(`login ${role}: ${JSON.stringify(l.json)}`);
    out[role] = client;
  }
  return out;
}

/** JSON.parse that shows the text around the problem when it fails (CLI output in tests). */
export function parseJson(text: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${(e as Error).message}; output ends with: ${JSON.stringify(text.slice(-400))}`);
  }
}
