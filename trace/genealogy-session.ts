import type { Knex } from 'knex';
import { extractRows, type DataSource, type Row } from '../datasources/data-source.js';
import { compileSql, type ParamValues } from '../datasources/named-params.js';

/** Runs one SQL template with named parameters (always bound) and returns its rows. */
export type TraceQuery = (sql: string, params?: ParamValues) => Promise<Row[]>;

/**
 * Runs the queries of one trace. On PostgreSQL they share one read-only REPEATABLE READ transaction
 * (one snapshot: lots, links and shipments agree even while ingest writes) with JIT off: the planner's
 * estimates for recursive CTEs and long id lists are rough, and a cost above jit_above_cost made
 * PostgreSQL spend 0.1–5 s compiling queries that run in milliseconds. Other dialects run each query
 * through the data source as it is.
 */
export async function withTraceSession<T>(db: DataSource, fn: (query: TraceQuery) => Promise<T>): Promise<T> {
  if (db.dialect !== 'postgres') return fn((sql, params = {}) => db.query(sql, params));
  try {
    return await db.knex.transaction(
      async (trx) => {
        await trx.raw('SET LOCAL jit = off');
        // One connection: queries asked for together run one after the other.
        let tail: Promise<unknown> = Promise.resolve();
        return fn((sql, params = {}) => {
          const run = tail.then(async () => {
            const c = compileSql(sql, params);
            const result = await trx.raw(c.sql, c.bindings.map((b) => db.toDriverValue(b)) as Knex.RawBinding[]);
            return extractRows<Row>('postgres', result);
          });
          tail = run.catch(() => undefined);
          return run;
        });
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  } catch (e) {
    throw db.wrapError(e);
  }
}
