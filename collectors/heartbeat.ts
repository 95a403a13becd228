/**
 * The collector's heartbeat: its row in the trace store's `collector_status` table (migration 003), upserted at
 * start, every 5 s and at stop (state `stopped`), holding the collector's status as JSON. The server reads the
 * table for `GET /api/collectors`, `/metrics` and the viewer's collectors page: collectors and servers are
 * separate processes, often on separate machines, and the trace store they share is the link (DESIGN §8).
 *
 * The heartbeat runs on its own timer, off the readings' path, one write at a time. It never stops collection:
 * while the pipeline knows the store is down it skips; a failed write is logged once (again at most every
 * 10 minutes while it keeps failing, and once when it works again).
 *
 * Each heartbeat also writes its own random instance id into the status; from its second beat on it checks that the
 * row is still the one it wrote, and says loudly (at most every 10 minutes) when another running collector writes
 * the same id — two collectors given one `--name` would otherwise overwrite each other's row without a word.
 *
 * "Up" (collectorUp) is judged on the wall clocks of the collector's and the reader's hosts: keep them in sync (NTP).
 */
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { DataSource } from '../datasources/data-source.js';
import { redactUrl } from '../datasources/source-url.js';
import type { CollectorStatus } from './collector.js';

export const COLLECTOR_STATUS_TABLE = 'collector_status';
export const HEARTBEAT_INTERVAL_MS = 5000;
/** A collector is up while its row is younger than this many heartbeat intervals (and not stopped). */
export const UP_INTERVALS = 3;
/** Longest collector id (the table's key). */
export const MAX_COLLECTOR_ID = 255;
/** Longest text kept for one string of the status (error messages). */
const MAX_TEXT = 1000;
const RELOG_MS = 10 * 60 * 1000;

export type CollectorState = 'running' | 'full' | 'stopping' | 'stopped';

/**
 * The id a collector goes by when it is not given one: `<host>:<journal folder>` (one journal folder belongs to one
 * collector process, so this is unique and survives restarts). Ids longer than the key allows keep their start
 * and a hash of the whole.
 */
export function defaultCollectorId(journalDir: string, host = os.hostname()): string {
  return boundedId(`${host}:${path.resolve(journalDir)}`);
}

function boundedId(id: string): string {
  if (id.length <= MAX_COLLECTOR_ID) return id;
  return `${id.slice(0, MAX_COLLECTOR_ID - 17)}~${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

/**
 * The status as stored: JSON with every string passed through the URL redaction (the status holds no secrets by
 * construction — drivers, pipeline and notifier redact their messages — this is a second guard) and cut at
 * 1000 characters, so the row stays small whatever an error message says.
 */
export function statusJson(status: CollectorStatus & { instance?: string }): string {
  return JSON.stringify(status, (_key, value: unknown) => (typeof value === 'string' ? redactUrl(value).slice(0, MAX_TEXT) : value));
}

// ------------------------------------------------------------------ writing

export interface CollectorStatusWrite {
  id: string;
  host: string;
  pid: number;
  startedAt: Date;
  updatedAt: Date;
  intervalMs: number;
  state: CollectorState;
  status: CollectorStatus;
  /** The writing heartbeat's random id, stored with the status (tells two collectors of one id apart). */
  instance?: string;
}

/**
 * Upserts the collector's row: an update by id, else an insert (an insert that loses a race to another writer of
 * the same id is followed by the update). Plain statements, the same on every store.
 */
export async function writeCollectorStatus(db: DataSource, row: CollectorStatusWrite, timeoutMs = 10_000): Promise<void> {
  const values = {
    host: row.host.slice(0, 255),
    pid: row.pid,
    started_at: db.toDriverValue(row.startedAt),
    updated_at: db.toDriverValue(row.updatedAt),
    interval_ms: row.intervalMs,
    state: row.state,
    status: statusJson(row.instance ? { ...row.status, instance: row.instance } : row.status),
  };
  const cancel = { cancel: db.dialect !== 'sqlite' };
  const update = async () => Number(await db.knex(COLLECTOR_STATUS_TABLE).where({ id: row.id }).update(values).timeout(timeoutMs, cancel));
  try {
    if ((await update()) > 0) return;
    try {
      await db.knex(COLLECTOR_STATUS_TABLE).insert({ id: row.id, ...values }).timeout(timeoutMs, cancel);
    } catch (e) {
      if ((await update()) > 0) return;
      throw e;
    }
  } catch (e) {
    throw db.wrapError(e);
  }
}

/** Who wrote a collector's row last: the heartbeat instance in its status, its process, its state; undefined: no row. */
export async function readCollectorWriter(
  db: DataSource,
  id: string,
  timeoutMs = 10_000,
): Promise<{ instance: string | undefined; host: string; pid: number; state: string; startedAt: Date } | undefined> {
  let row: Record<string, unknown> | undefined;
  try {
    row = await db
      .knex(COLLECTOR_STATUS_TABLE)
      .select('host', 'pid', 'state', 'started_at', 'status')
      .where({ id })
      .first()
      .timeout(timeoutMs, { cancel: db.dialect !== 'sqlite' });
  } catch (e) {
    throw db.wrapError(e);
  }
  if (!row) return undefined;
  let instance: string | undefined;
  try {
    const parsed: unknown = JSON.parse(String(row.status ?? ''));
    const v = (parsed as { instance?: unknown } | null)?.instance;
    instance = typeof v === 'string' ? v : undefined;
  } catch {
    instance = undefined;
  }
  return { instance, host: String(row.host), pid: Number(row.pid), state: String(row.state), startedAt: asDate(row.started_at) };
}

export interface HeartbeatOptions {
  db: DataSource;
  /** The collector's id (see defaultCollectorId). */
  id: string;
  /** The collector's status, read at each beat. */
  status: () => CollectorStatus;
  log: (message: string) => void;
  /** Default 5000 ms. */
  intervalMs?: number;
}

export class Heartbeat {
  readonly id: string;
  readonly intervalMs: number;
  private readonly startedAt = new Date();
  private readonly host = os.hostname();
  /** This heartbeat's own id, written with each status. */
  readonly instance = randomUUID();
  private written = false;
  private lastSharedLogAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<boolean> | undefined;
  private failingSince: number | undefined;
  private failures = 0;
  private lastLogAt = 0;
  private stopped = false;

  constructor(private readonly opts: HeartbeatOptions) {
    const id = opts.id.trim();
    if (!id) throw new Error('heartbeat: the collector id is empty');
    this.id = boundedId(id);
    this.intervalMs = opts.intervalMs ?? HEARTBEAT_INTERVAL_MS;
  }

  /** The first beat now, then one every interval (the timer does not keep the process alive). */
  start(): void {
    if (this.timer || this.stopped) return;
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  /**
   * Writes the row now with the collector's current state, unless a write is still under way or the pipeline knows
   * the store is down. Never throws; true when written.
   */
  beat(): Promise<boolean> {
    if (this.inFlight || this.stopped) return Promise.resolve(false);
    const status = this.opts.status();
    if (status.pipeline.db === 'down') return Promise.resolve(false);
    return this.write(status.pipeline.state, status);
  }

  /**
   * Stops the timer and writes the final row (state `stopped`, the final status), waiting at most `timeoutMs` for
   * a write under way and for its own. Skipped when the store is down. Never throws; true when written.
   */
  async stop(final: CollectorStatus, timeoutMs = 3000): Promise<boolean> {
    this.stopped = true;
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    if (this.inFlight) await within(this.inFlight, timeoutMs);
    if (this.inFlight || final.pipeline.db === 'down') return false;
    return (await within(this.write('stopped', final), Math.max(0, deadline - Date.now()))) ?? false;
  }

  /**
   * After this heartbeat's first write, the row should hold its instance until its next write: another running
   * collector's instance there means two collectors share this id. Said at once, then at most every 10 minutes.
   * A row left by an earlier run of this collector (crashed or stopped) is not a conflict: it is checked only after
   * this run wrote once. A failed read is left to the write that follows to report.
   */
  private async checkShared(): Promise<void> {
    if (!this.written) return;
    const other = await readCollectorWriter(this.opts.db, this.id).catch(() => undefined);
    if (!other || other.instance === this.instance || other.state === 'stopped') return;
    const at = Date.now();
    if (this.lastSharedLogAt !== undefined && at - this.lastSharedLogAt < RELOG_MS) return;
    this.lastSharedLogAt = at;
    this.opts.log(
      `heartbeat: another collector writes its status as "${this.id}" too (${other.host} process ${other.pid}, started ${other.startedAt.toISOString()}): ` +
        `the server shows whichever wrote last; give each collector its own --name`,
    );
  }

  private write(state: CollectorState, status: CollectorStatus): Promise<boolean> {
    const now = new Date();
    const run = (state === 'stopped' ? Promise.resolve() : this.checkShared()).then(() => writeCollectorStatus(this.opts.db, {
      id: this.id,
      host: this.host,
      pid: process.pid,
      startedAt: this.startedAt,
      updatedAt: now,
      intervalMs: this.intervalMs,
      state,
      status,
      instance: this.instance,
    })).then(
      () => {
        this.written = true;
        if (this.failingSince !== undefined) {
          this.opts.log(`heartbeat: collector_status written again after ${this.failures} failed attempt(s)`);
          this.failingSince = undefined;
          this.failures = 0;
        }
        return true;
      },
      (e: unknown) => {
        this.failures++;
        const at = Date.now();
        if (this.failingSince === undefined || at - this.lastLogAt >= RELOG_MS) {
          this.opts.log(
            `heartbeat: cannot write this collector's row in collector_status (${(e as Error)?.message ?? String(e)}); ` +
              `collection goes on, the server shows the collector as down until a write works (retried every ${this.intervalMs / 1000} s` +
              `${this.failures > 1 ? `, ${this.failures} failures so far` : ''})`,
          );
          this.lastLogAt = at;
        }
        this.failingSince ??= at;
        return false;
      },
    );
    this.inFlight = run;
    void run.finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    return run;
  }
}

/** The promise's value, or undefined when it takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ reading

const count = z.number().finite().catch(0);
const text = z.string().optional().catch(undefined);

/** What a reader takes from a row's status JSON: lenient, so a collector of another version still shows. */
const storedStatusSchema = z.object({
  pipeline: z
    .object({
      state: z.string().catch('unknown'),
      readingsIn: count,
      rejected: count,
      refused: count,
      written: count,
      duplicates: count,
      alarmsWritten: count,
      journalBytes: count,
      db: z.string().catch('unknown'),
      lastError: text,
      lastErrorAt: text,
      lastWriteAt: text,
    })
    .catch({ state: 'unknown', readingsIn: 0, rejected: 0, refused: 0, written: 0, duplicates: 0, alarmsWritten: 0, journalBytes: 0, db: 'unknown' }),
  drivers: z
    .array(
      z.object({
        name: z.string().catch('?'),
        type: z.string().catch('?'),
        state: z.string().catch('unknown'),
        lastError: text,
        readings: count,
        lastReadingAt: text,
        reconnects: count,
      }),
    )
    .catch([]),
  rules: z
    .object({ enabled: z.boolean().catch(false), limits: count, openAlarms: count, alarmChanges: count })
    .catch({ enabled: false, limits: 0, openAlarms: 0, alarmChanges: 0 }),
});
export type StoredCollectorStatus = z.infer<typeof storedStatusSchema>;
/** The status of a row that holds none (or none that can be read): every figure 0, no drivers. */
export const EMPTY_STORED_STATUS: StoredCollectorStatus = storedStatusSchema.parse({});

export interface CollectorStatusRecord {
  id: string;
  host: string;
  pid: number;
  startedAt: Date;
  updatedAt: Date;
  intervalMs: number;
  state: string;
  /** Null when the row holds no status or one that is not JSON. */
  status: StoredCollectorStatus | null;
}

/** Up: not stopped, and written within the last UP_INTERVALS heartbeat intervals (by the reader's clock). */
export function collectorUp(r: Pick<CollectorStatusRecord, 'state' | 'updatedAt' | 'intervalMs'>, now = Date.now()): boolean {
  if (r.state === 'stopped') return false;
  return now - r.updatedAt.getTime() <= UP_INTERVALS * Math.max(1000, r.intervalMs || HEARTBEAT_INTERVAL_MS);
}

const asDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

/** The collectors' rows, by id, at most `limit` of them. */
export async function readCollectorStatuses(db: DataSource, opts: { limit?: number; timeoutMs?: number } = {}): Promise<CollectorStatusRecord[]> {
  let rows: Record<string, unknown>[];
  try {
    rows = await db
      .knex(COLLECTOR_STATUS_TABLE)
      .select('id', 'host', 'pid', 'started_at', 'updated_at', 'interval_ms', 'state', 'status')
      .orderBy('id')
      .limit(opts.limit ?? 1000)
      .timeout(opts.timeoutMs ?? 10_000, { cancel: db.dialect !== 'sqlite' });
  } catch (e) {
    throw db.wrapError(e);
  }
  return rows.map((r) => {
    let status: StoredCollectorStatus | null = null;
    if (typeof r.status === 'string' && r.status) {
      try {
        status = storedStatusSchema.parse(JSON.parse(r.status));
      } catch {
        status = null;
      }
    }
    return {
      id: String(r.id),
      host: String(r.host),
      pid: Number(r.pid),
      startedAt: asDate(r.started_at),
      updatedAt: asDate(r.updated_at),
      intervalMs: Number(r.interval_ms),
      state: String(r.state),
      status,
    };
  });
}

/**
 * Deletes one collector's row (a collector gone for good stays listed as down until then); true when there was one.
 * A collector still running writes its row again with its next heartbeat.
 */
export async function deleteCollectorStatus(db: DataSource, id: string, timeoutMs = 10_000): Promise<boolean> {
  try {
    const n = await db.knex(COLLECTOR_STATUS_TABLE).where({ id }).delete().timeout(timeoutMs, { cancel: db.dialect !== 'sqlite' });
    return Number(n) > 0;
  } catch (e) {
    throw db.wrapError(e);
  }
}
