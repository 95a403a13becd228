/**
 * The engine's boundary: what it is given to expand a grid template into a resolved report.
 * The orchestration (renderer/render.ts) validates parameters and opens datasets; the engine
 * (renderer/engine/expand.ts: `expandGrid(input): ResolvedReport`) never touches a database itself.
 */
import type { Row } from '../../datasources/data-source.js';
import type { GridTemplate } from '../template/schema.js';

export type { Row };

export interface EngineInput {
  readonly template: GridTemplate;
  /** Parameter values, validated and converted to their types (number, Date, boolean, string; arrays when multi). */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * Opens a dataset's rows (SQL run with bound parameters, or inline rows). Called at most once per
   * dataset per render, only for datasets the template uses.
   */
  openDataset(name: string): AsyncIterable<Row>;
  /** Rows a dataset may hold in memory in full mode; more fails the render with SOURCE_ROW_LIMIT. Default 1,000,000. */
  readonly rowLimit?: number;
  /** `auto` (default) picks streaming when the template allows it; `full` forces full mode. */
  readonly mode?: 'auto' | 'full';
}
