/**
 * Starting a server: open (and migrate) the config database and the trace store, bootstrap, build
 * the app, listen on HTTP or HTTPS. Used by `tracereport serve` and the tests.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { BrowserPool } from '../renderer/pdf/browser-pool.js';
import { openTraceStore, defaultTraceDb } from '../trace/store.js';
import { createApp } from './app.js';
import { METRICS_TOKEN_ENV } from './routes/health.js';
import { dummyHash } from './auth/password.js';
import { auditKey as deriveAuditKey } from './audit/chain.js';
import { bootstrap, type BootstrapResult } from './bootstrap.js';
import { ServerMetrics } from './metrics.js';
import { DEFAULT_SETTINGS, type ServerSettings, type Services } from './services.js';
import { DataSourceStore } from './store/data-sources.js';
import { openServerStore } from './store/open.js';
import { deleteExpiredSessions } from './store/sessions.js';
import { TemplateStore } from './store/templates.js';
import { QueryCache } from './render/query-cache.js';
import { SourcePool } from './render/source-pool.js';
import { readCollectorStatuses } from '../collectors/heartbeat.js';
import { HeartbeatClocks } from '../collectors/heartbeat-clock.js';
import { MAX_COLLECTORS } from './routes/collectors.js';

export interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  /** Config database URL (default DIR/server.sqlite). */
  configDb?: string;
  /** Trace store (the templates' source "trace"). */
  traceDb?: string;
  tls?: { cert: string; key: string };
  logger?: Logger;
  settings?: Partial<Omit<ServerSettings, 'tls'>>;
  /** The first admin's password (default $TRACEREPORT_ADMIN_PASSWORD, else random and returned once). */
  adminPassword?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const store = await openServerStore({ dataDir: opts.dataDir, configDb: opts.configDb });
  const traceDbUrl = opts.traceDb ?? defaultTraceDb();
  let traceDb;
  try {
    // SQLite: readers side by side (renders stream from it while the trace API reads).
    traceDb = await openTraceStore(traceDbUrl, { connections: { max: 4 } });
  } catch (e) {
    await store.close();
    throw e;
  }
  const tls = opts.tls ? { cert: fs.readFileSync(opts.tls.cert), key: fs.readFileSync(opts.tls.key) } : undefined;
  const key = deriveAuditKey(store.secretKey);
  let pool: BrowserPool | undefined;
  const queryCache: QueryCache = new QueryCache(undefined, undefined, (hit) => metrics.cacheLookups.inc({ result: hit ? 'hit' : 'miss' }));
  const collectorClocks = new HeartbeatClocks();
  const readCollectors = async () => {
    const rows = await readCollectorStatuses(traceDb, { limit: MAX_COLLECTORS, timeoutMs: 2000 });
    collectorClocks.observe(rows);
    return rows;
  };
  const metrics = new ServerMetrics(() => queryCache.size.rows, () => pool?.stats(), readCollectors, (r, now) => collectorClocks.up(r, now));
  const dataSources = new DataSourceStore(store.knex, store.secretKey, store.dataDir);
  const sourcePool = new SourcePool(dataSources, { onOpen: () => metrics.sourcesOpened.inc() });
  metrics.watchSourcePool(() => sourcePool.status().open);
  const services: Services = {
    store,
    templates: new TemplateStore(store.knex),
    dataSources,
    auditKey: key,
    traceDbUrl,
    traceDb,
    browserPool: () => (pool ??= new BrowserPool()),
    metrics,
    collectorClocks,
    queryCache,
    sourcePool,
    logger: opts.logger ?? pino({ name: 'tracereport' }),
    settings: { ...DEFAULT_SETTINGS, metricsToken: process.env[METRICS_TOKEN_ENV] || undefined, ...opts.settings, tls: Boolean(tls) },
  };
  let boot: BootstrapResult;
  let server: http.Server | https.Server;
  try {
    boot = await bootstrap(store, services.templates, key, { adminPassword: opts.adminPassword });
    await deleteExpiredSessions(store.knex);
    await dummyHash(); // ready before the first login, so an unknown user costs the same as a known one
    const app = createApp(services);
    const listening = tls ? https.createServer({ cert: tls.cert, key: tls.key }, app.callback()) : http.createServer(app.callback());
    listening.requestTimeout = 10 * 60 * 1000;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(opts.port ?? 8080, opts.host ?? '0.0.0.0', () => resolve());
    });
    server = listening;
  } catch (e) {
    await sourcePool.close();
    await traceDb.close();
    await store.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  const sweep = setInterval(() => void deleteExpiredSessions(store.knex).catch(() => undefined), 10 * 60 * 1000);
  sweep.unref();
  return {
    url: `${tls ? 'https' : 'http'}://${shownHost}:${port}`,
    port,
    services,
    bootstrap: boot,
    async close() {
      clearInterval(sweep);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool?.close();
      await sourcePool.close();
      await traceDb.close();
      await store.close();
    },
  };
}
