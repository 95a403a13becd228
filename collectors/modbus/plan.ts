/**
 * Read planning: a device's tags grouped into as few Modbus requests as possible. Tags of one area whose
 * registers touch or overlap form one contiguous read, up to the protocol's limit per request
 * (125 registers, 2000 coils). Gaps are never bridged: a device may reject a read of registers it lacks.
 */
import { TraceReportError } from '../../datasources/errors.js';
import type { ModbusDriverConfig } from '../config.js';
import { registerCount } from './decode.js';

export type ModbusTag = ModbusDriverConfig['registers'][number];
export type ModbusArea = ModbusTag['area'];

export const MAX_REGISTERS_PER_READ = 125;
export const MAX_COILS_PER_READ = 2000;

export interface PlannedTag {
  readonly tag: ModbusTag;
  /** Index of the tag in the driver's `registers` list (names it in messages). */
  readonly index: number;
  /** Registers (or coils) from the start of the read. */
  readonly offset: number;
}

export interface ReadBlock {
  readonly area: ModbusArea;
  readonly start: number;
  readonly count: number;
  readonly tags: readonly PlannedTag[];
}

/** Registers (or coils) a tag spans. */
export function tagWidth(tag: ModbusTag): number {
  return tag.area === 'coil' ? 1 : registerCount(tag.type);
}

/** Checks the tags (a configuration error names the tag) and groups them into reads, in area then address order. */
export function planReads(registers: readonly ModbusTag[], where: string): ReadBlock[] {
  for (const [i, tag] of registers.entries()) {
    if (tag.area === 'coil' && tag.type !== 'bool' && tag.type !== 'uint16') {
      throw new TraceReportError('ARGUMENT_INVALID', `${where}.registers[${i}]: a coil is one bit; give type bool (not ${tag.type}) or read a holding/input register`);
    }
    if (tag.address + tagWidth(tag) - 1 > 65535) {
      throw new TraceReportError('ARGUMENT_INVALID', `${where}.registers[${i}]: ${tag.type} at ${tag.address} runs past register 65535; use an address of at most ${65536 - tagWidth(tag)}`);
    }
  }
  const blocks: ReadBlock[] = [];
  for (const area of ['holding', 'input', 'coil'] as const) {
    const max = area === 'coil' ? MAX_COILS_PER_READ : MAX_REGISTERS_PER_READ;
    const tags = registers
      .map((tag, index) => ({ tag, index }))
      .filter((t) => t.tag.area === area)
      .sort((a, b) => a.tag.address - b.tag.address || a.index - b.index);
    let start = -1;
    let end = -1; // exclusive
    let members: { tag: ModbusTag; index: number }[] = [];
    const flush = (): void => {
      if (members.length === 0) return;
      blocks.push({ area, start, count: end - start, tags: members.map((m) => ({ ...m, offset: m.tag.address - start })) });
      members = [];
    };
    for (const t of tags) {
      const tEnd = t.tag.address + tagWidth(t.tag);
      if (members.length > 0 && t.tag.address <= end && Math.max(end, tEnd) - start <= max) {
        end = Math.max(end, tEnd);
        members.push(t);
      } else {
        flush();
        start = t.tag.address;
        end = tEnd;
        members = [t];
      }
    }
    flush();
  }
  return blocks;
}
