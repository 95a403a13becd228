/**
 * The data sources of a render on the server: the registered ones plus `trace`, each a view of a source
 * the server keeps open (source-pool.ts), behind the query cache. Passwords are decrypted only when the
 * pool opens a source, not per render.
 */
import { TraceReportError } from '../../datasources/errors.js';
import type { SourceRegistryOptions } from '../../renderer/datasets.js';
import type { Template } from '../../renderer/template/schema.js';
import type { Services } from '../services.js';
import { cacheTtls } from './query-cache.js';

export async function renderSources(s: Services, template?: Template): Promise<SourceRegistryOptions> {
  const registered = await s.dataSources.list();
  s.sourcePool.sync(registered);
  const byName = new Map(registered.map((r) => [r.name, r]));
  return {
    // Name → URL without its password (the registry only asks whether a name exists; the pool opens it).
    sources: { ...Object.fromEntries(registered.map((r) => [r.name, r.url])), trace: s.traceDbUrl },
    openSource: async (name, _url, limits) => {
      const view = { limits, cache: s.queryCache, ttls: cacheTtls(template, name) };
      if (name === 'trace') return s.sourcePool.trace(s.traceDb, view);
      const info = byName.get(name);
      if (!info) throw new TraceReportError('SOURCE_UNKNOWN', `no data source named "${name}"; register it under Data sources`, { source: name });
      return s.sourcePool.lease(info, view);
    },
  };
}
