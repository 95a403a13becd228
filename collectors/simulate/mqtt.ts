/**
 * `tracereport simulate mqtt`: publishes the simulated line to a broker in the zero-config convention
 * `<prefix>/<equipment>/<parameter>` with `{"ts": "<ISO>", "value": n}` at QoS 1, one sample per tag per
 * tick; the lot and operation of each machine go, retained and on change, to `<prefix>-state/<equipment>`
 * (outside the convention's topics, so a collector of process values does not see them).
 * While the broker is away the client queues (up to a bound) and sends on reconnect.
 * With `db`, each operation a machine starts is written to the trace store (record.ts) before the state
 * message and the first sample of that operation are published.
 */
import { connect, type MqttClient } from 'mqtt';
import { TraceReportError } from '../../datasources/errors.js';
import { conventionPayload, conventionTopic, DEFAULT_TOPIC_PREFIX } from '../mqtt/convention.js';
import { createLine, type ExcursionOptions, type MachineState, type SimulatedLine } from './line.js';
import { openOperationRecorder, type OperationRecorder } from './record.js';

export interface SimulateMqttOptions {
  /** Broker URL (default mqtt://127.0.0.1:1883). */
  broker?: string;
  username?: string;
  password?: string;
  /** Samples per second per tag (default 1). */
  rateHz?: number;
  seed?: string;
  /** Topic prefix (default `tracereport`). */
  prefix?: string;
  lines?: readonly string[];
  excursion?: ExcursionOptions | false;
  /** Operation durations: demo route minutes × this (see createLine). */
  timeScale?: number;
  clientId?: string;
  /** How long to wait for the first connection before giving up (default 10 s). */
  connectTimeoutMs?: number;
  /** Messages the client may hold unacknowledged (queued while the broker is away); ticks beyond it are dropped and counted. */
  maxPending?: number;
  /** A trace store (SQLite path or URL) to record the running operations in; see record.ts. */
  db?: string;
  log?: (line: string) => void;
}

export interface MqttSimulation {
  readonly line: SimulatedLine;
  readonly prefix: string;
  readonly broker: string;
  /** The recorder of the running operations (with `db`). */
  readonly recorder?: OperationRecorder;
  /** Messages published and acknowledged so far, and ticks dropped because too many were pending. */
  counts(): { published: number; acknowledged: number; droppedTicks: number; pending: number };
  /** Stops publishing and waits (at most `graceMs`, default 5 s) for outstanding acknowledgements. */
  stop(graceMs?: number): Promise<void>;
}

const stateTopic = (prefix: string, equipment: string) => `${prefix}-state/${equipment}`;

export async function simulateMqtt(opts: SimulateMqttOptions = {}): Promise<MqttSimulation> {
  const broker = opts.broker ?? 'mqtt://127.0.0.1:1883';
  const prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
  if (!/^[^#+/][^#+]*$/.test(prefix) || prefix.endsWith('/')) {
    throw new TraceReportError('ARGUMENT_INVALID', `--prefix "${prefix}" must be topic levels without + or # and without leading or trailing /`);
  }
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let line: SimulatedLine;
  try {
    line = createLine({
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.lines ? { lines: opts.lines } : {}),
      ...(opts.rateHz !== undefined ? { rateHz: opts.rateHz } : {}),
      ...(opts.timeScale !== undefined ? { timeScale: opts.timeScale } : {}),
      ...(opts.excursion !== undefined ? { excursion: opts.excursion } : {}),
    });
  } catch (e) {
    throw new TraceReportError('ARGUMENT_INVALID', `simulate mqtt: ${(e as Error).message}`);
  }
  const maxPending = opts.maxPending ?? 100_000;
  const recorder = opts.db !== undefined ? await openOperationRecorder({ db: opts.db, line, log }) : undefined;
  const client: MqttClient = connect(broker, {
    clientId: opts.clientId ?? `tracereport-simulate-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
  });
  let lastError = '';
  client.on('error', (err) => {
    if (err.message !== lastError) log(`simulate mqtt: ${broker}: ${err.message}`);
    lastError = err.message;
  });
  client.on('offline', () => log(`simulate mqtt: ${broker} is away; queuing up to ${maxPending} messages`));
  client.on('connect', () => {
    if (lastError) log(`simulate mqtt: connected to ${broker}`);
    lastError = '';
  });

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.end(true);
        reject(new TraceReportError('SOURCE_CONNECT_FAILED', `simulate mqtt: cannot reach the broker ${broker}${lastError ? ` (${lastError})` : ''}; is it running?`));
      }, opts.connectTimeoutMs ?? 10_000);
      client.once('connect', () => (clearTimeout(timer), resolve()));
    });
  } catch (e) {
    await recorder?.close();
    throw e;
  }

  let published = 0;
  let acknowledged = 0;
  let droppedTicks = 0;
  const lastState = new Map<string, string>();
  const onAck = (err?: Error) => {
    if (!err) acknowledged++;
  };

  const publishState = (states: readonly MachineState[], ts: Date) => {
    for (const s of states) {
      const key = `${s.lot}\u0000${s.operation}`;
      if (lastState.get(s.equipment) === key) continue;
      lastState.set(s.equipment, key);
      const payload = JSON.stringify({ ts: ts.toISOString(), lot: s.lot, operation: s.operation, product: s.product, route: s.route, routeVersion: s.routeVersion, step: s.step, startedAt: s.startedAt.toISOString(), endsAt: s.endsAt.toISOString() });
      published++;
      client.publish(stateTopic(prefix, s.equipment), payload, { qos: 1, retain: true }, onAck);
    }
  };

  const publish = (states: readonly MachineState[], at: Date) => {
    publishState(states, at);
    for (const s of line.sample(at)) {
      published++;
      client.publish(conventionTopic(prefix, s.equipment, s.parameter), conventionPayload(at, s.value), { qos: 1 }, onAck);
    }
  };

  /** Publishes one tick; with a recorder, after the operations started at it are in the store (a promise then). */
  const tick = (t: number): Promise<void> | undefined => {
    const at = new Date(t);
    const states = line.state(at);
    // The store learns of new operations even while the broker is away.
    const recorded = recorder?.observe(states);
    if (published - acknowledged > maxPending) {
      droppedTicks++;
      return undefined;
    }
    if (!recorded) return void publish(states, at);
    return recorded.then(() => publish(states, at));
  };

  // Ticks on a grid of the period; a late timer catches up (at most one second of ticks at once).
  const period = line.periodMs;
  let next = Math.ceil(Date.now() / period) * period;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  const loop = async () => {
    if (stopped) return;
    const now = Date.now();
    const due = next <= now ? Math.floor((now - next) / period) + 1 : 0;
    const cap = Math.max(1, Math.ceil(line.rateHz));
    if (due > cap) {
      droppedTicks += due - cap;
      next += (due - cap) * period;
    }
    while (next <= now && !stopped) {
      const waiting = tick(next);
      next += period;
      if (waiting) await waiting;
    }
    if (!stopped) timer = setTimeout(() => void (running = loop()), Math.max(0, next - Date.now()));
  };
  running = loop();

  return {
    line,
    prefix,
    broker,
    ...(recorder ? { recorder } : {}),
    counts: () => ({ published, acknowledged, droppedTicks, pending: published - acknowledged }),
    async stop(graceMs = 5000) {
      stopped = true;
      clearTimeout(timer);
      await running;
      await recorder?.close();
      const until = Date.now() + graceMs;
      while (acknowledged < published && client.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      await client.endAsync(acknowledged < published);
    },
  };
}
