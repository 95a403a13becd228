import { describe, expect, it } from 'vitest';
import { planReads, type ModbusTag } from './plan.js';

function tag(area: ModbusTag['area'], address: number, type: ModbusTag['type'] = 'uint16'): ModbusTag {
  return { area, address, type, byteOrder: 'big', wordOrder: 'big', equipment: 'E', parameter: `${area}${address}`, scale: 1, offset: 0, deadband: 0 };
}

const shape = (tags: ModbusTag[]): [string, number, number, number[]][] =>
  planReads(tags, 'drivers[0]').map((b) => [b.area, b.start, b.count, b.tags.map((t) => t.offset)]);

describe('modbus read planning', () => {
  it.each<[string, ModbusTag[], [string, number, number, number[]][]]>([
    ['one tag', [tag('holding', 10, 'float32')], [['holding', 10, 2, [0]]]],
    ['contiguous registers make one read, in address order', [tag('holding', 2, 'float32'), tag('holding', 0, 'float32'), tag('holding', 4)], [['holding', 0, 5, [0, 2, 4]]]],
    ['a gap starts a new read', [tag('holding', 0, 'float32'), tag('holding', 3)], [['holding', 0, 2, [0]], ['holding', 3, 1, [0]]]],
    ['overlapping tags share a read', [tag('input', 0, 'uint32'), tag('input', 1)], [['input', 0, 2, [0, 1]]]],
    ['areas are read separately', [tag('holding', 0), tag('input', 0), tag('coil', 0, 'bool'), tag('coil', 1, 'bool')], [['holding', 0, 1, [0]], ['input', 0, 1, [0]], ['coil', 0, 2, [0, 1]]]],
  ])('%s', (_name, tags, expected) => {
    expect(shape(tags)).toEqual(expected);
  });

  it('splits at 125 registers without cutting a 32-bit value', () => {
    const tags = Array.from({ length: 100 }, (_, i) => tag('holding', i * 2, 'float32')); // 200 registers
    const blocks = planReads(tags, 'd');
    expect(blocks.map((b) => [b.start, b.count])).toEqual([
      [0, 124],
      [124, 76],
    ]);
    expect(blocks.reduce((n, b) => n + b.tags.length, 0)).toBe(100);
  });

  it('splits coils at 2000', () => {
    const tags = Array.from({ length: 2500 }, (_, i) => tag('coil', i, 'bool'));
    expect(planReads(tags, 'd').map((b) => [b.start, b.count])).toEqual([
      [0, 2000],
      [2000, 500],
    ]);
  });

  it('rejects a 32-bit coil and a value running past register 65535, naming the tag', () => {
    expect(() => planReads([tag('holding', 0), tag('coil', 0, 'float32')], 'drivers[2]')).toThrow(/drivers\[2\]\.registers\[1\]: a coil is one bit/);
    expect(() => planReads([tag('input', 65535, 'int32')], 'd')).toThrow(/runs past register 65535/);
    expect(planReads([tag('input', 65534, 'int32')], 'd')).toHaveLength(1);
  });
});
