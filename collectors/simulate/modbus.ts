/**
 * The simulated line as a Modbus TCP server (`tracereport simulate modbus`), for the demo and the tests.
 *
 * Register map (zero-based addresses; any unit id is answered), numeric tags in the line's tag order:
 * - input registers 2i, 2i+1: tag i's value as float32, big-endian bytes and words (ABCD);
 * - holding register i: tag i's value × 10 as int16 (read with scale 0.1), saturated at ±32767;
 * - coil i: 1 while tag i is outside its spec (below LSL or above USL).
 * Values are refreshed once per sample period (1 s at the default rate), at whole multiples of the period,
 * each write holding the line's value at that instant. Lot and operation are strings and have no registers.
 * `modbusRegisterMap` gives the map, with a collector driver section that reads the float32 registers.
 */
import net from 'node:net';
import Modbus from 'jsmodbus';
import type { ModbusDriverConfig } from '../config.js';
import { encodeRegisters } from '../modbus/decode.js';
import { createLine, type LineOptions, type SimulatedLine, type TagDef } from './line.js';
import { openOperationRecorder, type OperationRecorder } from './record.js';
import { periodTicker } from './ticker.js';

export interface SimulateModbusOptions extends LineOptions {
  /** TCP port (default 5020; 0 picks a free one, see `port` on the result). */
  readonly port?: number;
  /** Listen address (default 127.0.0.1). */
  readonly host?: string;
  /** A trace store to record the running operations in (see record.ts); registers change after they are written. */
  readonly db?: string;
  /** Log lines of the recorder (default: standard error). */
  readonly log?: (line: string) => void;
}

type NumberTag = Extract<TagDef, { kind: 'number' }>;

export interface ModbusRegisterMap {
  /** A collector driver section reading every numeric tag's float32 input registers (paste into `drivers`). */
  readonly driver: ModbusDriverConfig;
  /** Holding registers: value × 10 as int16 (register entries for a driver section; same tags as `driver`). */
  readonly holding: readonly { area: 'holding'; address: number; type: 'int16'; scale: 0.1; equipment: string; parameter: string; unit: string }[];
  /** Coils: 1 while the tag is below LSL or above USL (register entries; parameter `<parameter>_out_of_spec`). */
  readonly coils: readonly { area: 'coil'; address: number; type: 'bool'; equipment: string; parameter: string }[];
}

export interface ModbusSimulator {
  readonly host: string;
  readonly port: number;
  readonly line: SimulatedLine;
  readonly map: ModbusRegisterMap;
  /** The recorder of the running operations (with `db`). */
  readonly recorder?: OperationRecorder;
  /** The instant whose values the registers hold now. */
  readonly updatedAt: Date;
  stop(): Promise<void>;
}

const ABCD = { byteOrder: 'big', wordOrder: 'big' } as const;

function numberTags(line: SimulatedLine): NumberTag[] {
  return line.tags().filter((t): t is NumberTag => t.kind === 'number');
}

/** The register map of a simulated line served at host:port. */
export function modbusRegisterMap(line: SimulatedLine, host: string, port: number): ModbusRegisterMap {
  const tags = numberTags(line);
  return {
    driver: {
      type: 'modbus',
      name: 'modbus-sim',
      host,
      port,
      unitId: 1,
      pollMs: Math.max(100, Math.round(line.periodMs)),
      timeoutMs: 2000,
      registers: tags.map((t, i) => ({
        area: 'input' as const,
        address: 2 * i,
        type: 'float32' as const,
        ...ABCD,
        equipment: t.equipment,
        parameter: t.parameter,
        unit: t.unit,
        scale: 1,
        offset: 0,
        deadband: 0,
      })),
    },
    holding: tags.map((t, i) => ({ area: 'holding', address: i, type: 'int16', scale: 0.1, equipment: t.equipment, parameter: t.parameter, unit: t.unit })),
    coils: tags.map((t, i) => ({ area: 'coil', address: i, type: 'bool', equipment: t.equipment, parameter: `${t.parameter}_out_of_spec` })),
  };
}

export async function simulateModbus(opts: SimulateModbusOptions = {}): Promise<ModbusSimulator> {
  const line = createLine(opts);
  const tags = numberTags(line);
  const host = opts.host ?? '127.0.0.1';
  // Buffers sized to the map (jsmodbus keeps at least 1 KiB each, as its defaults do).
  const input = Buffer.alloc(Math.max(1024, tags.length * 4));
  const holding = Buffer.alloc(Math.max(1024, tags.length * 2));
  const coils = Buffer.alloc(Math.max(1024, Math.ceil(tags.length / 8)));
  const netServer = new net.Server();
  new Modbus.server.TCP(netServer, { input, holding, coils });
  const sockets = new Set<net.Socket>();
  netServer.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy()); // a client gone mid-answer must not take the simulator down
  });

  let updatedAt = new Date(0);
  const apply = (at: Date): void => {
    for (const [i, t] of tags.entries()) {
      const value = line.value(t.equipment, t.parameter, at)!;
      encodeRegisters(value, { type: 'float32', ...ABCD }).copy(input, 4 * i);
      holding.writeInt16BE(Math.max(-32767, Math.min(32767, Math.round(value * 10))), 2 * i);
      const out = value < t.lsl || value > t.usl;
      const byte = i >> 3;
      coils[byte] = out ? coils[byte] | (1 << (i & 7)) : coils[byte] & ~(1 << (i & 7));
    }
    updatedAt = at;
  };
  const recorder = opts.db !== undefined ? await openOperationRecorder({ db: opts.db, line, ...(opts.log ? { log: opts.log } : {}) }) : undefined;
  // With a recorder, a machine's new operation is in the store before its first value is served.
  const write = (at: Date): void | Promise<void> => {
    const recorded = recorder?.observe(line.state(at));
    if (!recorded) return apply(at);
    return recorded.then(() => apply(at));
  };
  const ticker = periodTicker(line.periodMs, write);

  try {
    await new Promise<void>((resolve, reject) => {
      netServer.once('error', reject);
      netServer.listen(opts.port ?? 5020, host, () => {
        netServer.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await ticker.stop();
    await recorder?.close();
    throw e;
  }
  ticker.start();
  const port = (netServer.address() as net.AddressInfo).port;

  return {
    host,
    port,
    line,
    map: modbusRegisterMap(line, host, port),
    ...(recorder ? { recorder } : {}),
    get updatedAt() {
      return updatedAt;
    },
    async stop() {
      await ticker.stop();
      await recorder?.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => netServer.close(() => resolve()));
    },
  };
}
