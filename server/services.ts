/** What the route handlers work with: the stores, the audit trail, the trace store, metrics, the log. */
import type { Logger } from 'pino';
import type { DataSource } from '../datasources/data-source.js';
import type { BrowserPool } from '../renderer/pdf/browser-pool.js';
import type { ServerStore } from './store/open.js';
import type { TemplateStore } from './store/templates.js';
import type { DataSourceStore } from './store/data-sources.js';
import type { ServerMetrics } from './metrics.js';
import type { HeartbeatClocks } from '../collectors/heartbeat-clock.js';
import type { QueryCache } from './render/query-cache.js';
import type { SourcePool } from './render/source-pool.js';

export interface ServerSettings {
  /** Idle time after which a session ends (ms). */
  sessionTtlMs: number;
  /** Served over TLS: Secure cookies and HSTS. */
  tls: boolean;
  /** Failed logins per account within the window before further attempts are refused. */
  loginFailuresPerAccount: number;
  /** Failed logins per client address within the window. */
  loginFailuresPerAddress: number;
  loginWindowMs: number;
  /** Largest JSON body accepted. */
  jsonLimit: string;
  /** Origins allowed to frame embedded reports (CSP frame-ancestors of /embed/…); none: embedding is refused by browsers. */
  embedOrigins: string[];
  /**
   * When set, `GET /metrics` answers only requests with `Authorization: Bearer <token>` (default
   * $TRACEREPORT_METRICS_TOKEN; unset: public, as Prometheus scrapes it by default).
   */
  metricsToken?: string;
}

export const DEFAULT_SETTINGS: ServerSettings = {
  sessionTtlMs: 8 * 60 * 60 * 1000,
  tls: false,
  loginFailuresPerAccount: 5,
  loginFailuresPerAddress: 20,
  loginWindowMs: 15 * 60 * 1000,
  jsonLimit: '2mb',
  embedOrigins: [],
};

export interface Services {
  store: ServerStore;
  templates: TemplateStore;
  dataSources: DataSourceStore;
  auditKey: Buffer;
  /** The trace store URL (source "trace" of the templates). */
  traceDbUrl: string;
  /** The trace store, open for trace queries. */
  traceDb: DataSource;
  /** Chromium pool for PDF renders, made on first use. */
  browserPool(): BrowserPool;
  metrics: ServerMetrics;
  /** The collectors' clocks as the heartbeat rows read so far show them (collectors/heartbeat-clock.ts). */
  collectorClocks: HeartbeatClocks;
  /** Dataset results with a cacheTtl, per process. */
  queryCache: QueryCache;
  /** The registered data sources kept open across renders. */
  sourcePool: SourcePool;
  logger: Logger;
  settings: ServerSettings;
}
