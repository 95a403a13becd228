import { describe, expect, it } from 'vitest';
import { parseCollectorConfig } from './config.js';
import { Deadband, scaled } from './mapping.js';

const good = `
drivers:
  - type: mqtt
    name: line1
    url: mqtt://127.0.0.1:1883
    tags:
      - { topic: "tracereport/+/+", equipment: "{1}", parameter: "{2}" }
  - type: modbus
    name: plc1
    host: 127.0.0.1
    port: 5020
    registers:
      - { area: holding, address: 0, type: float32, wordOrder: little, equipment: EXT-L1-01, parameter: melt_pressure, scale: 0.1 }
`;

describe('collector config', () => {
  it('accepts YAML and fills defaults', () => {
    const c = parseCollectorConfig(good, 'c.yaml');
    expect(c.batch).toEqual({ size: 5000, maxDelayMs: 1000 });
    expect(c.drivers[0]).toMatchObject({ type: 'mqtt', qos: 1 });
    expect(c.drivers[1]).toMatchObject({ type: 'modbus', unitId: 1, pollMs: 1000 });
  });

  it.each([
    ['a bad broker URL', good.replace('mqtt://127.0.0.1:1883', 'http://x'), /drivers\[0\]\.url: a broker URL/],
    ['an unknown driver', good.replace('type: modbus', 'type: profinet'), /drivers\[1\]\.type/],
    ['a register type', good.replace('type: float32', 'type: float64'), /drivers\[1\]\.registers\[0\]\.type/],
    ['no drivers', 'drivers: []', /drivers: /],
    ['not YAML', 'drivers: [', /not valid YAML or JSON/],
  ])('%s: names the path, starts nothing', (_n, text, message) => {
    expect(() => parseCollectorConfig(text, 'c.yaml')).toThrow(message);
  });
});

describe('mapping', () => {
  it('scales and keeps values outside the deadband', () => {
    expect(scaled(1234, { scale: 0.1, offset: -3 })).toBeCloseTo(120.4);
    const d = new Deadband();
    expect([10, 10.2, 10.6, 10.1, 9.4].map((v) => d.keep('a', v, 0.5))).toEqual([true, false, true, false, true]);
    expect(d.keep('b', 1, 0)).toBe(true);
  });
});
