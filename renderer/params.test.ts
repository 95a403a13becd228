import { describe, expect, it } from 'vitest';
import { isTraceReportError } from '../datasources/errors.js';
import { parseParamPairs, resolveParams } from './params.js';
import { parameterSchema, type TemplateParameter } from './template/schema.js';

const P = (p: Record<string, unknown>): TemplateParameter => parameterSchema.parse(p);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (isTraceReportError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'ok';
}

describe('resolveParams', () => {
  it.each([
    ['string', P({ name: 'a' }), 'x', 'x'],
    ['number', P({ name: 'a', type: 'number' }), ' 12.5 ', 12.5],
    ['boolean yes', P({ name: 'a', type: 'boolean' }), 'yes', true],
    ['boolean 0', P({ name: 'a', type: 'boolean' }), '0', false],
    ['date', P({ name: 'a', type: 'date' }), '2026-03-01', new Date('2026-03-01T00:00:00Z')],
    ['datetime with zone', P({ name: 'a', type: 'datetime' }), '2026-03-01T08:00:00+02:00', new Date('2026-03-01T06:00:00Z')],
    ['datetime without zone is UTC', P({ name: 'a', type: 'datetime' }), '2026-03-01 08:00', new Date('2026-03-01T08:00:00Z')],
    ['multi from one value', P({ name: 'a', multi: true }), 'East', ['East']],
    ['multi from a list', P({ name: 'a', multi: true, type: 'number' }), ['1', '2'], [1, 2]],
    ['empty is null', P({ name: 'a' }), '', null],
  ])('%s', async (_n, p, raw, expected) => {
    expect((await resolveParams([p], { a: raw })).a).toEqual(expected);
  });

  it.each([
    ['not a number', P({ name: 'a', type: 'number' }), { a: '12x' }, /PARAM_INVALID: parameter "a" \(number\): got "12x", expected a number/],
    ['impossible date', P({ name: 'a', type: 'date' }), { a: '2026-02-30' }, /PARAM_INVALID: .*expected a date such as/],
    ['two values for a single one', P({ name: 'a' }), { a: ['x', 'y'] }, /PARAM_INVALID: .*not multi/],
    ['not an option', P({ name: 'a', options: ['East', 'West'] }), { a: 'North' }, /PARAM_INVALID: .*one of "East", "West"/],
    ['unknown', P({ name: 'a' }), { b: 'x' }, /PARAM_UNKNOWN: unknown parameter "b"; this report takes "a"/],
    ['missing required', P({ name: 'a', required: true }), {}, /PARAM_MISSING: missing required parameter "a"; give --param a=…/],
  ])('%s', async (_n, p, raw, message) => {
    expect(await codeOf(resolveParams([p], raw))).toMatch(message);
  });

  it('applies literal and dataset defaults', async () => {
    const params = [P({ name: 'a', type: 'number', default: 5 }), P({ name: 'b', multi: true, default: { dataset: 'lines', value: 'code' } }), P({ name: 'c', required: true, default: 'x' })];
    const v = await resolveParams(params, {}, async (ds) => (ds === 'lines' ? [{ code: 'L1' }, { code: 'L2' }] : []));
    expect(v).toEqual({ a: 5, b: ['L1', 'L2'], c: 'x' });
  });
});

describe('parseParamPairs', () => {
  it('repeats a name into a list and keeps = in values', () => {
    expect(parseParamPairs(['region=East', 'region=West', 'q=a=b'])).toEqual({ region: ['East', 'West'], q: 'a=b' });
  });
  it('refuses a pair without =', () => {
    expect(() => parseParamPairs(['region'])).toThrow(/name=value/);
  });
});
