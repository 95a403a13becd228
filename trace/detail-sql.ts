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

export const OPERATIONS_SQL = `SELECT o.id AS op_id, o.lot_id AS lot_id, o.code AS operation, o.step_seq AS step, wo.code AS work_order,
       e.code AS equipment, e.name AS equipment_name, p.code AS operator, p.name AS operator_name,
       o.started_at AS started_at, o.ended_at AS ended_at, o.result AS result
FROM operation o
  LEFT JOIN work_order wo ON wo.id = o.work_order_id
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
  return `params(equipment_id, parameter) AS (
  SELECT eq.equipment_id, (SELECT MIN(s.parameter) FROM sample s WHERE s.equipment_id = eq.equipment_id)
  FROM eq
  UNION ALL
  SELECT p.equipment_id,
         (SELECT MIN(s.parameter) FROM sample s WHERE s.equipment_id = p.equipment_id AND s.parameter > p.parameter)
  FROM params p
  WHERE p.parameter IS NOT NULL
)`;
}

/**
 * Per operation and parameter: the samples on the operation's equipment from its start to its end (both
 * included; a running operation has no end) with count, min, avg, max, the spec of its route step
 * (work_order.route_id, operation.step_seq, parameter) and the count of samples outside [lsl, usl].
 * A parameter with a spec for the step but no sample in the window is listed with count 0.
 */
export function parameterSummarySql(dialect: Dialect): string {
  const recursive = dialect === 'mssql' ? '' : 'RECURSIVE ';
  return `WITH ${recursive}ops AS (
  SELECT o.id AS op_id, o.equipment_id AS equipment_id, o.started_at AS started_at, o.ended_at AS ended_at,
         o.step_seq AS step_seq, wo.route_id AS route_id
  FROM operation o
    LEFT JOIN work_order wo ON wo.id = o.work_order_id
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
)
SELECT op.op_id AS op_id, op.parameter AS parameter, COUNT(s.value) AS n, MIN(s.value) AS min_value,
       AVG(s.value) AS avg_value, MAX(s.value) AS max_value,
       ps.lsl AS lsl, ps.target AS target, ps.usl AS usl, ps.unit AS unit,
       SUM(CASE WHEN s.value < ps.lsl OR s.value > ps.usl THEN 1 ELSE 0 END) AS out_of_spec
FROM op_params op
  JOIN ops ON ops.op_id = op.op_id
  LEFT JOIN parameter_spec ps
    ON ps.route_id = ops.route_id AND ps.step_seq = ops.step_seq AND ps.parameter = op.parameter
  LEFT JOIN sample s
    ON s.equipment_id = ops.equipment_id AND s.parameter = op.parameter
   AND s.ts >= ops.started_at AND s.ts <= ${endOf(dialect, 'ops.ended_at')}
GROUP BY op.op_id, op.parameter, ps.id, ps.lsl, ps.target, ps.usl, ps.unit
HAVING COUNT(s.value) > 0 OR ps.id IS NOT NULL`;
}

export const INSPECTIONS_SQL = `SELECT i.lot_id AS lot_id, i.characteristic AS characteristic, i.value AS value, i.lsl AS lsl, i.usl AS usl,
       i.result AS result, p.code AS inspector, i.at AS at
FROM inspection i
  LEFT JOIN personnel p ON p.id = i.inspector_id
WHERE i.lot_id IN (:ids)`;

/** Alarms on an operation's equipment raised from its start to its end (a running operation: since its start). */
export function alarmsSql(dialect: Dialect): string {
  return `SELECT o.lot_id AS lot_id, o.code AS operation, a.rule AS rule, e.code AS equipment, a.parameter AS parameter,
       a.value AS value, a.limit_value AS limit_value, a.severity AS severity, a.raised_at AS raised_at, a.cleared_at AS cleared_at
FROM operation o
  JOIN alarm a
    ON a.equipment_id = o.equipment_id AND a.raised_at >= o.started_at AND a.raised_at <= ${endOf(dialect, 'o.ended_at')}
  LEFT JOIN equipment e ON e.id = a.equipment_id
WHERE o.lot_id IN (:ids)`;
}
