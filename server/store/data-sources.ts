/**
 * Data sources the reports read (besides the trace store): a URL without its password, the
 * password sealed with AES-256-GCM under the server key, and per-source limits. The password
 * leaves this module only inside the URL handed to the database driver.
 */
import path from 'node:path';
import type { Knex } from 'knex';
import { TraceReportError } from '../../datasources/errors.js';
import { parseSourceUrl } from '../../datasources/source-url.js';
import { decryptSecret, encryptSecret } from './crypto.js';
import { deriveKey } from './secret-key.js';
import { nowIso } from './open.js';

const AAD = 'tracereport data-source password';

export interface DataSourceInfo {
  id: number;
  name: string;
  /** The URL without a password. */
  url: string;
  dialect: string;
  hasPassword: boolean;
  rowLimit: number | null;
  statementTimeoutMs: number | null;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: number;
  name: string;
  url: string;
  password_enc: string | null;
  row_limit: number | null;
  statement_timeout_ms: number | null;
  created_at: string;
  updated_at: string;
}

export interface DataSourceInput {
  name?: string;
  url?: string;
  /** A new password; `null` removes it; absent keeps it. */
  password?: string | null;
  rowLimit?: number | null;
  statementTimeoutMs?: number | null;
}

/** Splits a password out of a URL: the URL is stored without it. */
export function splitPassword(url: string): { url: string; password: string | undefined } {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return { url, password: undefined };
  const u = new URL(url);
  if (!u.password) return { url, password: undefined };
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), password };
}

function withPassword(url: string, password: string | undefined): string {
  if (!password) return url;
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

const info = (r: Row): DataSourceInfo => ({
  id: Number(r.id),
  name: r.name,
  url: r.url,
  dialect: parseSourceUrl(r.url).dialect,
  hasPassword: r.password_enc !== null,
  rowLimit: r.row_limit === null ? null : Number(r.row_limit),
  statementTimeoutMs: r.statement_timeout_ms === null ? null : Number(r.statement_timeout_ms),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class DataSourceStore {
  private readonly key: Buffer;

  constructor(
    private readonly knex: Knex,
    secretKey: Buffer,
    /** The server's data folder: no data source may point into it (the config database, the key). */
    private readonly dataDir?: string,
  ) {
    this.key = deriveKey(secretKey, 'data-source passwords');
  }

  private validate(input: DataSourceInput, creating: boolean): void {
    if (creating || input.name !== undefined) {
      if (typeof input.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(input.name)) {
        throw new TraceReportError('BODY_INVALID', 'name: a letter or underscore, then letters, digits or underscores (at most 64)', { path: '$.name' });
      }
      if (input.name === 'trace') throw new TraceReportError('BODY_INVALID', '"trace" is the trace store; pick another name', { path: '$.name' });
    }
    if (creating || input.url !== undefined) {
      if (typeof input.url !== 'string') throw new TraceReportError('BODY_INVALID', 'url: a postgres://, mysql://, mssql:// URL or a SQLite path', { path: '$.url' });
      const spec = parseSourceUrl(input.url);
      if (spec.dialect === 'sqlite' && this.dataDir && (spec.database + path.sep).startsWith(path.resolve(this.dataDir) + path.sep)) {
        throw new TraceReportError('BODY_INVALID', "url: a data source may not point into the server's data folder", { path: '$.url' });
      }
    }
    if (input.password !== undefined && input.password !== null && typeof input.password !== 'string') {
      throw new TraceReportError('BODY_INVALID', 'password: text, or null to remove it', { path: '$.password' });
    }
    for (const k of ['rowLimit', 'statementTimeoutMs'] as const) {
      const v = input[k];
      if (v !== undefined && v !== null && !(Number.isInteger(v) && v > 0)) throw new TraceReportError('BODY_INVALID', `${k}: a whole number above 0, or null`, { path: `$.${k}` });
    }
  }

  async list(): Promise<DataSourceInfo[]> {
    return ((await this.knex('srv_data_source').orderBy('name')) as Row[]).map(info);
  }

  private async row(id: number): Promise<Row> {
    const r = (await this.knex('srv_data_source').where({ id }).first()) as Row | undefined;
    if (!r) throw new TraceReportError('NOT_FOUND', `no data source with id ${id}`, { id });
    return r;
  }

  async get(id: number): Promise<DataSourceInfo> {
    return info(await this.row(id));
  }

  async create(input: DataSourceInput): Promise<DataSourceInfo> {
    this.validate(input, true);
    const split = splitPassword(input.url!);
    const password = input.password ?? split.password;
    if (await this.knex('srv_data_source').where({ name: input.name }).first()) throw new TraceReportError('CONFLICT', `a data source named "${input.name}" exists`);
    const now = nowIso();
    await this.knex('srv_data_source').insert({
      name: input.name,
      url: split.url,
      password_enc: password ? encryptSecret(this.key, password, AAD) : null,
      row_limit: input.rowLimit ?? null,
      statement_timeout_ms: input.statementTimeoutMs ?? null,
      created_at: now,
      updated_at: now,
    });
    return info((await this.knex('srv_data_source').where({ name: input.name }).first()) as Row);
  }

  async update(id: number, input: DataSourceInput): Promise<{ before: DataSourceInfo; after: DataSourceInfo }> {
    this.validate(input, false);
    const old = await this.row(id);
    const patch: Partial<Row> = { updated_at: nowIso() };
    if (input.name !== undefined && input.name !== old.name) {
      if (await this.knex('srv_data_source').where({ name: input.name }).first()) throw new TraceReportError('CONFLICT', `a data source named "${input.name}" exists`);
      patch.name = input.name;
    }
    let password = input.password;
    if (input.url !== undefined) {
      const split = splitPassword(input.url);
      patch.url = split.url;
      if (password === undefined && split.password !== undefined) password = split.password;
    }
    if (password !== undefined) patch.password_enc = password ? encryptSecret(this.key, password, AAD) : null;
    if (input.rowLimit !== undefined) patch.row_limit = input.rowLimit;
    if (input.statementTimeoutMs !== undefined) patch.statement_timeout_ms = input.statementTimeoutMs;
    await this.knex('srv_data_source').where({ id }).update(patch);
    return { before: info(old), after: await this.get(id) };
  }

  async delete(id: number): Promise<DataSourceInfo> {
    const old = await this.row(id);
    await this.knex('srv_data_source').where({ id }).delete();
    return info(old);
  }

  /** The connection URL with its password, for the driver only. */
  async connectionUrl(id: number): Promise<{ name: string; url: string; rowLimit?: number; statementTimeoutMs?: number }> {
    const r = await this.row(id);
    return {
      name: r.name,
      url: withPassword(r.url, r.password_enc ? decryptSecret(this.key, r.password_enc, AAD) : undefined),
      rowLimit: r.row_limit ?? undefined,
      statementTimeoutMs: r.statement_timeout_ms ?? undefined,
    };
  }

  /** Every source as name → URL with password (for a render). */
  async allConnectionUrls(): Promise<Record<string, string>> {
    const rows = (await this.knex('srv_data_source').select('id')) as { id: number }[];
    const out: Record<string, string> = {};
    for (const r of rows) {
      const c = await this.connectionUrl(Number(r.id));
      out[c.name] = c.url;
    }
    return out;
  }
}
