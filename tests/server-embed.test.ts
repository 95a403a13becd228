/**
 * Embed tokens: a signed link shows one report version with locked parameter values, without a login,
 * framable only by the configured origins; tampered and expired tokens are refused; views are audited.
 */
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedKey, signEmbedToken } from '../server/auth/embed-token.js';
import { Client, startTestServer, usersByRole, type TestServer } from './server-support.js';

let server: TestServer;
let clients: Record<string, Client>;
let templateId: number;
let folderId: number;

const template = (heading: string) => ({
  format: 1,
  kind: 'grid',
  name: 'Line status',
  parameters: [{ name: 'line', type: 'string', required: true }],
  datasets: [{ name: 'st', rows: [{ line: 'L1', state: 'running' }, { line: 'L2', state: 'stopped' }] }],
  sheets: [{ name: 'Status', cells: { A1: { text: `${heading} {{line}}` }, A2: { field: 'st.line', display: 'list' }, B2: { field: 'st.state', display: 'list' } } }],
});

beforeAll(async () => {
  server = await startTestServer({ settings: { embedOrigins: ['https://portal.example.com'] } });
  clients = await usersByRole(server.url, ['designer', 'viewer']);
  const admin = clients.admin!;
  folderId = (await admin.request('POST', '/api/folders', { name: 'Shop floor' })).json.folder.id;
  const t = await admin.request('POST', '/api/templates', { folderId, template: template('Status of line') });
  expect(t.status, JSON.stringify(t.json)).toBe(201);
  templateId = t.json.template.id;
});

afterAll(async () => {
  await server?.stop();
});

async function makeToken(client: Client, body: Record<string, unknown>) {
  return client.request('POST', '/api/embed-tokens', body);
}

describe('embed tokens', () => {
  it('a designer needs a view grant on the folder to make one', async () => {
    const denied = await makeToken(clients.designer!, { templateId, params: { line: 'L1' } });
    expect(denied.status).toBe(403);
    await clients.admin!.request('PUT', `/api/folders/${folderId}/grants`, { grants: [{ subjectKind: 'role', subject: 'designer', permission: 'view' }] });
    const ok = await makeToken(clients.designer!, { templateId, params: { line: 'L1' }, expiresInSeconds: 3600 });
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
    expect(ok.json.path).toMatch(/^\/embed\/[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('the link renders the locked version and values without a login, framable only by the configured origin', async () => {
    const made = await makeToken(clients.admin!, { templateId, params: { line: 'L1' } });
    // A later save does not change what the link shows: it is locked to the version it was made for.
    await clients.admin!.request('PUT', `/api/templates/${templateId}`, { template: template('CHANGED') });
    const anon = new Client(server.url);
    const r = await anon.request('GET', `${made.json.path}?line=L2`);
    expect(r.status, r.bytes.toString('utf8').slice(0, 300)).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    const { document } = parseHTML(r.bytes.toString('utf8'));
    expect(document.body.textContent).toContain('Status of line L1');
    expect(document.body.textContent).not.toContain('CHANGED');
    expect(r.headers.get('content-security-policy')).toContain('frame-ancestors https://portal.example.com');
    expect(r.headers.get('x-frame-options')).toBeNull();
    const rows = (await clients.admin!.request('GET', '/api/audit?action=report.view')).json.rows as { user: string; params: { params: unknown } }[];
    expect(rows[0]!.user).toMatch(/^embed:/);
    expect(rows[0]!.params.params).toEqual({ line: 'L1' });
  });

  it('a tampered or foreign token is refused with 401', async () => {
    const made = await makeToken(clients.admin!, { templateId, params: { line: 'L1' } });
    const [h, p, sig] = made.json.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, params: { line: 'L2' } })).toString('base64url');
    for (const token of [`${h}.${forged}.${sig}`, `${h}.${p}.${sig.slice(0, -2)}AA`, 'not-a-token']) {
      const r = await new Client(server.url).request('GET', `/embed/${token}`);
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('AUTH_REQUIRED');
    }
    const other = await signEmbedToken(embedKey(Buffer.alloc(32, 7)), { template: templateId, version: 1, params: { line: 'L1' }, by: 'x' }, 600);
    expect((await new Client(server.url).request('GET', `/embed/${other.token}`)).status).toBe(401);
  });

  it('an expired token is refused and says so', async () => {
    const expired = await signEmbedToken(embedKey(server.services.store.secretKey), { template: templateId, version: 1, params: { line: 'L1' }, by: 'admin' }, -5);
    const r = await new Client(server.url).request('GET', `/embed/${expired.token}`);
    expect(r.status).toBe(401);
    expect(r.json.error.message).toContain('expired');
  });

  it('bad requests: unknown or invalid parameter, lifetime out of range', async () => {
    expect((await makeToken(clients.admin!, { templateId, params: { plant: 'A' } })).json.error.code).toBe('PARAM_UNKNOWN');
    expect((await makeToken(clients.admin!, { templateId, params: { line: ['L1', 'L2'] } })).json.error.code).toBe('PARAM_INVALID');
    const life = await makeToken(clients.admin!, { templateId, params: {}, expiresInSeconds: 365 * 24 * 3600 });
    expect(life.json.error.details.path).toBe('$.expiresInSeconds');
  });

  it('links are listed for their maker (everyone\'s for an admin), without the token', async () => {
    const mine = await makeToken(clients.designer!, { templateId, params: { line: 'L2' }, expiresInSeconds: 600 });
    expect(mine.status, JSON.stringify(mine.json)).toBe(201);
    const theirs = await makeToken(clients.admin!, { templateId, params: { line: 'L1' } });
    const listed = (await clients.designer!.request('GET', '/api/embed-tokens')).json.links as Record<string, unknown>[];
    expect(listed.map((l) => l.jti)).toContain(mine.json.jti);
    expect(listed.map((l) => l.jti)).not.toContain(theirs.json.jti);
    expect(listed.every((l) => l.createdBy === 'u-designer')).toBe(true);
    const one = listed.find((l) => l.jti === mine.json.jti)!;
    expect(one).toMatchObject({ templateId, params: { line: 'L2' }, createdBy: 'u-designer', expiresAt: mine.json.expiresAt });
    expect(JSON.stringify(listed)).not.toContain(mine.json.token);
    const all = (await clients.admin!.request('GET', '/api/embed-tokens')).json.links as { jti: string }[];
    expect(all.map((l) => l.jti)).toEqual(expect.arrayContaining([mine.json.jti, theirs.json.jti]));
    expect((await clients.viewer!.request('GET', '/api/embed-tokens')).status).toBe(403);
  });

  it('a revoked link stops at once; only its maker or an admin may revoke it; revoking is audited once', async () => {
    const made = await makeToken(clients.admin!, { templateId, params: { line: 'L1' } });
    const anon = new Client(server.url);
    expect((await anon.request('GET', made.json.path)).status).toBe(200);
    // Another maker's link is not theirs to see or revoke.
    const denied = await clients.designer!.request('DELETE', `/api/embed-tokens/${made.json.jti}`);
    expect(denied.status).toBe(404);
    expect((await anon.request('GET', made.json.path)).status).toBe(200);
    const revoked = await clients.admin!.request('DELETE', `/api/embed-tokens/${made.json.jti}`);
    expect(revoked.status, JSON.stringify(revoked.json)).toBe(200);
    expect(revoked.json).toMatchObject({ jti: made.json.jti, revokedBy: 'admin' });
    const r = await anon.request('GET', made.json.path);
    expect(r.status).toBe(401);
    expect(r.json.error.message).toMatch(/revoked on \d{4}-\d\d-\d\dT.*ask for a new one/);
    const again = await clients.admin!.request('DELETE', `/api/embed-tokens/${made.json.jti}`);
    expect(again.json.revokedAt).toBe(revoked.json.revokedAt);
    const audits = (await clients.admin!.request('GET', '/api/audit?action=embed.revoke')).json.rows as { params: { jti: string } }[];
    expect(audits.filter((a) => a.params.jti === made.json.jti)).toHaveLength(1);
    const usable = (await clients.admin!.request('GET', '/api/embed-tokens')).json.links as { jti: string }[];
    expect(usable.map((l) => l.jti)).not.toContain(made.json.jti);
    const everything = (await clients.admin!.request('GET', '/api/embed-tokens?all=true')).json.links as { jti: string; revokedAt?: string }[];
    expect(everything.find((l) => l.jti === made.json.jti)?.revokedAt).toBe(revoked.json.revokedAt);
    expect((await clients.admin!.request('DELETE', '/api/embed-tokens/nosuchlink')).status).toBe(404);
  });

  it('a correctly signed token that this server never recorded is refused', async () => {
    const unrecorded = await signEmbedToken(embedKey(server.services.store.secretKey), { template: templateId, version: 1, params: { line: 'L1' }, by: 'admin' }, 600);
    const r = await new Client(server.url).request('GET', `/embed/${unrecorded.token}`);
    expect(r.status).toBe(401);
    expect(r.json.error.message).toMatch(/not on record/);
  });

  it('a deleted template ends its links (404)', async () => {
    const made = await makeToken(clients.admin!, { templateId, params: { line: 'L1' } });
    await clients.admin!.request('DELETE', `/api/templates/${templateId}`);
    const r = await new Client(server.url).request('GET', made.json.path);
    expect(r.status).toBe(404);
  });
});
