import { describe, expect, it } from 'vitest';
import { decodeCoil, decodeRegisters, encodeRegisters, registerCount, wireToWords, wordsToWire, type ModbusEncoding, type ModbusOrder, type ModbusValueType } from './decode.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
const enc = (type: ModbusValueType, byteOrder: ModbusOrder = 'big', wordOrder: ModbusOrder = 'big'): ModbusEncoding => ({ type, byteOrder, wordOrder });

// [type, byteOrder, wordOrder, wire bytes, value]
const cases: [ModbusValueType, ModbusOrder, ModbusOrder, string, number][] = [
  ['uint16', 'big', 'big', '1234', 0x1234],
  ['uint16', 'little', 'big', '3412', 0x1234],
  ['uint16', 'big', 'big', 'ffff', 65535],
  ['int16', 'big', 'big', 'fffe', -2],
  ['int16', 'little', 'big', 'feff', -2],
  ['int16', 'big', 'big', '8000', -32768],
  ['int16', 'little', 'big', '0080', -32768],
  ['int16', 'big', 'big', '7fff', 32767],
  ['int16', 'big', 'little', '0102', 258], // word order has no meaning for one register
  // uint32 0x11223344 in the four layouts: ABCD, CDAB, BADC, DCBA
  ['uint32', 'big', 'big', '11223344', 0x11223344],
  ['uint32', 'big', 'little', '33441122', 0x11223344],
  ['uint32', 'little', 'big', '22114433', 0x11223344],
  ['uint32', 'little', 'little', '44332211', 0x11223344],
  ['uint32', 'big', 'big', 'ffffffff', 4294967295],
  // int32 -2 = 0xfffffffe
  ['int32', 'big', 'big', 'fffffffe', -2],
  ['int32', 'big', 'little', 'fffeffff', -2],
  ['int32', 'little', 'big', 'fffffeff', -2],
  ['int32', 'little', 'little', 'feffffff', -2],
  ['int32', 'big', 'big', '80000000', -2147483648],
  ['int32', 'big', 'little', '00018000', -2147483647],
  // float32 1.5 = 0x3fc00000, -123.25 = 0xc2f68000
  ['float32', 'big', 'big', '3fc00000', 1.5],
  ['float32', 'big', 'little', '00003fc0', 1.5],
  ['float32', 'little', 'big', 'c03f0000', 1.5],
  ['float32', 'little', 'little', '0000c03f', 1.5],
  ['float32', 'big', 'big', 'c2f68000', -123.25],
  ['float32', 'big', 'little', '8000c2f6', -123.25],
  ['float32', 'little', 'big', 'f6c20080', -123.25],
  ['float32', 'little', 'little', '0080f6c2', -123.25],
  ['float32', 'big', 'big', '7f800000', Infinity],
  ['float32', 'big', 'big', 'ff800000', -Infinity],
  ['bool', 'big', 'big', '0000', 0],
  ['bool', 'big', 'big', '0001', 1],
];

describe('modbus decode', () => {
  it.each(cases)('%s %s bytes / %s words: %s → %d', (type, byteOrder, wordOrder, wire, value) => {
    expect(decodeRegisters(hex(wire), 0, enc(type, byteOrder, wordOrder))).toBe(value);
  });

  it.each(cases.filter(([type]) => type !== 'bool'))('%s %s bytes / %s words: encodes %s back from %d', (type, byteOrder, wordOrder, wire, value) => {
    expect(encodeRegisters(value, enc(type, byteOrder, wordOrder)).toString('hex')).toBe(wire);
  });

  it('decodes at a register offset within a longer read', () => {
    const wire = hex('0000 0000 3fc0 0000 fffe');
    expect(decodeRegisters(wire, 2, enc('float32'))).toBe(1.5);
    expect(decodeRegisters(wire, 4, enc('int16'))).toBe(-2);
  });

  it('any non-zero register is a true bool, in either byte order', () => {
    expect(decodeRegisters(hex('0100'), 0, enc('bool'))).toBe(1);
    expect(decodeRegisters(hex('0100'), 0, enc('bool', 'little'))).toBe(1);
    expect(encodeRegisters(5, enc('bool')).toString('hex')).toBe('0001');
    expect(encodeRegisters(0, enc('bool')).toString('hex')).toBe('0000');
  });

  it('float32 NaN decodes as NaN in every order and encodes to a NaN again', () => {
    for (const [wire, byteOrder, wordOrder] of [
      ['7fc00000', 'big', 'big'],
      ['00007fc0', 'big', 'little'],
      ['c07f0000', 'little', 'big'],
      ['0000c07f', 'little', 'little'],
    ] as const) {
      const e = enc('float32', byteOrder, wordOrder);
      expect(decodeRegisters(hex(wire), 0, e)).toBeNaN();
      expect(decodeRegisters(encodeRegisters(NaN, e), 0, e)).toBeNaN();
    }
  });

  it('float32 round trip keeps single precision', () => {
    const e = enc('float32', 'little', 'little');
    expect(decodeRegisters(encodeRegisters(215.3, e), 0, e)).toBeCloseTo(215.3, 4);
    expect(decodeRegisters(encodeRegisters(215.3, e), 0, e)).toBe(Math.fround(215.3));
  });

  it('integers are rounded when encoding; out of range is a RangeError', () => {
    expect(encodeRegisters(12.6, enc('int16')).toString('hex')).toBe('000d');
    expect(encodeRegisters(-0.4, enc('uint16')).toString('hex')).toBe('0000');
    expect(() => encodeRegisters(40000, enc('int16'))).toThrow(/does not fit int16/);
    expect(() => encodeRegisters(-1, enc('uint16'))).toThrow(/does not fit uint16/);
    expect(() => encodeRegisters(2 ** 32, enc('uint32'))).toThrow(/does not fit uint32/);
    expect(() => encodeRegisters(NaN, enc('int32'))).toThrow(/does not fit int32/);
  });

  it('a value reaching past the registers read is a RangeError naming what was needed', () => {
    expect(() => decodeRegisters(hex('0000 0000'), 1, enc('float32'))).toThrow(/needs 2 register\(s\); only 2 were read/);
  });

  it('register counts per type', () => {
    expect([registerCount('int16'), registerCount('uint16'), registerCount('bool')]).toEqual([1, 1, 1]);
    expect([registerCount('int32'), registerCount('uint32'), registerCount('float32')]).toEqual([2, 2, 2]);
  });

  it('words and wire bytes convert both ways', () => {
    expect(wireToWords(hex('1234 fffe'))).toEqual([0x1234, 0xfffe]);
    expect(wordsToWire([0x1234, 0xfffe]).toString('hex')).toBe('1234fffe');
  });

  it('coils: bit 0 of byte 0 first', () => {
    const payload = hex('05 80'); // coils 0 and 2 on; coil 15 on
    expect([0, 1, 2, 3, 7, 8, 15].map((i) => decodeCoil(payload, i))).toEqual([1, 0, 1, 0, 0, 0, 1]);
    expect(() => decodeCoil(payload, 16)).toThrow(/outside the 16 coils/);
  });
});
