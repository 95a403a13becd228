/**
 * The collectors (`tracereport collect` processes) as their heartbeats left them in the trace store's
 * collector_status table (collectors/heartbeat.ts): up or down, state, drivers, pipeline and rules figures.
 * Reading is not itself audited (like the audit list); removing a collector that went away for good is.
 */
import { deleteCollectorStatus, EMPTY_STORED_STATUS, readCollectorStatuses, type CollectorStatusRecord } from '../../collectors/heartbeat.js';
import { CLOCK_TOLERANCE_MS, type HeartbeatClocks } from '../../collectors/heartbeat-clock.js';
import { TraceReportError } from '../../datasources/errors.js';
import { audit, type RouteDef } from './route.js';

/** Most collectors listed. */
export const MAX_COLLECTORS = 1000;

/** One collector as the API shows it. */
export function collectorView(r: CollectorStatusRecord, now: number, clocks: HeartbeatClocks) {
  const s = r.status ?? EMPTY_STORED_STATUS;
  const p = s.pipeline;
  const offset = clocks.offset(r);
  const skewed = offset !== undefined && Math.abs(offset) > CLOCK_TOLERANCE_MS;
  return {
    id: r.id,
    host: r.host,
    pid: r.pid,
    up: clocks.up(r, now),
    // The collector's clock against the server's (positive: behind), once seen writing and when beyond tolerance.
    ...(skewed ? { clockOffsetMs: Math.round(offset) } : {}),
    state: r.state,
    startedAt: r.startedAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    // By the server's clock; for a collector whose clock differs, with the difference taken out.
    ageMs: Math.max(0, now - r.updatedAt.getTime() - (skewed ? offset : 0)),
    intervalMs: r.intervalMs,
    drivers: s.drivers.map((d) => ({
      name: d.name,
      type: d.type,
      state: d.state,
      ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
      readings: d.readings,
      ...(d.lastReadingAt !== undefined ? { lastReadingAt: d.lastReadingAt } : {}),
      reconnects: d.reconnects,
    })),
    pipeline: {
      state: p.state,
      readingsIn: p.readingsIn,
      written: p.written,
      duplicates: p.duplicates,
      refused: p.refused,
      rejected: p.rejected,
      alarmsWritten: p.alarmsWritten,
      journalBytes: p.journalBytes,
      db: p.db,
      ...(p.lastError !== undefined ? { lastError: p.lastError } : {}),
      ...(p.lastErrorAt !== undefined ? { lastErrorAt: p.lastErrorAt } : {}),
      ...(p.lastWriteAt !== undefined ? { lastWriteAt: p.lastWriteAt } : {}),
    },
    rules: { enabled: s.rules.enabled, openAlarms: s.rules.openAlarms, alarmChanges: s.rules.alarmChanges },
  };
}

export type CollectorView = ReturnType<typeof collectorView>;

export const collectorRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/collectors',
    permission: 'collectors.read',
    summary: 'the collectors writing into the trace store, from their heartbeats: {now, collectors: [{id, host, up, state, updatedAt, ageMs, drivers, pipeline, rules}]}',
    async handler(ctx, s) {
      const rows = await readCollectorStatuses(s.traceDb, { limit: MAX_COLLECTORS });
      const now = Date.now();
      s.collectorClocks.observe(rows, now);
      ctx.body = { now: new Date(now).toISOString(), collectors: rows.map((r) => collectorView(r, now, s.collectorClocks)) };
    },
  },
  {
    method: 'DELETE',
    path: '/api/collectors/:id',
    permission: 'collectors.manage',
    summary: 'remove a collector that is down from the list (its heartbeat row); 409 while it is up, since its next heartbeat would bring it back',
    async handler(ctx, s) {
      const id = ctx.params.id ?? '';
      const row = (await readCollectorStatuses(s.traceDb, { limit: MAX_COLLECTORS })).find((r) => r.id === id);
      if (!row) throw new TraceReportError('NOT_FOUND', `no collector "${id}" in the trace store; GET /api/collectors lists them`);
      const now = Date.now();
      if (s.collectorClocks.up(row, now)) {
        throw new TraceReportError(
          'CONFLICT',
          `collector "${id}" is up (last heartbeat ${Math.round((now - row.updatedAt.getTime()) / 1000)} s ago, ${row.host} process ${row.pid}): stop it first, or it writes its row again within ${Math.round(row.intervalMs / 1000)} s`,
        );
      }
      await deleteCollectorStatus(s.traceDb, id);
      s.metrics.forgetCollectorRows();
      await audit(ctx, { action: 'collector.delete', object: `collector:${id}`, params: { host: row.host, pid: row.pid, state: row.state, updatedAt: row.updatedAt.toISOString() } });
      ctx.body = { deleted: id };
    },
  },
];
