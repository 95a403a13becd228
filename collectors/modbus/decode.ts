/**
 * Modbus register words ↔ numbers. Registers travel as 16-bit words, high byte first on the wire; devices
 * differ in how they lay a value over them: byte order within a register and word order across the two
 * registers of a 32-bit value (ABCD = big/big, CDAB = big bytes/little words, BADC = little bytes/big
 * words, DCBA = little/little). Coils are single bits.
 */

export type ModbusValueType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'bool';
export type ModbusOrder = 'big' | 'little';

export interface ModbusEncoding {
  readonly type: ModbusValueType;
  readonly byteOrder: ModbusOrder;
  readonly wordOrder: ModbusOrder;
}

/** Registers a value of this type spans (bool on a register: one register, non-zero is 1). */
export function registerCount(type: ModbusValueType): 1 | 2 {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

/**
 * Reorders between wire bytes and the value's big-endian bytes. The permutation is its own inverse,
 * so the same function serves decode and encode.
 */
function reorder(bytes: Buffer, enc: ModbusEncoding): Buffer {
  const out = Buffer.from(bytes);
  if (enc.byteOrder === 'little') {
    for (let i = 0; i + 1 < out.length; i += 2) {
      const b = out[i];
      out[i] = out[i + 1];
      out[i + 1] = b;
    }
  }
  if (enc.wordOrder === 'little' && out.length === 4) {
    const w0 = out.readUInt16BE(0);
    out.writeUInt16BE(out.readUInt16BE(2), 0);
    out.writeUInt16BE(w0, 2);
  }
  return out;
}

/**
 * Decodes the value starting at `offset` registers into `wire` (register bytes as received, two per
 * register). A float32 NaN or infinity is returned as such: the caller decides what a bad value means.
 */
export function decodeRegisters(wire: Buffer, offset: number, enc: ModbusEncoding): number {
  const n = registerCount(enc.type);
  const start = offset * 2;
  if (start < 0 || start + n * 2 > wire.length) {
    throw new RangeError(`${enc.type} at register offset ${offset} needs ${n} register(s); only ${wire.length / 2} were read`);
  }
  const be = reorder(wire.subarray(start, start + n * 2), enc);
  switch (enc.type) {
    case 'uint16':
      return be.readUInt16BE(0);
    case 'int16':
      return be.readInt16BE(0);
    case 'uint32':
      return be.readUInt32BE(0);
    case 'int32':
      return be.readInt32BE(0);
    case 'float32':
      return be.readFloatBE(0);
    case 'bool':
      return be.readUInt16BE(0) !== 0 ? 1 : 0;
  }
}

const intRange: Record<'int16' | 'uint16' | 'int32' | 'uint32', readonly [number, number]> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

/**
 * Encodes a value into wire bytes (two per register): the inverse of decodeRegisters. Integers are
 * rounded to the nearest whole number; a value outside the type's range (or not finite) is a RangeError.
 * float32 keeps NaN and infinities.
 */
export function encodeRegisters(value: number, enc: ModbusEncoding): Buffer {
  const be = Buffer.alloc(registerCount(enc.type) * 2);
  if (enc.type === 'float32') {
    be.writeFloatBE(value, 0);
  } else if (enc.type === 'bool') {
    be.writeUInt16BE(value !== 0 && !Number.isNaN(value) ? 1 : 0, 0);
  } else {
    const v = Math.round(value);
    const [min, max] = intRange[enc.type];
    if (!Number.isFinite(v) || v < min || v > max) {
      throw new RangeError(`${value} does not fit ${enc.type} (${min} to ${max})`);
    }
    if (enc.type === 'uint16') be.writeUInt16BE(v, 0);
    else if (enc.type === 'int16') be.writeInt16BE(v, 0);
    else if (enc.type === 'uint32') be.writeUInt32BE(v, 0);
    else be.writeInt32BE(v, 0);
  }
  return reorder(be, enc);
}

/** Register words (0..65535 each, as a Modbus library lists them) from wire bytes. */
export function wireToWords(wire: Buffer): number[] {
  const words: number[] = [];
  for (let i = 0; i + 1 < wire.length; i += 2) words.push(wire.readUInt16BE(i));
  return words;
}

/** Wire bytes from register words. */
export function wordsToWire(words: readonly number[]): Buffer {
  const wire = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => wire.writeUInt16BE(w, i * 2));
  return wire;
}

/** Coil `index` of a read-coils payload (bit 0 of byte 0 is the first coil): 1 or 0. */
export function decodeCoil(payload: Buffer, index: number): 0 | 1 {
  const byte = index >> 3;
  if (index < 0 || byte >= payload.length) throw new RangeError(`coil offset ${index} is outside the ${payload.length * 8} coils read`);
  return (payload[byte] >> (index & 7)) & 1 ? 1 : 0;
}
