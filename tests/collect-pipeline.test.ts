/**
 * The collector pipeline against a real SQLite trace store: batching by size and by time, journal replay
 * after a crash (torn line, unsealed batch, rows already stored), the journal limit stopping collection
 * loudly, and the database held locked for seconds. Each test counts readings in and rows out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import { openTraceStore } from '../trace/store.js';
import { Journal, JournalFullError } from '../collectors/pipeline/journal.js';
import { toJournalAlarm, toJournalReading } from '../collectors/pipeline/journal-format.js';
import { Pipeline } from '../collectors/pipeline/pipeline.js';
import { dialectTargets } from './support/databases.js';
import type { AlarmChange, Reading } from '../collectors/types.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fixture() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-collect-'));
  const file = path.join(dir, 'trace.sqlite');
  const db = await openTraceStore(file);
  const journalDir = path.join(dir, 'journal');
  cleanups.push(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, file, db, journalDir };
}

const T0 = Date.UTC(2026, 2, 1, 8);
function readings(equipment: string, n: number, from = 0): Reading[] {
  return Array.from({ length: n }, (_, i) => ({ equipment, parameter: 'temp', ts: new Date(T0 + (from + i) * 1000), value: from + i }));
}

async function storedCount(db: DataSource, equipment: string): Promise<number> {
  const rows = await db.query<{ n: number }>('select count(*) as n from sample s join equipment e on e.id = s.equipment_id where e.code = :eq', { eq: equipment });
  return Number(rows[0]!.n);
}

async function storedValues(db: DataSource, equipment: string): Promise<number[]> {
  const rows = await db.query<{ value: number }>('select value from sample s join equipment e on e.id = s.equipment_id where e.code = :eq order by ts', { eq: equipment });
  return rows.map((r) => r.value);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const silent = () => undefined;

describe('collector pipeline', () => {
  it('closes a batch at its size: one journal record set and one transaction per batch', async () => {
    const { db, journalDir } = await fixture();
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 100, maxDelayMs: 600_000 }, log: silent });
    for (const r of readings('SIZE-1', 250)) p.add([r]);
    expect(p.status().batchesSealed).toBe(2);
    expect(await p.drained()).toBe(true);
    expect(p.status()).toMatchObject({ batchesWritten: 2, written: 200, readingsIn: 250 });
    expect(await storedCount(db, 'SIZE-1')).toBe(200);
    // A call bigger than a batch is split at the size limit.
    p.add(readings('SIZE-1', 170, 250));
    expect(p.status().batchesSealed).toBe(4);
    const s = await p.stop();
    expect(s).toMatchObject({ state: 'stopped', readingsIn: 420, written: 420, duplicates: 0, batchesWritten: 5, journalBytes: 0 });
    expect(await storedValues(db, 'SIZE-1')).toEqual(Array.from({ length: 420 }, (_, i) => i));
    // A clean stop leaves nothing to replay.
    expect(fs.readdirSync(journalDir)).toEqual([]);
  });

  it('closes a batch at its time limit without being asked', async () => {
    const { db, journalDir } = await fixture();
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 1_000_000, maxDelayMs: 100 }, log: silent });
    p.add(readings('TIME-1', 7));
    expect(p.status().batchesSealed).toBe(0);
    await until('the time limit to close the batch', () => p.status().batchesWritten === 1);
    expect(await storedCount(db, 'TIME-1')).toBe(7);
    await p.stop();
  });

  it('replays an interrupted journal in order: torn line cut, unsealed batch kept, stored rows not written twice', async () => {
    const { db, journalDir } = await fixture();
    // The previous run: batch 1 (0..99) sealed, batch 2 (100..149) journaled but not sealed, then a torn line.
    const j = new Journal({ dir: journalDir, maxBytes: 1 << 30, onWarning: silent });
    j.appendReadings(readings('REPLAY-1', 100).map(toJournalReading));
    j.appendAlarms([toJournalAlarm(change('raise', 'REPLAY-1', 150, T0 + 99_000))]);
    j.seal();
    j.appendReadings(readings('REPLAY-1', 50, 100).map(toJournalReading));
    j.flush(); // written to the file as at the end of an event-loop turn, never sealed
    const seg = fs.readdirSync(journalDir).find((f) => f.endsWith('.journal'))!;
    fs.appendFileSync(path.join(journalDir, seg), '1234abcd {"b":2,"r":[["REPLAY-1","temp",17');
    // …and it had already stored the first 40 readings of batch 1 when it died (checkpoint not saved).
    const first = Pipeline.start({ db, journal: { dir: path.join(journalDir, '..', 'other'), maxBytes: 1 << 30 }, batch: { size: 40, maxDelayMs: 600_000 }, log: silent });
    first.add(readings('REPLAY-1', 40));
    await first.stop();
    expect(await storedCount(db, 'REPLAY-1')).toBe(40);

    const logs: string[] = [];
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 1000, maxDelayMs: 600_000 }, log: (m) => logs.push(m) });
    expect(logs.join('\n')).toMatch(/torn by a crash/);
    expect(logs.join('\n')).toMatch(/replaying \d+ unwritten journal bytes/);
    expect(await p.drained()).toBe(true);
    expect(p.status()).toMatchObject({ written: 110, duplicates: 40, alarmsWritten: 1 });
    // New readings after the replay follow it.
    p.add(readings('REPLAY-1', 10, 150));
    await p.stop();
    expect(await storedValues(db, 'REPLAY-1')).toEqual(Array.from({ length: 160 }, (_, i) => i));
    const alarms = await db.query('select rule, value, cleared_at from alarm');
    expect(alarms).toEqual([{ rule: 'limit_high', value: 150, cleared_at: null }]);
  });

  it('writes alarm changes through the journal: one open alarm per key, clears set cleared_at, replays change nothing', async () => {
    const { db, journalDir } = await fixture();
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 1000, maxDelayMs: 600_000 }, log: silent });
    const changes: AlarmChange[] = [
      change('raise', 'ALM-1', 131, T0),
      change('raise', 'ALM-1', 135, T0 + 1000), // already open: not a second row
      change('clear', 'ALM-1', 110, T0 + 2000),
      change('raise', 'ALM-1', 140, T0 + 3000),
    ];
    p.add(readings('ALM-1', 4));
    p.addAlarms(changes);
    await p.stop();
    // The same changes again (a replay): nothing changes.
    const again = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 1000, maxDelayMs: 600_000 }, log: silent });
    again.addAlarms(changes);
    const s = await again.stop();
    expect(s.alarmsWritten).toBe(0);
    const rows = await db.query<{ value: number; limit_value: number; severity: string; raised_at: string; cleared_at: string | null }>(
      'select value, limit_value, severity, raised_at, cleared_at from alarm order by raised_at',
    );
    expect(rows).toEqual([
      { value: 131, limit_value: 120, severity: 'critical', raised_at: new Date(T0).toISOString(), cleared_at: new Date(T0 + 2000).toISOString() },
      { value: 140, limit_value: 120, severity: 'critical', raised_at: new Date(T0 + 3000).toISOString(), cleared_at: null },
    ]);
  });

  it('keeps collecting while SQLite is locked by another program for seconds, then drains in order: 0 lost, 0 duplicated', async () => {
    const { db, file, journalDir } = await fixture();
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 50, maxDelayMs: 50 }, retry: { minMs: 50, maxMs: 400 }, log: silent });
    p.add(readings('LOCK-1', 100));
    await until('the first rows', () => p.status().written === 100);
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    let sent = 100;
    // Readings keep arriving while the store is locked; the event loop is never blocked for long.
    await until('the store to be reported down', () => {
      p.add(readings('LOCK-1', 10, sent));
      sent += 10;
      return p.status().db === 'down';
    });
    const lockedUntil = Date.now() + 3000;
    while (Date.now() < lockedUntil) {
      p.add(readings('LOCK-1', 10, sent));
      sent += 10;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(p.status().journalBytes).toBeGreaterThan(0);
    other.exec('COMMIT');
    other.close();
    const s = await p.stop();
    expect(s).toMatchObject({ db: 'up', readingsIn: sent, written: sent, duplicates: 0, journalBytes: 0 });
    expect(await storedValues(db, 'LOCK-1')).toEqual(Array.from({ length: sent }, (_, i) => i));
  });

  it('stops loudly at the journal limit: refused readings are counted and thrown, every accepted one is stored', async () => {
    const { db, file, journalDir } = await fixture();
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    const logs: string[] = [];
    let fatal: Error | undefined;
    const p = Pipeline.start({
      db, journal: { dir: journalDir, maxBytes: 20_000 }, batch: { size: 20, maxDelayMs: 600_000 }, retry: { minMs: 50, maxMs: 200 },
      log: (m) => logs.push(m), onFatal: (e) => (fatal = e),
    });
    let accepted = 0;
    let thrown: unknown;
    for (let i = 0; i < 10_000 && !thrown; i++) {
      try {
        p.add(readings('FULL-1', 1, i));
        accepted++;
      } catch (e) {
        thrown = e;
      }
    }
    expect(thrown).toBeInstanceOf(JournalFullError);
    expect(fatal).toBe(thrown);
    expect(p.status()).toMatchObject({ state: 'full', readingsIn: accepted, refused: 1 });
    expect(p.status().lastError).toMatch(/limit is 20000 \(journal\.maxBytes\)/);
    expect(logs.join('\n')).toMatch(/JOURNAL_FULL: /);
    expect(() => p.add(readings('FULL-1', 3, 20_000))).toThrow(JournalFullError);
    expect(p.status().refused).toBe(4);
    other.exec('COMMIT');
    other.close();
    await until('the journal to drain', () => p.status().journalBytes === 0 && p.status().written === accepted);
    await p.stop();
    expect(await storedCount(db, 'FULL-1')).toBe(accepted);
  });

  it('writes a turn of the event loop to the journal file in one go: at the end of the turn, or at once on writeJournal()', async () => {
    const { db, journalDir } = await fixture();
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 1000, maxDelayMs: 600_000 }, log: silent });
    const bytes = () => fs.readdirSync(journalDir).filter((f) => f.endsWith('.journal')).reduce((n, f) => n + fs.statSync(path.join(journalDir, f)).size, 0);
    const writes = vi.spyOn(fs, 'writevSync');
    try {
      for (let i = 0; i < 50; i++) p.add(readings('TURN-1', 1, i));
      // Taken and counted, not yet in the file.
      expect(p.status().readingsIn).toBe(50);
      expect(bytes()).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(writes).toHaveBeenCalledTimes(1);
      const afterTurn = bytes();
      expect(afterTurn).toBeGreaterThan(50 * 20);
      p.add(readings('TURN-1', 5, 50));
      p.writeJournal();
      expect(bytes()).toBeGreaterThan(afterTurn);
    } finally {
      writes.mockRestore();
    }
    const s = await p.stop();
    expect(s).toMatchObject({ readingsIn: 55, written: 55, refused: 0 });
    expect(await storedValues(db, 'TURN-1')).toEqual(Array.from({ length: 55 }, (_, i) => i));
  });

  it('a turn the disk refuses is not kept: its readings count as refused, writeJournal() throws, collection stops loudly', async () => {
    const { db, journalDir } = await fixture();
    const logs: string[] = [];
    let fatal: Error | undefined;
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 1000, maxDelayMs: 600_000 }, log: (m) => logs.push(m), onFatal: (e) => (fatal = e) });
    p.add(readings('DISK-1', 3));
    p.writeJournal();
    const writes = vi.spyOn(fs, 'writevSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    try {
      p.add(readings('DISK-1', 1, 3));
      p.add(readings('DISK-1', 1, 4));
      expect(() => p.writeJournal()).toThrow(JournalFullError);
    } finally {
      writes.mockRestore();
    }
    expect(fatal).toBeInstanceOf(JournalFullError);
    expect(p.status()).toMatchObject({ state: 'full', readingsIn: 3, refused: 2 });
    expect(p.status().lastError).toMatch(/cannot write the journal .*ENOSPC.*free disk space/);
    expect(logs.join('\n')).toMatch(/JOURNAL_FULL: /);
    expect(() => p.add(readings('DISK-1', 1, 5))).toThrow(JournalFullError);
    await p.stop();
    expect(await storedValues(db, 'DISK-1')).toEqual([0, 1, 2]);
  });

  it('rejects readings no store can keep, and says why', async () => {
    const { db, journalDir } = await fixture();
    const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 1 << 30 }, batch: { size: 100, maxDelayMs: 600_000 }, log: silent });
    p.add([
      { equipment: 'BAD-1', parameter: 'temp', ts: new Date(T0), value: Number.NaN },
      { equipment: 'BAD-1', parameter: 'temp', ts: new Date(Number.NaN), value: 1 },
      { equipment: 'x'.repeat(65), parameter: 'temp', ts: new Date(T0), value: 1 },
      { equipment: 'BAD-1', parameter: 'temp', ts: new Date(T0), value: 2 },
    ]);
    const s = await p.stop();
    expect(s).toMatchObject({ rejected: 3, readingsIn: 1, written: 1 });
    expect(s.lastError).toMatch(/values must be finite numbers/);
  });
});

function change(kind: 'raise' | 'clear', equipment: string, value: number, at: number): AlarmChange {
  return { kind, rule: 'limit_high', equipment, parameter: 'temp', value, limit: 120, severity: 'critical', at: new Date(at), message: `temp ${value} vs USL 120` };
}


const targets = await dialectTargets();

describe.each(targets)('collector pipeline on $label', (target) => {
  it.skipIf(target.unavailable !== '')(
    'many small batches, written as fast as the store takes them (two at once on PostgreSQL): every sample once, alarm raises and clears in order',
    async () => {
      const t = await target.create();
      const db = await openTraceStore(t.url);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-collect-order-'));
      cleanups.push(async () => {
        await db.close();
        await t.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      });
      const p = Pipeline.start({ db, journal: { dir: path.join(dir, 'journal'), maxBytes: 1 << 30 }, batch: { size: 20, maxDelayMs: 600_000 }, log: silent });
      // 60 batches of 20 readings; every batch raises the alarm and the next one clears it.
      const N = 60;
      for (let b = 0; b < N; b++) {
        p.add(readings('ORD-1', 19, b * 20));
        p.addAlarms([change(b % 2 === 0 ? 'raise' : 'clear', 'ORD-1', 100 + b, T0 + b * 20_000 + 19_000)]);
        p.add(readings('ORD-1', 1, b * 20 + 19)); // fills the batch: sealed here, with its alarm
        await new Promise((r) => setTimeout(r, b % 3));
      }
      const s = await p.stop();
      expect(s).toMatchObject({ readingsIn: N * 20, written: N * 20, duplicates: 0, batchesSealed: N, alarmsWritten: N });
      expect(await storedValues(db, 'ORD-1')).toEqual(Array.from({ length: N * 20 }, (_, i) => i));
      const rows = await db.query<{ value: number; cleared_at: unknown }>('select value, cleared_at from alarm order by raised_at');
      expect(rows.map((r) => r.value)).toEqual(Array.from({ length: N / 2 }, (_, i) => 100 + 2 * i));
      expect(rows.every((r) => r.cleared_at !== null)).toBe(true);
    },
    60_000,
  );
});
