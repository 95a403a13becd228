/**
 * The OPC UA driver: one client session with one subscription whose monitored items (node ids, or
 * browse paths resolved by TranslateBrowsePath) deliver data changes as Readings.
 *
 * Connection handling, in two layers:
 * - node-opcua's own reconnection (connectionStrategy, backoff) repairs a broken channel and reactivates
 *   the session, or, when the server lost it (a restart), creates a new session and re-creates the
 *   subscription and its monitored items;
 * - this driver watches the result: if the subscription terminates, the session closes, the repair gives up,
 *   or the subscription stays silent (no keep-alive, no data) while the channel is up, it drops the client
 *   and builds everything again from scratch (new client, session, browse path resolution, subscription,
 *   monitored items) with its own backoff. The first connection also goes through this loop, so a server
 *   that is not up yet is retried in the background.
 */
import path from 'node:path';
import {
  AttributeIds,
  ClientSubscription,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientMonitoredItemGroup,
  type ClientSession,
  type DataValue,
  type NodeId,
  type UserIdentityInfo,
} from 'node-opcua';
import { TraceReportError } from '../../datasources/errors.js';
import type { OpcuaDriverConfig } from '../config.js';
import { Deadband } from '../mapping.js';
import type { Driver, DriverStatus, Reading, ReadingSink } from '../types.js';
import { groupItems, parseItems, type OpcuaItem } from './items.js';
import { toReading } from './reading.js';

export interface OpcuaDriverOptions {
  /** Backoff between full reconnects (and node-opcua's reconnection attempts): first and largest delay. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Subscription keep-alive count (keep-alive every this × publishing interval when nothing changes). */
  readonly keepAliveCount?: number;
}

type State = DriverStatus['state'];

/** The default client PKI folder: under the data dir, never in the repository. */
export function defaultOpcuaPkiDir(): string {
  return path.resolve(process.env.TRACEREPORT_DATA || 'data', 'pki', 'opcua');
}

interface Connection {
  readonly client: OPCUAClient;
  session?: ClientSession;
  subscription?: ClientSubscription;
  lastActivity: number;
  /** Set when this connection must be rebuilt; resolves the run loop's wait. */
  broken?: (reason: string) => void;
}

export class OpcuaDriver implements Driver {
  readonly name: string;
  readonly type = 'opcua' as const;
  private readonly items: OpcuaItem[];
  private readonly deadband = new Deadband();
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly keepAliveCount: number;
  private sink: ReadingSink | undefined;
  private state: State = 'stopped';
  private lastError: string | undefined;
  private readings = 0;
  private lastReadingAt: Date | undefined;
  private reconnects = 0;
  private connectedOnce = false;
  private stopping = false;
  private conn: Connection | undefined;
  private loop: Promise<void> | undefined;
  private wakeSleep: (() => void) | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** Monitored items accepted by the server in the current subscription (for status and tests). */
  private monitored = 0;

  constructor(
    private readonly config: OpcuaDriverConfig,
    options: OpcuaDriverOptions = {},
  ) {
    this.name = config.name;
    this.items = parseItems(config.name, config.items);
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.keepAliveCount = options.keepAliveCount ?? 10;
    checkSecurity(config);
  }

  async start(sink: ReadingSink): Promise<void> {
    if (this.loop) throw new TraceReportError('ARGUMENT_INVALID', `OPC UA driver ${this.name} is already started`);
    this.sink = sink;
    this.stopping = false;
    this.state = 'starting';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    this.conn?.broken?.('stopped');
    await this.loop;
    this.loop = undefined;
    this.state = 'stopped';
  }

  status(): DriverStatus & { monitoredItems: number } {
    return {
      name: this.name,
      type: this.type,
      state: this.state,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      readings: this.readings,
      ...(this.lastReadingAt ? { lastReadingAt: this.lastReadingAt } : {}),
      reconnects: this.reconnects,
      monitoredItems: this.monitored,
    };
  }

  // ------------------------------------------------------------------ the run loop

  private async run(): Promise<void> {
    let delay = this.initialDelayMs;
    while (!this.stopping) {
      const conn = this.newConnection();
      this.conn = conn;
      let healthy = false;
      try {
        const broken = new Promise<string>((resolve) => (conn.broken = resolve));
        await this.connect(conn);
        if (this.stopping) break;
        if (this.connectedOnce) this.reconnects++;
        this.connectedOnce = true;
        this.state = 'connected';
        // Items the server refused (unknown node, browse path not found) stay visible in the status.
        this.lastError = this.partialProblems;
        healthy = true;
        delay = this.initialDelayMs;
        this.armWatchdog(conn);
        const reason = await broken;
        if (this.stopping) break;
        this.lastError = reason;
      } catch (e) {
        if (this.stopping) break;
        const fatal = isLoginError(e);
        this.lastError = describeError(e, this.config);
        this.state = fatal ? 'error' : this.connectedOnce ? 'reconnecting' : 'starting';
        // A refused login will not fix itself quickly: retry at the slowest pace.
        if (fatal) delay = this.maxDelayMs;
      } finally {
        this.disarmWatchdog();
        await this.close(conn);
        if (this.conn === conn) this.conn = undefined;
        this.monitored = 0;
      }
      if (this.stopping) break;
      if (healthy) this.state = 'reconnecting';
      await this.sleep(delay);
      delay = Math.min(this.maxDelayMs, delay * 2);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private newConnection(): Connection {
    const pkiDir = this.config.pkiDir ?? defaultOpcuaPkiDir();
    const client = OPCUAClient.create({
      applicationName: 'TraceReport',
      applicationUri: 'urn:tracereport:collector',
      clientName: `tracereport-${this.name}`,
      endpointMustExist: false,
      securityMode: MessageSecurityMode[this.config.securityMode],
      securityPolicy: SecurityPolicy[this.config.securityPolicy],
      ...(this.config.certificate ? { certificateFile: path.resolve(this.config.certificate) } : {}),
      ...(this.config.privateKey ? { privateKeyFile: path.resolve(this.config.privateKey) } : {}),
      clientCertificateManager: new OPCUACertificateManager({
        rootFolder: path.resolve(pkiDir),
        // Trust on first use: a server's certificate is trusted the first time and kept in trusted/;
        // move it to rejected/ to refuse that server.
        automaticallyAcceptUnknownCertificate: true,
        disableFileWatchers: true,
      }),
      // The first connect fails fast (this driver retries it); a lost channel is retried by node-opcua forever.
      connectionStrategy: { maxRetry: 1, initialDelay: this.initialDelayMs, maxDelay: this.maxDelayMs },
      requestedSessionTimeout: 60_000,
      keepSessionAlive: false,
    });
    const conn: Connection = { client, lastActivity: Date.now() };
    client.on('connection_lost', () => {
      if (this.conn === conn && !this.stopping) this.state = 'reconnecting';
    });
    client.on('backoff', (count: number, delayMs: number) => {
      if (this.conn === conn && this.connectedOnce) this.lastError = `connection to ${this.config.endpoint} lost; retry ${count} in ${delayMs} ms`;
    });
    client.on('connection_reestablished', () => {
      if (this.conn !== conn || this.stopping) return;
      this.reconnects++;
      conn.lastActivity = Date.now();
    });
    client.on('after_reconnection', (err?: Error | null) => {
      if (this.conn !== conn || this.stopping) return;
      if (err) conn.broken?.(`session repair after reconnection failed: ${err.message}`);
      else {
        this.state = 'connected';
        this.lastError = this.partialProblems;
        conn.lastActivity = Date.now();
      }
    });
    return conn;
  }

  private async connect(conn: Connection): Promise<void> {
    const { client } = conn;
    await client.connect(this.config.endpoint);
    const identity: UserIdentityInfo =
      this.config.username !== undefined
        ? { type: UserTokenType.UserName, userName: this.config.username, password: this.config.password ?? '' }
        : { type: UserTokenType.Anonymous };
    const session = await client.createSession(identity);
    conn.session = session;
    session.on('session_closed', () => {
      if (!this.stopping) conn.broken?.('the server closed the session');
    });
    const { nodeIds, unresolved } = await this.resolve(session);
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: this.config.publishingInterval,
      requestedMaxKeepAliveCount: this.keepAliveCount,
      requestedLifetimeCount: this.keepAliveCount * 6,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    conn.subscription = subscription;
    const alive = () => (conn.lastActivity = Date.now());
    subscription.on('keepalive', alive);
    subscription.on('received_notifications', alive);
    subscription.on('terminated', () => {
      if (!this.stopping) conn.broken?.('the subscription was terminated');
    });
    const problems: string[] = [];
    let accepted = 0;
    for (const group of groupItems(this.items)) {
      const usable = group.filter((i) => nodeIds[i.index] !== undefined);
      if (usable.length === 0) continue;
      const first = usable[0]!;
      const monitored: ClientMonitoredItemGroup = await subscription.monitorItems(
        usable.map((i) => ({ nodeId: nodeIds[i.index]!, attributeId: AttributeIds.Value })),
        {
          samplingInterval: first.config.samplingInterval,
          queueSize: first.config.queueSize,
          discardOldest: true,
          ...(first.rawDeadband > 0
            ? { filter: new DataChangeFilter({ trigger: DataChangeTrigger.StatusValue, deadbandType: DeadbandType.Absolute, deadbandValue: first.rawDeadband }) }
            : {}),
        },
        TimestampsToReturn.Both,
      );
      monitored.monitoredItems.forEach((m, k) => {
        if (m.statusCode.isGood()) accepted++;
        else problems.push(`${usable[k]!.label}: ${m.statusCode.name}`);
      });
      monitored.on('changed', (_item, dataValue: DataValue, index: number) => {
        const item = usable[index];
        if (item) this.deliver(item, dataValue);
      });
    }
    this.monitored = accepted;
    problems.push(...unresolved);
    if (accepted === 0) throw new Error(`no monitored item was accepted by ${this.config.endpoint}: ${problems.join('; ')}`);
    if (problems.length > 0) this.partialProblems = `some items are not monitored: ${problems.join('; ')}`;
    else this.partialProblems = undefined;
  }

  private partialProblems: string | undefined;

  /** Node ids per item: configured, or resolved from the browse path (undefined when not found). */
  private async resolve(session: ClientSession): Promise<{ nodeIds: Array<NodeId | undefined>; unresolved: string[] }> {
    const nodeIds: Array<NodeId | undefined> = this.items.map((i) => i.nodeId);
    const unresolved: string[] = [];
    const byPath = this.items.filter((i) => i.browsePath !== undefined);
    if (byPath.length > 0) {
      const results = await session.translateBrowsePath(byPath.map((i) => i.browsePath!));
      byPath.forEach((item, k) => {
        const r = results[k];
        const target = r?.statusCode.isGood() ? r.targets?.[0]?.targetId : undefined;
        if (target) nodeIds[item.index] = target as unknown as NodeId;
        else unresolved.push(`${item.label}: browse path not found (${r?.statusCode.name ?? 'no result'})`);
      });
    }
    return { nodeIds, unresolved };
  }

  private deliver(item: OpcuaItem, dataValue: DataValue): void {
    const reading: Reading | undefined = toReading(dataValue, item.config);
    if (!reading || this.stopping || !this.sink) return;
    if (item.config.deadband > 0 && !this.deadband.keep(String(item.index), reading.value, item.config.deadband)) return;
    this.readings++;
    this.lastReadingAt = new Date();
    this.sink([reading]);
  }

  // ------------------------------------------------------------------ watchdog and teardown

  /** The subscription must show life (a keep-alive or data) within three keep-alive periods while the channel is up. */
  private armWatchdog(conn: Connection): void {
    const silence = Math.max(5000, 3 * this.keepAliveCount * this.config.publishingInterval);
    this.watchdog = setInterval(() => {
      if (this.conn !== conn || this.stopping) return;
      if (conn.client.isReconnecting) {
        conn.lastActivity = Date.now();
        return;
      }
      if (Date.now() - conn.lastActivity > silence) conn.broken?.(`the subscription was silent for ${silence} ms; rebuilding the session`);
    }, Math.min(1000, silence / 5));
    this.watchdog.unref();
  }

  private disarmWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private async close(conn: Connection): Promise<void> {
    conn.broken = undefined;
    const quietly = async (fn: () => Promise<unknown>) => {
      try {
        await withTimeout(fn(), 3000);
      } catch {
        // closing a broken connection: nothing left to report
      }
    };
    if (conn.subscription) await quietly(() => conn.subscription!.terminate());
    if (conn.session) await quietly(() => conn.session!.close(true));
    await quietly(() => conn.client.disconnect());
  }
}

function checkSecurity(config: OpcuaDriverConfig): void {
  const where = `drivers.${config.name}`;
  const secure = config.securityMode !== 'None';
  if (secure && config.securityPolicy === 'None')
    throw new TraceReportError('ARGUMENT_INVALID', `${where}.securityPolicy must be Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss with securityMode ${config.securityMode}`);
  if (!secure && config.securityPolicy !== 'None')
    throw new TraceReportError('ARGUMENT_INVALID', `${where}.securityMode must be Sign or SignAndEncrypt with securityPolicy ${config.securityPolicy} (or set the policy to None)`);
  if ((config.certificate === undefined) !== (config.privateKey === undefined))
    throw new TraceReportError('ARGUMENT_INVALID', `${where}: give both certificate and privateKey (PEM files), or neither to have a certificate made on first use`);
  if (config.password !== undefined && config.username === undefined)
    throw new TraceReportError('ARGUMENT_INVALID', `${where}: a password needs a username`);
}

const LOGIN_CODES = ['BadUserAccessDenied', 'BadIdentityTokenInvalid', 'BadIdentityTokenRejected', 'BadUserSignatureInvalid'];

function isLoginError(e: unknown): boolean {
  const text = String((e as Error)?.message ?? e);
  return LOGIN_CODES.some((c) => text.includes(c));
}

/** A one-line error for status(): what failed, and what to check; never the password. */
function describeError(e: unknown, config: OpcuaDriverConfig): string {
  const raw = String((e as Error)?.message ?? e).split('\n')[0]!.trim();
  const text = config.password ? raw.split(config.password).join('***') : raw;
  if (isLoginError(e)) {
    const code = LOGIN_CODES.find((c) => raw.includes(c));
    return config.username !== undefined
      ? `login as "${config.username}" refused by ${config.endpoint} (${code}): check the username and password`
      : `anonymous login refused by ${config.endpoint} (${code}): the server needs a username and password`;
  }
  return `${config.endpoint}: ${text}`;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
