/**
 * The configured OPC UA items, checked before anything connects: a node id parses, a browse path is
 * valid relative-path syntax starting at the Root folder, and a deadband is expressed in the server's
 * raw units for the data change filter.
 */
import { makeBrowsePath, resolveNodeId, type BrowsePath, type NodeId } from 'node-opcua';
import { TraceReportError } from '../../datasources/errors.js';
import type { OpcuaDriverConfig } from '../config.js';

export type OpcuaItemConfig = OpcuaDriverConfig['items'][number];

export interface OpcuaItem {
  readonly index: number;
  /** The item as configured (node id or browse path), for messages. */
  readonly label: string;
  readonly nodeId?: NodeId;
  readonly browsePath?: BrowsePath;
  readonly config: OpcuaItemConfig;
  /** The deadband for the server's data change filter, in raw (unscaled) units; 0: no filter. */
  readonly rawDeadband: number;
}

export function parseItems(driver: string, items: readonly OpcuaItemConfig[]): OpcuaItem[] {
  return items.map((config, index) => {
    const where = `drivers.${driver}.items[${index}]`;
    const rawDeadband = config.deadband > 0 && config.scale !== 0 ? config.deadband / Math.abs(config.scale) : 0;
    if (config.nodeId !== undefined) {
      let nodeId: NodeId;
      try {
        nodeId = resolveNodeId(config.nodeId);
      } catch (e) {
        throw new TraceReportError('ARGUMENT_INVALID', `${where}.nodeId "${config.nodeId}" is not an OPC UA node id (expected e.g. ns=2;s=Line1.Extruder.MeltPressure or ns=2;i=1001): ${(e as Error).message}`);
      }
      return { index, label: config.nodeId, nodeId, config, rawDeadband };
    }
    const text = config.browsePath ?? '';
    let browsePath: BrowsePath;
    try {
      if (!text.startsWith('/')) throw new Error('it must start with / (from the Root folder)');
      browsePath = makeBrowsePath('RootFolder', text);
    } catch (e) {
      throw new TraceReportError('ARGUMENT_INVALID', `${where}.browsePath "${text}" is not a browse path (expected e.g. /Objects/2:Line1/2:Extruder/2:MeltPressure): ${(e as Error).message}`);
    }
    return { index, label: text, browsePath, config, rawDeadband };
  });
}

/** Items grouped by their monitoring parameters, so that each group is one CreateMonitoredItems call. */
export function groupItems(items: readonly OpcuaItem[]): OpcuaItem[][] {
  const groups = new Map<string, OpcuaItem[]>();
  for (const item of items) {
    const key = `${item.config.samplingInterval}/${item.config.queueSize}/${item.rawDeadband}`;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()];
}
