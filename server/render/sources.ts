/** The data sources of a render on the server: the stored ones (passwords decrypted) plus `trace`, behind the query cache. */
import type { SourceRegistryOptions } from '../../renderer/datasets.js';
import type { Template } from '../../renderer/template/schema.js';
import type { Services } from '../services.js';
import { CachingDataSource, cacheTtls } from './query-cache.js';

export async function renderSources(s: Services, template?: Template): Promise<SourceRegistryOptions> {
  return {
    sources: { ...(await s.dataSources.allConnectionUrls()), trace: s.traceDbUrl },
    openSource: async (name, url, limits) => new CachingDataSource(name, url, limits, s.queryCache, cacheTtls(template, name)),
  };
}
