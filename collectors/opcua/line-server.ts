/**
 * An OPC UA server exposing a production line: Objects/<Line>/<Equipment>/<parameter> Double variables
 * (node id `ns=2;s=<Line>.<Equipment>.<parameter>`) plus `lot` and `operation` String variables per
 * equipment. Values are pushed with `set` (value, source timestamp, quality); the simulator drives it
 * from the line's signal generator, tests drive it directly.
 */
import net from 'node:net';
import path from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  UserNameIdentityToken,
  Variant,
  type UAObject,
  type UAVariable,
} from 'node-opcua';

export const LINE_NAMESPACE_URI = 'urn:tracereport:line';

/** One variable of the line (collectors/simulate/line.ts TagDef fits): a number, or the `lot`/`operation` text. */
export interface LineTag {
  readonly kind: 'number' | 'string';
  readonly line: string;
  readonly equipment: string;
  readonly parameter: string;
  readonly unit?: string;
}

export interface LineServerOptions {
  /** 0 or absent: a free port chosen by the system. */
  readonly port?: number;
  /** Folder for the server's PKI (own certificate made on first start, trusted/rejected client certificates). */
  readonly pkiDir: string;
  readonly tags: readonly LineTag[];
  /** Username → password; when given, these users may log in. */
  readonly users?: Readonly<Record<string, string>>;
  /** Anonymous sessions allowed (default: true when no users are given). */
  readonly allowAnonymous?: boolean;
}

export type Quality = 'good' | 'uncertain' | 'bad';

/** A session the server activated: how the client connected and as whom. */
export interface LineServerLogin {
  readonly securityMode: string;
  /** The policy's short name, e.g. `Basic256Sha256` (`None` without security). */
  readonly securityPolicy: string;
  /** The user name, or undefined for an anonymous session. */
  readonly user?: string;
}

export interface LineServer {
  /** `opc.tcp://127.0.0.1:<port>/UA/TraceReport` */
  readonly endpoint: string;
  readonly port: number;
  /** Namespace index of the line's nodes (2). */
  readonly namespaceIndex: number;
  nodeId(equipment: string, parameter: string): string;
  browsePath(equipment: string, parameter: string): string;
  /** Sets a parameter's value with its source timestamp and quality. */
  set(equipment: string, parameter: string, value: number, ts?: Date, quality?: Quality): void;
  /** Sets a string variable (the equipment's running `lot` or `operation`). */
  setText(equipment: string, parameter: string, value: string): void;
  /** Every session activated since start, in order. */
  readonly logins: readonly LineServerLogin[];
  stop(): Promise<void>;
}

const STATUS: Record<Quality, (typeof StatusCodes)['Good']> = {
  good: StatusCodes.Good,
  uncertain: StatusCodes.UncertainLastUsableValue,
  bad: StatusCodes.BadSensorFailure,
};

/** A free TCP port on 127.0.0.1 (node-opcua needs the port before it listens, to name its endpoints). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startLineServer(opts: LineServerOptions): Promise<LineServer> {
  const port = opts.port ? opts.port : await freePort();
  const users = opts.users ?? {};
  const hasUsers = Object.keys(users).length > 0;
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: path.join(opts.pkiDir, 'server'),
    automaticallyAcceptUnknownCertificate: true,
    disableFileWatchers: true,
  });
  const userCertificateManager = new OPCUACertificateManager({
    rootFolder: path.join(opts.pkiDir, 'user'),
    automaticallyAcceptUnknownCertificate: false,
    disableFileWatchers: true,
  });
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/UA/TraceReport',
    buildInfo: { productName: 'TraceReport line simulator', manufacturerName: 'TraceReport', softwareVersion: '1' },
    serverInfo: { applicationUri: 'urn:tracereport:simulator', productUri: 'urn:tracereport:simulator' },
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep],
    allowAnonymous: opts.allowAnonymous ?? !hasUsers,
    userManager: { isValidUser: (username: string, password: string) => Object.hasOwn(users, username) && users[username] === password },
    serverCertificateManager,
    userCertificateManager,
    disableDiscovery: true,
    maxConnectionsPerEndpoint: 100,
    // Exception-based: an item sampled at 0 gets every change (the simulator's sample stream, untouched).
    serverCapabilities: { minSupportedSampleRate: 0 },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error('OPC UA server has no address space after initialize');
  const ns = addressSpace.registerNamespace(LINE_NAMESPACE_URI);
  const folders = new Map<string, UAObject>();
  const folder = (key: string, make: () => UAObject): UAObject => {
    let f = folders.get(key);
    if (!f) folders.set(key, (f = make()));
    return f;
  };
  const variables = new Map<string, { v: UAVariable; line: string; kind: LineTag['kind'] }>();
  for (const tag of opts.tags) {
    const line = folder(tag.line, () => ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: tag.line, nodeId: `s=${tag.line}` }));
    const eq = folder(`${tag.line}/${tag.equipment}`, () => ns.addObject({ componentOf: line, browseName: tag.equipment, nodeId: `s=${tag.line}.${tag.equipment}` }));
    const numeric = tag.kind === 'number';
    const v = ns.addVariable({
      componentOf: eq,
      browseName: tag.parameter,
      nodeId: `s=${tag.line}.${tag.equipment}.${tag.parameter}`,
      dataType: numeric ? 'Double' : 'String',
      ...(tag.unit ? { description: `${tag.parameter} in ${tag.unit}` } : {}),
      minimumSamplingInterval: 0,
    });
    if (numeric) v.setValueFromSource(new Variant({ dataType: DataType.Double, value: 0 }), StatusCodes.UncertainInitialValue);
    else v.setValueFromSource(new Variant({ dataType: DataType.String, value: '' }), StatusCodes.Good);
    variables.set(`${tag.equipment}\u0000${tag.parameter}`, { v, line: tag.line, kind: tag.kind });
  }
  const logins: LineServerLogin[] = [];
  server.on('session_activated', (session, token) => {
    const channel = session.channel;
    const user = token instanceof UserNameIdentityToken ? (token.userName ?? undefined) : undefined;
    logins.push({
      securityMode: channel ? MessageSecurityMode[channel.securityMode] : 'unknown',
      securityPolicy: channel ? String(channel.securityPolicy).replace(/^.*#/, '') : 'unknown',
      ...(user !== undefined ? { user } : {}),
    });
  });
  await server.start();
  const nsIndex = ns.index;
  const find = (equipment: string, parameter: string, kind: LineTag['kind']) => {
    const found = variables.get(`${equipment}\u0000${parameter}`);
    if (!found || found.kind !== kind) throw new Error(`no ${kind} variable ${equipment}/${parameter} on the line server`);
    return found;
  };
  return {
    logins,
    endpoint: `opc.tcp://127.0.0.1:${port}/UA/TraceReport`,
    port,
    namespaceIndex: nsIndex,
    nodeId(equipment, parameter) {
      const { line } = find(equipment, parameter, variables.get(`${equipment}\u0000${parameter}`)?.kind ?? 'number');
      return `ns=${nsIndex};s=${line}.${equipment}.${parameter}`;
    },
    browsePath(equipment, parameter) {
      const { line } = find(equipment, parameter, variables.get(`${equipment}\u0000${parameter}`)?.kind ?? 'number');
      return `/Objects/${nsIndex}:${line}/${nsIndex}:${equipment}/${nsIndex}:${parameter}`;
    },
    set(equipment, parameter, value, ts = new Date(), quality = 'good') {
      find(equipment, parameter, 'number').v.setValueFromSource(new Variant({ dataType: DataType.Double, value }), STATUS[quality], ts);
    },
    setText(equipment, parameter, value) {
      find(equipment, parameter, 'string').v.setValueFromSource(new Variant({ dataType: DataType.String, value }), StatusCodes.Good);
    },
    async stop() {
      await server.shutdown(0);
    },
  };
}
