import type BetterSqlite3 from 'better-sqlite3';
import type { DataSource } from '../../datasources/data-source.js';
import type { TraceEvent } from './events.js';
import { eventRows, isRef, utc, type Cell, type Ref } from './event-rows.js';
import { ENTITIES, FACTS, PARAMETER_SPEC, ROUTE_STEP, type Entity, type FactSpec, type FactTable } from './store-tables.js';
import { IdCache, type AtomicWrite, type EventWriter, type WriteResult } from './writer-common.js';

type Stmt = BetterSqlite3.Statement;

/** WAL pages between automatic checkpoints during an ingest batch (SQLite's default is 1,000). */
const INGEST_CHECKPOINT_PAGES = 16_384;

interface Statements {
  claim: Stmt;
  selectId: Record<Entity, Stmt>;
  placeholder: Record<Entity, Stmt>;
  upsert: Record<Entity, Stmt>;
  insert: Record<FactTable, Stmt>;
  deleteSteps: Stmt;
  insertStep: Stmt;
  upsertSpec: Stmt;
}

/**
 * The SQLite writer: better-sqlite3 is synchronous and in-process, so each event is applied in input order
 * with cached prepared statements, and a batch is one transaction on the raw connection.
 */
export function createSqliteWriter(db: DataSource): EventWriter {
  const ids = new IdCache();
  let prepared: { conn: BetterSqlite3.Database; stmts: Statements } | undefined;

  /** The connection with the writer's statements, and a way back to the store's checkpoint setting. */
  async function open(): Promise<{ conn: BetterSqlite3.Database; s: Statements; release: () => Promise<void> }> {
    const conn = (await db.knex.client.acquireConnection()) as BetterSqlite3.Database;
    try {
      if (prepared?.conn !== conn) {
        prepared = { conn, stmts: prepare(conn) };
        ids.clear();
      }
      // Checkpoint the WAL less often while ingesting (every ~64 MB instead of ~4 MB): fewer copies of hot index pages.
      const checkpointEvery = conn.pragma('wal_autocheckpoint', { simple: true }) as number;
      conn.pragma(`wal_autocheckpoint = ${INGEST_CHECKPOINT_PAGES}`);
      const release = async () => {
        try {
          conn.pragma(`wal_autocheckpoint = ${checkpointEvery}`);
        } finally {
          await db.knex.client.releaseConnection(conn);
        }
      };
      return { conn, s: prepared.stmts, release };
    } catch (e) {
      await db.knex.client.releaseConnection(conn);
      throw db.wrapError(e);
    }
  }

  return {
    // SQLite commits are already cheap in WAL mode with synchronous = NORMAL: every batch is written the same way.
    async sync(): Promise<void> {},
    async write(events: readonly TraceEvent[]): Promise<WriteResult> {
      const { conn, s, release } = await open();
      try {
        return conn.transaction(() => apply(s, events))();
      } catch (e) {
        ids.clear();
        throw db.wrapError(e);
      } finally {
        await release();
      }
    },
    async atomic(): Promise<AtomicWrite> {
      const { conn, s, release } = await open();
      let active = true;
      const end = async (sql: 'commit' | 'rollback') => {
        if (!active) return;
        active = false;
        try {
          if (sql === 'commit') conn.exec('commit');
          else if (conn.inTransaction) conn.exec('rollback');
        } catch (e) {
          ids.clear();
          if (conn.inTransaction) conn.exec('rollback');
          throw db.wrapError(e);
        } finally {
          if (sql === 'rollback') ids.clear(); // rows created in the transaction are gone
          await release();
        }
      };
      try {
        // Takes the write lock now (waiting up to the busy timeout for another writer), not at the first insert.
        conn.exec('begin immediate');
      } catch (e) {
        active = false;
        await release();
        throw db.wrapError(e);
      }
      return {
        async write(events) {
          if (!active) throw new Error('the ingest transaction is closed');
          try {
            return apply(s, events);
          } catch (e) {
            ids.clear();
            throw db.wrapError(e);
          }
        },
        commit: () => end('commit'),
        rollback: () => end('rollback'),
      };
    },
  };

  /** Applies events in input order with the prepared statements (inside the caller's transaction). */
  function apply(s: Statements, events: readonly TraceEvent[]): WriteResult {
    const now = new Date().toISOString();
    let written = 0;
    let duplicates = 0;
    for (const e of events) {
      if (e.type === 'sample') {
        // The bulk of real volumes: no ledger row (a sample is idempotent by its key), no intermediate rows.
        const equipment = ids.get('equipment', e.equipment) ?? resolve(s, { entity: 'equipment', key: e.equipment, code: e.equipment });
        if (s.insert.sample.run(equipment, e.parameter, utc(e.ts), e.value, e.quality ?? null).changes === 0) duplicates++;
        else written++;
        continue;
      }
      if (s.claim.run(e.id, e.type, now).changes === 0) {
        duplicates++;
        continue;
      }
      written++;
      for (const row of eventRows(e)) {
        switch (row.op) {
          case 'upsert': {
            const id = s.upsert[row.entity].get(bind(s, row.values)) as number;
            ids.set(row.entity, row.key, id);
            break;
          }
          case 'insert':
            s.insert[row.table].run(bind(s, row.values));
            break;
          case 'steps': {
            const routeId = resolve(s, row.route);
            s.deleteSteps.run(routeId);
            for (const step of row.rows) s.insertStep.run(bind(s, step));
            break;
          }
          case 'spec':
            s.upsertSpec.run(bind(s, row.values));
            break;
        }
      }
    }
    return { written, duplicates };
  }

  function bind(s: Statements, cells: readonly Cell[]): unknown[] {
    const out = new Array<unknown>(cells.length);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      out[i] = isRef(c) ? resolve(s, c) : typeof c === 'boolean' ? (c ? 1 : 0) : c;
    }
    return out;
  }

  /** The id of a coded row; a code not stored yet becomes a placeholder row. */
  function resolve(s: Statements, ref: Ref): number {
    const cached = ids.get(ref.entity, ref.key);
    if (cached !== undefined) return cached;
    const args = ref.entity === 'route' ? [ref.code, ref.version] : [ref.code];
    let id = s.selectId[ref.entity].get(args) as number | undefined;
    if (id === undefined) id = Number(s.placeholder[ref.entity].run(args).lastInsertRowid);
    ids.set(ref.entity, ref.key, id);
    return id;
  }
}

function prepare(conn: BetterSqlite3.Database): Statements {
  const selectId = {} as Record<Entity, Stmt>;
  const placeholder = {} as Record<Entity, Stmt>;
  const upsert = {} as Record<Entity, Stmt>;
  for (const spec of Object.values(ENTITIES)) {
    const t = spec.table;
    const keys = spec.columns.slice(0, spec.keyCount).map((c) => c.name);
    const attrs = spec.columns.slice(spec.keyCount).map((c) => c.name);
    const cols = spec.columns.map((c) => c.name);
    selectId[t] = conn.prepare(`select id from ${t} where ${keys.map((k) => `${k} = ?`).join(' and ')}`).pluck();
    placeholder[t] = conn.prepare(
      spec.placeholder
        ? `insert into ${t} (${keys.join(', ')}, placeholder) values (${keys.map(() => '?').join(', ')}, 1)`
        : `insert into ${t} (${keys.join(', ')}) values (${keys.map(() => '?').join(', ')})`,
    );
    const sets = attrs.map((a) => `${a} = coalesce(excluded.${a}, ${t}.${a})`);
    if (spec.placeholder) sets.push('placeholder = 0');
    upsert[t] = conn
      .prepare(
        `insert into ${t} (${cols.join(', ')}${spec.placeholder ? ', placeholder' : ''}) values (${cols.map(() => '?').join(', ')}${spec.placeholder ? ', 0' : ''})` +
          ` on conflict (${keys.join(', ')}) do update set ${sets.join(', ')} returning id`,
      )
      .pluck();
  }
  const insert = {} as Record<FactTable, Stmt>;
  for (const [table, spec] of Object.entries(FACTS) as [FactTable, FactSpec][]) {
    insert[table] = conn.prepare(insertSql(spec) + (spec.conflict ? ` on conflict (${spec.conflict.join(', ')}) do nothing` : ''));
  }
  const specAttrs = PARAMETER_SPEC.columns.map((c) => c.name).filter((n) => !PARAMETER_SPEC.conflict!.includes(n));
  return {
    claim: conn.prepare('insert into ingest_event (event_id, type, ingested_at) values (?, ?, ?) on conflict (event_id) do nothing'),
    selectId,
    placeholder,
    upsert,
    insert,
    deleteSteps: conn.prepare('delete from route_step where route_id = ?'),
    insertStep: conn.prepare(insertSql(ROUTE_STEP)),
    upsertSpec: conn.prepare(
      `${insertSql(PARAMETER_SPEC)} on conflict (${PARAMETER_SPEC.conflict!.join(', ')}) do update set ${specAttrs.map((a) => `${a} = excluded.${a}`).join(', ')}`,
    ),
  };
}

function insertSql(spec: FactSpec): string {
  return `insert into ${spec.table} (${spec.columns.map((c) => c.name).join(', ')}) values (${spec.columns.map(() => '?').join(', ')})`;
}
