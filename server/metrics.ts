/**
 * Prometheus metrics of one server: request durations by route, renders by format and their durations,
 * query cache lookups and rows, the PDF browser pool (read when scraped; 0 before the first PDF), and the
 * collectors writing into the trace store, from their heartbeat rows (read when scraped, cached 2 s).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BrowserPoolStats } from '../renderer/pdf/browser-pool.js';
import { collectorUp, type CollectorStatusRecord } from '../collectors/heartbeat.js';

/** The pool's gauges: metric name suffix, help, the figure it shows. */
const POOL_GAUGES: readonly [string, string, keyof BrowserPoolStats][] = [
  ['browsers', 'Chromium processes of the PDF pool', 'browsers'],
  ['pages', 'Pages open in the PDF pool (rendering or idle)', 'pages'],
  ['busy', 'PDF renders holding a page of the pool', 'busy'],
  ['queued', 'PDF renders waiting for a page of the pool', 'queued'],
  ['capacity', 'Pages the PDF pool renders on at once (0 before the pool exists)', 'capacity'],
];

/** How long one read of the collectors' rows serves scrapes, and how long a scrape waits for it. */
const COLLECTORS_CACHE_MS = 2000;
const COLLECTORS_WAIT_MS = 2000;

type CollectorRows = () => Promise<readonly CollectorStatusRecord[]>;

/**
 * The collectors' rows for a scrape: one read serves every gauge of the scrape and any scrape within 2 s. A read
 * that fails or takes longer than 2 s gives no rows (the collector gauges are left out of that scrape; /metrics
 * itself never fails or hangs because the trace store does), and no second read starts while one is under way.
 */
function cachedCollectorRows(read: CollectorRows): { get: () => Promise<readonly CollectorStatusRecord[]>; forget: () => void } {
  let cached: { at: number; rows: Promise<readonly CollectorStatusRecord[]> } | undefined;
  let reading: Promise<readonly CollectorStatusRecord[]> | undefined;
  const forget = () => {
    cached = undefined;
    reading = undefined;
  };
  const get = () => {
    const now = Date.now();
    if (!cached || now - cached.at > COLLECTORS_CACHE_MS) {
      if (!reading) {
        const started: Promise<readonly CollectorStatusRecord[]> = read()
          .catch(() => [])
          .finally(() => {
            if (reading === started) reading = undefined;
          });
        reading = started;
      }
      let timer: NodeJS.Timeout | undefined;
      const rows = Promise.race([
        reading,
        new Promise<readonly CollectorStatusRecord[]>((resolve) => (timer = setTimeout(() => resolve([]), COLLECTORS_WAIT_MS))),
      ]).finally(() => clearTimeout(timer));
      cached = { at: now, rows };
    }
    return cached.rows;
  };
  return { get, forget };
}

/** The collector gauges: metric name suffix, help, the figure (undefined: not shown for that collector). */
type UpJudge = (r: CollectorStatusRecord, now: number) => boolean;

const COLLECTOR_GAUGES: readonly [string, string, (r: CollectorStatusRecord, now: number, up: UpJudge) => number | undefined][] = [
  ['up', 'Collector heartbeat seen within 3 intervals (15 s) and not stopped: 1, else 0', (r, now, up) => (up(r, now) ? 1 : 0)],
  ['readings_in_total', 'Readings the collector accepted into its journal since it started', (r) => r.status?.pipeline.readingsIn],
  ['written_total', 'Samples the collector stored since it started', (r) => r.status?.pipeline.written],
  ['journal_bytes', 'Bytes in the collector\'s journal not yet written to the store', (r) => r.status?.pipeline.journalBytes],
  ['store_up', 'The collector is up and its last write to the trace store worked: 1, else 0', (r, now, up) => (r.status ? (up(r, now) && r.status.pipeline.db === 'up' ? 1 : 0) : undefined)],
];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'tracereport_http_request_duration_seconds',
    help: 'HTTP request durations by method, route (as in the route table) and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly renders = new Counter({
    name: 'tracereport_renders_total',
    help: 'Report renders by output format and outcome',
    labelNames: ['format', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly renderDuration = new Histogram({
    name: 'tracereport_render_duration_seconds',
    help: 'Report render durations by output format',
    labelNames: ['format'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'tracereport_query_cache_lookups_total',
    help: 'Query cache lookups of datasets with a cacheTtl, by result (hit or miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly cacheRows: Gauge;
  readonly pool: Readonly<Record<string, Gauge>>;
  readonly collectors: Readonly<Record<string, Gauge>>;
  /** Drops the collectors' rows read for scrapes (after a collector is removed: the next scrape reads them again). */
  readonly forgetCollectorRows: () => void;

  /**
   * @param cachedRows rows held in the query cache
   * @param poolStats the PDF browser pool's figures, undefined while there is no pool (all 0)
   * @param collectorRows the collectors' heartbeat rows (collectors/heartbeat.ts readCollectorStatuses)
   * @param collectorIsUp whether a collector is up (default collectorUp: by the two clocks; the server passes
   *   its HeartbeatClocks, which allows for a collector clock that differs)
   */
  constructor(
    cachedRows: () => number = () => 0,
    poolStats: () => BrowserPoolStats | undefined = () => undefined,
    collectorRows: CollectorRows = async () => [],
    collectorIsUp: UpJudge = collectorUp,
  ) {
    this.cacheRows = new Gauge({
      name: 'tracereport_query_cache_rows',
      help: 'Rows held in the query cache',
      registers: [this.registry],
      collect() {
        this.set(cachedRows());
      },
    });
    this.pool = Object.fromEntries(
      POOL_GAUGES.map(([suffix, help, key]) => [
        suffix,
        new Gauge({
          name: `tracereport_pdf_pool_${suffix}`,
          help,
          registers: [this.registry],
          collect() {
            this.set(poolStats()?.[key] ?? 0);
          },
        }),
      ]),
    );
    const cache = cachedCollectorRows(collectorRows);
    const rows = cache.get;
    this.forgetCollectorRows = cache.forget;
    const collectors: Record<string, Gauge> = Object.fromEntries(
      COLLECTOR_GAUGES.map(([suffix, help, figure]) => [
        suffix,
        new Gauge({
          name: `tracereport_collector_${suffix}`,
          help,
          labelNames: ['collector'] as const,
          registers: [this.registry],
          async collect() {
            const list = await rows();
            const now = Date.now();
            this.reset();
            for (const r of list) {
              const v = figure(r, now, collectorIsUp);
              if (v !== undefined) this.set({ collector: r.id }, v);
            }
          },
        }),
      ]),
    );
    collectors.driver_connected = new Gauge({
      name: 'tracereport_collector_driver_connected',
      help: 'A collector driver\'s connection to its device or broker: 1 connected (collector up), else 0',
      labelNames: ['collector', 'driver'] as const,
      registers: [this.registry],
      async collect() {
        const list = await rows();
        const now = Date.now();
        this.reset();
        for (const r of list) {
          const up = collectorIsUp(r, now);
          for (const d of r.status?.drivers ?? []) this.set({ collector: r.id, driver: d.name }, up && d.state === 'connected' ? 1 : 0);
        }
      },
    });
    this.collectors = collectors;
    collectDefaultMetrics({ register: this.registry, prefix: 'tracereport_' });
  }

  // The pool of open data sources (server/render/source-pool.ts).
  readonly sourcesOpened = new Counter({
    name: 'tracereport_source_pool_opened_total',
    help: 'Data sources the pool opened (one knex client each; a render of a source already open opens none)',
    registers: [this.registry],
  });

  /** Shows the sources the pool holds open, read when scraped. */
  watchSourcePool(open: () => number): void {
    new Gauge({
      name: 'tracereport_source_pool_open',
      help: 'Data sources the pool holds open (registered sources read in the last 5 minutes, at most 50 idle)',
      registers: [this.registry],
      collect() {
        this.set(open());
      },
    });
  }
}
