/**
 * Row-level security: a dataset filtered by `:$user.plant` shows a plant-A user only plant-A rows in
 * every output (paged HTML, HTML, PDF, XLSX, CSV), in parameter options and defaults, through the
 * query cache and through an embed link the user made; a request cannot supply `$user.*`; a user
 * without the attribute sees nothing. On SQLite, PostgreSQL and MariaDB.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectTargets, seedTable, type TestDatabase } from './support/databases.js';
import { ADMIN_PASSWORD, Client, startTestServer, type TestServer } from './server-support.js';

const A_LOTS = ['LOT-A-001', 'LOT-A-002'];
const B_LOTS = ['LOT-B-001', 'LOT-B-002'];
const ALL = [...A_LOTS, ...B_LOTS];

let server: TestServer;
let admin: Client;
const users: Record<'alice' | 'bob' | 'carol' | 'dora', Client> = {} as never;
const dbs: { label: string; db: TestDatabase; template: number }[] = [];

function template(name: string, source: string) {
  return {
    format: 1,
    kind: 'grid',
    name,
    parameters: [
      { name: 'lot', type: 'string' },
      // Options and the default come from the same filtered table: the panel must not leak either.
      { name: 'pick', type: 'string', options: { dataset: 'lots' }, default: { dataset: 'lots' } },
    ],
    datasets: [
      {
        name: 'rows',
        source,
        cacheTtl: 60,
        sql: 'select plant, lot, qty from batch where plant in (:$user.plant) {{#if lot}} and lot = :lot{{/if}} order by lot',
      },
      { name: 'lots', source, sql: 'select lot from batch where plant in (:$user.plant) order by lot' },
    ],
    sheets: [
      {
        name: 'Batches',
        cells: {
          A1: { text: 'Plant' },
          B1: { text: 'Lot' },
          A2: { field: 'rows.plant', display: 'list' },
          B2: { field: 'rows.lot', display: 'list' },
          C2: { field: 'rows.qty', display: 'list' },
        },
      },
    ],
  };
}

async function makeUser(name: string, attributes: Record<string, unknown>, role = 'viewer'): Promise<Client> {
  const password = `Pw-${name.length}x-row-level-2026`;
  const c = await admin.request('POST', '/api/users', { username: name, password, roles: [role], attributes });
  expect(c.status, JSON.stringify(c.json)).toBe(201);
  const client = new Client(server.url);
  expect((await client.login(name, password)).status).toBe(200);
  return client;
}

beforeAll(async () => {
  const targets = (await dialectTargets()).filter((t) => t.dialect !== 'mssql');
  server = await startTestServer();
  admin = new Client(server.url);
  await admin.login('admin', ADMIN_PASSWORD);
  const folderId = (await admin.request('POST', '/api/folders', { name: 'Plants' })).json.folder.id as number;
  const g = await admin.request('PUT', `/api/folders/${folderId}/grants`, {
    grants: [
      { subjectKind: 'role', subject: 'viewer', permission: 'view' },
      { subjectKind: 'role', subject: 'viewer', permission: 'export' },
      { subjectKind: 'role', subject: 'designer', permission: 'view' },
    ],
  });
  expect(g.status, JSON.stringify(g.json)).toBe(200);
  users.alice = await makeUser('alice', { plant: 'A' });
  users.bob = await makeUser('bob', { plant: ['B'] });
  users.carol = await makeUser('carol', {});
  users.dora = await makeUser('dora', { plant: 'A' }, 'designer'); // designers make embed links
  for (const t of targets) {
    if (t.unavailable) throw new Error(`${t.label} is needed for this suite: ${t.unavailable}`);
    const db = await t.create();
    await seedTable(
      db.url,
      'batch',
      (tb) => {
        tb.string('plant', 5);
        tb.string('lot', 20);
        tb.integer('qty');
      },
      ALL.map((lot, i) => ({ plant: lot.slice(4, 5), lot, qty: 10 + i })),
    );
    const source = `rls_${t.label}`;
    const created = await admin.request('POST', '/api/datasources', { name: source, url: db.url });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const r = await admin.request('POST', '/api/templates', { folderId, template: template(`Plant batches on ${t.label}`, source) });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    dbs.push({ label: t.label, db, template: r.json.template.id });
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const d of dbs) await d.db.drop();
});

/** The lot codes visible in a render's text. */
function lotsIn(text: string): string[] {
  return ALL.filter((l) => text.includes(l));
}

async function renderText(client: Client, id: number, format: 'html' | 'pdf' | 'xlsx' | 'csv', params: Record<string, unknown> = {}): Promise<string> {
  const r = await client.request('POST', `/api/reports/${id}/render`, { format, params });
  expect(r.status, r.json ? JSON.stringify(r.json) : format).toBe(200);
  if (format === 'html' || format === 'csv') return r.bytes.toString('utf8');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracereport-rls-'));
  try {
    const file = path.join(dir, `r.${format}`);
    fs.writeFileSync(file, r.bytes);
    if (format === 'pdf') return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const cells: string[] = [];
    wb.eachSheet((ws) => ws.eachRow((row) => row.eachCell((c) => cells.push(String(c.value)))));
    return cells.join('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(['sqlite', 'postgres', 'mariadb'])('row-level security on %s', (label) => {
  const id = () => dbs.find((d) => d.label === label)!.template;

  it.each(['html', 'pdf', 'xlsx', 'csv'] as const)('a plant-A user sees only plant-A rows in %s, a plant-B user only plant-B rows', async (format) => {
    expect(lotsIn(await renderText(users.alice, id(), format))).toEqual(A_LOTS);
    expect(lotsIn(await renderText(users.bob, id(), format))).toEqual(B_LOTS);
  });

  it('the paged viewer HTML is filtered the same way, also after the other plant filled the cache', async () => {
    for (const who of ['bob', 'alice', 'bob'] as const) {
      const r = await users[who].request('POST', `/api/reports/${id()}/page`, { params: {}, page: 1 });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(lotsIn(r.json.html)).toEqual(who === 'alice' ? A_LOTS : B_LOTS);
    }
  });

  it('asking for the other plant\'s lot by parameter finds nothing', async () => {
    expect(lotsIn(await renderText(users.alice, id(), 'csv', { lot: 'LOT-B-001' }))).toEqual([]);
    expect(lotsIn(await renderText(users.alice, id(), 'csv', { lot: 'LOT-A-002' }))).toEqual(['LOT-A-002']);
  });

  it('parameter options and defaults come from the user\'s rows only', async () => {
    const r = await users.alice.request('POST', `/api/reports/${id()}/parameters`, { params: {} });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const pick = r.json.parameters.find((p: { name: string }) => p.name === 'pick');
    expect(pick.options.map((o: { value: string }) => o.value)).toEqual(A_LOTS);
    expect(pick.value).toBe('LOT-A-001');
  });

  it('a request cannot supply a $user value, in any route', async () => {
    for (const [route, body] of [
      ['render', { format: 'csv', params: { '$user.plant': 'B' } }],
      ['page', { page: 1, params: { '$user.plant': 'B' } }],
      ['parameters', { params: { '$user.plant': 'B' } }],
    ] as const) {
      const r = await users.alice.request('POST', `/api/reports/${id()}/${route}`, body);
      expect(r.status, route).toBe(400);
      expect(r.json.error.code).toBe('PARAM_UNKNOWN');
      expect(r.json.error.message).toMatch(/logged-in user/);
    }
  });

  it('a user without the attribute sees no rows (missing means none, not all)', async () => {
    expect(lotsIn(await renderText(users.carol, id(), 'csv'))).toEqual([]);
  });

  it('an embed link shows what its maker may see', async () => {
    const token = await users.dora.request('POST', '/api/embed-tokens', { templateId: id(), params: {} });
    expect(token.status, JSON.stringify(token.json)).toBe(201);
    const page = await new Client(server.url).request('GET', token.json.path);
    expect(page.status).toBe(200);
    expect(lotsIn(page.bytes.toString('utf8'))).toEqual(A_LOTS);
  });
});

describe('user attributes are checked where they enter', () => {
  it.each([
    [{ 'bad name': 'A' }, /attributes\.bad name/],
    [{ plant: { nested: true } }, /text, a number/],
    [{ roles: 'admin' }, /other than id, username and roles/],
  ])('%j is refused', async (attributes, message) => {
    const r = await admin.request('POST', '/api/users', { username: 'eve', password: "Pw-3x-row-level-2026", roles: ['viewer'], attributes });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(message);
  });
});
