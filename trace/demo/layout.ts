import { EQUIPMENT_CLASSES, FIRST_NAMES, LAST_NAMES, LINES, type EquipmentClass } from './catalog.js';

/** One machine of the demo plant. `free` is the simulation's clock for it (ms since epoch). */
export interface Machine {
  code: string;
  name: string;
  cls: EquipmentClass;
  line: string;
  area: string;
  plant: string;
  /** Position among the machines of its class on its line, used to pick the operator. */
  slot: number;
  free: number;
}

export interface Person {
  code: string;
  name: string;
  role: 'operator' | 'inspector';
  line?: string;
  plant: string;
}

export interface Layout {
  /** Machines grouped by class over the whole plant. */
  machines: Record<EquipmentClass, Machine[]>;
  /** Machines by line and class. */
  byLine: Record<string, Record<EquipmentClass, Machine[]>>;
  personnel: Person[];
  /** Operators of a line by shift (0, 1, 2). */
  crews: Record<string, Person[][]>;
  /** Inspectors by plant. */
  inspectors: Record<string, Person[]>;
}

/** Cells per line: a bigger plant has more machines so that its history spans a few years, not decades. */
export function cellsFor(lots: number): number {
  return Math.max(1, Math.round(lots / 60_000));
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Equipment and people of a plant with `cells` production cells per line (deterministic, no randomness). */
export function buildLayout(cells: number, start: number): Layout {
  const machines = { MIXER: [], EXTRUDER: [], MOULDER: [], PACKER: [] } as Record<EquipmentClass, Machine[]>;
  const byLine: Layout['byLine'] = {};
  for (const { line, plant } of LINES) {
    byLine[line] = { MIXER: [], EXTRUDER: [], MOULDER: [], PACKER: [] };
    for (const c of EQUIPMENT_CLASSES) {
      const count = c.perCell * cells;
      for (let i = 1; i <= count; i++) {
        const m: Machine = {
          code: `${c.prefix}-${line}-${pad(i, 2)}`,
          name: `${c.name} ${line}/${i}`,
          cls: c.cls,
          line,
          area: `${plant}-${c.area}`,
          plant,
          slot: i - 1,
          free: start,
        };
        machines[c.cls].push(m);
        byLine[line]![c.cls].push(m);
      }
    }
  }
  const personnel: Person[] = [];
  const crews: Layout['crews'] = {};
  const inspectors: Layout['inspectors'] = {};
  let n = 0;
  const name = () => {
    const i = n++;
    return `${FIRST_NAMES[(i * 7) % FIRST_NAMES.length]} ${LAST_NAMES[(i * 3 + Math.floor(i / LAST_NAMES.length)) % LAST_NAMES.length]}`;
  };
  const perShift = 2 + cells;
  for (const { line, plant } of LINES) {
    crews[line] = [];
    for (let shift = 0; shift < 3; shift++) {
      const crew: Person[] = [];
      for (let i = 0; i < perShift; i++) {
        const p: Person = { code: `OP-${line}-${shift + 1}${pad(i + 1, 2)}`, name: name(), role: 'operator', line, plant };
        crew.push(p);
        personnel.push(p);
      }
      crews[line]!.push(crew);
    }
  }
  for (const plant of [...new Set(LINES.map((l) => l.plant))]) {
    inspectors[plant] = [];
    for (let i = 0; i < 2 + cells; i++) {
      const p: Person = { code: `QA-${plant}-${pad(i + 1, 2)}`, name: name(), role: 'inspector', plant };
      inspectors[plant]!.push(p);
      personnel.push(p);
    }
  }
  return { machines, byLine, personnel, crews, inspectors };
}

const SHIFT_MS = 8 * 3600_000;

/** The operator on shift at `at` for a machine (shifts start at 06:00, 14:00, 22:00 UTC). */
export function operatorFor(layout: Layout, machine: Machine, at: number): Person {
  const shift = Math.floor((at - 6 * 3600_000) / SHIFT_MS) % 3;
  const crew = layout.crews[machine.line]![(shift + 3) % 3]!;
  return crew[machine.slot % crew.length]!;
}
