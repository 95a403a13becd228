/**
 * The zero-config MQTT convention: `<prefix>/<equipment>/<parameter>` with `{"ts": "<ISO>", "value": n}` or a
 * bare number. The simulator publishes it; `tracereport collect --mqtt URL` subscribes to it.
 */
import type { MqttDriverConfig } from '../config.js';

export const DEFAULT_TOPIC_PREFIX = 'tracereport';

export function conventionTopic(prefix: string, equipment: string, parameter: string): string {
  return `${prefix}/${equipment}/${parameter}`;
}

export function conventionPayload(ts: Date, value: number): string {
  return JSON.stringify({ ts: ts.toISOString(), value });
}

/** The driver config that collects the convention from a broker (persistent session under a fixed client id). */
export function conventionDriverConfig(url: string, opts: { prefix?: string; name?: string; clientId?: string } = {}): MqttDriverConfig {
  const prefix = opts.prefix ?? DEFAULT_TOPIC_PREFIX;
  const name = opts.name ?? 'mqtt';
  return {
    type: 'mqtt',
    name,
    url,
    clientId: opts.clientId ?? `tracereport-collect-${name}`,
    qos: 1,
    tags: [{ topic: `${prefix}/+/+`, equipment: '{1}', parameter: '{2}', scale: 1, offset: 0, deadband: 0 }],
  };
}
