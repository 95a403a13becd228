/**
 * Prometheus metrics of one server: request durations by route, renders by format and their durations,
 * query cache lookups and rows, and the PDF browser pool (read when scraped; 0 before the first PDF).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BrowserPoolStats } from '../renderer/pdf/browser-pool.js';

/** The pool's gauges: metric name suffix, help, the figure it shows. */
const POOL_GAUGES: readonly [string, string, keyof BrowserPoolStats][] = [
  ['browsers', 'Chromium processes of the PDF pool', 'browsers'],
  ['pages', 'Pages open in the PDF pool (rendering or idle)', 'pages'],
  ['busy', 'PDF renders holding a page of the pool', 'busy'],
  ['queued', 'PDF renders waiting for a page of the pool', 'queued'],
  ['capacity', 'Pages the PDF pool renders on at once (0 before the pool exists)', 'capacity'],
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

  /**
   * @param cachedRows rows held in the query cache
   * @param poolStats the PDF browser pool's figures, undefined while there is no pool (all 0)
   */
  constructor(cachedRows: () => number = () => 0, poolStats: () => BrowserPoolStats | undefined = () => undefined) {
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
