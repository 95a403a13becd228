/**
 * The collector heartbeat (collectors/heartbeat.ts) on every database: migration 003's collector_status table both
 * ways, the upsert (insert, then updates of the same row), the heartbeat's beats, its skip while the store is down
 * and its final `stopped` row, the status JSON without secrets, a row of another version or with bad JSON still
 * read. Plus, on SQLite: a heartbeat that cannot write logs once and never throws; `up` by age and state.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import type { CollectorStatus } from '../collectors/collector.js';
import {
  collectorUp,
  defaultCollectorId,
  EMPTY_STORED_STATUS,
  Heartbeat,
  MAX_COLLECTOR_ID,
  readCollectorStatuses,
  writeCollectorStatus,
} from '../collectors/heartbeat.js';
import * as m003 from '../trace/migrations/003-collector-status.js';
import { openTraceStore } from '../trace/store.js';
import { dialectTargets, type TestDatabase } from './support/databases.js';

const targets = await dialectTargets();

function collectorStatus(over: { readingsIn?: number; db?: 'unknown' | 'up' | 'down'; lastError?: string; driverError?: string } = {}): CollectorStatus {
  return {
    pipeline: {
      state: 'running',
      readingsIn: over.readingsIn ?? 0,
      rejected: 1,
      refused: 2,
      alarmsIn: 0,
      written: over.readingsIn ?? 0,
      duplicates: 3,
      alarmsWritten: 0,
      batchesSealed: 1,
      batchesWritten: 1,
      journalBytes: 4096,
      journalSegments: 1,
      replayBytes: 0,
      db: over.db ?? 'up',
      ...(over.lastError ? { lastError: over.lastError, lastErrorAt: new Date(Date.UTC(2026, 2, 1, 8)) } : {}),
    },
    drivers: [
      { name: 'line-1', type: 'mqtt', state: 'connected', readings: over.readingsIn ?? 0, reconnects: 1, ...(over.driverError ? { lastError: over.driverError } : {}) },
      { name: 'press', type: 'modbus', state: 'reconnecting', readings: 0, reconnects: 4, lastError: 'connect ECONNREFUSED 10.0.0.9:502' },
    ],
    rules: { enabled: true, limits: 12, openAlarms: 2, alarmChanges: 5 },
  };
}

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function rowOf(db: DataSource, id: string) {
  return (await readCollectorStatuses(db)).find((r) => r.id === id);
}

describe.each(targets)('collector heartbeat on $label', (target) => {
  let t: TestDatabase;
  let db: DataSource;
  beforeAll(async () => {
    if (target.unavailable) return;
    t = await target.create();
    db = await openTraceStore(t.url);
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  it.skipIf(target.unavailable !== '')('migration 003 creates collector_status and goes both ways', async () => {
    const applied = await db.query<{ name: string }>('select name from tr_migrations order by name');
    expect(applied.map((r) => r.name)).toContain('003-collector-status');
    expect(await readCollectorStatuses(db)).toEqual([]);
    await m003.down(db.knex);
    await expect(readCollectorStatuses(db)).rejects.toThrow(/collector_status/);
    await m003.up(db.knex);
    expect(await readCollectorStatuses(db)).toEqual([]);
  });

  it.skipIf(target.unavailable !== '')('the upsert inserts the row once and then updates it; times keep their milliseconds', async () => {
    const startedAt = new Date(Date.UTC(2026, 2, 1, 8, 0, 0, 123));
    const base = { id: 'edge-1', host: 'edge-host', pid: 4242, startedAt, intervalMs: 5000, state: 'running' as const };
    await writeCollectorStatus(db, { ...base, updatedAt: new Date(Date.UTC(2026, 2, 1, 8, 0, 5, 456)), status: collectorStatus({ readingsIn: 10 }) });
    await writeCollectorStatus(db, { ...base, updatedAt: new Date(Date.UTC(2026, 2, 1, 8, 0, 10, 789)), status: collectorStatus({ readingsIn: 25 }) });
    const rows = (await readCollectorStatuses(db)).filter((r) => r.id === 'edge-1');
    expect(rows).toHaveLength(1);
    const r = rows[0]!;
    expect(r).toMatchObject({ host: 'edge-host', pid: 4242, intervalMs: 5000, state: 'running' });
    expect(r.startedAt.toISOString()).toBe('2026-03-01T08:00:00.123Z');
    expect(r.updatedAt.toISOString()).toBe('2026-03-01T08:00:10.789Z');
    expect(r.status!.pipeline).toMatchObject({ readingsIn: 25, written: 25, duplicates: 3, refused: 2, journalBytes: 4096, db: 'up' });
    expect(r.status!.drivers).toEqual([
      { name: 'line-1', type: 'mqtt', state: 'connected', readings: 25, reconnects: 1 },
      { name: 'press', type: 'modbus', state: 'reconnecting', readings: 0, reconnects: 4, lastError: 'connect ECONNREFUSED 10.0.0.9:502' },
    ]);
    expect(r.status!.rules).toEqual({ enabled: true, limits: 12, openAlarms: 2, alarmChanges: 5 });
  });

  it.skipIf(target.unavailable !== '')('beats carry the current status, skip while the store is down, and the stop writes state stopped', async () => {
    let current = collectorStatus({ readingsIn: 1 });
    const log: string[] = [];
    const hb = new Heartbeat({ db, id: `beat-${target.label}`, status: () => current, log: (m) => log.push(m), intervalMs: 1000 });
    hb.start();
    try {
      await until('the first beat', async () => (await rowOf(db, hb.id))?.status?.pipeline.readingsIn === 1);
      const first = (await rowOf(db, hb.id))!;
      expect(first.state).toBe('running');
      expect(first.pid).toBe(process.pid);
      expect(first.host).toBe(os.hostname());
      expect(collectorUp(first)).toBe(true);
      current = collectorStatus({ readingsIn: 500 });
      await until('a beat with the new figures', async () => (await rowOf(db, hb.id))?.status?.pipeline.readingsIn === 500);
      expect((await rowOf(db, hb.id))!.startedAt.getTime()).toBe(first.startedAt.getTime());

      // The pipeline says the store is down: no write is tried.
      current = collectorStatus({ readingsIn: 900, db: 'down' });
      expect(await hb.beat()).toBe(false);
      expect((await rowOf(db, hb.id))!.status!.pipeline.readingsIn).toBe(500);
    } finally {
      expect(await hb.stop(collectorStatus({ readingsIn: 1000 }))).toBe(true);
    }
    const last = (await rowOf(db, hb.id))!;
    expect(last.state).toBe('stopped');
    expect(last.status!.pipeline.readingsIn).toBe(1000);
    expect(collectorUp(last)).toBe(false);
    // Stopped: no more beats.
    expect(await hb.beat()).toBe(false);
    expect(log).toEqual([]);
  });

  it.skipIf(target.unavailable !== '')('two running collectors with one id: each says so (once), a row left by an earlier run or a stopped one does not count', async () => {
    const id = `shared-${target.label}`;
    const logs = { a: [] as string[], b: [] as string[], c: [] as string[] };
    const make = (who: keyof typeof logs) => new Heartbeat({ db, id, status: () => collectorStatus({ readingsIn: 1 }), log: (m) => logs[who].push(m), intervalMs: 60_000 });
    // An earlier run that crashed (no stop): its row is there, recent, not stopped.
    const crashed = make('c');
    expect(await crashed.beat()).toBe(true);
    const a = make('a');
    expect(await a.beat()).toBe(true);
    expect(await a.beat()).toBe(true);
    expect(logs.a).toEqual([]); // the crashed run's row was only there before a's first write
    const b = make('b');
    expect(await b.beat()).toBe(true);
    expect(await a.beat()).toBe(true);
    expect(await b.beat()).toBe(true);
    const said = new RegExp(`^heartbeat: another collector writes its status as "${id}" too \\(${os.hostname()} process ${process.pid}, started .*give each collector its own --name$`);
    expect(logs.a).toEqual([expect.stringMatching(said)]);
    expect(logs.b).toEqual([expect.stringMatching(said)]);
    // Said once, not at every beat.
    expect(await a.beat()).toBe(true);
    expect(await b.beat()).toBe(true);
    expect(logs.a).toHaveLength(1);
    expect(logs.b).toHaveLength(1);
    // The instance stays out of what the server reads.
    expect(JSON.stringify((await rowOf(db, id))!.status)).not.toContain(a.instance);
    // a stops: b goes on alone without a word.
    expect(await a.stop(collectorStatus({ readingsIn: 2 }))).toBe(true);
    expect(await b.beat()).toBe(true);
    expect(await b.beat()).toBe(true);
    expect(logs.b).toHaveLength(1);
    expect(await b.stop(collectorStatus({ readingsIn: 3 }))).toBe(true);
    expect(logs.c).toEqual([]);
  });

  it.skipIf(target.unavailable !== '')('no secret reaches the stored status, even in an error message', async () => {
    const status = collectorStatus({
      lastError: 'trace store: cannot connect to postgres://writer:pg-secret-1@db.plant:5432/trace',
      driverError: 'mqtts://line:mq-secret-2@broker.plant:8883 refused',
    });
    await writeCollectorStatus(db, { id: 'secret-check', host: 'h', pid: 1, startedAt: new Date(), updatedAt: new Date(), intervalMs: 5000, state: 'running', status });
    const [raw] = await db.knex('collector_status').where({ id: 'secret-check' }).select('status');
    const text = String((raw as { status: string }).status);
    expect(text).not.toMatch(/pg-secret-1|mq-secret-2/);
    expect(text).toContain('postgres://writer:***@db.plant:5432/trace');
    expect(text).toContain('mqtts://line:***@broker.plant:8883');
  });

  it.skipIf(target.unavailable !== '')('a row of another version or with bad JSON is still listed, with the figures it has', async () => {
    const values = (id: string, status: string | null) => ({
      id,
      host: 'old-host',
      pid: 7,
      started_at: db.toDriverValue(new Date()),
      updated_at: db.toDriverValue(new Date()),
      interval_ms: 5000,
      state: 'running',
      status,
    });
    await db.knex('collector_status').insert([
      values('bad-json', '{not json'),
      values('no-status', null),
      values('older', JSON.stringify({ pipeline: { readingsIn: 7, db: 'up', extra: true }, drivers: [{ name: 'd', state: 'connected' }] })),
    ]);
    const rows = await readCollectorStatuses(db);
    expect(rows.find((r) => r.id === 'bad-json')!.status).toBeNull();
    expect(rows.find((r) => r.id === 'no-status')!.status).toBeNull();
    const older = rows.find((r) => r.id === 'older')!.status!;
    expect(older.pipeline).toMatchObject({ readingsIn: 7, written: 0, db: 'up', state: 'unknown' });
    expect(older.drivers).toEqual([{ name: 'd', type: '?', state: 'connected', readings: 0, reconnects: 0 }]);
    expect(older.rules).toEqual(EMPTY_STORED_STATUS.rules);
  });
});

describe('heartbeat without its table (SQLite)', () => {
  it('a failing heartbeat logs once, never throws, and says when it works again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-heartbeat-'));
    const db = await openTraceStore(path.join(dir, 'trace.sqlite'));
    try {
      await m003.down(db.knex);
      const log: string[] = [];
      const hb = new Heartbeat({ db, id: 'no-table', status: () => collectorStatus({ readingsIn: 3 }), log: (m) => log.push(m), intervalMs: 60_000 });
      for (let i = 0; i < 4; i++) expect(await hb.beat()).toBe(false);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatch(/^heartbeat: cannot write this collector's row in collector_status \(.*collector_status.*\); collection goes on/);
      await m003.up(db.knex);
      expect(await hb.beat()).toBe(true);
      expect(log).toHaveLength(2);
      expect(log[1]).toBe('heartbeat: collector_status written again after 4 failed attempt(s)');
      expect(await hb.stop(collectorStatus({ readingsIn: 3 }))).toBe(true);
      expect((await readCollectorStatuses(db))[0]).toMatchObject({ id: 'no-table', state: 'stopped' });
    } finally {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('collector ids and up', () => {
  it('the default id is <host>:<journal folder>, absolute; an id too long for the key keeps its start and a hash', () => {
    expect(defaultCollectorId('data/journal', 'edge-7')).toBe(`edge-7:${path.resolve('data/journal')}`);
    const long = defaultCollectorId(`/${'x'.repeat(400)}`, 'edge-7');
    expect(long).toHaveLength(MAX_COLLECTOR_ID);
    expect(long).toMatch(/^edge-7:\/x+~[0-9a-f]{16}$/);
    expect(defaultCollectorId(`/${'x'.repeat(400)}`, 'edge-8')).not.toBe(long);
  });

  const now = Date.UTC(2026, 2, 1, 8, 0, 0);
  it.each([
    ['running', 0, 5000, true],
    ['running', 15_000, 5000, true],
    ['running', 15_001, 5000, false],
    ['stopping', 4000, 5000, true],
    ['full', 1000, 5000, true],
    ['stopped', 0, 5000, false],
    ['running', 59_000, 20_000, true],
    ['running', -3000, 5000, true], // the collector's clock a little ahead
  ] as const)('state %s, %i ms old, interval %i ms → up %s', (state, age, intervalMs, up) => {
    expect(collectorUp({ state, updatedAt: new Date(now - age), intervalMs }, now)).toBe(up);
  });
});
