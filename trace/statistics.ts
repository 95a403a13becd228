import type { DataSource } from '../datasources/data-source.js';

/** The tables a bulk load fills; their planner statistics go stale after it. */
const LOADED_TABLES = ['lot', 'lot_link', 'operation', 'sample', 'inspection', 'alarm', 'shipment', 'work_order', 'material', 'equipment', 'personnel'];

/** Rows written by one ingest above which it refreshes the statistics itself (see `refreshStatisticsAfterIngest`). */
export const STATISTICS_REFRESH_ROWS = 10_000;

/**
 * Refreshes the planner's statistics after a bulk load. Without it PostgreSQL plans the genealogy and
 * detail queries of a freshly loaded million-lot store as if its tables were tiny (hash joins over
 * sequential scans of lot and operation: seconds instead of milliseconds) until autovacuum catches up (and
 * autovacuum may be off). SQLite plans these queries well without statistics; SQL Server updates its
 * statistics automatically.
 */
export async function refreshStatistics(db: DataSource): Promise<void> {
  if (db.dialect === 'postgres') await db.query(`ANALYZE ${LOADED_TABLES.join(', ')}`);
  else if (db.dialect === 'mysql') await db.query(`ANALYZE TABLE ${LOADED_TABLES.join(', ')}`);
}

/** After an ingest: refreshes the statistics when it wrote more than STATISTICS_REFRESH_ROWS rows; true when it did. */
export async function refreshStatisticsAfterIngest(db: DataSource, written: number): Promise<boolean> {
  if (written <= STATISTICS_REFRESH_ROWS) return false;
  await refreshStatistics(db);
  return true;
}
