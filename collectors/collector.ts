/**
 * The collector (DESIGN §7): drivers → tag mapping (in each driver) → rules → pipeline (batcher → journal →
 * writer). Alarm changes from the rules go through the same journal into the `alarm` table, and to the
 * notifier, which only enqueues: a slow or dead notification endpoint never holds up collection.
 */
import type { DataSource } from '../datasources/data-source.js';
import type { CollectorConfig, DriverConfig } from './config.js';
import { Pipeline, type PipelineStatus } from './pipeline/pipeline.js';
import type { JournalFullError } from './pipeline/journal.js';
import { RuleEngine } from './rules/engine.js';
import { loadLimits, loadOpenAlarms, type OpenAlarm, type LimitTable } from './rules/limits.js';
import { loadSpcHistory } from './rules/history.js';
import { ProductRules } from './rules/product-rules.js';
import { RunningOperations, storeOperationSource } from './rules/running-product.js';
import { Notifier, type NotifierStatus } from './notify/notifier.js';
import { defaultCollectorId, Heartbeat } from './heartbeat.js';
import type { AlarmChange, Driver, DriverStatus, Reading, ReadingSink } from './types.js';

export interface CollectorOptions {
  config: CollectorConfig;
  /** The trace store (opened and migrated); closed by the caller after `stop()`. */
  db: DataSource;
  /** Overrides `config.journal.dir`. */
  journalDir?: string;
  /** Log lines (default stderr, prefixed). */
  log?: (message: string) => void;
  /** The journal is full or the disk refused a write: collection cannot go on; call `stop()`. */
  onFatal?: (e: JournalFullError) => void;
  /** Every alarm change, besides the configured notifications (called synchronously; must not block). */
  onAlarms?: (changes: readonly AlarmChange[]) => void;
  /** Drivers to run instead of building them from the config (tests, embedding). */
  drivers?: Driver[];
  /** Journal segment size (default 64 MiB). */
  segmentBytes?: number;
  /** The collector's id in the store's collector_status (default `<host>:<journal folder>`). */
  id?: string;
  /** The heartbeat into collector_status (collectors/heartbeat.ts; default every 5 s); false: none. */
  heartbeat?: false | { intervalMs?: number };
}

export interface CollectorStatus {
  pipeline: PipelineStatus;
  drivers: DriverStatus[];
  rules: {
    enabled: boolean;
    limits: number;
    openAlarms: number;
    alarmChanges: number;
    /** Limits per running product: operation reads from the store, failed reads, readings waiting for one. */
    runningProduct?: { loads: number; failures: number; held: number };
  };
  notify?: NotifierStatus;
}

export interface Collector {
  status(): CollectorStatus;
  /** Stops the drivers, then writes everything journaled (up to `drainTimeoutMs`; the rest stays journaled). */
  stop(opts?: { drainTimeoutMs?: number }): Promise<CollectorStatus>;
}

/** Makes the driver a config section names (driver modules load on demand: OPC UA is heavy). */
export async function createDriver(c: DriverConfig, log: (m: string) => void): Promise<Driver> {
  switch (c.type) {
    case 'mqtt': {
      const { MqttDriver } = await import('./mqtt/driver.js');
      return new MqttDriver(c, { log });
    }
    case 'opcua': {
      const [{ OpcuaDriver }, { quietOpcuaLogs }] = await Promise.all([import('./opcua/driver.js'), import('./opcua/quiet.js')]);
      quietOpcuaLogs('errors');
      return new OpcuaDriver(c);
    }
    case 'modbus': {
      const { ModbusDriver } = await import('./modbus/driver.js');
      return new ModbusDriver(c, { log });
    }
  }
}

export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  const { config, db } = opts;
  const log = opts.log ?? ((m: string) => process.stderr.write(`tracereport collect: ${m}\n`));
  // Drivers first: a driver section the driver itself refuses stops the start before anything runs.
  const drivers = opts.drivers ?? (await Promise.all(config.drivers.map((c) => createDriver(c, log))));

  const journalDir = opts.journalDir ?? config.journal.dir;
  const pipeline = Pipeline.start({
    db,
    journal: { dir: journalDir, maxBytes: config.journal.maxBytes, segmentBytes: opts.segmentBytes },
    batch: config.batch,
    log,
    onFatal: (e) => opts.onFatal?.(e),
  });

  let rules: RuleEngine | undefined;
  let products: { gate: ProductRules; operations: RunningOperations } | undefined;
  let limitCount = 0;
  let alarmChanges = 0;
  const notifier = config.notify.length ? new Notifier(config.notify, { warn: log }) : undefined;
  const emit = (changes: readonly AlarmChange[]): void => {
    alarmChanges += changes.length;
    pipeline.addAlarms(changes);
    if (notifier) for (const c of changes) notifier.notify(c);
    try {
      opts.onAlarms?.(changes);
    } catch (e) {
      log(`alarm listener failed: ${(e as Error).message}`);
    }
  };
  if (config.rules) {
    // The replayed journal may hold alarm changes: let it reach the store before reading the open alarms.
    await pipeline.drained(5000);
    let limits: LimitTable;
    let open: OpenAlarm[] = [];
    let history: Reading[] = [];
    try {
      limits = await loadLimits(db, config.rules);
      open = await loadOpenAlarms(db);
      history = await loadSpcHistory(db, limits, config.rules);
    } catch (e) {
      limits = await loadLimits(undefined, config.rules);
      log(`rules: cannot read limits, open alarms and history from the trace store (${(e as Error).message}); running on the config's limits only`);
    }
    rules = new RuleEngine(config.rules, limits, { open });
    rules.prime(history);
    limitCount = limits.size;
    if (config.rules.fromSpec) {
      // Limits of the product running on each equipment, from the store's operations (the widest window when none is known).
      const operations = new RunningOperations(storeOperationSource(db), { log });
      products = { operations, gate: new ProductRules(rules, operations, emit, { log }) };
    }
  }

  const sink: ReadingSink = (readings: readonly Reading[]): void => {
    // Journaled before the driver acknowledges (sink.journaled()); throws (and the driver does not acknowledge) when the journal is full.
    pipeline.add(readings);
    if (products) return products.gate.onReadings(readings);
    if (!rules) return;
    const changes = rules.onReadings(readings);
    if (changes.length) emit(changes);
  };
  sink.journaled = () => pipeline.writeJournal();

  const started: Driver[] = [];
  try {
    for (const d of drivers) {
      await d.start(sink);
      started.push(d);
    }
  } catch (e) {
    await Promise.allSettled(started.map((d) => d.stop()));
    await products?.gate.close(0);
    await pipeline.stop();
    await notifier?.close();
    throw e;
  }

  const runningProduct = (p: NonNullable<typeof products>) => {
    const { loads, failures } = p.operations.status();
    return { loads, failures, held: p.gate.status().held };
  };
  const status = (): CollectorStatus => ({
    pipeline: pipeline.status(),
    drivers: drivers.map((d) => d.status()),
    rules: {
      enabled: rules !== undefined,
      limits: limitCount,
      openAlarms: rules?.openAlarms().length ?? 0,
      alarmChanges,
      ...(products ? { runningProduct: runningProduct(products) } : {}),
    },
    ...(notifier ? { notify: notifier.status() } : {}),
  });

  const heartbeat = opts.heartbeat === false ? undefined : new Heartbeat({ db, id: opts.id ?? defaultCollectorId(journalDir), status, log, intervalMs: opts.heartbeat?.intervalMs });
  heartbeat?.start();

  let stopped: Promise<CollectorStatus> | undefined;
  return {
    status,
    stop(stopOpts = {}) {
      stopped ??= (async () => {
        const results = await Promise.allSettled(drivers.map((d) => d.stop()));
        for (const [i, r] of results.entries()) if (r.status === 'rejected') log(`driver ${drivers[i]!.name} did not stop cleanly: ${(r.reason as Error)?.message}`);
        // Readings waiting for their running operation are judged before the last batch is sealed.
        try {
          await products?.gate.close();
        } catch (e) {
          log(`rules: ${(e as Error).message}`);
        }
        await pipeline.stop(stopOpts);
        await heartbeat?.stop(status());
        await notifier?.close();
        return status();
      })();
      return stopped;
    },
  };
}
