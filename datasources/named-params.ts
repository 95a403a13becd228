import Handlebars from 'handlebars';
import { TraceReportError } from './errors.js';

/** A value that can be bound to a named SQL parameter. Arrays become bound lists. */
export type ParamValue = string | number | boolean | bigint | Date | Buffer | null | undefined | readonly ParamScalar[];
type ParamScalar = string | number | boolean | bigint | Date | null;
export type ParamValues = Readonly<Record<string, ParamValue>>;

export interface CompiledSql {
  /** SQL with `?` positional placeholders. */
  sql: string;
  /** Values for the placeholders, in order. */
  bindings: unknown[];
  /** Names of the parameters used, in order of first use. */
  names: string[];
}

const hb = Handlebars.create();
const ALLOWED_BLOCKS = new Set(['if', 'unless']);

/**
 * Checks a SQL template's handlebars: only `{{#if x}}`/`{{#unless x}}` blocks (with `{{else}}`) are allowed,
 * because a `{{x}}` mustache would splice a value into the SQL text.
 */
export function checkSqlTemplate(template: string): void {
  if (!template.includes('{{')) return;
  let ast: hbs.AST.Program;
  try {
    ast = hb.parse(template);
  } catch (e) {
    throw new TraceReportError('SQL_TEMPLATE_INVALID', `SQL template does not parse: ${(e as Error).message.split('\n')[0]}`);
  }
  const visit = (program: hbs.AST.Program | undefined): void => {
    if (!program) return;
    for (const node of program.body) {
      if (node.type === 'MustacheStatement') {
        const m = node as hbs.AST.MustacheStatement;
        const name = m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : 'value';
        throw new TraceReportError(
          'SQL_TEMPLATE_INVALID',
          `SQL template splices {{${name}}} into the query text; bind the value instead with :${name}`,
          { parameter: name, line: m.loc?.start.line },
        );
      }
      if (node.type === 'BlockStatement') {
        const b = node as hbs.AST.BlockStatement;
        const helper = b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
        if (!ALLOWED_BLOCKS.has(helper) || b.params.length !== 1 || b.params[0]!.type !== 'PathExpression' || b.hash) {
          throw new TraceReportError(
            'SQL_TEMPLATE_INVALID',
            `SQL template block {{#${helper} …}} is not allowed; only {{#if param}} and {{#unless param}} blocks are`,
            { line: b.loc?.start.line },
          );
        }
        visit(b.program);
        visit(b.inverse);
      }
      if (node.type === 'PartialStatement' || node.type === 'DecoratorBlock' || node.type === 'PartialBlockStatement') {
        throw new TraceReportError('SQL_TEMPLATE_INVALID', 'SQL template uses a partial or decorator; only {{#if param}} blocks are allowed');
      }
    }
  };
  visit(ast);
}

/** Whether a parameter counts as set for `{{#if x}}`: not null/undefined/empty string/empty list. */
export function isSet(v: ParamValue): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

const cache = new Map<string, HandlebarsTemplateDelegate>();

/**
 * What a SQL template's blocks see: for each parameter only whether it is set, never its value. A
 * dotted name such as `$user.plant` (a value the server binds) is nested so `{{#if $user.plant}}` reads it.
 */
export function setFlags(params: ParamValues): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    flags[k] = isSet(v);
    const dot = k.indexOf('.');
    if (dot > 0) {
      const head = k.slice(0, dot);
      const group = flags[head] !== null && typeof flags[head] === 'object' ? (flags[head] as Record<string, boolean>) : (flags[head] = {});
      (group as Record<string, boolean>)[k.slice(dot + 1)] = isSet(v);
    }
  }
  return flags;
}

/**
 * Turns a SQL template with handlebars blocks and `:name` parameters into SQL with positional
 * `?` placeholders and the bound values. Values are never spliced into the text.
 */
export function compileSql(template: string, params: ParamValues = {}): CompiledSql {
  let text = template;
  if (template.includes('{{')) {
    let fn = cache.get(template);
    if (!fn) {
      checkSqlTemplate(template);
      fn = hb.compile(template, { noEscape: true, strict: false, knownHelpersOnly: true, knownHelpers: { if: true, unless: true } });
      cache.set(template, fn);
    }
    text = fn(setFlags(params));
  }
  return bindNamed(text, params);
}

/**
 * Replaces `:name` with `?` (or `?, ?, ?` for a list), skipping string literals, quoted identifiers,
 * comments and PostgreSQL `::type` casts. The result is in knex's raw syntax: a literal `?` is `\\?`.
 */
export function bindNamed(sql: string, params: ParamValues): CompiledSql {
  const out: string[] = [];
  const bindings: unknown[] = [];
  const names: string[] = [];
  let i = 0;
  let last = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    let end = -1;
    if (c === "'" || c === '"' || c === '`') end = skipQuoted(sql, i, c);
    else if (c === '[') end = until(sql, ']', i + 1);
    else if (c === '-' && sql[i + 1] === '-') end = until(sql, '\n', i);
    else if (c === '/' && sql[i + 1] === '*') end = until(sql, '*/', i + 2);
    if (end >= 0) {
      // Literals, quoted names and comments are copied as they are; a "?" inside is escaped so the
      // driver layer does not take it for a placeholder.
      out.push(sql.slice(last, i), sql.slice(i, end).replace(/\?/g, '\\?'));
      i = last = end;
      continue;
    }
    if (c === '?') {
      throw new TraceReportError('SQL_TEMPLATE_INVALID', `SQL uses a positional "?" at offset ${i}; use named parameters like :lot`);
    }
    if (c === ':') {
      if (sql[i + 1] === ':') {
        i += 2; // ::cast
        continue;
      }
      const m = /^[A-Za-z_$][\w$.]*/.exec(sql.slice(i + 1, i + 1 + 128));
      if (m && sql[i - 1] !== ':') {
        const name = m[0].replace(/\.$/, '');
        if (!(name in params)) {
          throw new TraceReportError('SQL_PARAM_MISSING', `SQL parameter :${name} has no value; pass it or wrap its clause in {{#if ${name}}}…{{/if}}`, {
            parameter: name,
          });
        }
        const v = params[name];
        out.push(sql.slice(last, i));
        if (Array.isArray(v)) {
          if (v.length === 0) {
            // An empty list matches nothing; `in (NULL)` is valid on every dialect and is never true.
            out.push('NULL');
          } else {
            out.push(v.map(() => '?').join(', '));
            for (const x of v) bindings.push(normalise(name, x));
          }
        } else {
          out.push('?');
          bindings.push(normalise(name, v as ParamValue));
        }
        if (!names.includes(name)) names.push(name);
        i += 1 + name.length;
        last = i;
        continue;
      }
    }
    i++;
  }
  out.push(sql.slice(last));
  return { sql: out.join(''), bindings, names };
}

function until(sql: string, token: string, from: number): number {
  const at = sql.indexOf(token, from);
  return at < 0 ? sql.length : at + token.length;
}

function skipQuoted(sql: string, start: number, q: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    if (sql[i] === '\\' && q !== '"') i++;
    i++;
  }
  return i;
}

function normalise(name: string, v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'number' && !Number.isFinite(v)) {
    throw new TraceReportError('SQL_PARAM_INVALID', `SQL parameter :${name} is not a finite number`, { parameter: name });
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object' && v !== null && !(v instanceof Date) && !Buffer.isBuffer(v)) {
    throw new TraceReportError('SQL_PARAM_INVALID', `SQL parameter :${name} must be a string, number, boolean, date or a list of them`, {
      parameter: name,
    });
  }
  return v;
}
