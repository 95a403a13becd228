import { describe, expect, it } from 'vitest';
import { attributeValue, boundValuesFor, refuseBoundNames, userNamesIn } from './user-values.js';
import type { Template } from './template/schema.js';

const template = (sqls: string[]) =>
  ({ datasets: sqls.map((sql, i) => ({ name: `d${i}`, source: 'x', sql })) }) as unknown as Template;

describe('$user values a template uses', () => {
  it.each([
    [['select 1'], []],
    [['select * from t where plant = :$user.plant'], ['$user.plant']],
    [['where a in (:$user.roles) {{#if $user.line}} and line = :$user.line{{/if}}', 'where p = :$user.plant'], ['$user.line', '$user.plant', '$user.roles']],
  ])('%j → %j', (sqls, names) => {
    expect(userNamesIn(template(sqls))).toEqual(names);
  });

  it('names the SQL uses but the caller does not give are bound as null (no rows, never all rows)', () => {
    expect(boundValuesFor(template(['where p = :$user.plant and u = :$user.id']), { '$user.id': 7 })).toEqual({ '$user.id': 7, '$user.plant': null });
  });

  it('a bound value must be named $user.<identifier>', () => {
    expect(() => boundValuesFor(template([]), { plant: 'A' })).toThrowError(/\$user\.<name>/);
    expect(() => boundValuesFor(template([]), { '$user.a b': 'A' })).toThrowError(/\$user\.<name>/);
  });

  it('a request naming a $ value is refused with a reason', () => {
    expect(() => refuseBoundNames({ lot: 'x', '$user.plant': 'B' })).toThrowError(/come from the logged-in user/);
    expect(() => refuseBoundNames({ lot: 'x' })).not.toThrow();
  });

  it.each([
    ['A', 'A'],
    [3, 3],
    [true, true],
    [['A', 'B'], ['A', 'B']],
    [null, null],
    [{ x: 1 }, undefined],
    [[{ x: 1 }], undefined],
    [Number.NaN, undefined],
  ])('attribute %j binds as %j', (v, want) => {
    expect(attributeValue(v)).toEqual(want);
  });
});
