/** The data sources of a render on the server: the stored ones (passwords decrypted) plus `trace`. */
import { DataSource } from '../../datasources/data-source.js';
import type { SourceRegistryOptions } from '../../renderer/datasets.js';
import { openTraceStore } from '../../trace/store.js';
import type { Services } from '../services.js';

export async function renderSources(s: Services): Promise<SourceRegistryOptions> {
  return {
    sources: { ...(await s.dataSources.allConnectionUrls()), trace: s.traceDbUrl },
    openSource: (name, url, limits) => (name === 'trace' ? openTraceStore(url, { ...limits, migrate: false }) : Promise.resolve(new DataSource(name, url, limits))),
  };
}
