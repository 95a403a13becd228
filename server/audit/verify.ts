/**
 * Walks the audit chain in order and reports every row that was changed, removed or inserted.
 * A row is `changed` when its own hash does not match its content, `removed` when rows before it
 * are missing (its link points at a hash that is not the previous row's), `inserted` when the chain
 * runs past it (the next row links to the row before it) or it lies beyond the recorded head.
 */
import type { Knex } from 'knex';
import { GENESIS_HASH, rowHash, type AuditRow } from './chain.js';

export interface AuditProblem {
  seq: number;
  kind: 'changed' | 'removed' | 'inserted';
  message: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  rows: number;
  head: { seq: number; hash: string };
  problems: AuditProblem[];
}

const PAGE = 1000;

async function* rowsInOrder(knex: Knex): AsyncGenerator<AuditRow> {
  let after = Number.NEGATIVE_INFINITY;
  for (;;) {
    const q = knex('srv_audit').orderBy('seq').limit(PAGE);
    const page = (await (Number.isFinite(after) ? q.where('seq', '>', after) : q)) as AuditRow[];
    yield* page;
    if (page.length < PAGE) return;
    after = Number(page[page.length - 1]!.seq);
  }
}

export async function verifyAudit(knex: Knex, key: Buffer, maxProblems = 100): Promise<AuditVerifyResult> {
  const headRow = (await knex('srv_audit_head').where({ id: 1 }).first()) as { seq: number | string; hash: string } | undefined;
  const head = { seq: Number(headRow?.seq ?? 0), hash: headRow?.hash ?? GENESIS_HASH };
  const problems: AuditProblem[] = [];
  let prev = GENESIS_HASH;
  let rows = 0;
  let lastSeq = 0;
  const it = rowsInOrder(knex);
  let next = (await it.next()).value as AuditRow | undefined;
  while (next && problems.length < maxProblems) {
    const row = next;
    next = (await it.next()).value as AuditRow | undefined;
    rows++;
    const seq = Number(row.seq);
    lastSeq = seq;
    const selfOk = rowHash(key, row) === row.hash;
    const linkOk = row.prev_hash === prev;
    if (selfOk && linkOk) {
      prev = row.hash;
      continue;
    }
    if (next && next.prev_hash === prev) {
      problems.push({ seq, kind: 'inserted', message: `row ${seq} was inserted: the chain runs from the row before it to the row after it` });
      continue;
    }
    if (!selfOk && seq > head.seq) {
      problems.push({ seq, kind: 'inserted', message: `row ${seq} was inserted after the last row the server wrote (${head.seq})` });
    } else if (!selfOk) {
      problems.push({ seq, kind: 'changed', message: `row ${seq} was changed: its content does not match its hash` });
    } else {
      problems.push({ seq, kind: 'removed', message: `row(s) before row ${seq} were removed: it links to a hash that is not the previous row's` });
    }
    prev = row.hash;
  }
  if (problems.length < maxProblems && lastSeq < head.seq) {
    problems.push({ seq: lastSeq + 1, kind: 'removed', message: `rows ${lastSeq + 1}–${head.seq} were removed: the server's last row is ${head.seq}` });
  } else if (problems.length === 0 && prev !== head.hash) {
    problems.push({ seq: lastSeq, kind: 'changed', message: `row ${lastSeq} does not match the chain head the server recorded` });
  }
  return { ok: problems.length === 0, rows, head, problems };
}
