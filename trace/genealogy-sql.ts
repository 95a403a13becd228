import type { Dialect } from '../datasources/source-url.js';

/**
 * The genealogy walk as one recursive CTE per dialect (DESIGN §6). Parameters, always bound:
 * `:lot` (the root lot code), `:maxDepth` (lots deeper than this are not reached) and, on SQLite and SQL
 * Server, `:maxRows` (a guard on how many walk rows the CTE may produce).
 *
 * The walk carries, per row, the lot reached, its depth and the path of lot ids from the root
 * (`/12/34/`). A row whose lot is already on its own path closes a cycle: it is emitted with `cyc = 1`
 * and never expanded, so bad data ends the walk instead of looping.
 *
 * Path enumeration visits every distinct path, which grows fast on a graph where lots split and merge
 * again and again. Where the dialect allows window functions in the recursive term (PostgreSQL,
 * MariaDB), each step keeps ONE non-cyclic row per (lot, depth) — the one with the smallest path — and
 * every cycle-closing row, so the walk is bounded by lots × depths. SQLite (no window functions in a
 * recursive select) and SQL Server (no window filtering, no DISTINCT/UNION in recursion) enumerate
 * paths; `:maxRows` stops a runaway walk, which is then reported as truncated. Either way the result has
 * each lot once, at its smallest depth, with one shortest path (the smallest path string among them).
 *
 * Result rows: `lot_id, depth, path, cyc, walked` (walked = walk rows produced, SQLite/SQL Server; null
 * elsewhere) plus the lot's own columns (`code, qty, uom, status, produced_at, placeholder, material,
 * material_name, kind, supplier, work_order`). Rows with cyc = 0 are the reached lots, one each; rows with
 * cyc = 1 are cycle closings (the lot that was already on the path; the path is the row's path + it).
 */
export type Direction = 'backward' | 'forward';

/** The deepest walk allowed: the MariaDB path column is sized for it. */
export const MAX_DEPTH = 300;
/** Widest decimal lot id (unsigned 32-bit) plus the separator. */
const ID_WIDTH = 11;
const MARIADB_PATH_WIDTH = (MAX_DEPTH + 1) * ID_WIDTH + 1;

/** Link columns for a direction: `from` is the lot the walk stands on, `to` the lot it moves to. */
export function linkColumns(direction: Direction): { from: string; to: string } {
  return direction === 'backward'
    ? { from: 'output_lot_id', to: 'input_lot_id' }
    : { from: 'input_lot_id', to: 'output_lot_id' };
}

const LOT_COLUMNS = `l.code AS code, l.qty AS qty, l.uom AS uom, l.status AS status, l.produced_at AS produced_at,
       l.placeholder AS placeholder, m.code AS material, m.name AS material_name, m.kind AS kind,
       s.code AS supplier, wo.code AS work_order`;

const lotJoins = (join: string) => `${join} lot l ON l.id = r.lot_id
  LEFT JOIN material m ON m.id = l.material_id
  LEFT JOIN supplier s ON s.id = l.supplier_id
  LEFT JOIN work_order wo ON wo.id = l.work_order_id`;

/**
 * The ranking and final select, shared by every dialect (window functions outside recursion are
 * everywhere). SQLite joins with CROSS JOIN, which fixes the walk as the outer loop: with the row guard
 * bound rather than literal its planner cannot size the walk and would scan the lot table instead.
 */
function finalSelect(source: string, walked: string, tail = '', join = 'JOIN'): string {
  return `ranked AS (
  SELECT w.lot_id, w.depth, w.path, w.cyc, ${walked} AS walked,
         ROW_NUMBER() OVER (PARTITION BY w.lot_id, w.cyc ORDER BY w.depth, w.path) AS rn
  FROM ${source} w
)
SELECT r.lot_id AS lot_id, r.depth AS depth, r.path AS path, r.cyc AS cyc, r.walked AS walked,
       ${LOT_COLUMNS}
FROM ranked r
  ${lotJoins(join)}
WHERE r.rn = 1 OR r.cyc = 1
ORDER BY r.cyc, r.depth, l.code${tail}`;
}

/** SQLite: `||` concatenation, instr() for the cycle test, LIMIT on the recursive CTE as the row guard. */
function sqliteSql(direction: Direction): string {
  const { from, to } = linkColumns(direction);
  return `WITH RECURSIVE walk(lot_id, depth, path, cyc) AS (
  SELECT l.id, 0, '/' || l.id || '/', 0
  FROM lot l WHERE l.code = :lot
  UNION ALL
  SELECT k.${to}, w.depth + 1, w.path || k.${to} || '/',
         CASE WHEN instr(w.path, '/' || k.${to} || '/') > 0 THEN 1 ELSE 0 END
  FROM walk w JOIN lot_link k ON k.${from} = w.lot_id
  WHERE w.cyc = 0 AND w.depth < :maxDepth
  LIMIT :maxRows
),
${finalSelect('walk', 'COUNT(*) OVER ()', '', 'CROSS JOIN')}`;
}

/** PostgreSQL: text path, strpos() for the cycle test, one non-cyclic row per (lot, depth) per step. */
function postgresSql(direction: Direction): string {
  const { from, to } = linkColumns(direction);
  return `WITH RECURSIVE walk(lot_id, depth, path, cyc) AS (
  SELECT l.id, 0, '/' || l.id || '/', 0
  FROM lot l WHERE l.code = :lot
  UNION ALL
  SELECT x.lot_id, x.depth, x.path, x.cyc
  FROM (
    SELECT k.${to} AS lot_id, w.depth + 1 AS depth, w.path || k.${to} || '/' AS path,
           CASE WHEN strpos(w.path, '/' || k.${to} || '/') > 0 THEN 1 ELSE 0 END AS cyc,
           ROW_NUMBER() OVER (
             PARTITION BY k.${to}, strpos(w.path, '/' || k.${to} || '/') > 0
             ORDER BY w.path) AS rn
    FROM walk w JOIN lot_link k ON k.${from} = w.lot_id
    WHERE w.cyc = 0 AND w.depth < :maxDepth
  ) x
  WHERE x.rn = 1 OR x.cyc = 1
),
${finalSelect('walk', 'CAST(NULL AS integer)')}`;
}

/**
 * MariaDB / MySQL: CONCAT and LOCATE; the anchor's path is CAST to a wide ASCII CHAR, because the
 * recursive CTE's column types come from the anchor. Same per-step dedupe as PostgreSQL.
 */
function mysqlSql(direction: Direction): string {
  const { from, to } = linkColumns(direction);
  return `WITH RECURSIVE walk(lot_id, depth, path, cyc) AS (
  SELECT l.id, 0, CAST(CONCAT('/', l.id, '/') AS CHAR(${MARIADB_PATH_WIDTH}) CHARACTER SET ascii), 0
  FROM lot l WHERE l.code = :lot
  UNION ALL
  SELECT x.lot_id, x.depth, x.path, x.cyc
  FROM (
    SELECT k.${to} AS lot_id, w.depth + 1 AS depth, CONCAT(w.path, k.${to}, '/') AS path,
           CASE WHEN LOCATE(CONCAT('/', k.${to}, '/'), w.path) > 0 THEN 1 ELSE 0 END AS cyc,
           ROW_NUMBER() OVER (
             PARTITION BY k.${to}, LOCATE(CONCAT('/', k.${to}, '/'), w.path) > 0
             ORDER BY w.path) AS rn
    FROM walk w JOIN lot_link k ON k.${from} = w.lot_id
    WHERE w.cyc = 0 AND w.depth < :maxDepth
  ) x
  WHERE x.rn = 1 OR x.cyc = 1
),
${finalSelect('walk', 'CAST(NULL AS SIGNED)')}`;
}

/**
 * SQL Server: no RECURSIVE keyword, UNION ALL only (no dedupe in recursion, no window filtering), `+`
 * concatenation on NVARCHAR(MAX) (anchor and recursive member must have the same type), CHARINDEX for the
 * cycle test; TOP over the CTE is the row guard and MAXRECURSION 0 lifts the default 100-level cap (the
 * depth test bounds the walk).
 */
function mssqlSql(direction: Direction): string {
  const { from, to } = linkColumns(direction);
  const id = (col: string) => `CAST(${col} AS NVARCHAR(20))`;
  return `WITH walk(lot_id, depth, path, cyc) AS (
  SELECT l.id, 0, CAST(N'/' + ${id('l.id')} + N'/' AS NVARCHAR(MAX)), 0
  FROM lot l WHERE l.code = :lot
  UNION ALL
  SELECT k.${to}, w.depth + 1, CAST(w.path + ${id(`k.${to}`)} + N'/' AS NVARCHAR(MAX)),
         CASE WHEN CHARINDEX(N'/' + ${id(`k.${to}`)} + N'/', w.path) > 0 THEN 1 ELSE 0 END
  FROM walk w JOIN lot_link k ON k.${from} = w.lot_id
  WHERE w.cyc = 0 AND w.depth < :maxDepth
),
capped AS (
  SELECT TOP (:maxRows) lot_id, depth, path, cyc FROM walk
),
${finalSelect('capped', 'COUNT(*) OVER ()', '\nOPTION (MAXRECURSION 0)')}`;
}

/** The recursive CTE text for a dialect and direction (for the trace, tests and docs). */
export function genealogySql(dialect: Dialect, direction: Direction): string {
  switch (dialect) {
    case 'sqlite':
      return sqliteSql(direction);
    case 'postgres':
      return postgresSql(direction);
    case 'mysql':
      return mysqlSql(direction);
    case 'mssql':
      return mssqlSql(direction);
  }
}

/**
 * Links out of the given lots in the walk direction (`:ids`, a bound list), as lot ids: the caller knows
 * the codes of the lots it reached. The operation code is a scalar subquery, an index lookup per link
 * whatever the planner thinks of the id list.
 */
export function edgesSql(direction: Direction): string {
  const { from } = linkColumns(direction);
  return `SELECT k.input_lot_id AS input_id, k.output_lot_id AS output_id, k.qty AS qty, k.at AS at,
       (SELECT op.code FROM operation op WHERE op.id = k.operation_id) AS operation
FROM lot_link k
WHERE k.${from} IN (:ids)`;
}

/** Shipments of the given lots (`:ids`, a bound list), with the customer. */
export const SHIPMENTS_SQL = `SELECT sh.lot_id AS lot_id, c.code AS customer, c.name AS customer_name, sh.qty AS qty, sh.at AS at, sh.order_ref AS order_ref
FROM shipment sh
  JOIN customer c ON c.id = sh.customer_id
WHERE sh.lot_id IN (:ids)`;
