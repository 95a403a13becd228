import { describe, expect, it } from 'vitest';
import { compileSql, checkSqlTemplate, bindNamed } from './named-params.js';
import { TraceReportError } from './errors.js';

describe('named parameters become bound placeholders', () => {
  const cases: Array<{ name: string; sql: string; params: Record<string, unknown>; sqlOut: string; bindings: unknown[] }> = [
    { name: 'one value', sql: 'select * from lot where code = :lot', params: { lot: 'A' }, sqlOut: 'select * from lot where code = ?', bindings: ['A'] },
    { name: 'repeated name', sql: 'where a = :x or b = :x', params: { x: 1 }, sqlOut: 'where a = ? or b = ?', bindings: [1, 1] },
    { name: 'list expands', sql: 'where line in (:lines)', params: { lines: ['L1', 'L2', 'L3'] }, sqlOut: 'where line in (?, ?, ?)', bindings: ['L1', 'L2', 'L3'] },
    { name: 'empty list matches nothing', sql: 'where line in (:lines)', params: { lines: [] }, sqlOut: 'where line in (NULL)', bindings: [] },
    { name: 'pg cast is not a parameter', sql: 'select :v::int as n', params: { v: '4' }, sqlOut: 'select ?::int as n', bindings: ['4'] },
    { name: 'string literal untouched', sql: "select ':notparam' as s, :p as p", params: { p: 1 }, sqlOut: "select ':notparam' as s, ? as p", bindings: [1] },
    { name: 'question mark in literal escaped for knex', sql: "select 'why?' as s", params: {}, sqlOut: "select 'why\\?' as s", bindings: [] },
    { name: 'line comment untouched', sql: 'select 1 -- :nope\nwhere x = :x', params: { x: 2 }, sqlOut: 'select 1 -- :nope\nwhere x = ?', bindings: [2] },
    { name: 'block comment untouched', sql: 'select /* :nope */ :x', params: { x: 3 }, sqlOut: 'select /* :nope */ ?', bindings: [3] },
    { name: 'doubled quote in literal', sql: "select 'it''s :x' , :y", params: { y: 1 }, sqlOut: "select 'it''s :x' , ?", bindings: [1] },
    { name: 'user attribute names', sql: 'where plant = :$user.plant', params: { '$user.plant': 'P1' }, sqlOut: 'where plant = ?', bindings: ['P1'] },
    { name: 'time of day is not a parameter inside a literal', sql: "where t > '08:00:00' and x = :x", params: { x: 1 }, sqlOut: "where t > '08:00:00' and x = ?", bindings: [1] },
    { name: 'undefined binds null', sql: 'where a = :a', params: { a: undefined }, sqlOut: 'where a = ?', bindings: [null] },
  ];
  it.each(cases)('$name', ({ sql, params, sqlOut, bindings }) => {
    const r = bindNamed(sql, params as never);
    expect(r.sql).toBe(sqlOut);
    expect(r.bindings).toEqual(bindings);
  });

  it('injection text stays a value, never SQL', () => {
    const r = compileSql('select * from lot where code = :lot', { lot: "x' or '1'='1" });
    expect(r.sql).toBe('select * from lot where code = ?');
    expect(r.bindings).toEqual(["x' or '1'='1"]);
  });

  it('a missing parameter names itself and the fix', () => {
    expect(() => compileSql('where a = :lot', {})).toThrowError(/:lot has no value/);
  });

  it('a positional ? is refused', () => {
    expect(() => compileSql('where a = ?', {})).toThrowError(/named parameters/);
  });

  it('non-scalar values are refused', () => {
    expect(() => compileSql('where a = :a', { a: { x: 1 } as never })).toThrowError(TraceReportError);
  });
});

describe('optional clauses see only whether a parameter is set', () => {
  const sql = 'select * from lot where 1=1 {{#if line}} and line in (:line){{/if}}{{#unless all}} and status = :status{{/unless}}';
  const cases = [
    { name: 'set list', params: { line: ['L1'], status: 's' }, want: 'select * from lot where 1=1  and line in (?) and status = ?', bindings: ['L1', 's'] },
    { name: 'empty list is unset', params: { line: [], status: 's' }, want: 'select * from lot where 1=1  and status = ?', bindings: ['s'] },
    { name: 'empty string is unset', params: { line: '', all: true }, want: 'select * from lot where 1=1 ', bindings: [] },
    { name: 'null is unset', params: { line: null, all: 1 }, want: 'select * from lot where 1=1 ', bindings: [] },
  ];
  it.each(cases)('$name', ({ params, want, bindings }) => {
    const r = compileSql(sql, params as never);
    expect(r.sql).toBe(want);
    expect(r.bindings).toEqual(bindings);
  });

  it.each([
    { name: 'user attribute set', params: { '$user.plant': 'A' }, want: 'select * from batch where 1=1  and plant = ?', bindings: ['A'] },
    { name: 'user attribute null', params: { '$user.plant': null }, want: 'select * from batch where 1=1 ', bindings: [] },
  ])('a block can test a server-bound $user value: $name', ({ params, want, bindings }) => {
    const r = compileSql('select * from batch where 1=1 {{#if $user.plant}} and plant = :$user.plant{{/if}}', params as never);
    expect(r.sql).toBe(want);
    expect(r.bindings).toEqual(bindings);
  });

  it('the value itself never reaches the text, even through the template', () => {
    const r = compileSql("select {{#if x}}1{{/if}} where v = :x", { x: "'; drop table lot; --" });
    expect(r.sql).not.toContain('drop');
  });

  const refused = [
    { name: 'mustache splice', sql: 'select * from t where a = {{lot}}', msg: /\{\{lot\}\}.*:lot/ },
    { name: 'triple mustache', sql: 'select {{{lot}}}', msg: /:lot/ },
    { name: 'each block', sql: 'select {{#each lots}}x{{/each}}', msg: /only \{\{#if param\}\}/ },
    { name: 'helper with hash', sql: 'select {{#if a b=1}}x{{/if}}', msg: /not allowed/ },
    { name: 'partial', sql: 'select {{> p}}', msg: /partial/ },
    { name: 'broken', sql: 'select {{#if a}}', msg: /does not parse/ },
  ];
  it.each(refused)('refuses $name', ({ sql, msg }) => {
    expect(() => checkSqlTemplate(sql)).toThrowError(msg);
    try {
      checkSqlTemplate(sql);
    } catch (e) {
      expect((e as TraceReportError).code).toBe('SQL_TEMPLATE_INVALID');
    }
  });
});
