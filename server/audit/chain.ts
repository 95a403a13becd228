/**
 * The audit trail: each row's hash is HMAC-SHA-256 (keyed from the server's secret key) over the
 * previous row's hash and the row's own content, so editing, removing or inserting a row breaks the
 * chain, and a row cannot be forged without the key. Rows are appended under a lock on the chain's
 * head row, so several nodes writing at once still form one chain.
 */
import { createHmac } from 'node:crypto';
import type { Knex } from 'knex';
import { deriveKey } from '../store/secret-key.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  user?: string | null;
  address?: string | null;
  /** login, login.failed, logout, template.create, template.update, template.delete, template.restore,
   *  datasource.create, datasource.update, datasource.delete, datasource.test, report.view, report.export, trace, user.create … */
  action: string;
  object?: string | null;
  params?: unknown;
  before?: unknown;
  after?: unknown;
}

/** A row as stored: JSON columns are text, hashed exactly as stored. */
export interface AuditRow {
  seq: number | string;
  at: string;
  user_name: string | null;
  address: string | null;
  action: string;
  object: string | null;
  params: string | null;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
}

export const auditKey = (secretKey: Buffer): Buffer => deriveKey(secretKey, 'audit chain');

/** The hash of a row from its stored columns (its sequence number is not part of it: order is, through prev_hash). */
export function rowHash(key: Buffer, row: Omit<AuditRow, 'seq' | 'hash'>): string {
  const content = JSON.stringify([row.prev_hash, row.at, row.user_name, row.address, row.action, row.object, row.params, row.before, row.after]);
  return createHmac('sha256', key).update(content, 'utf8').digest('hex');
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

/** Appends one row to the chain; returns its sequence number. */
export async function appendAudit(knex: Knex, key: Buffer, entry: AuditEntry): Promise<number> {
  return knex.transaction(async (trx) => {
    const head = (await trx('srv_audit_head').where({ id: 1 }).forUpdate().first()) as { seq: number | string; hash: string };
    const seq = Number(head.seq) + 1;
    const row: Omit<AuditRow, 'seq' | 'hash'> = {
      at: new Date().toISOString(),
      user_name: entry.user ?? null,
      address: entry.address ?? null,
      action: entry.action,
      object: entry.object ?? null,
      params: json(entry.params),
      before: json(entry.before),
      after: json(entry.after),
      prev_hash: head.hash,
    };
    const hash = rowHash(key, row);
    await trx('srv_audit').insert({ seq, ...row, hash });
    await trx('srv_audit_head').where({ id: 1 }).update({ seq, hash });
    return seq;
  });
}
