/**
 * The trace-store tables as the ingest writers see them (columns of trace/migrations/001-trace-store.ts,
 * in the order the writers bind them), with the type each column is cast or converted to.
 */
export type ColType = 'text' | 'int' | 'float' | 'time' | 'bool';

export interface Column {
  name: string;
  type: ColType;
}

/** Tables whose rows are named by a code (route: code + version) and resolved to integer ids. */
export type Entity = 'material' | 'supplier' | 'customer' | 'equipment' | 'personnel' | 'route' | 'work_order' | 'lot' | 'operation';

/** Tables that events append to. */
export type FactTable = 'lot_link' | 'sample' | 'inspection' | 'alarm' | 'shipment';

export interface EntitySpec {
  table: Entity;
  /** Key columns first, then the attributes an event sets. */
  columns: Column[];
  /** How many leading columns are the natural key. */
  keyCount: number;
  /** Whether the table has a `placeholder` flag (operation has none: a bare row with its code only). */
  placeholder: boolean;
}

export interface FactSpec {
  table: string;
  columns: Column[];
  /** Columns of a unique key on which a conflicting row is skipped (sample) or replaced (parameter_spec). */
  conflict?: string[];
}

const c = (name: string, type: ColType): Column => ({ name, type });
const text = (name: string) => c(name, 'text');
const int = (name: string) => c(name, 'int');
const float = (name: string) => c(name, 'float');
const time = (name: string) => c(name, 'time');

export const ENTITIES: Record<Entity, EntitySpec> = {
  material: { table: 'material', keyCount: 1, placeholder: true, columns: [text('code'), text('name'), text('kind'), text('uom')] },
  supplier: { table: 'supplier', keyCount: 1, placeholder: true, columns: [text('code'), text('name'), text('country')] },
  customer: { table: 'customer', keyCount: 1, placeholder: true, columns: [text('code'), text('name'), text('country')] },
  equipment: {
    table: 'equipment',
    keyCount: 1,
    placeholder: true,
    columns: [text('code'), text('name'), text('equipment_class'), text('line'), text('area'), text('plant')],
  },
  personnel: { table: 'personnel', keyCount: 1, placeholder: true, columns: [text('code'), text('name'), text('role')] },
  route: { table: 'route', keyCount: 2, placeholder: true, columns: [text('code'), int('version'), text('name'), int('product_id')] },
  work_order: {
    table: 'work_order',
    keyCount: 1,
    placeholder: true,
    columns: [text('code'), int('product_id'), float('qty'), int('route_id'), text('status'), text('erp_ref'), text('plant')],
  },
  lot: {
    table: 'lot',
    keyCount: 1,
    placeholder: true,
    columns: [
      text('code'), int('material_id'), float('qty'), text('uom'), text('status'), int('supplier_id'), text('supplier_lot'),
      int('work_order_id'), time('produced_at'),
    ],
  },
  operation: {
    table: 'operation',
    keyCount: 1,
    placeholder: false,
    columns: [
      text('code'), int('work_order_id'), int('lot_id'), int('step_seq'), int('equipment_id'), int('operator_id'), time('started_at'),
      time('ended_at'), text('result'),
    ],
  },
};

/**
 * The order in which a batch's master-data upserts run, so that every reference points at a table
 * already written (a lot names its material, supplier and work order; an operation its lot; ...).
 */
export const ENTITY_ORDER: Entity[] = ['material', 'supplier', 'customer', 'equipment', 'personnel', 'route', 'work_order', 'lot', 'operation'];

export const FACTS: Record<FactTable, FactSpec> = {
  lot_link: { table: 'lot_link', columns: [int('input_lot_id'), int('output_lot_id'), float('qty'), int('operation_id'), time('at')] },
  sample: {
    table: 'sample',
    columns: [int('equipment_id'), text('parameter'), time('ts'), float('value'), text('quality')],
    conflict: ['equipment_id', 'parameter', 'ts'],
  },
  inspection: {
    table: 'inspection',
    columns: [int('lot_id'), text('characteristic'), float('value'), float('lsl'), float('usl'), text('result'), int('inspector_id'), time('at')],
  },
  alarm: {
    table: 'alarm',
    columns: [
      text('rule'), int('equipment_id'), text('parameter'), float('value'), float('limit_value'), text('severity'), time('raised_at'),
      time('cleared_at'), text('acked_by'), text('message'),
    ],
  },
  shipment: { table: 'shipment', columns: [int('lot_id'), int('customer_id'), float('qty'), time('at'), text('order_ref')] },
};

export const ROUTE_STEP: FactSpec = { table: 'route_step', columns: [int('route_id'), int('seq'), text('operation'), text('equipment_class')] };

export const PARAMETER_SPEC: FactSpec = {
  table: 'parameter_spec',
  columns: [int('route_id'), int('step_seq'), text('parameter'), float('lsl'), float('target'), float('usl'), text('unit')],
  conflict: ['route_id', 'step_seq', 'parameter'],
};

export const INGEST_EVENT: FactSpec = { table: 'ingest_event', columns: [text('event_id'), text('type'), time('ingested_at')], conflict: ['event_id'] };
