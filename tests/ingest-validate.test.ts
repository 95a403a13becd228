import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTraceReportError, type TraceReportError } from '../datasources/errors.js';
import { ingestFiles, MAX_REPORTED_ERRORS } from '../trace/ingest/ingest.js';
import { readNdjsonLines } from '../trace/ingest/read-ndjson.js';
import { traceEvent } from '../trace/ingest/events.js';
import { acceptPlainEvent } from '../trace/ingest/fast-events.js';
import { acceptSample, sampleFromLine } from '../trace/ingest/fast-sample.js';
import { validateLine } from '../trace/ingest/validate.js';
import { openTraceStore } from '../trace/store.js';

/** Validation messages (table-driven), the line reader, and the INGEST_INVALID message. No server needed. */

const TYPES = 'lot, operation, consume, sample, inspection, alarm, shipment, material, supplier, customer, equipment, personnel, route, parameterSpec, workOrder';
const sample = { type: 'sample', id: 'e1', equipment: 'MIX-1', parameter: 'temp', ts: '2026-03-01T08:00:00Z', value: 81.2 };
const j = (o: object) => JSON.stringify(o);

const CASES: Array<[string, string, Array<[string, string | RegExp]>]> = [
  ['JSON syntax error', '{"type":"lot",', [['', /^is not valid JSON: /]]],
  ['trailing text after the object', '{"type":"lot"} x', [['', /^is not valid JSON: /]]],
  ['not an object', '[1,2]', [['', 'must be a JSON object with a type and an id (one event per line), got a list']]],
  ['null', 'null', [['', 'must be a JSON object with a type and an id (one event per line), got null']]],
  ['missing type', j({ id: 'e1' }), [['type', `is missing; it must be one of ${TYPES}`]]],
  ['unknown type', j({ type: 'samples', id: 'e1' }), [['type', `"samples" is not an event type; it must be one of ${TYPES}`]]],
  ['missing id', j({ ...sample, id: undefined }), [['id', 'is required (text)']]],
  ['blank id', j({ ...sample, id: '  ' }), [['id', 'must be a non-empty event id']]],
  ['value as text', j({ ...sample, value: '81.2' }), [['value', 'must be a number, got text "81.2"']]],
  ['time without a zone', j({ ...sample, ts: '2026-03-01T08:00:00' }), [['ts', 'must be an ISO-8601 time with a zone, like 2026-03-01T08:00:00Z']]],
  ['impossible date', j({ ...sample, ts: '2026-02-30T08:00:00Z' }), [['ts', 'must be an ISO-8601 time with a zone, like 2026-03-01T08:00:00Z']]],
  ['year out of range', j({ ...sample, ts: '0999-03-01T08:00:00Z' }), [['ts', 'must be between the years 1000 and 9999 (in UTC)']]],
  ['bad enum', j({ ...sample, quality: 'ok' }), [['quality', 'must be one of good, uncertain, bad, got text "ok"']]],
  [
    'unknown field',
    j({ ...sample, unit: 'C' }),
    [['unit', 'is not a known field (a sample event has type, id, equipment, parameter, ts, value, quality)']],
  ],
  [
    'nested input errors',
    j({ type: 'consume', id: 'c1', output: 'B', inputs: [{ lot: 'R', qty: -1 }, { lot: '', extra: 1 }] }),
    [
      ['inputs[0].qty', 'must be zero or more'],
      ['inputs[1].lot', 'must be a non-empty code'],
      ['inputs[1].extra', 'is not a known field'],
    ],
  ],
  ['empty inputs', j({ type: 'consume', id: 'c1', output: 'B', inputs: [] }), [['inputs', 'must name at least one input lot']]],
  ['code too long', j({ type: 'lot', id: 'l1', lot: 'X'.repeat(65), material: 'M' }), [['lot', 'must be at most 64 characters']]],
  ['fractional step', j({ type: 'operation', id: 'o1', operation: 'OP', lot: 'L', step: 1.5, equipment: 'E', start: '2026-03-01T08:00:00Z' }), [['step', 'must be a whole step number, got 1.5']]],
  [
    'step beyond 32 bits',
    j({ type: 'operation', id: 'o1', operation: 'OP', lot: 'L', step: 3e9, equipment: 'E', start: '2026-03-01T08:00:00Z' }),
    [['step', 'must be at most 2147483647']],
  ],
  [
    'repeated route step',
    j({ type: 'route', id: 'r1', route: 'R', version: 1, steps: [{ seq: 10, operation: 'a' }, { seq: 10, operation: 'b' }] }),
    [['steps[1].seq', 'repeats step 10; each step number appears once per route']],
  ],
  ['route version 0', j({ type: 'route', id: 'r1', route: 'R', version: 0, steps: [{ seq: 10, operation: 'a' }] }), [['version', 'must be 1 or more']]],
  [
    'several missing fields',
    j({ type: 'shipment', id: 's1', qty: 3 }),
    [
      ['lot', 'is required (text)'],
      ['customer', 'is required (text)'],
      ['at', 'is required (an ISO-8601 time with a zone, like 2026-03-01T08:00:00Z)'],
    ],
  ],
];

describe('validateLine', () => {
  it.each(CASES)('%s', (_name, text, expected) => {
    const r = validateLine(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field)).toEqual(expected.map(([f]) => f));
    r.errors.forEach((e, i) => {
      const want = expected[i]![1];
      if (typeof want === 'string') expect(e.message).toBe(want);
      else expect(e.message).toMatch(want);
    });
  });

  it('accepts valid events and normalises codes (trimmed), keeping times as given', () => {
    const r = validateLine(j({ ...sample, equipment: ' MIX-1 ', ts: '2026-03-01T09:00:00.5+01:00', quality: 'good' }));
    expect(r).toEqual({ ok: true, event: { ...sample, ts: '2026-03-01T09:00:00.5+01:00', quality: 'good' } });
  });
});

describe('sample fast path', () => {
  // Variants around a plain sample; the fast path may decline any of them, but what it accepts zod must accept, with the same data.
  const times = [
    '2026-03-01T08:00:00Z', '2026-03-01T08:00:00.123Z', '2026-03-01T08:00:00.1234567Z', '2024-02-29T23:59:59Z', '2023-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-03-01T24:00:00Z',
    '2026-03-01T08:60:00Z', '2026-03-01T08:00:60Z', '2026-03-01T08:00:00.Z', '2026-03-01T08:00:00+01:00', '2026-03-01 08:00:00Z', '0999-12-31T00:00:00Z',
    '2026-03-01T08:00:00z', '2026-3-01T08:00:00Z', '2026-03-01T08:00Z', '-026-03-01T08:00:00Z', '2026-03-01T0-:00:00Z',
  ];
  const texts = ['MIX-1', ' MIX-1', 'MIX-1 ', '', ' ', 'X'.repeat(64), 'X'.repeat(65), 'Mélange', 'A\u00a0', 'tab\t', 'ok'];
  const values: unknown[] = [0, -1.5, 1e300, '1', null, true, Number.NaN];
  const variants: Array<Record<string, unknown>> = [];
  for (const ts of times) variants.push({ ...sample, ts });
  for (const t of texts) {
    variants.push({ ...sample, equipment: t });
    variants.push({ ...sample, parameter: t });
    variants.push({ ...sample, id: t });
  }
  for (const value of values) variants.push({ ...sample, value });
  for (const quality of ['good', 'uncertain', 'bad', 'ok', null, 1]) variants.push({ ...sample, quality });
  variants.push({ ...sample, id: 'I'.repeat(128) }, { ...sample, id: 'I'.repeat(129) }, { ...sample, extra: 1 }, { ...sample, type: 'Sample' });
  const { value: _v, ...noValue } = sample;
  variants.push(noValue, JSON.parse('{"__proto__":1,"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}'));

  it.each(variants.map((v) => [JSON.stringify(v), v]))('agrees with the schema on %s', (_label, v) => {
    const fast = acceptSample(v as Record<string, unknown>);
    const zod = traceEvent.safeParse(v);
    if (fast) {
      expect(zod.success).toBe(true);
      expect(fast).toEqual(zod.data);
    }
  });

  // The same variants as lines, and lines JSON.stringify does not write: blanks, escapes, key order, numbers, repeats.
  const lines = [
    ...variants.map((v) => JSON.stringify(v)),
    j({ ...sample, quality: 'good' }),
    '{"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1 }',
    '{"type":"sample", "id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}',
    '{"id":"e1","type":"sample","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}',
    '{"type":"sample","id":"e\\"1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}',
    '{"type":"sample","id":"e1","equipment":"\\u0045","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}',
    '{"type":"sample","id":"e1","equipment":"E","parameter":"p\\\\","ts":"2026-03-01T08:00:00Z","value":1}',
    '{"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1,"quality":"good","quality":"bad"}',
    '{"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1,"value":2}',
    '{"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}x',
    '{"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}}',
    ...['-0', '0.5', '1.', '.5', '01', '-', '1e400', '-1e400', '1E+2', '2e-3', '1e', '0x10', '+1', 'Infinity', '1.5e308'].map(
      (n) => `{"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":${n}}`,
    ),
    '{"type":"sample","id":"e1","equipment":"E\u0001","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1}',
    '{"type":"sample","id":"e1","equipment":"E","parameter":"p","ts":"2026-03-01T08:00:00Z","value":1,"quality":"good"}',
  ];

  it.each(lines.map((l) => [l]))('reads the line %s as JSON.parse and the schema do', (line) => {
    const fast = sampleFromLine(line);
    if (!fast) return;
    const zod = traceEvent.safeParse(JSON.parse(line));
    expect(zod.success).toBe(true);
    expect(fast).toEqual(zod.data);
    expect(Object.is(fast.value, (zod.data as { value: number }).value)).toBe(true); // -0 stays -0
  });

  it('takes plain samples (the bulk of real inputs)', () => {
    expect(sampleFromLine(j(sample))).toEqual(sample);
    expect(sampleFromLine(j({ ...sample, ts: '2026-03-01T08:00:00.123Z', quality: 'bad', value: -0.25 }))).toBeDefined();
    expect(sampleFromLine(j({ ...sample, equipment: ' MIX-1' }))).toBeUndefined();
    expect(acceptSample({ ...sample })).toEqual(sample);
    expect(acceptSample({ ...sample, ts: '2026-03-01T08:00:00.123Z', quality: 'bad' })).toBeDefined();
    expect(acceptSample({ ...sample, ts: '2024-02-29T08:00:00Z' })).toBeDefined();
  });
});

describe('fast path for lots, operations, consumes, inspections, shipments, alarms', () => {
  // Plain events of each type (all fields, and only the required ones), then each field set to odd values, removed, or joined by an unknown one.
  const T = '2026-03-01T08:00:00Z';
  const full: Array<Record<string, unknown>> = [
    { type: 'lot', id: 'l1', lot: 'R-1', material: 'RESIN', qty: 500, uom: 'kg', status: 'released', supplier: 'ACME', supplierLot: 'A-7', workOrder: 'WO-1', at: T },
    { type: 'operation', id: 'o1', operation: 'OP-1', lot: 'B-1', step: 10, equipment: 'MIX-1', start: T, workOrder: 'WO-1', operator: 'P-3', end: T, result: 'ok' },
    { type: 'consume', id: 'c1', output: 'B-1', inputs: [{ lot: 'R-1', qty: 12.5 }, { lot: 'R-2' }], operation: 'OP-1', at: T },
    { type: 'inspection', id: 'i1', lot: 'B-1', characteristic: 'visc', at: T, value: 1.9, lsl: 1.5, usl: 2.5, result: 'pass', inspector: 'P-3' },
    { type: 'shipment', id: 's1', lot: 'F-1', customer: 'C-1', at: T, qty: 40, orderRef: 'SO-1' },
    { type: 'alarm', id: 'a1', rule: 'USL', equipment: 'MIX-1', raisedAt: T, parameter: 'temp', value: 86, limit: 85, severity: 'warning', clearedAt: T, ackedBy: 'P-3', message: 'high' },
  ];
  const required: Record<string, string[]> = {
    lot: ['lot', 'material'], operation: ['operation', 'lot', 'step', 'equipment', 'start'], consume: ['output', 'inputs'],
    inspection: ['lot', 'characteristic', 'at'], shipment: ['lot', 'customer', 'at'], alarm: ['rule', 'equipment', 'raisedAt'],
  };
  const odd: unknown[] = [
    '', ' ', ' X', 'X ', 'X'.repeat(64), 'X'.repeat(65), 'M\u00e9lange', 'A\u00a0', 'tab\t', 0, -1, 1.5, -0, 1e300, 3e9, -3e9, 2147483647, 2147483648, null, true, [], {},
    '2026-03-01T08:00:00+01:00', '2026-02-30T08:00:00Z', '0999-03-01T08:00:00Z', '2026-03-01T08:00:00.5Z', 'released', 'hold', 'nope', 'ok', 'scrap', 'pass', 'fail',
    'info', 'critical', 'kg'.repeat(9), 'x'.repeat(501),
    [{ lot: 'R-1' }], [{ lot: ' R-1' }], [{ lot: 'R-1', qty: -1 }], [{ lot: 'R-1', qty: '1' }], [{ lot: 'R-1', extra: 1 }], [{ qty: 1 }], [null], [[]],
  ];
  const variants: Array<Record<string, unknown>> = [];
  for (const base of full) {
    const minimal = Object.fromEntries(Object.entries(base).filter(([k]) => ['type', 'id', ...required[base.type as string]!].includes(k)));
    variants.push(base, minimal, { ...base, extra: 1 }, { ...base, type: 'Lot' });
    for (const k of Object.keys(base)) {
      if (k === 'type') continue;
      const { [k]: _drop, ...without } = base;
      variants.push(without);
      for (const v of odd) variants.push({ ...base, [k]: v });
    }
  }
  variants.push(JSON.parse('{"__proto__":1,"type":"shipment","id":"s1","lot":"F-1","customer":"C-1","at":"2026-03-01T08:00:00Z"}'));

  it('agrees with the schema on every variant: what it accepts, zod accepts with the same data', () => {
    let accepted = 0;
    for (const v of variants) {
      const fast = acceptPlainEvent(v);
      if (!fast) continue;
      accepted++;
      const zod = traceEvent.safeParse(v);
      expect(zod.success, JSON.stringify(v)).toBe(true);
      expect(fast, JSON.stringify(v)).toEqual(zod.data);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('takes the plain events, full and minimal', () => {
    for (const base of full) {
      expect(acceptPlainEvent(base)).toBe(base);
      expect(validateLine(JSON.stringify(base))).toEqual({ ok: true, event: base });
    }
  });
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-ingest-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('readNdjsonLines', () => {
  it('numbers lines from 1, skips blank ones, drops BOM and CR, reads a last line without newline', async () => {
    const f = path.join(tmp, 'lines.ndjson');
    fs.writeFileSync(f, '\uFEFF{"a":1}\r\n\n   \n{"b":"ü€"}\r\n{"c":3}');
    const lines = [];
    for await (const l of readNdjsonLines([f])) lines.push(l);
    expect(lines).toEqual([
      { file: f, line: 1, text: '{"a":1}' },
      { file: f, line: 4, text: '{"b":"ü€"}' },
      { file: f, line: 5, text: '{"c":3}' },
    ]);
  });

  it('streams a file larger than its read chunks, multi-byte characters across chunk edges intact', async () => {
    const f = path.join(tmp, 'big.ndjson');
    const n = 40_000;
    fs.writeFileSync(f, Array.from({ length: n }, (_, i) => `{"i":${i},"s":"äöü€${'x'.repeat(i % 50)}"}`).join('\n') + '\n');
    let count = 0;
    for await (const l of readNdjsonLines([f])) {
      const o = JSON.parse(l.text) as { i: number; s: string };
      expect(o.i).toBe(l.line - 1);
      expect(o.s.startsWith('äöü€')).toBe(true);
      count++;
    }
    expect(count).toBe(n);
  });

  it('names a missing file', async () => {
    const err = await (async () => {
      for await (const _ of readNdjsonLines([path.join(tmp, 'nope.ndjson')])) void _;
    })().catch((e: unknown) => e as TraceReportError);
    expect(isTraceReportError(err) && err.code).toBe('INGEST_READ_FAILED');
    expect((err as Error).message).toContain('nope.ndjson: no such file');
  });
});

describe('ingestFiles in validation', () => {
  it('lists the first 100 errors as file:line: field: message, then how many more, and writes nothing', async () => {
    const f = path.join(tmp, 'many-bad.ndjson');
    const lines = [j(sample)];
    for (let i = 0; i < 150; i++) lines.push(j({ ...sample, id: `b${i}`, value: 'x' }));
    fs.writeFileSync(f, lines.join('\n') + '\n');
    const db = await openTraceStore(path.join(tmp, 'store.sqlite'));
    try {
      const err = (await ingestFiles(db, [f]).catch((e: unknown) => e)) as TraceReportError;
      expect(err.code).toBe('INGEST_INVALID');
      const msg = err.message.split('\n');
      expect(msg[0]).toBe('150 of 151 lines are invalid, so nothing was written. Fix them and run again, or skip them with --skip-invalid (bad lines go to a rejects file):');
      expect(msg[1]).toBe(`${f}:2: value: must be a number, got text "x"`);
      expect(msg[100]).toBe(`${f}:101: value: must be a number, got text "x"`);
      expect(msg[101]).toBe('… and 50 more errors');
      expect(msg).toHaveLength(102);
      const details = err.details as { errors: unknown[]; invalid: number };
      expect(details.errors).toHaveLength(MAX_REPORTED_ERRORS);
      expect(details.invalid).toBe(150);
      expect(Number((await db.query('select count(*) as n from ingest_event'))[0]!.n)).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('refuses a rejects file that is also an input, and an empty input list', async () => {
    const f = path.join(tmp, 'one.ndjson');
    fs.writeFileSync(f, j(sample) + '\n');
    const db = await openTraceStore(':memory:');
    try {
      const same = (await ingestFiles(db, [f], { skipInvalid: true, rejectsPath: f }).catch((e: unknown) => e)) as TraceReportError;
      expect(same.code).toBe('ARGUMENT_INVALID');
      const none = (await ingestFiles(db, []).catch((e: unknown) => e)) as TraceReportError;
      expect(none.code).toBe('ARGUMENT_INVALID');
      expect(Number((await db.query('select count(*) as n from ingest_event'))[0]!.n)).toBe(0);
    } finally {
      await db.close();
    }
  });
});
