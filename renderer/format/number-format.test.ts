import SSF from 'ssf';
import { describe, expect, it } from 'vitest';
import { formatValue, fromExcelSerial, toExcelSerial } from './number-format.js';

describe('formatValue', () => {
  it.each([
    [1234.5, '#,##0.00', '1,234.50'],
    [0.125, '0.0%', '12.5%'],
    [0.1 + 0.2, undefined, '0.3'],
    [42, undefined, '42'],
    [-7, 'General', '-7'],
    [123456789012, undefined, '1.23457E+11'],
    [new Date(Date.UTC(2026, 2, 1)), undefined, '2026-03-01'],
    [new Date(Date.UTC(2026, 2, 1, 8, 5, 9)), undefined, '2026-03-01 08:05:09'],
    [new Date(Date.UTC(2026, 2, 1, 8, 5)), 'yyyy-mm-dd hh:mm', '2026-03-01 08:05'],
    [true, undefined, 'TRUE'],
    [{ error: '#DIV/0!' as const }, '0.00', '#DIV/0!'],
    [null, '0.00', ''],
    ['text', '0.00', 'text'],
    [1.5, 'not a [format', '1.5'],
  ])('%s with %s → %s', (value, numFmt, expected) => {
    expect(formatValue(value, numFmt)).toBe(expected);
  });

  it('the integer fast path agrees with SSF General', () => {
    for (const n of [0, 1, -1, 99, 1000, 123456, -98765432, 99999999999, -99999999999]) expect(formatValue(n)).toBe(SSF.format('General', n));
  });

  it('Excel serials round-trip', () => {
    const d = new Date(Date.UTC(2026, 10, 30, 12, 0));
    expect(toExcelSerial(new Date(Date.UTC(1900, 0, 1)))).toBe(2);
    expect(fromExcelSerial(toExcelSerial(d)).getTime()).toBe(d.getTime());
  });
});
