import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AlarmChange } from '../types.js';
import { dingtalkSignedUrl, markdown, truncateBytes, wecomBody } from './format.js';

const change: AlarmChange = {
  kind: 'clear', rule: 'limit_low', equipment: 'MIX-1', parameter: 'temp', value: 76, limit: 75, severity: 'critical',
  at: new Date('2026-03-01T08:00:00Z'), message: 'temp 76 C back above LSL 75',
};

describe('notification formats', () => {
  it('markdown keeps free text on one line (a message cannot start its own heading)', () => {
    const text = markdown({ ...change, message: 'line one\n# injected\r\n- item' });
    expect(text.split('\n')[0]).toBe('### TraceReport alarm cleared: MIX-1 temp');
    expect(text.split('\n')[1]).toBe('> line one # injected - item');
    expect(text).not.toContain('Limit: undefined');
  });

  it('a change without a limit has no limit line', () => {
    const { limit: _limit, ...rest } = change;
    expect(markdown(rest)).not.toContain('**Limit**');
  });

  it.each([
    { text: 'abc', max: 10, want: 'abc' },
    { text: 'abcdefghij', max: 10, want: 'abcdefghij' },
    { text: 'abcdefghijk', max: 10, want: 'abcdefg…' },
    { text: '温度温度温度', max: 12, want: '温度温…' }, // 3 bytes each: never split a character
  ])('truncateBytes($text, $max)', ({ text, max, want }) => {
    const out = truncateBytes(text, max);
    expect(out).toBe(want);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(max);
  });

  it('WeCom content stays within 4096 bytes', () => {
    const body = wecomBody({ ...change, message: '超'.repeat(3000) });
    expect(Buffer.byteLength(body.markdown.content)).toBeLessThanOrEqual(4096);
  });

  it.each([
    { url: 'https://robot.example/send?access_token=abc', sep: '&' },
    { url: 'https://robot.example/send', sep: '?' },
  ])('DingTalk signature appended to $url', ({ url, sep }) => {
    const sign = createHmac('sha256', 'k').update('1000\nk').digest('base64');
    expect(dingtalkSignedUrl(url, 'k', 1000)).toBe(`${url}${sep}timestamp=1000&sign=${encodeURIComponent(sign)}`);
  });
});
