import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSourceUrl } from './source-url.js';

describe('parseSourceUrl', () => {
  it.each([
    ['trace.sqlite', 'sqlite', `sqlite:${path.resolve('trace.sqlite')}`],
    ['./postgres', 'sqlite', `sqlite:${path.resolve('postgres')}`],
    ['sqlite:data/plant.db', 'sqlite', `sqlite:${path.resolve('data/plant.db')}`],
    [':memory:', 'sqlite', 'sqlite::memory:'],
    ['postgres://app:secret@db.local:5433/trace', 'postgres', 'postgres://app@db.local:5433/trace'],
    ['mariadb://root@127.0.0.1/test', 'mysql', 'mariadb://root@127.0.0.1/test'],
    ['sqlserver://sa:pw@sql1:1433/mes', 'mssql', 'sqlserver://sa@sql1:1433/mes'],
  ])('%s → %s (%s)', (url, dialect, display) => {
    const spec = parseSourceUrl(url);
    expect(spec.dialect).toBe(dialect);
    expect(spec.display).toBe(display);
  });

  it.each(['postgres', 'PostgreSQL', 'pg', 'mysql', 'mariadb', 'mssql', 'sqlserver', ' sqlite '])('the bare word %j is refused, not made a SQLite file', (word) => {
    expect(() => parseSourceUrl(word)).toThrow(expect.objectContaining({ code: 'SOURCE_URL_INVALID', message: expect.stringMatching(/names a kind of database.*postgres:\/\/.*\.\//) }));
  });

  it('an empty URL says what to give', () => {
    expect(() => parseSourceUrl('  ')).toThrow(expect.objectContaining({ code: 'SOURCE_URL_INVALID' }));
  });
});
