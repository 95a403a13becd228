/**
 * The server's guard, through HTTP on a real server: login/logout/expiry/rate limit, the password
 * policy, every route of the route table without a session (401) and with a too-weak role (403),
 * missing CSRF token (403), security headers, /healthz and /metrics, and `tracereport routes`.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../server/routes/table.js';
import { rolesHolding, ROLE_PERMISSIONS } from '../server/auth/permissions.js';
import { ROLES } from '../server/store/users.js';
import { ADMIN_PASSWORD, Client, startTestServer, usersByRole, type TestServer } from './server-support.js';

let server: TestServer;
let clients: Record<string, Client>;

/** A concrete URL for a route path: every :param becomes 1. */
const concrete = (p: string) => p.replace(/:[A-Za-z]+/g, '1');

beforeAll(async () => {
  server = await startTestServer({ settings: { loginFailuresPerAccount: 3, loginFailuresPerAddress: 1000 } });
  clients = await usersByRole(server.url, [...ROLES]);
});

afterAll(async () => {
  await server?.stop();
});

describe('route table guard', () => {
  const guarded = ROUTES.filter((r) => r.permission !== 'public');

  it('has routes to test, and every permission is held by admin', () => {
    expect(guarded.length).toBeGreaterThan(15);
    for (const r of guarded) expect(rolesHolding(r.permission)).toContain('admin');
  });

  it.each(guarded.map((r) => [r.method, r.path] as const))('%s %s without a session → 401 AUTH_REQUIRED', async (method, p) => {
    const anon = new Client(server.url);
    const r = await anon.request(method, concrete(p), method === 'GET' ? undefined : {});
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('AUTH_REQUIRED');
  });

  const weak = guarded
    .map((r) => ({ r, role: ROLES.find((role) => !rolesHolding(r.permission).includes(role)) }))
    .filter((x): x is { r: (typeof guarded)[number]; role: (typeof ROLES)[number] } => x.role !== undefined);

  it('routes that no role is too weak for are only those every role may use (folder grants still apply)', () => {
    const everyone = guarded.filter((r) => !weak.some((w) => w.r === r)).map((r) => r.permission);
    expect(new Set(everyone)).toEqual(new Set(['authenticated', 'templates.read']));
    expect(weak.length).toBeGreaterThan(15);
  });

  it.each(weak.map(({ r, role }) => [r.method, r.path, role, r.permission] as const))('%s %s as %s (lacks %s) → 403 FORBIDDEN', async (method, p, role) => {
    const r = await clients[role]!.request(method, concrete(p), method === 'GET' ? undefined : {});
    expect(r.status, JSON.stringify(r.json)).toBe(403);
    expect(r.json.error.code).toBe('FORBIDDEN');
  });

  it.each(guarded.filter((r) => r.method !== 'GET').map((r) => [r.method, r.path] as const))('%s %s as admin without the CSRF token → 403 CSRF_INVALID', async (method, p) => {
    const r = await clients.admin!.request(method, concrete(p), {}, { csrf: false });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('CSRF_INVALID');
  });

  it('a wrong CSRF token is refused too, and the right one passes the guard', async () => {
    const admin = clients.admin!;
    const wrong = await admin.request('POST', '/api/folders', { name: 'x' }, { csrf: false, headers: { 'x-csrf-token': 'A'.repeat(43) } });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error.code).toBe('CSRF_INVALID');
    const right = await admin.request('POST', '/api/folders', { name: 'Quality' });
    expect(right.status).toBe(201);
    expect(right.json.folder.name).toBe('Quality');
  });

  it('role permissions are what the table says (viewer cannot manage data sources; auditor reads audit)', () => {
    expect(ROLE_PERMISSIONS.viewer).not.toContain('datasources.manage');
    expect(ROLE_PERMISSIONS.auditor).toContain('audit.read');
  });
});

describe('login, logout, expiry', () => {
  it('login sets an HttpOnly SameSite=Lax session cookie (not Secure over plain HTTP) and returns the CSRF token', async () => {
    const c = new Client(server.url);
    const r = await c.login('admin', ADMIN_PASSWORD);
    expect(r.status).toBe(200);
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/tr_session=/);
    expect(cookie.toLowerCase()).toContain('httponly');
    expect(cookie.toLowerCase()).toContain('samesite=lax');
    expect(cookie.toLowerCase()).not.toContain('secure');
    expect(r.json.csrfToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(r.json.user).toMatchObject({ username: 'admin', roles: ['admin'] });
    expect(JSON.stringify(r.json)).not.toContain('password');
    const me = await c.request('GET', '/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.json.csrfToken).toBe(r.json.csrfToken);
  });

  it('a wrong password gives 401 LOGIN_FAILED, the same as an unknown user', async () => {
    const a = await new Client(server.url).login('u-viewer', 'not-the-password-1');
    const b = await new Client(server.url).login('nobody-here', 'not-the-password-1');
    expect([a.status, b.status]).toEqual([401, 401]);
    expect(a.json.error.code).toBe('LOGIN_FAILED');
    expect(b.json.error.message).toBe(a.json.error.message);
  });

  it('logout ends the session server-side: the old cookie no longer works', async () => {
    const c = new Client(server.url);
    await c.login('u-operator', 'Pw-for-operator-2026!');
    const cookie = c.cookie;
    expect((await c.request('GET', '/api/auth/me')).status).toBe(200);
    const out = await c.request('POST', '/api/auth/logout');
    expect(out.status).toBe(204);
    const replay = new Client(server.url);
    replay.cookie = cookie;
    const r = await replay.request('GET', '/api/auth/me');
    expect(r.status).toBe(401);
  });

  it('an expired session gets 401 and is removed', async () => {
    const c = new Client(server.url);
    await c.login('u-designer', 'Pw-for-designer-2026!');
    expect((await c.request('GET', '/api/auth/me')).status).toBe(200);
    const db = new Database(path.join(server.dir, 'data', 'server.sqlite'));
    try {
      const userId = (db.prepare("select id from srv_user where username = 'u-designer'").get() as { id: number }).id;
      db.prepare('update srv_session set expires_at = ? where user_id = ?').run(new Date(Date.now() - 1000).toISOString(), userId);
    } finally {
      db.close();
    }
    const r = await c.request('GET', '/api/auth/me');
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('AUTH_REQUIRED');
  });

  it('rate limit per account: after 3 failures even the right password is refused with 429', async () => {
    const admin = clients.admin!;
    await admin.request('POST', '/api/users', { username: 'target', password: 'Target-password-1', roles: ['viewer'] });
    for (let i = 0; i < 3; i++) expect((await new Client(server.url).login('target', `wrong-password-${i}`)).status).toBe(401);
    const r = await new Client(server.url).login('target', 'Target-password-1');
    expect(r.status).toBe(429);
    expect(r.json.error.code).toBe('LOGIN_RATE_LIMITED');
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    // Another account from the same address is not affected by the per-account limit.
    expect((await new Client(server.url).login('u-auditor', 'Pw-for-auditor-2026!')).status).toBe(200);
  });

  it('the password policy refuses short, one-class and name-containing passwords', async () => {
    const admin = clients.admin!;
    for (const [password, rule] of [
      ['Short-1', 'at least 12'],
      ['onlylettersherexyz', 'two of'],
      ['pat-the-user-2026', 'user name'],
    ]) {
      const r = await admin.request('POST', '/api/users', { username: 'pat-the-user', password, roles: ['viewer'] });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('PASSWORD_WEAK');
      expect(r.json.error.message).toContain(rule);
    }
  });
});

describe('rate limit per address', () => {
  it('refuses any account from an address after too many failures', async () => {
    const s = await startTestServer({ settings: { loginFailuresPerAccount: 100, loginFailuresPerAddress: 4 } });
    try {
      for (let i = 0; i < 4; i++) expect((await new Client(s.url).login(`user-${i}`, 'wrong-password-1')).status).toBe(401);
      const r = await new Client(s.url).login('admin', ADMIN_PASSWORD);
      expect(r.status).toBe(429);
      expect(r.json.error.message).toContain('address');
    } finally {
      await s.stop();
    }
  });
});

describe('headers, errors, health, metrics', () => {
  it('security headers on every response (no HSTS over plain HTTP)', async () => {
    for (const p of ['/healthz', '/api/auth/me', '/nope']) {
      const r = await new Client(server.url).request('GET', p);
      expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('unknown routes, bad JSON and big bodies answer with the error catalogue', async () => {
    const c = clients.admin!;
    const missing = await c.request('GET', '/api/nothing');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'NOT_FOUND', details: null });
    const bad = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BODY_INVALID');
    const big = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'x'.repeat(3 * 1024 * 1024), password: 'y' }) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
  });

  it('/healthz answers ok and /metrics exposes request durations by route', async () => {
    const h = await new Client(server.url).request('GET', '/healthz');
    expect(h.status).toBe(200);
    expect(h.json).toEqual({ status: 'ok' });
    const m = await new Client(server.url).request('GET', '/metrics');
    expect(m.status).toBe(200);
    const text = m.bytes.toString('utf8');
    expect(text).toContain('tracereport_http_request_duration_seconds_bucket');
    expect(text).toMatch(/route="\/api\/auth\/login"/);
    expect(text).toContain('tracereport_renders_total');
  });
});
