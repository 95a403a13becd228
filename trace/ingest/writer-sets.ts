import type { Knex } from 'knex';
import type { ClientBase } from 'pg';
import { extractRows, type DataSource } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import type { EventOf, TraceEvent } from './events.js';
import { codeRef, eventRows, isRef, routeRef, utc, type Cell, type Ref } from './event-rows.js';
import { copyRows } from './pg-copy.js';
import { setSql, type SetSql, type Stmt } from './sql-sets.js';
import { ENTITIES, ENTITY_ORDER, FACTS, PARAMETER_SPEC, ROUTE_STEP, type Column, type Entity, type FactTable } from './store-tables.js';
import { IdCache, type EventWriter, type WriteOptions, type WriteResult } from './writer-common.js';

type Row = Record<string, unknown>;

/**
 * The writer for PostgreSQL, MariaDB/MySQL and SQL Server: a batch is one transaction of set-based
 * statements (no per-row round trips). Its events are first claimed in ingest_event (the ones already there
 * are duplicates and skipped), then master data is upserted table by table in dependency order, then the
 * facts are inserted. The result equals applying the events one by one in input order.
 */
export function createSetWriter(db: DataSource): EventWriter {
  if (db.dialect === 'sqlite') throw new Error('createSetWriter is for server databases; use createSqliteWriter for SQLite');
  const dialect = db.dialect;
  const ids = new IdCache();
  let sqlFor: SetSql | undefined;

  async function dialectSql(): Promise<SetSql> {
    if (sqlFor) return sqlFor;
    let mariadb = true;
    if (dialect === 'mysql') {
      const rows = extractRows<Row>(dialect, await db.knex.raw('select version() as v'));
      mariadb = /mariadb/i.test(String(rows[0]?.v ?? ''));
    }
    return (sqlFor = setSql(dialect, { mariadb }));
  }

  /** Repeats inside a batch: the first one counts. */
  function uniqueIds(events: readonly TraceEvent[]): { unique: TraceEvent[]; duplicates: number } {
    const seen = new Set<string>();
    const unique: TraceEvent[] = [];
    let duplicates = 0;
    for (const e of events) {
      if (seen.has(e.id)) duplicates++;
      else {
        seen.add(e.id);
        unique.push(e);
      }
    }
    return { unique, duplicates };
  }

  /** One transaction: the given statements' work, with PostgreSQL's commit not waiting for the disk unless durable. */
  async function transaction<T>(opts: WriteOptions, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    try {
      return await db.knex.transaction(async (trx) => {
        if (dialect === 'postgres' && opts.durable === false) await trx.raw('set local synchronous_commit = off');
        return work(trx);
      });
    } catch (e) {
      ids.clear();
      throw db.wrapError(e);
    }
  }

  /** MariaDB/MySQL, SQL Server: a batch is one transaction. */
  async function writeAtOnce(s: SetSql, unique: TraceEvent[], opts: WriteOptions): Promise<WriteResult> {
    return transaction(opts, async (trx) => {
      const batch = new Batch(trx, s, ids, dialect);
      // Samples are idempotent by their key (equipment, parameter, ts): no ledger row; a stored key is a duplicate.
      const others = unique.filter((e) => e.type !== 'sample');
      const samples = unique.length - others.length;
      const claimed = new Set(await batch.claim(others));
      const fresh = claimed.size === others.length ? unique : unique.filter((e) => e.type === 'sample' || claimed.has(e));
      const samplesInserted = await batch.apply(fresh);
      return { written: claimed.size + samplesInserted, duplicates: others.length - claimed.size + samples - samplesInserted };
    });
  }

  /*
   * PostgreSQL: a batch is two transactions on two connections, so that the server works on two batches at once
   * (its two halves cost about the same): first every event but the samples, plus the ids of the samples'
   * equipment (placeholders made there); once that has committed, the samples, which refer to nothing else. The
   * first part of batch k+1 runs while the samples of batch k are written. Each part runs in batch order after the
   * same part of the batch before; the samples part never creates a row another transaction could be creating
   * (no lock waits between the two), and samples stay in input order among themselves (the first value wins).
   */
  let othersDone: Promise<unknown> = Promise.resolve();
  let samplesDone: Promise<unknown> = Promise.resolve();
  /** Batches whose write has not ended. */
  let writing = 0;
  /**
   * The failure of a part: the parts after it that were already passed fail too, without running (a later batch
   * must not commit before an earlier one). A batch passed once nothing is in flight starts afresh (a retry).
   */
  let broken: { error: unknown } | undefined;
  const unlessBroken = <T>(work: () => Promise<T>) => async (): Promise<T> => {
    if (broken) throw broken.error;
    try {
      return await work();
    } catch (e) {
      broken ??= { error: e };
      throw e;
    }
  };

  async function writeOthers(s: SetSql, others: TraceEvent[], samples: EventOf<'sample'>[], opts: WriteOptions) {
    const known = samples.map((e) => ids.get('equipment', e.equipment));
    if (!others.length && !known.includes(undefined)) return { written: 0, duplicates: 0, equipment: known as number[] };
    return transaction(opts, async (trx) => {
      const batch = new Batch(trx, s, ids, dialect);
      const claimed = new Set(await batch.claim(others));
      await batch.apply(claimed.size === others.length ? others : others.filter((e) => claimed.has(e)));
      return { written: claimed.size, duplicates: others.length - claimed.size, equipment: await batch.equipmentIds(samples) };
    });
  }

  async function writeSamples(s: SetSql, samples: EventOf<'sample'>[], equipment: number[], opts: WriteOptions): Promise<number> {
    if (!samples.length) return 0;
    return transaction(opts, (trx) => new Batch(trx, s, ids, dialect).insertSamples(samples, equipment));
  }

  return {
    // Batches in flight at once: the PostgreSQL writer overlaps the two parts of consecutive batches.
    concurrency: dialect === 'postgres' ? 2 : 1,
    async sync(): Promise<void> {
      if (dialect !== 'postgres') return;
      // A transaction with an id commits with a log record; committed synchronously, it flushes all the log before it.
      await db.knex.transaction(async (trx) => {
        await trx.raw('select txid_current()');
      });
    },
    async write(events: readonly TraceEvent[], opts: WriteOptions = {}): Promise<WriteResult> {
      const s = await dialectSql();
      const { unique, duplicates } = uniqueIds(events);
      if (!unique.length) return { written: 0, duplicates };
      if (dialect !== 'postgres') {
        const r = await writeAtOnce(s, unique, opts);
        return { written: r.written, duplicates: duplicates + r.duplicates };
      }
      const samples = unique.filter((e): e is EventOf<'sample'> => e.type === 'sample');
      const others = samples.length === unique.length ? [] : unique.filter((e) => e.type !== 'sample');
      if (writing === 0) broken = undefined;
      writing++;
      try {
        const first = othersDone.then(unlessBroken(() => writeOthers(s, others, samples, opts)));
        const second = Promise.all([first, samplesDone.catch(() => undefined)]).then(([r]) => unlessBroken(() => writeSamples(s, samples, r.equipment, opts))());
        othersDone = first.catch(() => undefined);
        samplesDone = second.catch(() => undefined);
        const [r, inserted] = await Promise.all([first, second]);
        return { written: r.written + inserted, duplicates: duplicates + r.duplicates + samples.length - inserted };
      } finally {
        writing--;
      }
    },
  };
}

class Batch {
  private readonly upserts = new Map<Entity, Map<string, Cell[]>>();
  private readonly steps = new Map<string, Cell[][]>();
  private readonly specs = new Map<string, Cell[]>();
  private readonly inserts = new Map<FactTable, Cell[][]>();

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly s: SetSql,
    private readonly ids: IdCache,
    private readonly dialect: DataSource['dialect'],
  ) {}

  private async run(stmts: Stmt[]): Promise<Row[]> {
    const out: Row[] = [];
    for (const st of stmts) {
      const rows = extractRows<Row>(this.dialect, await this.trx.raw(st.sql, st.bindings as Knex.RawBinding[]));
      for (const r of rows) out.push(r);
    }
    return out;
  }

  /** Records the events' ids; returns the events whose id was not stored before, in input order. */
  async claim(events: TraceEvent[]): Promise<TraceEvent[]> {
    const now = new Date().toISOString();
    let rows = events.map((e) => [e.id, e.type, now] as [string, string, string]);
    let fresh: Set<string>;
    if (this.s.claimNeedsLookup) {
      const existing = new Set((await this.run(this.s.selectEventIds(rows.map((r) => r[0])))).map((r) => String(r.event_id)));
      rows = rows.filter((r) => !existing.has(r[0]));
      await this.run(this.s.claim(rows));
      fresh = new Set(rows.map((r) => r[0]));
    } else {
      fresh = new Set((await this.run(this.s.claim(rows))).map((r) => String(r.event_id)));
    }
    return events.filter((e) => fresh.has(e.id));
  }

  /** Writes the events' rows; returns how many of their samples were inserted (the others' keys were stored already). */
  async apply(events: TraceEvent[]): Promise<number> {
    for (const e of events) {
      for (const row of eventRows(e)) {
        switch (row.op) {
          case 'upsert': {
            let m = this.upserts.get(row.entity);
            if (!m) this.upserts.set(row.entity, (m = new Map()));
            const prev = m.get(row.key);
            if (!prev) m.set(row.key, row.values.slice());
            else for (let i = 0; i < row.values.length; i++) if (row.values[i] !== null) prev[i] = row.values[i]!; // later events win, nulls keep
            break;
          }
          case 'steps':
            this.steps.set(row.route.key, row.rows);
            break;
          case 'spec':
            this.specs.set(row.key, row.values);
            break;
          case 'insert': {
            let list = this.inserts.get(row.table);
            if (!list) this.inserts.set(row.table, (list = []));
            list.push(row.values);
            break;
          }
        }
      }
    }

    for (const entity of ENTITY_ORDER) {
      const m = this.upserts.get(entity);
      if (!m) continue;
      const spec = ENTITIES[entity];
      const rows = [...m.values()];
      await this.resolve(rows);
      const written = await this.run(this.s.upsert(entity, spec.columns, spec.keyCount, rows.map((r) => this.bind(r)), 'coalesce', spec.placeholder));
      if (this.s.returnsIds) this.remember(entity, written);
    }

    if (this.steps.size) {
      const routes = [...this.steps.keys()].map((key) => {
        const [code, version] = key.split('\u0000');
        return routeRef(code!, Number(version));
      });
      const stepRows = [...this.steps.values()].flat();
      await this.resolve([routes as Cell[], ...stepRows]);
      await this.run(this.s.deleteIn(ROUTE_STEP.table, ROUTE_STEP.columns[0]!, routes.map((r) => this.ids.get('route', r.key)!)));
      await this.run(this.s.insert(ROUTE_STEP.table, ROUTE_STEP.columns, stepRows.map((r) => this.bind(r))));
    }

    if (this.specs.size) {
      const rows = [...this.specs.values()];
      await this.resolve(rows);
      await this.run(this.s.upsert(PARAMETER_SPEC.table, PARAMETER_SPEC.columns, PARAMETER_SPEC.conflict!.length, rows.map((r) => this.bind(r)), 'replace', false));
    }

    let samplesInserted = 0;
    for (const [table, rows] of this.inserts) {
      const spec = FACTS[table];
      await this.resolve(rows);
      let bound = rows.map((r) => this.bind(r));
      if (!spec.conflict) {
        await this.run(this.s.insert(table, spec.columns, bound));
        continue;
      }
      bound = uniqueOn(bound, spec.columns, spec.conflict);
      const inserted =
        this.dialect === 'postgres'
          ? await this.insertExpectingNoConflict(table, spec.columns, bound, spec.conflict)
          : await this.runCounting(this.s.insertNew(table, spec.columns, bound, spec.conflict));
      if (table === 'sample') samplesInserted += inserted;
    }
    return samplesInserted;
  }

  /** The equipment ids of samples (placeholders made for codes not stored yet), in their order. */
  async equipmentIds(samples: readonly EventOf<'sample'>[]): Promise<number[]> {
    if (!samples.length) return [];
    const refs = new Map<string, Ref>();
    for (const e of samples) if (this.ids.get('equipment', e.equipment) === undefined) refs.set(e.equipment, codeRef('equipment', e.equipment));
    if (refs.size) await this.resolve([[...refs.values()]]);
    return samples.map((e) => this.ids.get('equipment', e.equipment)!);
  }

  /** Inserts samples whose equipment ids are known (committed); returns how many were new (the others' keys were stored). */
  async insertSamples(samples: readonly EventOf<'sample'>[], equipment: readonly number[]): Promise<number> {
    const spec = FACTS.sample;
    let rows: unknown[][] = samples.map((e, i) => [equipment[i], e.parameter, utc(e.ts), e.value, e.quality ?? null]);
    rows = uniqueOn(rows, spec.columns, spec.conflict!);
    return this.insertExpectingNoConflict(spec.table, spec.columns, rows, spec.conflict!);
  }

  /** Runs statements of `SetSql.insertNew`; returns the number of rows they inserted. */
  private async runCounting(stmts: Stmt[]): Promise<number> {
    let n = 0;
    for (const st of stmts) n += this.s.inserted(await this.trx.raw(st.sql, st.bindings as Knex.RawBinding[]));
    return n;
  }

  /**
   * PostgreSQL: a plain COPY is much cheaper than an INSERT with ON CONFLICT's speculative insertion, and samples
   * of new events rarely repeat a stored (equipment, parameter, ts). Try it under a savepoint; on a unique
   * violation, go back and insert with ON CONFLICT DO NOTHING. Returns the number of rows inserted.
   */
  private async insertExpectingNoConflict(table: string, cols: readonly Column[], rows: unknown[][], conflict: readonly string[]): Promise<number> {
    if (!rows.length) return 0;
    await this.trx.raw('savepoint tr_ingest_insert');
    try {
      const client = (await (this.trx.client as { acquireConnection(): Promise<ClientBase> }).acquireConnection()) as ClientBase;
      const n = await copyRows(client, table, cols, rows);
      await this.trx.raw('release savepoint tr_ingest_insert');
      return n;
    } catch (e) {
      if ((e as { code?: string }).code !== '23505') throw e;
      await this.trx.raw('rollback to savepoint tr_ingest_insert');
      return this.runCounting(this.s.insertNew(table, cols, rows, conflict));
    }
  }

  /** Caches the ids of rows a statement returned (`id` and the key columns). */
  private remember(entity: Entity, rows: readonly Row[]): void {
    for (const row of rows) {
      const key = entity === 'route' ? routeRef(String(row.code), Number(row.version)).key : String(row.code);
      this.ids.set(entity, key, Number(row.id));
    }
  }

  private bind(cells: readonly Cell[]): unknown[] {
    const out = new Array<unknown>(cells.length);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      out[i] = isRef(c) ? this.ids.get(c.entity, c.key) : c;
    }
    return out;
  }

  /** Makes sure every code the rows name has an id: looked up, or inserted as a placeholder. */
  private async resolve(rows: Iterable<readonly Cell[]>): Promise<void> {
    const missing = new Map<Entity, Map<string, Ref>>();
    for (const row of rows) {
      for (const c of row) {
        if (!isRef(c) || this.ids.get(c.entity, c.key) !== undefined) continue;
        let m = missing.get(c.entity);
        if (!m) missing.set(c.entity, (m = new Map()));
        m.set(c.key, c);
      }
    }
    for (const [entity, refs] of missing) await this.ensure(entity, refs);
  }

  private async ensure(entity: Entity, refs: Map<string, Ref>): Promise<void> {
    const spec = ENTITIES[entity];
    const keyCols = spec.columns.slice(0, spec.keyCount);
    const lookup = async (wanted: Ref[]) => {
      const codes = [...new Set(wanted.map((r) => r.code))];
      for (const row of await this.run(this.s.selectIds(entity, keyCols, codes))) {
        const key = entity === 'route' ? routeRef(String(row.code), Number(row.version)).key : String(row.code);
        if (refs.has(key)) this.ids.set(entity, key, Number(row.id));
      }
      return wanted.filter((r) => this.ids.get(entity, r.key) === undefined);
    };
    let left = await lookup([...refs.values()]);
    if (!left.length) return;
    const cols: Column[] = spec.placeholder ? [...keyCols, { name: 'placeholder', type: 'bool' }] : keyCols;
    const rows = left.map((r) => {
      const key: unknown[] = entity === 'route' ? [r.code, r.version] : [r.code];
      return spec.placeholder ? [...key, true] : key;
    });
    const keyNames = keyCols.map((c) => c.name);
    const inserted = await this.run(this.s.insert(entity, cols, rows, keyNames, ['id', ...keyNames]));
    if (this.s.returnsIds) {
      this.remember(entity, inserted);
      left = left.filter((r) => this.ids.get(entity, r.key) === undefined);
      if (!left.length) return;
    }
    left = await lookup(left);
    // A database that compares codes without case or trailing blanks returns the stored spelling: ask for each one.
    for (const r of left) {
      const found = await this.run([this.s.selectOne(entity, keyCols, entity === 'route' ? [r.code, r.version] : [r.code])]);
      if (!found.length) {
        throw new TraceReportError('SOURCE_QUERY_FAILED', `ingest could not create or find ${entity} "${r.code}" in the trace store; check that the schema is migrated`, {
          entity,
          code: r.code,
        });
      }
      this.ids.set(entity, r.key, Number(found[0]!.id));
    }
  }
}

/** Drops rows repeating an earlier row's key (the first wins, as with a stored row). */
function uniqueOn(rows: unknown[][], cols: readonly Column[], key: readonly string[]): unknown[][] {
  const idx = key.map((k) => cols.findIndex((c) => c.name === k));
  const seen = new Set<string>();
  const out: unknown[][] = [];
  for (const r of rows) {
    let k = String(r[idx[0]!]);
    for (let i = 1; i < idx.length; i++) k += `\u0000${String(r[idx[i]!])}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out.length === rows.length ? rows : out;
}
