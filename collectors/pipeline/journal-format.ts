/**
 * The journal's line format. Each line is `<crc32 as 8 hex digits> <json>\n`; the checksum covers the JSON
 * text, so a line torn by a crash (or damaged on disk) is recognised instead of being half-read.
 *
 *   {"b":7,"r":[["MIX-1","temp",1767225600000,81.2],["MIX-1","rpm",1767225600000,1200,"bad"]]}   readings of batch 7
 *   {"b":7,"a":[["raise","limit_high","MIX-1","temp",131.2,120,"critical",1767225600000,"…"]]}  alarm changes of batch 7
 *   {"s":7}                                                                                         batch 7 sealed (fsync'd)
 *
 * Lines of a batch are contiguous and end with its seal.
 */
import { crc32 } from 'node:zlib';
import type { AlarmChange, AlarmRule, Reading } from '../types.js';

/** equipment, parameter, time (epoch ms), value, quality (absent: good). */
export type JournalReading = [string, string, number, number] | [string, string, number, number, 'uncertain' | 'bad'];

/** kind, rule, equipment, parameter, value, limit (null: none), severity, time (epoch ms), message. */
export type JournalAlarm = [AlarmChange['kind'], AlarmRule, string, string, number, number | null, AlarmChange['severity'], number, string];

export type JournalRecord = { b: number; r: JournalReading[] } | { b: number; a: JournalAlarm[] } | { s: number };

export function toJournalReading(r: Reading): JournalReading {
  const ms = r.ts.getTime();
  return r.quality === undefined || r.quality === 'good' ? [r.equipment, r.parameter, ms, r.value] : [r.equipment, r.parameter, ms, r.value, r.quality];
}

export function toJournalAlarm(a: AlarmChange): JournalAlarm {
  return [a.kind, a.rule, a.equipment, a.parameter, a.value, a.limit ?? null, a.severity, a.at.getTime(), a.message];
}

export function fromJournalAlarm(a: JournalAlarm): AlarmChange {
  const [kind, rule, equipment, parameter, value, limit, severity, at, message] = a;
  return { kind, rule, equipment, parameter, value, ...(limit === null ? {} : { limit }), severity, at: new Date(at), message };
}

/** One journal line (with its newline) as bytes. */
export function encodeLine(rec: JournalRecord): Buffer {
  const json = JSON.stringify(rec);
  const body = Buffer.from(`00000000 ${json}\n`, 'utf8');
  const crc = crc32(body.subarray(9, body.length - 1));
  body.write(crc.toString(16).padStart(8, '0'), 0, 'latin1');
  return body;
}

/** A line without its newline: the record, or undefined when its checksum or JSON is wrong. */
export function decodeLine(line: Buffer): JournalRecord | undefined {
  if (line.length < 11 || line[8] !== 0x20) return undefined;
  const want = Number.parseInt(line.toString('latin1', 0, 8), 16);
  const json = line.subarray(9);
  if (!Number.isFinite(want) || crc32(json) !== want) return undefined;
  try {
    const rec = JSON.parse(json.toString('utf8')) as JournalRecord;
    return typeof rec === 'object' && rec !== null && ('s' in rec || 'b' in rec) ? rec : undefined;
  } catch {
    return undefined;
  }
}
