/**
 * The collector configuration (`tracereport collect --config collectors.yaml`), YAML or JSON, checked
 * with zod before anything starts: every problem names its path and what was expected.
 * Each driver section belongs to its driver (collectors/<driver>/); the pipeline, rules and
 * notification sections to theirs.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { TraceReportError } from '../datasources/errors.js';

const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a name of letters, digits, _ . -');
const code = z.string().min(1).max(64);

/** How a raw device value becomes a reading: value × scale + offset; deadband suppresses small changes. */
const mapping = {
  equipment: code,
  parameter: code,
  unit: z.string().max(16).optional(),
  scale: z.number().default(1),
  offset: z.number().default(0),
  /** A reading is kept only when it differs from the last kept one by more than this (absolute). */
  deadband: z.number().nonnegative().default(0),
};

const tlsSchema = z.strictObject({
  /** PEM file paths. */
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
});

// ---------------------------------------------------------------- MQTT

export const mqttTagSchema = z.strictObject({
  /** A topic filter with + and # wildcards. */
  topic: z.string().min(1),
  /**
   * Equipment and parameter: literal, or `{1}`, `{2}`… for the topic levels matched by the filter's
   * wildcards (`tracereport/+/+` with equipment `{1}` and parameter `{2}`).
   */
  ...mapping,
  /** Dotted path of the value in a JSON payload (`data.temp`); absent: the payload is a number or `{value}`. */
  path: z.string().optional(),
  /** Dotted path of the time in a JSON payload (ISO text or epoch ms); absent: `ts`, else time of receipt. */
  tsPath: z.string().optional(),
});

export const mqttDriverSchema = z.strictObject({
  type: z.literal('mqtt'),
  name,
  url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'a broker URL such as mqtt://127.0.0.1:1883'),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: tlsSchema.optional(),
  /** Fixed client id: with a persistent session, QoS 1 messages published while the collector was down arrive on reconnect. */
  clientId: z.string().min(1).optional(),
  qos: z.union([z.literal(0), z.literal(1)]).default(1),
  tags: z.array(mqttTagSchema).min(1),
});

// ---------------------------------------------------------------- OPC UA

export const opcuaItemSchema = z
  .strictObject({
    /** `ns=2;s=Line1.Extruder.MeltPressure` */
    nodeId: z.string().optional(),
    /** `/Objects/2:Line1/2:Extruder/2:MeltPressure`, resolved by the server's TranslateBrowsePath. */
    browsePath: z.string().optional(),
    ...mapping,
    samplingInterval: z.number().int().nonnegative().default(1000),
    queueSize: z.number().int().positive().default(10),
  })
  .refine((i) => (i.nodeId === undefined) !== (i.browsePath === undefined), { message: 'give exactly one of nodeId or browsePath' });

export const opcuaDriverSchema = z.strictObject({
  type: z.literal('opcua'),
  name,
  endpoint: z.string().regex(/^opc\.tcp:\/\//, 'an endpoint such as opc.tcp://host:4840'),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
  securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('None'),
  /** Client certificate and private key (PEM paths) for Sign / SignAndEncrypt; made on first use when absent. */
  certificate: z.string().optional(),
  privateKey: z.string().optional(),
  /** The client's PKI folder (certificate made on first use, trusted server certificates); default data/pki/opcua. */
  pkiDir: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  publishingInterval: z.number().int().positive().default(1000),
  items: z.array(opcuaItemSchema).min(1),
});

// ---------------------------------------------------------------- Modbus TCP

export const modbusRegisterSchema = z.strictObject({
  area: z.enum(['holding', 'input', 'coil']),
  /** 0-based register (or coil) address. */
  address: z.number().int().nonnegative().max(65535),
  type: z.enum(['int16', 'uint16', 'int32', 'uint32', 'float32', 'bool']).default('uint16'),
  /** Byte order within a register and word order across the two registers of a 32-bit value. */
  byteOrder: z.enum(['big', 'little']).default('big'),
  wordOrder: z.enum(['big', 'little']).default('big'),
  ...mapping,
});

export const modbusDriverSchema = z.strictObject({
  type: z.literal('modbus'),
  name,
  host: z.string().min(1),
  port: z.number().int().positive().max(65535).default(502),
  unitId: z.number().int().min(0).max(255).default(1),
  pollMs: z.number().int().positive().default(1000),
  timeoutMs: z.number().int().positive().default(2000),
  registers: z.array(modbusRegisterSchema).min(1),
});

export const driverSchema = z.discriminatedUnion('type', [mqttDriverSchema, opcuaDriverSchema, modbusDriverSchema]);

// ---------------------------------------------------------------- rules and notifications

export const rulesSchema = z.strictObject({
  /** Limits from the trace store's parameter_spec (by equipment's route steps); overrides below win. */
  fromSpec: z.boolean().default(true),
  limits: z
    .array(z.strictObject({ equipment: code, parameter: code, lsl: z.number().optional(), usl: z.number().optional(), severity: z.enum(['warning', 'critical']).default('critical') }))
    .default([]),
  /** Fraction of the spec width a value must come back inside a limit before its alarm clears. */
  hysteresis: z.number().min(0).max(0.5).default(0.02),
  spc: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Samples per subgroup. */
      n: z.number().int().min(2).max(25).default(5),
      /** Control limits from the first `baseline` subgroups of history, or from the spec. */
      limitsFrom: z.enum(['history', 'spec']).default('history'),
      baseline: z.number().int().min(5).default(25),
      nelson: z.array(z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)])).default([1, 2, 3, 4]),
    })
    .default({ enabled: true, n: 5, limitsFrom: 'history', baseline: 25, nelson: [1, 2, 3, 4] }),
});

const retry = { retries: z.number().int().min(0).max(20).default(5), backoffMs: z.number().int().positive().default(1000) };
export const notifySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook'), name, url: z.url(), headers: z.record(z.string(), z.string()).default({}), ...retry }),
  z.strictObject({ type: z.literal('wecom'), name, url: z.url(), ...retry }),
  z.strictObject({ type: z.literal('dingtalk'), name, url: z.url(), secret: z.string().optional(), ...retry }),
  z.strictObject({
    type: z.literal('email'),
    name,
    smtp: z.string().regex(/^smtps?:\/\//, 'an SMTP URL such as smtp://user:pass@host:587'),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
    ...retry,
  }),
]);

// ---------------------------------------------------------------- the file

export const collectorConfigSchema = z.strictObject({
  /** Trace store (overridden by --db). */
  db: z.string().optional(),
  journal: z
    .strictObject({
      dir: z.string().default('data/journal'),
      /** Bytes of unwritten readings the journal may hold before collection stops loudly. */
      maxBytes: z.number().int().positive().default(1024 ** 3),
    })
    .default({ dir: 'data/journal', maxBytes: 1024 ** 3 }),
  batch: z
    .strictObject({
      size: z.number().int().positive().default(5000),
      maxDelayMs: z.number().int().positive().default(1000),
    })
    .default({ size: 5000, maxDelayMs: 1000 }),
  drivers: z.array(driverSchema).min(1),
  rules: rulesSchema.optional(),
  notify: z.array(notifySchema).default([]),
});
export type CollectorConfig = z.infer<typeof collectorConfigSchema>;
export type DriverConfig = z.infer<typeof driverSchema>;
export type MqttDriverConfig = z.infer<typeof mqttDriverSchema>;
export type OpcuaDriverConfig = z.infer<typeof opcuaDriverSchema>;
export type ModbusDriverConfig = z.infer<typeof modbusDriverSchema>;
export type RulesConfig = z.infer<typeof rulesSchema>;
export type NotifyConfig = z.infer<typeof notifySchema>;

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top)';
}

/** Parses and checks a config text (YAML or JSON); `where` names it in messages. */
export function parseCollectorConfig(text: string, where: string): CollectorConfig {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new TraceReportError('ARGUMENT_INVALID', `collector config ${where} is not valid YAML or JSON: ${(e as Error).message}`);
  }
  const parsed = collectorConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message }));
    throw new TraceReportError(
      'ARGUMENT_INVALID',
      [`collector config ${where} is not valid; nothing was started. Fix these:`, ...issues.map((i) => `  ${i.path}: ${i.message}`)].join('\n'),
      { issues },
    );
  }
  return parsed.data;
}

export function readCollectorConfig(file: string): CollectorConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new TraceReportError('ARGUMENT_INVALID', `cannot read collector config ${file}: ${(e as Error).message}`);
  }
  return parseCollectorConfig(text, file);
}
