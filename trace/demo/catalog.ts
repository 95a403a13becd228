/**
 * The demo plant's master data: what it buys, makes and sells, where, on which routes and to which
 * specifications. A plastics moulder: resins, pigments and additives are compounded into compounds and
 * masterbatches, which are moulded into parts, packed and shipped.
 */

export type Kind = 'raw' | 'intermediate' | 'finished';

export interface MaterialDef {
  code: string;
  name: string;
  kind: Kind;
  uom: string;
}

export interface RawDef extends MaterialDef {
  kind: 'raw';
  /** Quantity of one delivered lot (± 10 %). */
  lotQty: number;
  suppliers: readonly string[];
  /** Checked at goods receipt against the supplier's certificate. */
  incoming: InspectionDef;
}

export interface InspectionDef {
  characteristic: string;
  lsl: number;
  usl: number;
  target: number;
}

export interface BomLine {
  material: string;
  /** Quantity of the input per unit of the output. */
  per: number;
}

export interface MadeDef extends MaterialDef {
  kind: 'intermediate' | 'finished';
  /** Nominal quantity of one produced lot (intermediates: ± 5 %; finished: one of lotSizes). */
  lotQty: number;
  lotSizes?: readonly number[];
  bom: readonly BomLine[];
  route: string;
  /** Finished goods only: share of the production mix. */
  mix?: number;
  customers?: readonly string[];
}

export const RAW: readonly RawDef[] = [
  { code: 'RESIN-PP', name: 'Polypropylene homopolymer resin', kind: 'raw', uom: 'kg', lotQty: 5000, suppliers: ['NORDRESIN', 'POLYMERA'], incoming: { characteristic: 'mfi', lsl: 10, usl: 14, target: 12 } },
  { code: 'RESIN-ABS', name: 'ABS resin, injection grade', kind: 'raw', uom: 'kg', lotQty: 5000, suppliers: ['POLYMERA', 'STYRONIX'], incoming: { characteristic: 'mfi', lsl: 18, usl: 24, target: 21 } },
  { code: 'PIG-BLK', name: 'Carbon black pigment', kind: 'raw', uom: 'kg', lotQty: 250, suppliers: ['CHROMACOL'], incoming: { characteristic: 'colour_de', lsl: 0, usl: 1, target: 0.4 } },
  { code: 'PIG-WHT', name: 'Titanium dioxide pigment', kind: 'raw', uom: 'kg', lotQty: 250, suppliers: ['CHROMACOL', 'TITANOX'], incoming: { characteristic: 'colour_de', lsl: 0, usl: 1, target: 0.4 } },
  { code: 'ADD-UV', name: 'UV stabiliser (HALS)', kind: 'raw', uom: 'kg', lotQty: 100, suppliers: ['ADDITEK'], incoming: { characteristic: 'assay', lsl: 98, usl: 102, target: 100 } },
  { code: 'ADD-AO', name: 'Antioxidant blend', kind: 'raw', uom: 'kg', lotQty: 100, suppliers: ['ADDITEK', 'STABILO'], incoming: { characteristic: 'assay', lsl: 98, usl: 102, target: 100 } },
  { code: 'SOLV-MR', name: 'Mould release agent (solvent based)', kind: 'raw', uom: 'l', lotQty: 50, suppliers: ['STABILO'], incoming: { characteristic: 'density', lsl: 0.78, usl: 0.82, target: 0.8 } },
  { code: 'PKG-BOX', name: 'Corrugated carton, 100 parts', kind: 'raw', uom: 'pcs', lotQty: 500, suppliers: ['PACKWELL'], incoming: { characteristic: 'edge_crush', lsl: 5, usl: 9, target: 7 } },
  { code: 'PKG-BAG', name: 'PE bag, 500 parts', kind: 'raw', uom: 'pcs', lotQty: 200, suppliers: ['PACKWELL', 'BAGGIO'], incoming: { characteristic: 'film_thickness', lsl: 45, usl: 55, target: 50 } },
];

export const MADE: readonly MadeDef[] = [
  {
    code: 'CMP-PP', name: 'PP compound, UV stabilised', kind: 'intermediate', uom: 'kg', lotQty: 800, route: 'RT-CMP-PP',
    bom: [{ material: 'RESIN-PP', per: 0.975 }, { material: 'ADD-UV', per: 0.015 }, { material: 'ADD-AO', per: 0.01 }],
  },
  {
    code: 'CMP-ABS', name: 'ABS compound', kind: 'intermediate', uom: 'kg', lotQty: 800, route: 'RT-CMP-ABS',
    bom: [{ material: 'RESIN-ABS', per: 0.985 }, { material: 'ADD-AO', per: 0.015 }],
  },
  {
    code: 'MB-BLK', name: 'Black masterbatch', kind: 'intermediate', uom: 'kg', lotQty: 100, route: 'RT-MB-BLK',
    bom: [{ material: 'RESIN-PP', per: 0.6 }, { material: 'PIG-BLK', per: 0.4 }],
  },
  {
    code: 'MB-WHT', name: 'White masterbatch', kind: 'intermediate', uom: 'kg', lotQty: 100, route: 'RT-MB-WHT',
    bom: [{ material: 'RESIN-ABS', per: 0.5 }, { material: 'PIG-WHT', per: 0.5 }],
  },
  {
    code: 'PART-A100', name: 'Housing A100, black PP', kind: 'finished', uom: 'pcs', lotQty: 2000, lotSizes: [1000, 1500, 2000, 2500], route: 'RT-A100', mix: 0.45,
    bom: [{ material: 'CMP-PP', per: 0.118 }, { material: 'MB-BLK', per: 0.0024 }, { material: 'SOLV-MR', per: 0.0004 }, { material: 'PKG-BOX', per: 0.01 }],
    customers: ['C-AUTOVIA', 'C-BRIGHTLINE', 'C-CARMODA', 'C-DELTAHOME', 'C-ELEKTRA', 'C-FORMA'],
  },
  {
    code: 'PART-B200', name: 'Cover B200, white ABS', kind: 'finished', uom: 'pcs', lotQty: 2000, lotSizes: [1000, 2000, 3000], route: 'RT-B200', mix: 0.35,
    bom: [{ material: 'CMP-ABS', per: 0.08 }, { material: 'MB-WHT', per: 0.003 }, { material: 'PKG-BAG', per: 0.002 }],
    customers: ['C-BRIGHTLINE', 'C-DELTAHOME', 'C-GLOBALAPP', 'C-HOMEWARE', 'C-IRIS'],
  },
  {
    code: 'PART-C300', name: 'Clip C300, black ABS', kind: 'finished', uom: 'pcs', lotQty: 5000, lotSizes: [4000, 5000, 6000], route: 'RT-C300', mix: 0.2,
    bom: [{ material: 'CMP-ABS', per: 0.02 }, { material: 'MB-BLK', per: 0.0006 }, { material: 'PKG-BAG', per: 0.002 }],
    customers: ['C-AUTOVIA', 'C-CARMODA', 'C-JUNO', 'C-KESTREL', 'C-FORMA'],
  },
];

export const FINISHED = MADE.filter((m) => m.kind === 'finished');

export const SUPPLIERS: ReadonlyArray<{ code: string; name: string; country: string; lotPrefix: string }> = [
  { code: 'NORDRESIN', name: 'Nordresin AB', country: 'SE', lotPrefix: 'NR' },
  { code: 'POLYMERA', name: 'Polymera GmbH', country: 'DE', lotPrefix: 'PM' },
  { code: 'STYRONIX', name: 'Styronix S.p.A.', country: 'IT', lotPrefix: 'SX' },
  { code: 'CHROMACOL', name: 'Chromacol Ltd', country: 'GB', lotPrefix: 'CC' },
  { code: 'TITANOX', name: 'Titanox SA', country: 'FR', lotPrefix: 'TX' },
  { code: 'ADDITEK', name: 'Additek Chemicals', country: 'NL', lotPrefix: 'AK' },
  { code: 'STABILO', name: 'Stabilo Additives', country: 'BE', lotPrefix: 'ST' },
  { code: 'PACKWELL', name: 'Packwell Packaging', country: 'PL', lotPrefix: 'PW' },
  { code: 'BAGGIO', name: 'Baggio Film S.r.l.', country: 'IT', lotPrefix: 'BG' },
];

export const CUSTOMERS: ReadonlyArray<{ code: string; name: string; country: string }> = [
  { code: 'C-AUTOVIA', name: 'Autovia Components', country: 'DE' },
  { code: 'C-BRIGHTLINE', name: 'Brightline Appliances', country: 'FR' },
  { code: 'C-CARMODA', name: 'Carmoda Automotive', country: 'ES' },
  { code: 'C-DELTAHOME', name: 'Delta Home Products', country: 'NL' },
  { code: 'C-ELEKTRA', name: 'Elektra Tools', country: 'CZ' },
  { code: 'C-FORMA', name: 'Forma Interiors', country: 'IT' },
  { code: 'C-GLOBALAPP', name: 'Global Appliance Group', country: 'US' },
  { code: 'C-HOMEWARE', name: 'Homeware Direct', country: 'GB' },
  { code: 'C-IRIS', name: 'Iris Lighting', country: 'AT' },
  { code: 'C-JUNO', name: 'Juno Electronics', country: 'PL' },
  { code: 'C-KESTREL', name: 'Kestrel Motors', country: 'SE' },
];

/** Plants and their lines; the server uses the plant for row-level security. */
export const LINES: ReadonlyArray<{ line: string; plant: string }> = [
  { line: 'L1', plant: 'P1' },
  { line: 'L2', plant: 'P1' },
  { line: 'L3', plant: 'P2' },
];

export type EquipmentClass = 'MIXER' | 'EXTRUDER' | 'MOULDER' | 'PACKER';

export const EQUIPMENT_CLASSES: ReadonlyArray<{ cls: EquipmentClass; prefix: string; name: string; area: string; perCell: number }> = [
  { cls: 'MIXER', prefix: 'MIX', name: 'High-speed mixer', area: 'COMPOUNDING', perCell: 1 },
  { cls: 'EXTRUDER', prefix: 'EXT', name: 'Twin-screw extruder', area: 'COMPOUNDING', perCell: 1 },
  { cls: 'MOULDER', prefix: 'MLD', name: 'Injection moulding machine', area: 'MOULDING', perCell: 2 },
  { cls: 'PACKER', prefix: 'PCK', name: 'Packing station', area: 'PACKING', perCell: 1 },
];

export interface StepDef {
  seq: number;
  operation: string;
  cls: EquipmentClass;
  /** Operation duration in minutes [min, max]. */
  minutes: readonly [number, number];
}

export interface SpecDef {
  parameter: string;
  lsl: number;
  target: number;
  usl: number;
  unit: string;
}

export interface RouteVersionDef {
  version: number;
  steps: readonly StepDef[];
  specs: Readonly<Record<number, readonly SpecDef[]>>;
}

export interface RouteDef {
  code: string;
  name: string;
  product: string;
  versions: readonly RouteVersionDef[];
}

const COMPOUND_STEPS: readonly StepDef[] = [
  { seq: 10, operation: 'Dry blending', cls: 'MIXER', minutes: [30, 50] },
  { seq: 20, operation: 'Compounding extrusion', cls: 'EXTRUDER', minutes: [50, 80] },
];
const MOULD_STEPS: readonly StepDef[] = [
  { seq: 10, operation: 'Injection moulding', cls: 'MOULDER', minutes: [180, 300] },
  { seq: 20, operation: 'Inspection and packing', cls: 'PACKER', minutes: [20, 40] },
];

const spec = (parameter: string, lsl: number, target: number, usl: number, unit: string): SpecDef => ({ parameter, lsl, target, usl, unit });
const mixSpecs = [spec('mix_temp', 60, 70, 80, 'degC'), spec('mixer_speed', 250, 300, 350, 'rpm')];
const packSpecs = [spec('line_speed', 40, 50, 60, 'pcs/min')];

export const ROUTES: readonly RouteDef[] = [
  {
    code: 'RT-CMP-PP', name: 'PP compounding', product: 'CMP-PP',
    versions: [
      { version: 1, steps: COMPOUND_STEPS, specs: { 10: mixSpecs, 20: [spec('melt_temp', 200, 215, 230, 'degC'), spec('melt_pressure', 80, 100, 120, 'bar'), spec('screw_speed', 350, 400, 450, 'rpm')] } },
      { version: 2, steps: COMPOUND_STEPS, specs: { 10: mixSpecs, 20: [spec('melt_temp', 205, 220, 235, 'degC'), spec('melt_pressure', 85, 105, 125, 'bar'), spec('screw_speed', 380, 420, 460, 'rpm')] } },
    ],
  },
  {
    code: 'RT-CMP-ABS', name: 'ABS compounding', product: 'CMP-ABS',
    versions: [{ version: 1, steps: COMPOUND_STEPS, specs: { 10: mixSpecs, 20: [spec('melt_temp', 220, 235, 250, 'degC'), spec('melt_pressure', 90, 110, 130, 'bar'), spec('screw_speed', 300, 350, 400, 'rpm')] } }],
  },
  {
    code: 'RT-MB-BLK', name: 'Black masterbatch', product: 'MB-BLK',
    versions: [{ version: 1, steps: COMPOUND_STEPS, specs: { 10: mixSpecs, 20: [spec('melt_temp', 190, 205, 220, 'degC'), spec('melt_pressure', 70, 90, 110, 'bar'), spec('screw_speed', 250, 300, 350, 'rpm')] } }],
  },
  {
    code: 'RT-MB-WHT', name: 'White masterbatch', product: 'MB-WHT',
    versions: [{ version: 1, steps: COMPOUND_STEPS, specs: { 10: mixSpecs, 20: [spec('melt_temp', 210, 225, 240, 'degC'), spec('melt_pressure', 75, 95, 115, 'bar'), spec('screw_speed', 250, 300, 350, 'rpm')] } }],
  },
  {
    code: 'RT-A100', name: 'Housing A100 moulding', product: 'PART-A100',
    versions: [
      { version: 1, steps: MOULD_STEPS, specs: { 10: [spec('barrel_temp', 210, 225, 240, 'degC'), spec('inj_pressure', 700, 850, 1000, 'bar'), spec('cycle_time', 28, 30, 32, 's')], 20: packSpecs } },
      { version: 2, steps: MOULD_STEPS, specs: { 10: [spec('barrel_temp', 210, 225, 240, 'degC'), spec('inj_pressure', 750, 880, 1010, 'bar'), spec('cycle_time', 26, 28, 30, 's')], 20: packSpecs } },
    ],
  },
  {
    code: 'RT-B200', name: 'Cover B200 moulding', product: 'PART-B200',
    versions: [{ version: 1, steps: MOULD_STEPS, specs: { 10: [spec('barrel_temp', 230, 245, 260, 'degC'), spec('inj_pressure', 800, 950, 1100, 'bar'), spec('cycle_time', 34, 36, 38, 's')], 20: packSpecs } }],
  },
  {
    code: 'RT-C300', name: 'Clip C300 moulding', product: 'PART-C300',
    versions: [{ version: 1, steps: MOULD_STEPS, specs: { 10: [spec('barrel_temp', 230, 245, 260, 'degC'), spec('inj_pressure', 600, 700, 800, 'bar'), spec('cycle_time', 14, 15, 16, 's')], 20: packSpecs } }],
  },
];

/** Inspection plans: characteristics measured on every produced lot of a kind. */
export const INSPECTIONS: Readonly<Record<'intermediate' | 'finished', readonly InspectionDef[]>> = {
  intermediate: [
    { characteristic: 'mfi', lsl: 10, usl: 14, target: 12 },
    { characteristic: 'moisture', lsl: 0, usl: 0.05, target: 0.02 },
  ],
  finished: [
    { characteristic: 'dimension_a', lsl: 49.8, usl: 50.2, target: 50 },
    { characteristic: 'warpage', lsl: 0, usl: 0.5, target: 0.2 },
  ],
};

/** The planted incident: contaminated PP resin raises melt pressure in compounding. */
export const INCIDENT_MATERIAL = 'RESIN-PP';
export const INCIDENT_PARAMETER = 'melt_pressure';
/** The intermediate characteristic that the contamination pushes out (low melt flow). */
export const INCIDENT_CHARACTERISTIC = 'mfi';
/** The finished characteristic that parts made from contaminated compound fail. */
export const INCIDENT_FINISHED_CHARACTERISTIC = 'warpage';

export const FIRST_NAMES = ['Anna', 'Ben', 'Chen', 'Dara', 'Emil', 'Fatima', 'Goran', 'Hana', 'Ivo', 'Jia', 'Karl', 'Lena', 'Mateo', 'Nora', 'Omar', 'Petra', 'Quinn', 'Rosa', 'Sami', 'Tomas', 'Uma', 'Viktor', 'Wen', 'Yusuf', 'Zofia'];
export const LAST_NAMES = ['Berg', 'Costa', 'Dvorak', 'Engel', 'Fischer', 'Garcia', 'Horvat', 'Ito', 'Jensen', 'Kowalski', 'Li', 'Moreau', 'Novak', 'Olsen', 'Petrov', 'Rossi', 'Schmidt', 'Tanaka', 'Varga', 'Wang'];

/** The plant starts producing here; every time in the stream is derived from this instant. */
export const PLANT_START = Date.UTC(2025, 0, 6, 6, 0, 0);
