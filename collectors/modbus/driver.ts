/**
 * Modbus TCP driver: one connection per device, polled reads planned into as few requests as possible,
 * each tag decoded, scaled and passed through its deadband into a Reading stamped with the poll's time.
 * A failed read is counted and reported in status(); a dropped or silent connection (timeout) is closed
 * and reopened with exponential backoff. Nothing here throws after start().
 */
import net from 'node:net';
import Modbus from 'jsmodbus';
import type { ModbusDriverConfig } from '../config.js';
import { Deadband, scaled } from '../mapping.js';
import type { Driver, DriverStatus, Reading, ReadingSink } from '../types.js';
import { decodeCoil, decodeRegisters } from './decode.js';
import { planReads, type ReadBlock } from './plan.js';

export interface ModbusDriverOptions {
  /** First reconnect delay (default 500 ms); doubles per failed attempt up to backoffMaxMs. */
  readonly backoffMinMs?: number;
  /** Longest reconnect delay (default 30 s). */
  readonly backoffMaxMs?: number;
  /** Connection changes and reads that start or stop failing (not every failed poll). Default: silent. */
  readonly log?: (message: string) => void;
}

/** DriverStatus plus poll counters. `reconnects` counts connection attempts after the first one. */
export interface ModbusDriverStatus extends DriverStatus {
  readonly type: 'modbus';
  /** Poll cycles run since start. */
  readonly polls: number;
  /** Read requests per poll cycle (after grouping). */
  readonly requestsPerPoll: number;
  /** Read requests that failed (Modbus exception, timeout, connection lost) since start. */
  readonly failedReads: number;
  /** Values dropped because they were not numbers (a float32 NaN or infinity). */
  readonly badValues: number;
}

type TcpClient = InstanceType<typeof Modbus.client.TCP>;

/** jsmodbus rejects with a plain object `{err, message}` rather than an Error. */
function describe(e: unknown): { kind: string; message: string } {
  if (e && typeof e === 'object' && 'err' in e && 'message' in e) return { kind: String(e.err), message: String(e.message) };
  return { kind: 'Error', message: e instanceof Error ? e.message : String(e) };
}

function describeBlock(block: ReadBlock): string {
  return `${block.area} ${block.count === 1 ? block.start : `${block.start}-${block.start + block.count - 1}`}`;
}

/** Errors after which the connection cannot be trusted (a late answer would be taken for the next request's). */
const CONNECTION_ERRORS = new Set(['Timeout', 'Offline', 'OutOfSync', 'Protocol', 'ManuallyCleared']);

export class ModbusDriver implements Driver {
  readonly type = 'modbus' as const;
  readonly name: string;
  private readonly config: ModbusDriverConfig;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  private readonly where: string;
  private readonly deadband = new Deadband();
  private readonly logFn: ((message: string) => void) | undefined;
  /** Reads (by index in the plan) failing since their last success: logged once on failing, once on recovering. */
  private readonly failing = new Set<number>();
  private connectedOnce = false;
  /** Why the current connection ended (for the log). */
  private dropReason: string | undefined;
  private plan: ReadBlock[] = [];
  private sink: ReadingSink | undefined;

  private state: DriverStatus['state'] = 'stopped';
  private stopped = true;
  private socket: net.Socket | undefined;
  /** Failed attempts in a row; reset by a successful read (a device that accepts and drops still backs off). */
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** Ends the poll loop's wait between cycles early (the connection closed). */
  private wake: (() => void) | undefined;

  private lastError: string | undefined;
  private readings = 0;
  private lastReadingAt: Date | undefined;
  private reconnects = 0;
  private polls = 0;
  private failedReads = 0;
  private badValues = 0;

  constructor(config: ModbusDriverConfig, options: ModbusDriverOptions = {}) {
    this.config = config;
    this.name = config.name;
    this.where = `modbus driver ${config.name}`;
    this.backoffMinMs = options.backoffMinMs ?? 500;
    this.backoffMaxMs = Math.max(this.backoffMinMs, options.backoffMaxMs ?? 30_000);
    this.logFn = options.log;
  }

  private log(message: string): void {
    this.logFn?.(`modbus driver "${this.name}": ${message}`);
  }

  /** Plans the reads (a bad tag rejects here), then connects; resolves after the first attempt, connected or not. */
  async start(sink: ReadingSink): Promise<void> {
    if (!this.stopped) throw new Error(`${this.where} is already running`);
    this.plan = planReads(this.config.registers, `drivers.${this.config.name}`);
    this.sink = sink;
    this.stopped = false;
    this.state = 'starting';
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pollTimer);
    this.wake?.();
    this.socket?.destroy();
    await this.polling;
    this.state = 'stopped';
  }

  status(): ModbusDriverStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.state,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      readings: this.readings,
      ...(this.lastReadingAt ? { lastReadingAt: this.lastReadingAt } : {}),
      reconnects: this.reconnects,
      polls: this.polls,
      requestsPerPoll: this.plan.length,
      failedReads: this.failedReads,
      badValues: this.badValues,
    };
  }

  private get peer(): string {
    return `${this.config.host}:${this.config.port} unit ${this.config.unitId}`;
  }

  /** One connection attempt; resolves when it is connected or has failed (a retry is then scheduled). */
  private connect(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const socket = new net.Socket();
      const client = new Modbus.client.TCP(socket, this.config.unitId, this.config.timeoutMs);
      this.socket = socket;
      const connectTimer = setTimeout(() => {
        this.lastError = `connecting to ${this.peer} timed out after ${this.config.timeoutMs} ms`;
        socket.destroy();
      }, this.config.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(connectTimer);
        if (this.stopped) return socket.destroy();
        socket.setKeepAlive(true, 10_000);
        socket.setNoDelay(true);
        this.state = 'connected';
        this.dropReason = undefined;
        this.log(`${this.connectedOnce ? 'reconnected' : 'connected'} to ${this.peer}; ${this.plan.length} read request(s) every ${this.config.pollMs} ms`);
        this.connectedOnce = true;
        this.polling = this.pollLoop(socket, client);
        resolve();
      });
      socket.on('error', (e) => {
        this.lastError = `${this.peer}: ${e.message}`;
        this.dropReason = e.message;
      });
      socket.once('close', () => {
        clearTimeout(connectTimer);
        if (this.socket === socket) this.socket = undefined;
        if (this.state === 'connected' && !this.stopped) this.log(`connection to ${this.peer} lost (${this.dropReason ?? 'closed by the device'}); reconnecting`);
        clearTimeout(this.pollTimer);
        this.wake?.();
        if (!this.stopped) this.scheduleReconnect();
        resolve();
      });
      socket.connect({ host: this.config.host, port: this.config.port });
    });
  }

  private scheduleReconnect(): void {
    this.state = 'reconnecting';
    const delay = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (this.stopped) return;
      this.reconnects++;
      void this.connect();
    }, delay);
  }

  /** Polls every pollMs while this socket is the current one; a cycle that overruns is followed at once by the next. */
  private async pollLoop(socket: net.Socket, client: TcpClient): Promise<void> {
    while (!this.stopped && this.socket === socket) {
      const started = Date.now();
      try {
        await this.pollOnce(socket, client);
      } catch (e) {
        // Only the sink can throw here; the readings of this cycle are lost to it, the driver goes on.
        this.lastError = `${this.where}: handing readings on failed: ${describe(e).message}`;
      }
      if (this.stopped || this.socket !== socket) return;
      const wait = Math.max(0, started + this.config.pollMs - Date.now());
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.pollTimer = setTimeout(resolve, wait);
      });
      this.wake = undefined;
    }
  }

  private read(client: TcpClient, block: ReadBlock) {
    switch (block.area) {
      case 'holding':
        return client.readHoldingRegisters(block.start, block.count);
      case 'input':
        return client.readInputRegisters(block.start, block.count);
      case 'coil':
        return client.readCoils(block.start, block.count);
    }
  }

  private async pollOnce(socket: net.Socket, client: TcpClient): Promise<void> {
    this.polls++;
    const ts = new Date();
    const out: Reading[] = [];
    for (const [b, block] of this.plan.entries()) {
      if (this.stopped || this.socket !== socket) return;
      let payload: Buffer;
      try {
        const { response } = await this.read(client, block);
        payload = response.body.valuesAsBuffer;
        const expected = block.area === 'coil' ? Math.ceil(block.count / 8) : block.count * 2;
        if (payload.length < expected) throw new Error(`the answer held ${payload.length} bytes instead of ${expected}`);
        this.attempt = 0;
        if (this.failing.delete(b)) this.log(`reading ${describeBlock(block)} works again`);
      } catch (e) {
        const { kind, message } = describe(e);
        this.failedReads++;
        this.lastError = `reading ${describeBlock(block)} from ${this.peer} failed: ${message}`;
        if (CONNECTION_ERRORS.has(kind)) {
          // Its answer may still come and be taken for the next request's: start over on a new connection.
          this.dropReason ??= this.lastError;
          socket.destroy();
          return;
        }
        if (!this.failing.has(b)) {
          this.failing.add(b);
          this.log(`${this.lastError} (counted in status; logged again when it works)`);
        }
        continue;
      }
      for (const { tag, index, offset } of block.tags) {
        const raw = block.area === 'coil' ? decodeCoil(payload, offset) : decodeRegisters(payload, offset, tag);
        if (!Number.isFinite(raw)) {
          this.badValues++;
          this.lastError = `registers[${index}] ${tag.equipment}/${tag.parameter} (${tag.area} ${tag.address}) read ${raw}, not a number; dropped`;
          continue;
        }
        const value = scaled(raw, tag);
        if (!this.deadband.keep(`${tag.equipment}\u0000${tag.parameter}`, value, tag.deadband)) continue;
        out.push({ equipment: tag.equipment, parameter: tag.parameter, ts, value, ...(tag.unit !== undefined ? { unit: tag.unit } : {}) });
      }
    }
    if (out.length > 0 && !this.stopped && this.sink) {
      this.readings += out.length;
      this.lastReadingAt = ts;
      this.sink(out);
    }
  }
}
