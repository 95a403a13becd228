/**
 * An OPC UA data value → a Reading: the number (× scale + offset), the source timestamp (else the
 * server's, else now) and the status code's severity as quality. Values that are not numbers (null
 * with a Bad status, strings, arrays) give no reading.
 */
import type { DataValue } from 'node-opcua';
import { scaled } from '../mapping.js';
import type { Reading } from '../types.js';
import type { OpcuaItemConfig } from './items.js';

/** A scalar OPC UA value as a number: numbers, booleans (1/0), 64-bit integers ([high, low] words). */
export function numericValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value) && value.length === 2 && value.every((w) => typeof w === 'number')) {
    const [high, low] = value as [number, number];
    return high * 2 ** 32 + (low >>> 0);
  }
  return undefined;
}

export function qualityOf(statusCodeValue: number): Reading['quality'] {
  // Severity: the two top bits of the status code (00 good, 01 uncertain, 10/11 bad).
  const severity = statusCodeValue >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

export function toReading(dataValue: DataValue, item: OpcuaItemConfig, now: Date = new Date()): Reading | undefined {
  const raw = numericValue(dataValue.value?.value);
  if (raw === undefined) return undefined;
  const quality = qualityOf(dataValue.statusCode.value);
  const ts = dataValue.sourceTimestamp ?? dataValue.serverTimestamp ?? now;
  return {
    equipment: item.equipment,
    parameter: item.parameter,
    ts,
    value: scaled(raw, item),
    ...(item.unit !== undefined ? { unit: item.unit } : {}),
    ...(quality !== 'good' ? { quality } : {}),
  };
}
