/**
 * The simulated line as an OPC UA server (`tracereport simulate opcua`), for the demo and the tests.
 *
 * Address space (namespace `urn:tracereport:line`, index 2): Objects/<Line>/<Equipment>/<parameter> Double
 * variables with the line's signals (node id `ns=2;s=<Line>.<Equipment>.<parameter>`), and `lot` and
 * `operation` String variables per machine. Values are refreshed once per sample period at whole multiples
 * of the period, each carrying that instant as its source timestamp. Endpoints: security None and
 * SignAndEncrypt (Basic256Sha256, Aes128_Sha256_RsaOaep); client certificates are accepted on first use;
 * anonymous sessions unless users are given. `opcuaDriverSection` gives a collector driver section.
 */
import path from 'node:path';
import type { OpcuaDriverConfig } from '../config.js';
import { startLineServer, type LineServer } from '../opcua/line-server.js';
import { createLine, type LineOptions, type MachineState, type SimulatedLine, type TagDef } from './line.js';
import { openOperationRecorder, type OperationRecorder } from './record.js';
import { periodTicker } from './ticker.js';

export interface SimulateOpcuaOptions extends LineOptions {
  /** TCP port (default 4840; 0 picks a free one, see `port` on the result). */
  readonly port?: number;
  /** The server's PKI folder (its certificate is made on first start; default data/pki/opcua-simulator). */
  readonly pkiDir?: string;
  /** Username → password; when given, only these users may log in (no anonymous sessions). */
  readonly users?: Readonly<Record<string, string>>;
  /** A trace store to record the running operations in (see record.ts); the lot and operation strings change after they are written. */
  readonly db?: string;
  /** Log lines of the recorder (default: standard error). */
  readonly log?: (line: string) => void;
}

export interface OpcuaSimulator {
  readonly endpoint: string;
  readonly port: number;
  readonly line: SimulatedLine;
  readonly server: LineServer;
  /** The recorder of the running operations (with `db`). */
  readonly recorder?: OperationRecorder;
  /** The instant whose values the variables hold now. */
  readonly updatedAt: Date;
  stop(): Promise<void>;
}

type NumberTag = Extract<TagDef, { kind: 'number' }>;

export function defaultSimulatorPkiDir(): string {
  return path.resolve(process.env.TRACEREPORT_DATA || 'data', 'pki', 'opcua-simulator');
}

/** A collector driver section subscribing to every numeric tag of the line by browse path. */
export function opcuaDriverSection(line: SimulatedLine, server: Pick<LineServer, 'endpoint' | 'browsePath'>): OpcuaDriverConfig {
  const tags = line.tags().filter((t): t is NumberTag => t.kind === 'number');
  const interval = Math.max(100, Math.round(line.periodMs));
  return {
    type: 'opcua',
    name: 'opcua-sim',
    endpoint: server.endpoint,
    securityMode: 'None',
    securityPolicy: 'None',
    publishingInterval: interval,
    items: tags.map((t) => ({
      browsePath: server.browsePath(t.equipment, t.parameter),
      equipment: t.equipment,
      parameter: t.parameter,
      unit: t.unit,
      scale: 1,
      offset: 0,
      deadband: 0,
      // Exception-based: every refresh of the simulator is one reading.
      samplingInterval: 0,
      queueSize: 10,
    })),
  };
}

export async function simulateOpcua(opts: SimulateOpcuaOptions = {}): Promise<OpcuaSimulator> {
  const line = createLine(opts);
  const tags = line.tags();
  const hasUsers = opts.users !== undefined && Object.keys(opts.users).length > 0;
  const recorder = opts.db !== undefined ? await openOperationRecorder({ db: opts.db, line, ...(opts.log ? { log: opts.log } : {}) }) : undefined;
  let server: LineServer;
  try {
    server = await startLineServer({
      port: opts.port ?? 4840,
      pkiDir: opts.pkiDir ?? defaultSimulatorPkiDir(),
      tags,
      ...(hasUsers ? { users: opts.users, allowAnonymous: false } : { allowAnonymous: true }),
    });
  } catch (e) {
    await recorder?.close();
    throw e;
  }
  const numbers = tags.filter((t): t is NumberTag => t.kind === 'number');
  const texts = new Map<string, string>();

  let updatedAt = new Date(0);
  let stopped = false;
  const apply = (at: Date, states: readonly MachineState[]): void => {
    if (stopped) return;
    for (const t of numbers) server.set(t.equipment, t.parameter, line.value(t.equipment, t.parameter, at)!, at);
    for (const s of states) {
      for (const [name, value] of [['lot', s.lot], ['operation', s.operation]] as const) {
        const key = `${s.equipment}\u0000${name}`;
        if (texts.get(key) === value) continue;
        texts.set(key, value);
        server.setText(s.equipment, name, value);
      }
    }
    updatedAt = at;
  };
  // With a recorder, a machine's new operation is in the store before its first value is served.
  const write = (at: Date): void | Promise<void> => {
    const states = line.state(at);
    const recorded = recorder?.observe(states);
    if (!recorded) return apply(at, states);
    return recorded.then(() => apply(at, states));
  };
  const ticker = periodTicker(line.periodMs, write);
  ticker.start();

  return {
    endpoint: server.endpoint,
    port: server.port,
    line,
    server,
    ...(recorder ? { recorder } : {}),
    get updatedAt() {
      return updatedAt;
    },
    async stop() {
      await ticker.stop();
      stopped = true;
      await recorder?.close();
      await server.stop();
    },
  };
}
