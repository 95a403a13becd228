import { describe, expect, it } from 'vitest';
import { compilePayloadSpec, parsePayload, Payload, valueOf, type PayloadSpec } from './payload.js';

const RECEIVED = new Date('2026-03-01T08:00:00.000Z');

describe('mqtt payloads', () => {
  it.each<{ payload: string; spec?: PayloadSpec; value: number; ts: string }>([
    { payload: '81.5', value: 81.5, ts: RECEIVED.toISOString() },
    { payload: ' -3e2 ', value: -300, ts: RECEIVED.toISOString() },
    { payload: '{"ts":"2026-03-01T07:59:59.500Z","value":101.2}', value: 101.2, ts: '2026-03-01T07:59:59.500Z' },
    { payload: '{"value":7}', value: 7, ts: RECEIVED.toISOString() },
    { payload: '{"ts":1772351999000,"value":"12.5"}', value: 12.5, ts: '2026-03-01T07:59:59.000Z' },
    { payload: '{"d":{"p":[1,{"v":42}]},"time":"2026-03-01T07:00:00Z"}', spec: { path: 'd.p.1.v', tsPath: 'time' }, value: 42, ts: '2026-03-01T07:00:00.000Z' },
    { payload: '{"data":{"temp":215.3}}', spec: { path: 'data.temp' }, value: 215.3, ts: RECEIVED.toISOString() },
    { payload: '{"on":true}', spec: { path: 'on' }, value: 1, ts: RECEIVED.toISOString() },
    { payload: '17', spec: { path: 'x' }, value: NaN, ts: '' },
  ])('$payload with $spec', ({ payload, spec, value, ts }) => {
    const r = parsePayload(Buffer.from(payload), spec ?? {}, RECEIVED);
    if (Number.isNaN(value)) {
      expect(r.ok).toBe(false);
      return;
    }
    expect(r).toEqual({ ok: true, value, ts: new Date(ts), stamped: ts === RECEIVED.toISOString() ? 'receipt' : 'payload' });
  });

  it.each<{ payload: string; spec?: PayloadSpec; reason: RegExp }>([
    { payload: 'hello', reason: /not JSON or a number/ },
    { payload: '', reason: /not JSON or a number/ },
    { payload: '{"value":"abc"}', reason: /is not a number/ },
    { payload: '{"value":null}', reason: /is not a number/ },
    { payload: '{"val":1}', reason: /without "value"/ },
    { payload: '{"ts":"yesterday","value":1}', reason: /not ISO text or epoch ms/ },
    { payload: '{"a":1}', spec: { path: 'b' }, reason: /no value at path "b"/ },
    { payload: '{"a":1}', spec: { path: 'a', tsPath: 't' }, reason: /no time at path "t"/ },
    { payload: '[1,2]', reason: /is not a number/ },
  ])('rejects $payload', ({ payload, spec, reason }) => {
    const r = parsePayload(payload, spec ?? {}, RECEIVED);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('reads one message for several tags: each path its value, the time once, a bad path only fails its own tag', () => {
    const p = new Payload(Buffer.from('{"ts":"2026-03-01T07:00:00Z","temp":81.2,"pressure":2.1,"state":{"on":true},"raw":"x"}'));
    const read = (spec: PayloadSpec) => valueOf(p, compilePayloadSpec(spec), RECEIVED);
    const at = new Date('2026-03-01T07:00:00Z');
    expect(read({ path: 'temp' })).toEqual({ ok: true, value: 81.2, ts: at, stamped: 'payload' });
    expect(read({ path: 'pressure' })).toEqual({ ok: true, value: 2.1, ts: at, stamped: 'payload' });
    expect(read({ path: 'state.on' })).toEqual({ ok: true, value: 1, ts: at, stamped: 'payload' });
    expect(read({ path: 'raw' })).toEqual({ ok: false, reason: 'value "x" is not a number' });
    expect(read({ path: 'speed' })).toEqual({ ok: false, reason: 'no value at path "speed"' });
    expect(read({ path: 'temp', tsPath: 'time' })).toEqual({ ok: false, reason: 'no time at path "time"' });
    const bad = new Payload('{"ts":"soon","a":1,"b":2}');
    expect(valueOf(bad, compilePayloadSpec({ path: 'a' }), RECEIVED)).toMatchObject({ ok: false, reason: expect.stringMatching(/not ISO text/) });
    expect(valueOf(bad, compilePayloadSpec({ path: 'b' }), RECEIVED)).toMatchObject({ ok: false, reason: expect.stringMatching(/not ISO text/) });
  });
});
