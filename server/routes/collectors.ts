/**
 * The collectors (`tracereport collect` processes) as their heartbeats left them in the trace store's
 * collector_status table (collectors/heartbeat.ts): up or down, state, drivers, pipeline and rules figures.
 * A read, like the audit list: not itself audited.
 */
import { collectorUp, EMPTY_STORED_STATUS, readCollectorStatuses, type CollectorStatusRecord } from '../../collectors/heartbeat.js';
import type { RouteDef } from './route.js';

/** Most collectors listed. */
export const MAX_COLLECTORS = 1000;

/** One collector as the API shows it. */
export function collectorView(r: CollectorStatusRecord, now: number) {
  const s = r.status ?? EMPTY_STORED_STATUS;
  const p = s.pipeline;
  return {
    id: r.id,
    host: r.host,
    pid: r.pid,
    up: collectorUp(r, now),
    state: r.state,
    startedAt: r.startedAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    ageMs: Math.max(0, now - r.updatedAt.getTime()),
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
      ctx.body = { now: new Date(now).toISOString(), collectors: rows.map((r) => collectorView(r, now)) };
    },
  },
];
