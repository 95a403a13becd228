import type { Dialect } from '../datasources/source-url.js';

/**
 * Set-based queries behind the trace detail: each takes `:ids`, a bound list of lot ids, and answers for
 * all those lots at once.
 */

/**
 * An operation's end for range tests, a running operation (no end) reaching the far future. Written as
 * COALESCE rather than `end IS NULL OR …` so that the upper bound stays an index range bound on
 * sample (equipment_id, parameter, ts) and alarm (equipment_id, raised_at): with the OR, a scan would run
 * from the operation's start to the end of the equipment's history.
 */
function endOf(dialect: Dialect, column: string): string {
  switch (dialect) {
    case 'sqlite':
      return `COALESCE(${column}, '9999-12-31T23:59:59.999Z')`;
    case 'postgres':
      return `COALESCE(${column}, CAST('infinity' AS timestamptz))`;
    case 'mysql':
      return `COALESCE(${column}, CAST('9999-12-31 23:59:59.999' AS DATETIME(3)))`;
    case 'mssql':
      return `COALESCE(${column}, CAST('9999-12-31T23:59:59.999+00:00' AS DATETIMEOFFSET(3)))`;
  }
}

export const LOTS_BY_CODE_SQL = `SELECT l.id AS id, l.code AS code FROM lot l WHERE l.code IN (:codes)`;

/*
 * Work orders (one per few lots) are looked up with scalar subqueries, an index lookup per row: with an
 * id list whose size it misjudges (stale statistics during a bulk load) PostgreSQL otherwise hashes the
 * whole work_order table. Equipment and personnel are small tables and are joined.
 */
export const OPERATIONS_SQL = `SELECT o.id AS op_id, o.lot_id AS lot_id, o.code AS operation, o.step_seq AS step,
       (SELECT wo.code FROM work_order wo WHERE wo.id = o.work_order_id) AS work_order,
       e.code AS equipment, e.name AS equipment_name, p.code AS operator, p.name AS operator_name,
       o.started_at AS started_at, o.ended_at AS ended_at, o.result AS result
FROM operation o
  LEFT JOIN equipment e ON e.id = o.equipment_id
  LEFT JOIN personnel p ON p.id = o.operator_id
WHERE o.lot_id IN (:ids)`;

/**
 * The (equipment, parameter) pairs sampled on the operations' equipment. The sample table's key is
 * (equipment_id, parameter, ts), so a loose index scan (one MIN() seek per parameter) finds them without
 * reading an equipment's whole history. SQL Server allows no subquery in a recursive member: it reads the
 * distinct pairs from the key instead.
 */
function equipmentParameters(dialect: Dialect): string {
  if (dialect === 'mssql') {
    return `params(equipment_id, parameter) AS (
  SELECT DISTINCT s.equipment_id, s.parameter FROM sample s WHERE s.equipment_id IN (SELECT equipment_id FROM eq)
)`;
  }
  // MariaDB does not turn a correlated MIN() into one index seek (it reads the equipment's whole history);
  // ORDER BY … LIMIT 1 it does.
  const first = (where: string) =>
    dialect === 'mysql'
      ? `(SELECT s.parameter FROM sample s WHERE ${where} ORDER BY s.parameter LIMIT 1)`
      : `(SELECT MIN(s.parameter) FROM sample s WHERE ${where})`;
  return `params(equipment_id, parameter) AS (
  SELECT eq.equipment_id, ${first('s.equipment_id = eq.equipment_id')}
  FROM eq
  UNION ALL
  SELECT p.equipment_id, ${first('s.equipment_id = p.equipment_id AND s.parameter > p.parameter')}
  FROM params p
  WHERE p.parameter IS NOT NULL
)`;
}

/** The CTEs of the one-statement summary: ops, eq, params (the parameters sampled per equipment), op_params. */
function operationParameterCtes(dialect: Dialect): string {
  const recursive = dialect === 'mssql' ? '' : 'RECURSIVE ';
  return `WITH ${recursive}ops AS (
  SELECT o.id AS op_id, o.equipment_id AS equipment_id, o.started_at AS started_at, o.ended_at AS ended_at,
         o.step_seq AS step_seq, (SELECT wo.route_id FROM work_order wo WHERE wo.id = o.work_order_id) AS route_id
  FROM operation o
  WHERE o.lot_id IN (:ids) AND o.equipment_id IS NOT NULL AND o.started_at IS NOT NULL
),
eq AS (
  SELECT DISTINCT equipment_id FROM ops
),
${equipmentParameters(dialect)},
op_params AS (
  SELECT ops.op_id AS op_id, pr.parameter AS parameter
  FROM ops JOIN params pr ON pr.equipment_id = ops.equipment_id
  WHERE pr.parameter IS NOT NULL
  UNION
  SELECT ops.op_id, ps.parameter
  FROM ops JOIN parameter_spec ps ON ps.route_id = ops.route_id AND ps.step_seq = ops.step_seq
)`;
}

/**
 * Per operation and parameter: the samples on the operation's equipment from its start to its end (both
 * included; a running operation has no end) with count, min, avg, max, the spec of its route step
 * (work_order.route_id, operation.step_seq, parameter) and the count of samples outside [lsl, usl].
 * A parameter with a spec for the step but no sample in the window is listed with count 0.
 * One statement on SQLite, PostgreSQL and SQL Server; MariaDB goes in steps (see MARIADB_OPERATIONS_SQL).
 */
export function parameterSummarySql(dialect: Dialect): string {
  return `${operationParameterCtes(dialect)}
${summarySelect(dialect)}`;
}

/*
 * MariaDB's summary, in steps. MariaDB reads a joined range by its equality prefix only: a sample window
 * joined to an operation, or the next parameter after a correlated one, reads the equipment's whole
 * history. With values instead of joined columns it uses the key: DISTINCT over (equipment_id,
 * parameter) for a list of equipment ids is a loose index scan, and each window is an index range.
 * So: the operations, their equipment's parameters, the specs of their routes, then the windows
 * (sampleWindowsSql), all as bound lists.
 */
export const MARIADB_OPERATIONS_SQL = `SELECT o.id AS op_id, o.equipment_id AS equipment_id, o.started_at AS started_at, o.ended_at AS ended_at,
       o.step_seq AS step_seq, (SELECT wo.route_id FROM work_order wo WHERE wo.id = o.work_order_id) AS route_id
FROM operation o
WHERE o.lot_id IN (:ids) AND o.equipment_id IS NOT NULL AND o.started_at IS NOT NULL`;

export const MARIADB_EQUIPMENT_PARAMETERS_SQL = `SELECT DISTINCT s.equipment_id AS equipment_id, s.parameter AS parameter
FROM sample s
WHERE s.equipment_id IN (:equipment)`;

export const MARIADB_SPECS_SQL = `SELECT ps.id AS spec_id, ps.route_id AS route_id, ps.step_seq AS step_seq, ps.parameter AS parameter,
       ps.lsl AS lsl, ps.target AS target, ps.usl AS usl, ps.unit AS unit
FROM parameter_spec ps
WHERE ps.route_id IN (:routes)`;

/**
 * MariaDB, last step: `count` sample windows in one statement (UNION ALL), window i bound as :ki (a key
 * returned as k), :ei equipment id, :pi parameter, :si start, :ti end, :li lsl and :ui usl: with the
 * bounds as values each window is an index range on sample (equipment_id, parameter, ts).
 */
export function sampleWindowsSql(count: number): string {
  const one = (i: number) => `SELECT :k${i} AS k, COUNT(s.value) AS n, MIN(s.value) AS min_value, AVG(s.value) AS avg_value, MAX(s.value) AS max_value,
       SUM(CASE WHEN s.value < :l${i} OR s.value > :u${i} THEN 1 ELSE 0 END) AS out_of_spec
FROM sample s WHERE s.equipment_id = :e${i} AND s.parameter = :p${i} AND s.ts >= :s${i} AND s.ts <= :t${i}`;
  return Array.from({ length: count }, (_, i) => one(i)).join('\nUNION ALL\n');
}

/**
 * The final select of the parameter summary. PostgreSQL (LATERAL) and SQL Server (CROSS APPLY) aggregate
 * each (operation, parameter) in a correlated subquery: always an index range on sample's key, whatever
 * the planner estimates for the CTEs (with a plain join PostgreSQL may hash the whole sample table).
 * SQLite and MariaDB (no LATERAL) join and group; their planners walk the key from the operation rows.
 */
function summarySelect(dialect: Dialect): string {
  const window = `s.equipment_id = ops.equipment_id AND s.parameter = op.parameter
     AND s.ts >= ops.started_at AND s.ts <= ${endOf(dialect, 'ops.ended_at')}`;
  const aggregates = `COUNT(s.value) AS n, MIN(s.value) AS min_value, AVG(s.value) AS avg_value, MAX(s.value) AS max_value,
       SUM(CASE WHEN s.value < ps.lsl OR s.value > ps.usl THEN 1 ELSE 0 END) AS out_of_spec`;
  const specJoin = `LEFT JOIN parameter_spec ps
    ON ps.route_id = ops.route_id AND ps.step_seq = ops.step_seq AND ps.parameter = op.parameter`;
  if (dialect === 'postgres' || dialect === 'mssql') {
    const apply = dialect === 'postgres' ? 'CROSS JOIN LATERAL' : 'CROSS APPLY';
    return `SELECT op.op_id AS op_id, op.parameter AS parameter, agg.n AS n, agg.min_value AS min_value, agg.avg_value AS avg_value,
       agg.max_value AS max_value, ps.lsl AS lsl, ps.target AS target, ps.usl AS usl, ps.unit AS unit, agg.out_of_spec AS out_of_spec
FROM op_params op
  JOIN ops ON ops.op_id = op.op_id
  ${specJoin}
  ${apply} (
    SELECT ${aggregates}
    FROM sample s
    WHERE ${window}
  ) agg
WHERE agg.n > 0 OR ps.id IS NOT NULL`;
  }
  return `SELECT op.op_id AS op_id, op.parameter AS parameter, ${aggregates},
       ps.lsl AS lsl, ps.target AS target, ps.usl AS usl, ps.unit AS unit
FROM op_params op
  JOIN ops ON ops.op_id = op.op_id
  ${specJoin}
  LEFT JOIN sample s
    ON ${window}
GROUP BY op.op_id, op.parameter, ps.id, ps.lsl, ps.target, ps.usl, ps.unit
HAVING COUNT(s.value) > 0 OR ps.id IS NOT NULL`;
}

export const INSPECTIONS_SQL = `SELECT i.lot_id AS lot_id, i.characteristic AS characteristic, i.value AS value, i.lsl AS lsl, i.usl AS usl,
       i.result AS result, p.code AS inspector, i.at AS at
FROM inspection i
  LEFT JOIN personnel p ON p.id = i.inspector_id
WHERE i.lot_id IN (:ids)`;

/**
 * Alarms on an operation's equipment raised from its start to its end (a running operation: since its
 * start). PostgreSQL and SQL Server read them per operation in a correlated subquery (an index range on
 * alarm (equipment_id, raised_at)); on PostgreSQL `OFFSET 0` keeps the planner from flattening it back
 * into a join that may hash the whole alarm table. SQLite and MariaDB join.
 */
export function alarmsSql(dialect: Dialect): string {
  const during = `a.equipment_id = o.equipment_id AND a.raised_at >= o.started_at AND a.raised_at <= ${endOf(dialect, 'o.ended_at')}`;
  const columns = (equipment: string) => `o.lot_id AS lot_id, o.code AS operation, a.rule AS rule, ${equipment} AS equipment, a.parameter AS parameter,
       a.value AS value, a.limit_value AS limit_value, a.severity AS severity, a.raised_at AS raised_at, a.cleared_at AS cleared_at`;
  if (dialect === 'postgres' || dialect === 'mssql') {
    const apply = dialect === 'postgres' ? 'CROSS JOIN LATERAL' : 'CROSS APPLY';
    return `SELECT ${columns('a.equipment')}
FROM operation o
  ${apply} (
    SELECT a.rule AS rule, e.code AS equipment, a.parameter AS parameter, a.value AS value, a.limit_value AS limit_value,
           a.severity AS severity, a.raised_at AS raised_at, a.cleared_at AS cleared_at
    FROM alarm a
      LEFT JOIN equipment e ON e.id = a.equipment_id
    WHERE ${during}${dialect === 'postgres' ? '\n    OFFSET 0' : ''}
  ) a
WHERE o.lot_id IN (:ids)`;
  }
  return `SELECT ${columns('e.code')}
FROM operation o
  JOIN alarm a ON ${during}
  LEFT JOIN equipment e ON e.id = a.equipment_id
WHERE o.lot_id IN (:ids)`;
}
