import type { Genealogy, GenealogyLot, Shipment } from './genealogy.js';
import type { LotDetail, OperationDetail, ParameterSummary } from './detail.js';

/**
 * A genealogy as a readable indented tree for a terminal: the root, then each lot under the lot it is
 * nearest the root through (two spaces per level). A lot reached from several lots is shown in full
 * once and named with "(listed under …)" elsewhere. Forward traces show shipments; cycles and a cut walk
 * end with a warning line. With details, each lot's operations, parameters (out of spec marked "!"),
 * inspections (failures marked "!") and alarms follow its line.
 */
export function formatGenealogy(g: Genealogy, details: readonly LotDetail[] = [], opts: { maxDepth?: number } = {}): string {
  const out: string[] = [];
  const byCode = new Map(g.lots.map((l) => [l.lot, l]));
  const detailOf = new Map(details.map((d) => [d.lot, d]));
  const shipmentsOf = new Map<string, Shipment[]>();
  for (const s of g.shipments) shipmentsOf.set(s.lot, [...(shipmentsOf.get(s.lot) ?? []), s]);
  const next = new Map<string, string[]>();
  for (const e of g.edges) {
    const [from, to] = g.direction === 'backward' ? [e.output, e.input] : [e.input, e.output];
    next.set(from, [...(next.get(from) ?? []), to]);
  }
  const parentOf = (l: GenealogyLot) => (l.path.length > 1 ? l.path[l.path.length - 2]! : null);

  const what = g.direction === 'backward' ? 'inputs down to raw material and suppliers' : 'lots it went into, down to shipments';
  out.push(`${g.direction} trace of ${g.root} (${what}): ${g.lots.length} lot${g.lots.length === 1 ? '' : 's'}, ${g.edges.length} link${g.edges.length === 1 ? '' : 's'}`);

  const printed = new Set<string>();
  const visit = (code: string, level: number, from: string | null): void => {
    const pad = '  '.repeat(level);
    const lot = byCode.get(code);
    if (!lot) return;
    if (printed.has(code) || (from !== null && parentOf(lot) !== from)) {
      const where = parentOf(lot);
      out.push(`${pad}${code}  (listed ${where === null ? 'above as the root' : `under ${where}`})`);
      return;
    }
    printed.add(code);
    out.push(pad + lotLine(lot));
    const inner = '  '.repeat(level + 1);
    const d = detailOf.get(code);
    if (d) out.push(...detailLines(d, inner + '| '));
    for (const s of shipmentsOf.get(code) ?? []) out.push(`${inner}shipped ${amount(s.qty, lot.uom)}to ${party(s.customer, s.customerName)}${s.at ? ` at ${s.at}` : ''}${s.orderRef ? `, order ${s.orderRef}` : ''}`);
    for (const child of [...new Set(next.get(code) ?? [])].sort()) visit(child, level + 1, code);
  };
  visit(g.root, 0, null);

  if (g.direction === 'forward') {
    const customers = new Map<string, string | null>();
    for (const s of g.shipments) customers.set(s.customer, s.customerName);
    out.push(
      g.shipments.length
        ? `shipments: ${g.shipments.length} to ${customers.size} customer${customers.size === 1 ? '' : 's'}: ${[...customers].sort().map(([c, n]) => party(c, n)).join(', ')}`
        : 'shipments: none',
    );
  }
  for (const c of g.cycles) out.push(`warning: cycle in the genealogy data: ${c.join(' → ')} (reported, not followed again)`);
  if (g.truncated) {
    out.push(`warning: the walk was cut${opts.maxDepth !== undefined ? ` at depth ${opts.maxDepth}` : ''}; lots beyond it are not listed (raise --depth)`);
  }
  return out.join('\n') + '\n';
}

function party(code: string, name: string | null): string {
  return name ? `${code} (${name})` : code;
}

function amount(qty: number | null, uom: string | null): string {
  return qty === null ? '' : `${qty}${uom ? ` ${uom}` : ''} `;
}

function lotLine(l: GenealogyLot): string {
  const parts = [l.lot];
  if (l.material) parts.push(`${l.material}${l.materialName ? ` "${l.materialName}"` : ''}${l.kind ? ` (${l.kind})` : ''}`);
  if (l.qty !== null) parts.push(amount(l.qty, l.uom).trim());
  if (l.supplier) parts.push(`supplier ${l.supplier}`);
  if (l.workOrder) parts.push(`work order ${l.workOrder}`);
  if (l.status) parts.push(l.status);
  if (l.placeholder) parts.push('(placeholder: no lot event yet)');
  return parts.join('  ');
}

function fmt(n: number | null): string {
  if (n === null) return '-';
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(4)));
}

function detailLines(d: LotDetail, pad: string): string[] {
  const out: string[] = [];
  for (const op of d.operations) {
    out.push(pad + operationLine(op));
    for (const p of op.parameters) out.push(pad + '  ' + parameterLine(p));
  }
  for (const i of d.inspections) {
    const fail = i.result === 'fail';
    const limits = i.lsl !== null || i.usl !== null ? ` [${fmt(i.lsl)} .. ${fmt(i.usl)}]` : '';
    out.push(`${pad}${fail ? '! ' : ''}inspection ${i.characteristic} ${fmt(i.value)}${limits} ${fail ? 'FAIL' : (i.result ?? '')}${i.inspector ? ` by ${i.inspector}` : ''}${i.at ? ` at ${i.at}` : ''}`.trimEnd());
  }
  for (const a of d.alarms) {
    const reading = a.parameter ? ` ${a.parameter}${a.value !== null ? `=${fmt(a.value)}` : ''}${a.limit !== null ? ` (limit ${fmt(a.limit)})` : ''}` : '';
    out.push(`${pad}! alarm ${a.rule}${a.severity ? ` ${a.severity}` : ''} on ${a.equipment ?? '?'}${reading} raised ${a.raisedAt}${a.clearedAt ? `, cleared ${a.clearedAt}` : ', not cleared'} (operation ${a.operation})`);
  }
  if (out.length === 0) out.push(`${pad}no operations, inspections or alarms recorded`);
  return out;
}

function operationLine(op: OperationDetail): string {
  const parts = [`operation ${op.operation}`];
  if (op.step !== null) parts.push(`step ${op.step}`);
  if (op.workOrder) parts.push(`work order ${op.workOrder}`);
  if (op.equipment) parts.push(`on ${party(op.equipment, op.equipmentName)}`);
  if (op.operator) parts.push(`by ${party(op.operator, op.operatorName)}`);
  parts.push(`${op.start ?? '?'} → ${op.end ?? 'running'}`);
  if (op.result) parts.push(op.result);
  return parts.join('  ');
}

function parameterLine(p: ParameterSummary): string {
  const out = p.outOfSpec > 0;
  const unit = p.unit ? ` ${p.unit}` : '';
  const limits =
    p.lsl !== null && p.usl !== null ? `${fmt(p.lsl)} .. ${fmt(p.usl)}` : p.lsl !== null ? `≥ ${fmt(p.lsl)}` : p.usl !== null ? `≤ ${fmt(p.usl)}` : '';
  const target = p.target !== null ? `target ${fmt(p.target)}` : '';
  const spec = limits || target ? `  spec ${[limits, target].filter(Boolean).join(' ')}` : '  no spec';
  const values = p.count ? `  min ${fmt(p.min)}  avg ${fmt(p.avg)}  max ${fmt(p.max)}` : ' (no samples)';
  return `${out ? '! ' : ''}${p.parameter}${unit}  n=${p.count}${values}${spec}${out ? `  OUT OF SPEC: ${p.outOfSpec} sample${p.outOfSpec === 1 ? '' : 's'}` : ''}`;
}
