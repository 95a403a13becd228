/**
 * User administration and self-service over a real server: role changes take effect on the next
 * request, disabling ends sessions, the last admin cannot be removed, password reset and change end
 * other sessions; the auditor's CSV export (and its formula-safe fields).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField } from '../server/routes/audit.js';
import { ADMIN_PASSWORD, Client, startTestServer, usersByRole, type TestServer } from './server-support.js';

let server: TestServer;
let clients: Record<string, Client>;

beforeAll(async () => {
  server = await startTestServer();
  clients = await usersByRole(server.url, ['viewer', 'auditor', 'designer']);
});

afterAll(async () => {
  await server?.stop();
});

async function idOf(username: string): Promise<number> {
  const r = await clients.admin!.request('GET', '/api/users');
  return (r.json.users as { id: number; username: string }[]).find((u) => u.username === username)!.id;
}

describe('user administration', () => {
  it('a role change applies to the next request of a live session', async () => {
    const viewer = clients.viewer!;
    expect((await viewer.request('GET', '/api/datasources')).status).toBe(403);
    const r = await clients.admin!.request('PUT', `/api/users/${await idOf('u-viewer')}`, { roles: ['viewer', 'designer'], attributes: { plant: 'A' } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.user).toMatchObject({ roles: ['designer', 'viewer'], attributes: { plant: 'A' } });
    expect((await viewer.request('GET', '/api/datasources')).status).toBe(200);
  });

  it('disabling a user ends their sessions and refuses their login', async () => {
    const id = await idOf('u-designer');
    expect((await clients.admin!.request('PUT', `/api/users/${id}`, { disabled: true })).status).toBe(200);
    expect((await clients.designer!.request('GET', '/api/auth/me')).status).toBe(401);
    expect((await new Client(server.url).login('u-designer', 'Pw-for-designer-2026!')).status).toBe(401);
    expect((await clients.admin!.request('PUT', `/api/users/${id}`, { disabled: false })).status).toBe(200);
    expect((await new Client(server.url).login('u-designer', 'Pw-for-designer-2026!')).status).toBe(200);
  });

  it('the only enabled admin cannot be disabled or lose the admin role', async () => {
    const id = await idOf('admin');
    for (const change of [{ disabled: true }, { roles: ['viewer'] }]) {
      const r = await clients.admin!.request('PUT', `/api/users/${id}`, change);
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe('CONFLICT');
    }
  });

  it('bad changes name their field; unknown users are 404', async () => {
    const bad = await clients.admin!.request('PUT', `/api/users/${await idOf('u-auditor')}`, { roles: ['superuser'] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.path).toBe('$.roles');
    const weak = await clients.admin!.request('PUT', `/api/users/${await idOf('u-auditor')}`, { password: 'short' });
    expect(weak.json.error.code).toBe('PASSWORD_WEAK');
    expect((await clients.admin!.request('PUT', '/api/users/9999', { disabled: true })).status).toBe(404);
  });

  it('an admin password reset ends the user\'s sessions; the new password works', async () => {
    const other = new Client(server.url);
    expect((await other.login('u-auditor', 'Pw-for-auditor-2026!')).status).toBe(200);
    const r = await clients.admin!.request('PUT', `/api/users/${await idOf('u-auditor')}`, { password: 'Reset-by-admin-77' });
    expect(r.status).toBe(200);
    expect((await other.request('GET', '/api/auth/me')).status).toBe(401);
    const again = new Client(server.url);
    expect((await again.login('u-auditor', 'Reset-by-admin-77')).status).toBe(200);
    clients.auditor = again;
  });
});

describe('changing your own password', () => {
  it('needs the current password and the policy; ends your other sessions but not this one', async () => {
    const here = new Client(server.url);
    const elsewhere = new Client(server.url);
    await here.login('admin', ADMIN_PASSWORD);
    await elsewhere.login('admin', ADMIN_PASSWORD);
    const wrong = await here.request('POST', '/api/auth/password', { currentPassword: 'not-it-at-all-1', newPassword: 'Brand-new-pass-42' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('LOGIN_FAILED');
    const weak = await here.request('POST', '/api/auth/password', { currentPassword: ADMIN_PASSWORD, newPassword: 'weak' });
    expect(weak.json.error.code).toBe('PASSWORD_WEAK');
    const ok = await here.request('POST', '/api/auth/password', { currentPassword: ADMIN_PASSWORD, newPassword: 'Brand-new-pass-42' });
    expect(ok.status).toBe(204);
    expect((await here.request('GET', '/api/auth/me')).status).toBe(200);
    expect((await elsewhere.request('GET', '/api/auth/me')).status).toBe(401);
    expect((await new Client(server.url).login('admin', ADMIN_PASSWORD)).status).toBe(401);
    expect((await new Client(server.url).login('admin', 'Brand-new-pass-42')).status).toBe(200);
  });
});

describe('audit CSV export', () => {
  it('downloads the filtered trail as CSV and records the export', async () => {
    const r = await clients.auditor!.request('GET', '/api/audit/csv?action=user.update');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/csv');
    expect(r.headers.get('content-disposition')).toContain('audit.csv');
    const lines = r.bytes.toString('utf8').replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]).toBe('seq,at,user_name,address,action,object,params,before,after,prev_hash,hash');
    expect(lines.length).toBeGreaterThan(4);
    for (const l of lines.slice(1)) expect(l).toContain(',user.update,');
    const after = await clients.auditor!.request('GET', '/api/audit?action=audit.export');
    expect(after.json.rows[0]).toMatchObject({ user: 'u-auditor', action: 'audit.export' });
  });

  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['line\nbreak', '"line\nbreak"'],
  ])('csvField(%j) = %s', (input, out) => {
    expect(csvField(input)).toBe(out);
  });

  it('csvField keeps numbers and empties', () => {
    expect(csvField(12)).toBe('12');
    expect(csvField(null)).toBe('');
  });
});
