import { DataType, DataValue, StatusCodes, Variant } from 'node-opcua';
import { describe, expect, it } from 'vitest';
import { numericValue, qualityOf, toReading } from './reading.js';

describe('OPC UA value → reading', () => {
  it.each([
    [12.5, 12.5],
    [-3, -3],
    [true, 1],
    [false, 0],
    [[0, 5], 5],
    [[1, 0], 2 ** 32],
    [[-1, 0xffffffff], -1],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ['12', undefined],
    [null, undefined],
    [[1, 2, 3], undefined],
  ])('numericValue(%j) = %j', (value, expected) => expect(numericValue(value)).toBe(expected));

  it.each([
    [StatusCodes.Good, 'good'],
    [StatusCodes.GoodClamped, 'good'],
    [StatusCodes.UncertainLastUsableValue, 'uncertain'],
    [StatusCodes.UncertainInitialValue, 'uncertain'],
    [StatusCodes.BadSensorFailure, 'bad'],
    [StatusCodes.BadCommunicationError, 'bad'],
  ])('quality of %s is %s', (code, quality) => expect(qualityOf(code.value)).toBe(quality));

  const item = { equipment: 'E', parameter: 'p', scale: 0.1, offset: 2, deadband: 0, samplingInterval: 0, queueSize: 1 };

  it('scales, takes the source timestamp, else the server timestamp, else now', () => {
    const src = new Date('2026-01-01T00:00:00Z');
    const srv = new Date('2026-01-01T00:00:05Z');
    const now = new Date('2026-01-01T00:00:09Z');
    const value = new Variant({ dataType: DataType.Int32, value: 250 });
    expect(toReading(new DataValue({ value, sourceTimestamp: src, serverTimestamp: srv }), item, now)).toEqual({ equipment: 'E', parameter: 'p', ts: src, value: 27 });
    expect(toReading(new DataValue({ value, serverTimestamp: srv }), item, now)?.ts).toEqual(srv);
    expect(toReading(new DataValue({ value }), item, now)?.ts).toEqual(now);
  });

  it('gives no reading for a Bad value without a number', () => {
    expect(toReading(new DataValue({ statusCode: StatusCodes.BadNodeIdUnknown }), item)).toBeUndefined();
  });
});
