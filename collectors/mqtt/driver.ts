/**
 * The MQTT driver: subscribes to the configured topic filters (QoS 1, persistent session under a fixed
 * client id, so that messages published while the collector is down are delivered when it reconnects),
 * maps each message to readings (wildcard levels → equipment/parameter, JSON paths, scale/offset,
 * deadband) and hands them to the sink. A message is acknowledged only after the sink took its readings;
 * if the sink throws, the connection is dropped unacknowledged and the broker delivers it again.
 * Reconnects with exponential backoff. Bad payloads are counted and logged (rate-limited), never fatal.
 * A retained message without a time of its own is ignored: it is an old value, not a new sample.
 */
import fs from 'node:fs';
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { TraceReportError } from '../../datasources/errors.js';
import type { MqttDriverConfig } from '../config.js';
import { Deadband, scaled } from '../mapping.js';
import type { Driver, DriverStatus, Reading, ReadingSink } from '../types.js';
import { compilePayloadSpec, Payload, valueOf, type CompiledPayloadSpec } from './payload.js';
import { compileFilter, fillTemplate, highestPlaceholder, type TopicFilter } from './topic.js';

export interface MqttDriverOptions {
  /** Where warnings go (bad payloads, connection errors); default stderr. */
  log?: (line: string) => void;
  /** First reconnect delay and its ceiling (ms); the delay doubles per failed attempt. Defaults 500 and 30,000. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** At most one warning per this many ms for bad payloads (default 10,000); the count in between is reported. */
  warnEveryMs?: number;
}

export interface MqttDriverStatus extends DriverStatus {
  /** Messages whose payload could not be read (not a number, no value at the path, bad time). */
  readonly badPayloads: number;
  /** Messages that matched no tag filter (or whose placeholders had no level to fill them). */
  readonly unmatched: number;
  /** Readings dropped by a deadband. */
  readonly suppressed: number;
  /** Retained messages without a time of their own, ignored (a stale value must not be stamped as new). */
  readonly staleRetained: number;
}

type Tag = MqttDriverConfig['tags'][number];

interface CompiledTag {
  tag: Tag;
  filter: TopicFilter;
  payload: CompiledPayloadSpec;
}

/** What a topic resolves to for one tag (cached per topic: topics repeat, filters need not be matched again). */
interface Route {
  tag: Tag;
  payload: CompiledPayloadSpec;
  equipment: string;
  parameter: string;
  key: string;
}

/** Topics whose routes are cached; beyond this the cache starts over (bounded memory under topic churn). */
const ROUTE_CACHE_SIZE = 100_000;

export class MqttDriver implements Driver {
  readonly type = 'mqtt' as const;
  readonly name: string;
  private readonly tags: CompiledTag[];
  private readonly deadband = new Deadband();
  private readonly routes = new Map<string, Route[]>();
  private readonly log: (line: string) => void;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly warnEveryMs: number;
  private client: MqttClient | undefined;
  private sink: ReadingSink | undefined;
  private state: DriverStatus['state'] = 'stopped';
  private lastError: string | undefined;
  private readings = 0;
  private lastReadingAt: Date | undefined;
  private reconnects = 0;
  private badPayloads = 0;
  private unmatched = 0;
  private suppressed = 0;
  private staleRetained = 0;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private firstConnect = true;
  private lastWarnAt = 0;
  private unwarned = 0;
  /** The connection whose acknowledgements this turn holds (corked until the turn's readings are journaled). */
  private acksHeldOn: MqttClient['stream'] | undefined;

  constructor(
    private readonly config: MqttDriverConfig,
    options: MqttDriverOptions = {},
  ) {
    this.name = config.name;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.reconnectMinMs = options.reconnectMinMs ?? 500;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 30_000;
    this.warnEveryMs = options.warnEveryMs ?? 10_000;
    this.tags = config.tags.map((tag, i) => {
      let filter: TopicFilter;
      try {
        filter = compileFilter(tag.topic);
      } catch (e) {
        throw new TraceReportError('ARGUMENT_INVALID', `mqtt driver "${config.name}" tags[${i}].topic: ${(e as Error).message}`);
      }
      for (const field of ['equipment', 'parameter'] as const) {
        const n = highestPlaceholder(tag[field]);
        if (n > filter.wildcards) {
          throw new TraceReportError(
            'ARGUMENT_INVALID',
            `mqtt driver "${config.name}" tags[${i}].${field} "${tag[field]}" uses {${n}} but topic "${tag.topic}" has ${filter.wildcards} wildcard level(s); use {1}…{${filter.wildcards}} or a literal`,
          );
        }
      }
      const payload = compilePayloadSpec({ ...(tag.path !== undefined ? { path: tag.path } : {}), ...(tag.tsPath !== undefined ? { tsPath: tag.tsPath } : {}) });
      return { tag, filter, payload };
    });
  }

  async start(sink: ReadingSink): Promise<void> {
    if (this.client) throw new Error(`mqtt driver "${this.name}" is already started`);
    const options = this.clientOptions();
    this.sink = sink;
    this.stopping = false;
    this.firstConnect = true;
    this.state = 'starting';
    const client = connect(this.config.url, options);
    this.client = client;
    client.handleMessage = (packet, done) => this.onMessage(packet, done);
    let settle: (() => void) | undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    client.on('connect', (connack) => {
      this.attempts = 0;
      this.lastError = undefined;
      // A persistent session keeps the subscriptions; subscribe on the first connect (the config may have
      // changed) and whenever the broker has no session for us (it lost it, or it is a new broker).
      const subscribe = this.firstConnect || !connack.sessionPresent;
      this.firstConnect = false;
      const ready = () => {
        this.state = 'connected';
        settle?.();
      };
      if (!subscribe) return ready();
      const qos = this.config.qos;
      const filters = Object.fromEntries([...new Set(this.tags.map((t) => t.tag.topic))].map((topic) => [topic, { qos }]));
      client.subscribe(filters, (err, granted) => {
        if (err) {
          this.fail(`subscribe failed: ${err.message}`);
          return;
        }
        const refused = (granted ?? []).filter((g) => g.qos === 128);
        if (refused.length > 0) this.fail(`the broker refused the subscription to ${refused.map((g) => g.topic).join(', ')}`);
        ready();
      });
    });
    client.on('error', (err) => {
      this.lastError = err.message;
    });
    client.on('close', () => {
      if (this.stopping) return;
      this.state = 'reconnecting';
      this.scheduleReconnect();
      settle?.();
    });
    await settled;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(!client.connected);
    this.flushWarnings(true);
    this.sink = undefined;
    this.state = 'stopped';
  }

  status(): MqttDriverStatus {
    return {
      name: this.name,
      type: 'mqtt',
      state: this.state,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      readings: this.readings,
      ...(this.lastReadingAt ? { lastReadingAt: this.lastReadingAt } : {}),
      reconnects: this.reconnects,
      badPayloads: this.badPayloads,
      unmatched: this.unmatched,
      suppressed: this.suppressed,
      staleRetained: this.staleRetained,
    };
  }

  // ---------------------------------------------------------------- connection

  private clientOptions(): IClientOptions {
    const c = this.config;
    const persistent = c.qos === 1;
    const options: IClientOptions = {
      clientId: c.clientId ?? `tracereport-${c.name}`,
      clean: !persistent,
      protocolVersion: 4,
      // Reconnects are scheduled here, with backoff (mqtt.js retries at a fixed period).
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: false,
    };
    if (c.username !== undefined) options.username = c.username;
    if (c.password !== undefined) options.password = c.password;
    if (c.tls) {
      const read = (what: string, file: string | undefined) => {
        if (file === undefined) return undefined;
        try {
          return fs.readFileSync(file);
        } catch (e) {
          throw new TraceReportError('ARGUMENT_INVALID', `mqtt driver "${c.name}": cannot read tls.${what} ${file}: ${(e as Error).message}`);
        }
      };
      const ca = read('ca', c.tls.ca);
      const cert = read('cert', c.tls.cert);
      const key = read('key', c.tls.key);
      if (ca) options.ca = ca;
      if (cert) options.cert = cert;
      if (key) options.key = key;
      options.rejectUnauthorized = c.tls.rejectUnauthorized;
    }
    return options;
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.retryTimer) return;
    const base = Math.min(this.reconnectMaxMs, this.reconnectMinMs * 2 ** this.attempts);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.attempts++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopping || !this.client) return;
      this.reconnects++;
      this.client.reconnect();
    }, delay);
  }

  private fail(message: string): void {
    this.lastError = message;
    this.log(`mqtt driver "${this.name}": ${message}`);
  }

  // ---------------------------------------------------------------- messages

  private onMessage(packet: IPublishPacket, done: (err?: Error) => void): void {
    if (this.stopping || !this.sink) return; // not acknowledged: the broker keeps it for the next session
    this.holdAcks();
    const readings = this.map(packet, new Date());
    if (readings.length > 0) {
      try {
        this.sink(readings);
      } catch (e) {
        // Not acknowledged: drop the connection; the broker redelivers after the reconnect.
        this.fail(`the pipeline refused readings (${(e as Error).message}); reconnecting, the broker keeps the message`);
        this.client?.stream.destroy();
        return;
      }
      this.readings += readings.length;
      this.lastReadingAt = readings[readings.length - 1]!.ts;
    }
    done();
  }

  /**
   * Holds the acknowledgements of the messages handled in this turn of the event loop and sends them together
   * at its end (the socket corked until then): one write to the broker for a burst of messages instead of one
   * per message. At the end of the turn the sink first writes the turn's readings to the journal (one write for
   * all of them), and only then are the acknowledgements released; if the journal refuses them, the connection
   * is dropped with the acknowledgements unsent and the broker delivers those messages again.
   */
  private holdAcks(): void {
    const stream = this.client?.stream;
    // Per stream: after a reconnect in the same turn, the new connection's acknowledgements are held as well.
    if (!stream || stream === this.acksHeldOn || typeof stream.cork !== 'function') return;
    this.acksHeldOn = stream;
    stream.cork();
    setImmediate(() => {
      if (this.acksHeldOn === stream) this.acksHeldOn = undefined;
      try {
        this.sink?.journaled?.();
      } catch (e) {
        this.fail(`the pipeline could not journal readings (${(e as Error).message}); reconnecting, the broker keeps the messages`);
        stream.destroy();
        return;
      }
      if (!stream.destroyed) stream.uncork();
    });
  }

  /** The readings one message yields: one per matching tag whose payload reads. */
  private map(packet: IPublishPacket, receivedAt: Date): Reading[] {
    const routes = this.routesOf(packet.topic);
    if (routes.length === 0) {
      this.unmatched++;
      return [];
    }
    const out: Reading[] = [];
    // Read once for all the tags of the topic (one JSON parse for a message carrying several parameters).
    const payload = new Payload(packet.payload as Buffer);
    for (const r of routes) {
      const parsed = valueOf(payload, r.payload, receivedAt);
      if (!parsed.ok) {
        this.badPayload(packet.topic, parsed.reason);
        continue;
      }
      if (packet.retain && parsed.stamped === 'receipt') {
        this.staleRetained++;
        continue;
      }
      const value = scaled(parsed.value, r.tag);
      if (!this.deadband.keep(r.key, value, r.tag.deadband)) {
        this.suppressed++;
        continue;
      }
      const reading: Reading =
        r.tag.unit !== undefined
          ? { equipment: r.equipment, parameter: r.parameter, ts: parsed.ts, value, unit: r.tag.unit }
          : { equipment: r.equipment, parameter: r.parameter, ts: parsed.ts, value };
      out.push(reading);
    }
    return out;
  }

  /** The tags a topic feeds, with their equipment and parameter filled from the wildcard levels. */
  private routesOf(topic: string): Route[] {
    const cached = this.routes.get(topic);
    if (cached) return cached;
    const routes: Route[] = [];
    for (const { tag, filter, payload } of this.tags) {
      const captures = filter.match(topic);
      if (!captures) continue;
      const equipment = fillTemplate(tag.equipment, captures);
      const parameter = fillTemplate(tag.parameter, captures);
      if (equipment === undefined || parameter === undefined) continue;
      routes.push({ tag, payload, equipment, parameter, key: `${equipment}\u0000${parameter}` });
    }
    if (this.routes.size >= ROUTE_CACHE_SIZE) this.routes.clear();
    this.routes.set(topic, routes);
    return routes;
  }

  private badPayload(topic: string, reason: string): void {
    this.badPayloads++;
    this.unwarned++;
    const now = Date.now();
    if (now - this.lastWarnAt >= this.warnEveryMs) {
      const more = this.unwarned > 1 ? ` (${this.unwarned - 1} more bad payload(s) since the last warning)` : '';
      this.log(`mqtt driver "${this.name}": ignored a message on ${topic}: ${reason}${more}`);
      this.lastWarnAt = now;
      this.unwarned = 0;
    }
  }

  private flushWarnings(final: boolean): void {
    if (final && this.unwarned > 0) {
      this.log(`mqtt driver "${this.name}": ${this.unwarned} more bad payload(s) ignored since the last warning (${this.badPayloads} in all)`);
      this.unwarned = 0;
    }
  }
}
