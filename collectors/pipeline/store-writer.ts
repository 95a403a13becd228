/**
 * Writes a journal batch into the trace store: its readings as `sample` rows through the ingest writer (one
 * transaction; the key (equipment, parameter, ts) skips rows stored before, so a replay writes nothing
 * twice; unknown equipment becomes a placeholder), then its alarm changes into `alarm` (one transaction).
 *
 * Alarms are idempotent too: a raise inserts a row only when (equipment, parameter, rule) has no open alarm
 * and no alarm raised at the same time; a clear sets cleared_at on the open alarm raised at or before it.
 */
import type { Knex } from 'knex';
import type BetterSqlite3 from 'better-sqlite3';
import type { DataSource } from '../../datasources/data-source.js';
import type { EventOf } from '../../trace/ingest/events.js';
import { createEventWriter, type EventWriter } from '../../trace/ingest/writer.js';
import type { JournalAlarm, JournalReading } from './journal-format.js';

export interface StoreWriteResult {
  /** Samples inserted. */
  written: number;
  /** Samples whose key was stored already (a replay) or repeated in the batch. */
  duplicates: number;
  /** Alarm rows inserted or cleared. */
  alarms: number;
}

/** How long a SQLite write waits for another connection's lock before it fails and is retried later (ms). */
const SQLITE_BUSY_MS = 250;

export class StoreWriter {
  private readonly events: EventWriter;
  private readonly equipmentIds = new Map<string, number>();
  /**
   * The alarm writes in call order (a clear never overtakes its raise when two writes are in flight): each waits
   * for the one passed before it and fails when that one failed. A write passed once none is in flight starts
   * afresh (a retry).
   */
  private alarmsDone: Promise<unknown> = Promise.resolve();
  private writing = 0;
  /**
   * Writes that may be in flight at once (the ingest writer's: 2 on PostgreSQL, where the next batch is prepared
   * and sent while the store works on the one before; else 1). They are applied in call order all the same.
   */
  readonly concurrency: number;

  constructor(private readonly db: DataSource) {
    this.events = createEventWriter(db);
    this.concurrency = Math.max(1, this.events.concurrency ?? 1);
  }

  async write(readings: readonly JournalReading[], alarms: readonly JournalAlarm[]): Promise<StoreWriteResult> {
    if (this.writing === 0) this.alarmsDone = Promise.resolve();
    this.writing++;
    try {
      const samples = this.writeSamples(readings);
      // Alarms after this write's samples and after the alarms of the write before.
      const changed = Promise.all([samples, this.alarmsDone]).then(() => (alarms.length ? this.writeAlarms(alarms) : 0));
      this.alarmsDone = changed;
      changed.catch(() => undefined); // awaited below; the next write sees the failure through alarmsDone
      const [{ written, duplicates }, alarmCount] = await Promise.all([samples, changed]);
      return { written, duplicates, alarms: alarmCount };
    } finally {
      this.writing--;
    }
  }

  private async writeSamples(readings: readonly JournalReading[]): Promise<{ written: number; duplicates: number }> {
    if (this.db.dialect === 'sqlite') await this.shortBusyTimeout();
    let written = 0;
    let duplicates = 0;
    if (readings.length) {
      const events = new Array<EventOf<'sample'>>(readings.length);
      for (let i = 0; i < readings.length; i++) {
        const [equipment, parameter, ms, value, quality] = readings[i]!;
        const ts = new Date(ms).toISOString();
        events[i] = { type: 'sample', id: `${equipment}\u0000${parameter}\u0000${ms}`, equipment, parameter, ts, value, ...(quality ? { quality } : {}) };
      }
      const r = await this.events.write(events, { durable: true });
      written = r.written;
      duplicates = r.duplicates;
    }
    return { written, duplicates };
  }

  /**
   * better-sqlite3 waits for a lock on the calling thread: with the default 10 s, a store held by another
   * program would freeze collection. A short wait fails fast instead; the pipeline retries with backoff.
   */
  private async shortBusyTimeout(): Promise<void> {
    const conn = (await this.db.knex.client.acquireConnection()) as BetterSqlite3.Database;
    try {
      conn.pragma(`busy_timeout = ${SQLITE_BUSY_MS}`);
    } finally {
      await this.db.knex.client.releaseConnection(conn);
    }
  }

  private time(ms: number): unknown {
    const d = new Date(ms);
    // SQL Server's datetime2 holds UTC without a zone (as the ingest writer binds it).
    if (this.db.dialect === 'mssql') return d.toISOString().slice(0, -1);
    return this.db.toDriverValue(d);
  }

  private async writeAlarms(alarms: readonly JournalAlarm[]): Promise<number> {
    try {
      return await this.db.knex.transaction(async (trx) => {
        let changed = 0;
        for (const [kind, rule, equipment, parameter, value, limit, severity, at, message] of alarms) {
          const equipmentId = await this.equipmentId(trx, equipment);
          const key = { equipment_id: equipmentId, parameter, rule };
          const atValue = this.time(at);
          if (kind === 'raise') {
            const existing = await trx('alarm')
              .where(key)
              .andWhere((q) => q.whereNull('cleared_at').orWhere('raised_at', atValue as Knex.Value))
              .first('id');
            if (existing) continue;
            await trx('alarm').insert({ ...key, value, limit_value: limit, severity, raised_at: atValue, message: message.slice(0, 500) });
            changed++;
          } else {
            changed += await trx('alarm')
              .where(key)
              .whereNull('cleared_at')
              .andWhere('raised_at', '<=', atValue as Knex.Value)
              .update({ cleared_at: atValue });
          }
        }
        return changed;
      });
    } catch (e) {
      this.equipmentIds.clear();
      throw this.db.wrapError(e);
    }
  }

  /** The equipment's id; an unknown code becomes a placeholder row (as the ingest does). */
  private async equipmentId(trx: Knex.Transaction, code: string): Promise<number> {
    const cached = this.equipmentIds.get(code);
    if (cached !== undefined) return cached;
    let row = (await trx('equipment').where({ code }).first('id')) as { id: number } | undefined;
    if (!row) {
      await trx('equipment').insert({ code, placeholder: this.db.toDriverValue(true) });
      row = (await trx('equipment').where({ code }).first('id')) as { id: number };
    }
    this.equipmentIds.set(code, Number(row.id));
    return Number(row.id);
  }
}
