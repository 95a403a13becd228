import path from 'node:path';
import type { Command } from 'commander';
import { TraceReportError } from '../datasources/errors.js';
import { parseCollectorConfig, readCollectorConfig, type CollectorConfig } from '../collectors/config.js';
import { startCollector, type Collector, type CollectorStatus } from '../collectors/collector.js';
import { conventionDriverConfig, DEFAULT_TOPIC_PREFIX } from '../collectors/mqtt/convention.js';
import { defaultCollectorId, MAX_COLLECTOR_ID } from '../collectors/heartbeat.js';
import { openTraceStore, defaultTraceDb } from '../trace/store.js';
import { action, DB_OPTION_HELP } from './common.js';

interface CollectCliOptions {
  config?: string;
  mqtt?: string;
  topicPrefix: string;
  clientId?: string;
  db?: string;
  journal?: string;
  name?: string;
}

/** Exit code when the journal is full or the disk refuses a write (collection stopped). */
export const EXIT_JOURNAL_FULL = 3;

export function register(program: Command): void {
  program
    .command('collect')
    .description('collect shop-floor data (MQTT, OPC UA, Modbus TCP) into the trace store until stopped (SIGTERM/SIGINT flush and exit 0)')
    .option('--config <file>', 'collector config, YAML or JSON (drivers, tags, journal, batch, rules, notify); see docs/collectors.md')
    .option('--mqtt <url>', `zero config: collect ${DEFAULT_TOPIC_PREFIX}/<equipment>/<parameter> from this broker (payload {"ts","value"} or a number)`)
    .option('--topic-prefix <prefix>', 'with --mqtt: the first topic level', DEFAULT_TOPIC_PREFIX)
    .option('--client-id <id>', 'with --mqtt: MQTT client id of the persistent session (default tracereport-collect-mqtt)')
    .option('--db <db>', DB_OPTION_HELP)
    .option('--journal <dir>', 'journal folder (default: the config\'s journal.dir, data/journal)')
    .option('--name <id>', 'this collector\'s name in the trace store\'s collector_status, shown by the server (default <host>:<journal folder>)')
    .action(action(async (opts: CollectCliOptions) => collect(opts)));
}

function configFrom(opts: CollectCliOptions): CollectorConfig {
  if (opts.config && opts.mqtt) throw new TraceReportError('ARGUMENT_INVALID', 'give either --config FILE or --mqtt URL, not both');
  if (opts.config) return readCollectorConfig(opts.config);
  if (opts.mqtt) {
    const driver = conventionDriverConfig(opts.mqtt, { prefix: opts.topicPrefix, ...(opts.clientId ? { clientId: opts.clientId } : {}) });
    // Checked like a config file, so a bad URL is named the same way.
    // Zero-config still watches the limits of the plant's parameter specs. SPC stays off: its control limits
    // need a baseline per product, and a zero-config line's history mixes products (a config file turns it on).
    return parseCollectorConfig(JSON.stringify({ drivers: [driver], rules: { spc: { enabled: false } } }), '--mqtt');
  }
  throw new TraceReportError('ARGUMENT_INVALID', 'give --config FILE (see docs/collectors.md) or --mqtt URL for the zero-config MQTT convention');
}

async function collect(opts: CollectCliOptions): Promise<void> {
  const config = configFrom(opts);
  const name = opts.name?.trim();
  if (opts.name !== undefined && (!name || name.length > MAX_COLLECTOR_ID)) {
    throw new TraceReportError('ARGUMENT_INVALID', `--name: a collector name of 1 to ${MAX_COLLECTOR_ID} characters`);
  }
  const db = await openTraceStore(opts.db ?? config.db ?? defaultTraceDb());
  const journalDir = path.resolve(opts.journal ?? config.journal.dir);
  const id = name || defaultCollectorId(journalDir);
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  let line: StatusLine | undefined;
  const stop = (code: number) => {
    exitCode = Math.max(exitCode, code);
    stopping ??= (async () => {
      line?.stop();
      const s = await (await started).stop();
      await db.close();
      process.stdout.write(summary(s) + '\n');
    })();
    return stopping;
  };
  let fatal: Error | undefined;
  const started: Promise<Collector> = startCollector({
    config,
    db,
    journalDir,
    id,
    onFatal: (e) => {
      fatal = e;
      // Stop on the next turn: the driver that hit the limit is still inside its callback.
      setImmediate(() => void stop(EXIT_JOURNAL_FULL));
    },
  });
  let collector: Collector;
  try {
    collector = await started;
  } catch (e) {
    await db.close();
    throw e;
  }
  const sources = config.drivers.map((d) => `${d.type} ${d.name}`).join(', ');
  process.stderr.write(`tracereport collect: collecting from ${sources} into ${db.display}; journal ${journalDir}; status as "${id}"\n`);
  line = new StatusLine(collector.status);

  await new Promise<void>((resolve) => {
    const onSignal = () => void stop(0).then(resolve, resolve);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const poll = setInterval(() => {
      if (stopping) {
        clearInterval(poll);
        void stopping.then(resolve, resolve);
      }
    }, 100);
  });
  if (fatal) {
    process.stderr.write(`tracereport: JOURNAL_FULL: ${fatal.message}\n`);
    process.exitCode = EXIT_JOURNAL_FULL;
  } else {
    process.exitCode = exitCode;
  }
}

function summary(s: CollectorStatus): string {
  const p = s.pipeline;
  const extra = [
    p.rejected ? `${p.rejected} rejected` : '',
    p.refused ? `${p.refused} refused (journal full)` : '',
    p.journalBytes ? `${p.journalBytes} bytes left in the journal for the next start` : '',
  ].filter(Boolean);
  return (
    `collected ${p.readingsIn} readings: ${p.written} written, ${p.duplicates} already stored, ${p.alarmsWritten} alarm changes` +
    (extra.length ? `; ${extra.join(', ')}` : '')
  );
}

/** A one-line status on a terminal, refreshed every second; nothing when stderr is not a terminal or CI=true. */
class StatusLine {
  private readonly timer: NodeJS.Timeout | undefined;
  private lastIn = 0;
  private lastAt = performance.now();

  constructor(private readonly status: () => CollectorStatus) {
    if (!process.stderr.isTTY || process.env.CI === 'true') return;
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  private draw(): void {
    const s = this.status();
    const p = s.pipeline;
    const now = performance.now();
    const rate = ((p.readingsIn - this.lastIn) * 1000) / Math.max(1, now - this.lastAt);
    this.lastIn = p.readingsIn;
    this.lastAt = now;
    const drivers = s.drivers.map((d) => `${d.name} ${d.state}`).join(', ');
    const text =
      `${p.readingsIn.toLocaleString('en-US')} in (${Math.round(rate).toLocaleString('en-US')}/s) · ${p.written.toLocaleString('en-US')} written · ` +
      `journal ${(p.journalBytes / 1e6).toFixed(1)} MB · store ${p.db} · ${drivers}` +
      (s.rules.enabled ? ` · ${s.rules.openAlarms} open alarms` : '');
    process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 120) - 1)}`);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    process.stderr.write('\r\x1b[2K');
  }
}
