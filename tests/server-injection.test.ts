/**
 * Parameter values are only ever bound: through the render API, injection strings in string, number,
 * multi-value, date, datetime and boolean parameters return no extra rows (or are refused as invalid
 * before any query runs) on SQLite, PostgreSQL and MariaDB, and the table is intact afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectTargets, seedTable, type TestDatabase } from './support/databases.js';
import { Client, startTestServer, type TestServer } from './server-support.js';

const INJECTIONS = [
  "' OR '1'='1",
  "A' OR 'x'='x' -- ",
  "x'; DROP TABLE item; --",
  '" OR ""="',
  '1) OR (1=1',
  "\\' OR 1=1 #",
  "A'/**/OR/**/1=1/*",
  "' UNION SELECT code FROM item --",
  '1 OR 1=1',
  '0x41',
];

let server: TestServer;
let admin: Client;
const dbs: { label: string; db: TestDatabase; templates: Record<string, number> }[] = [];

function template(name: string, source: string, param: Record<string, unknown>, where: string) {
  return {
    format: 1,
    kind: 'grid',
    name,
    parameters: [param],
    datasets: [{ name: 'rows', source, sql: `select code from item where ${where} order by code` }],
    sheets: [{ name: 'Rows', cells: { A1: { field: 'rows.code', display: 'list' } } }],
  };
}

const CASES = {
  string: [{ name: 'p', type: 'string' }, 'code = :p'],
  optional: [{ name: 'p', type: 'string' }, '1=1 {{#if p}} and code = :p{{/if}}'],
  number: [{ name: 'p', type: 'number' }, 'qty = :p'],
  multi: [{ name: 'p', type: 'string', multi: true }, 'code in (:p)'],
  date: [{ name: 'p', type: 'date' }, 'made = :p'],
  datetime: [{ name: 'p', type: 'datetime' }, 'at = :p'],
  boolean: [{ name: 'p', type: 'boolean' }, 'ok = :p'],
} as const;

beforeAll(async () => {
  const targets = (await dialectTargets()).filter((t) => t.dialect !== 'mssql');
  server = await startTestServer();
  admin = new Client(server.url);
  await admin.login('admin', (await import('./server-support.js')).ADMIN_PASSWORD);
  const folderId = (await admin.request('POST', '/api/folders', { name: 'Injection' })).json.folder.id;
  for (const t of targets) {
    if (t.unavailable) throw new Error(`${t.label} is needed for this suite: ${t.unavailable}`);
    const db = await t.create();
    await seedTable(
      db.url,
      'item',
      (tb) => {
        tb.string('code', 20);
        tb.integer('qty');
        tb.string('made', 10);
        tb.string('at', 30);
        tb.integer('ok');
      },
      [
        { code: 'A', qty: 1, made: '2026-01-01', at: '2026-01-01T08:00:00.000Z', ok: 1 },
        { code: 'B', qty: 2, made: '2026-01-02', at: '2026-01-02T08:00:00.000Z', ok: 0 },
        { code: 'C', qty: 3, made: '2026-01-03', at: '2026-01-03T08:00:00.000Z', ok: 1 },
      ],
    );
    const source = `db_${t.label}`;
    const created = await admin.request('POST', '/api/datasources', { name: source, url: db.url });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const templates: Record<string, number> = {};
    for (const [kind, [param, where]] of Object.entries(CASES)) {
      const r = await admin.request('POST', '/api/templates', { folderId, template: template(`${kind} on ${t.label}`, source, param, where) });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      templates[kind] = r.json.template.id;
    }
    dbs.push({ label: t.label, db, templates });
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const d of dbs) await d.db.drop();
});

/** The codes a render returns (CSV), or the error code. */
async function codes(id: number, value: unknown): Promise<string[] | string> {
  const r = await admin.request('POST', `/api/reports/${id}/render`, { format: 'csv', params: { p: value } });
  if (r.status !== 200) return r.json.error.code as string;
  return r.bytes
    .toString('utf8')
    .replace(/^\ufeff/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

describe.each(['sqlite', 'postgres', 'mariadb'])('injection through the render API on %s', (label) => {
  const t = () => dbs.find((d) => d.label === label)!.templates;

  it('honest values find their rows (the templates work)', async () => {
    expect(await codes(t().string!, 'B')).toEqual(['B']);
    expect(await codes(t().optional!, null)).toEqual(['A', 'B', 'C']);
    expect(await codes(t().number!, 3)).toEqual(['C']);
    expect(await codes(t().multi!, ['A', 'C'])).toEqual(['A', 'C']);
  });

  it.each(INJECTIONS)('string and optional-clause parameters: %j matches nothing', async (inj) => {
    expect(await codes(t().string!, inj)).toEqual([]);
    expect(await codes(t().optional!, inj)).toEqual([]);
  });

  it.each(INJECTIONS)('multi-value parameter: [A, %j] returns only A', async (inj) => {
    expect(await codes(t().multi!, ['A', inj])).toEqual(['A']);
  });

  it.each(INJECTIONS)('number, date, datetime and boolean parameters: %j is refused or bound as a value that matches nothing', async (inj) => {
    for (const kind of ['number', 'date', 'datetime', 'boolean'] as const) {
      const got = await codes(t()[kind]!, inj);
      // Refused as not of the type, or (like "0x41", the number 65) converted and bound: never a row more.
      if (got !== 'PARAM_INVALID') expect(got, `${kind} ${inj}`).toEqual([]);
    }
  });

  it('the table is intact afterwards', async () => {
    expect(await codes(t().optional!, null)).toEqual(['A', 'B', 'C']);
  });
});
