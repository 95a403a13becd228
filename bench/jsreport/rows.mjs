// The rows of the TraceReport vs jsreport benchmark. Plain JavaScript so that the jsreport side (this folder, its own
// node_modules) and the TraceReport side (dist/bench/jsreport-compare.js) render exactly the same data.
// Deterministic: a fixed-seed generator, no dependency.

/** A small fixed-seed pseudo-random generator (mulberry32). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];

/** The ten columns of the XLSX case, in order: key, header text, kind and Excel number format. */
export const XLSX_COLUMNS = [
  { key: 'lot', header: 'Lot', kind: 'string', width: 14 },
  { key: 'product', header: 'Product', kind: 'string', width: 22 },
  { key: 'step', header: 'Step', kind: 'string', width: 14 },
  { key: 'equipment', header: 'Equipment', kind: 'string', width: 12 },
  { key: 'operator', header: 'Operator', kind: 'string', width: 16 },
  { key: 'qty', header: 'Qty', kind: 'number', numFmt: '#,##0', width: 10 },
  { key: 'weight', header: 'Weight kg', kind: 'number', numFmt: '0.000', width: 12 },
  { key: 'yield', header: 'Yield', kind: 'number', numFmt: '0.00%', width: 10 },
  { key: 'started', header: 'Started', kind: 'date', numFmt: 'yyyy-mm-dd hh:mm', width: 18 },
  { key: 'status', header: 'Status', kind: 'string', width: 10 },
];

/** The header style of the XLSX case (and of the PDF table header). */
export const HEADER_STYLE = { bold: true, color: '#FFFFFF', fill: '#1F4E79', align: 'center' };

const PRODUCTS = ['Valve body VB-20', 'Pump housing PH-7', 'Gear shaft GS-12', 'Bearing cap BC-3', 'Flange FL-40', 'Sensor mount SM-9'];
const STEPS = ['Casting', 'Machining', 'Heat treat', 'Grinding', 'Assembly', 'Inspection'];
const OPERATORS = ['A. Novak', 'B. Keller', 'C. Duarte', 'D. Ivanova', 'E. Tanaka', 'F. Okafor', 'G. Rossi', 'H. Lindqvist'];
const STATUSES = ['OK', 'OK', 'OK', 'OK', 'HOLD', 'NG'];
const T0 = Date.UTC(2024, 0, 1, 6, 0, 0);

/**
 * The XLSX rows: lot, product, step, equipment, operator (strings), qty (integer), weight, yield (fractions),
 * started (a Date), status (string).
 */
export function xlsxRows(count, seed = 42) {
  const rnd = random(seed);
  const rows = new Array(count);
  for (let i = 0; i < count; i++) {
    rows[i] = {
      lot: `L24${String(1 + (i % 12)).padStart(2, '0')}-${String(i + 1).padStart(6, '0')}`,
      product: pick(rnd, PRODUCTS),
      step: pick(rnd, STEPS),
      equipment: `CNC-${String(1 + Math.floor(rnd() * 24)).padStart(2, '0')}`,
      operator: pick(rnd, OPERATORS),
      qty: 50 + Math.floor(rnd() * 4950),
      weight: Math.round(rnd() * 250_000) / 1000,
      yield: Math.round((0.9 + rnd() * 0.1) * 10_000) / 10_000,
      started: new Date(T0 + i * 137_000 + Math.floor(rnd() * 60) * 60_000),
      status: pick(rnd, STATUSES),
    };
  }
  return rows;
}

/** The columns of the PDF case: the group column first, then the detail columns. */
export const PDF_COLUMNS = [
  { key: 'workshop', header: '车间 / 产线', kind: 'string', width: 30 },
  { key: 'lot', header: '批次号', kind: 'string', width: 24 },
  { key: 'product', header: '产品名称', kind: 'string', width: 30 },
  { key: 'step', header: '工序', kind: 'string', width: 16 },
  { key: 'operator', header: '操作员', kind: 'string', width: 14 },
  { key: 'qty', header: '数量', kind: 'number', numFmt: '#,##0', width: 14 },
  { key: 'yield', header: '合格率', kind: 'number', numFmt: '0.0%', width: 14 },
  { key: 'started', header: '开始时间', kind: 'date', numFmt: 'yyyy-mm-dd hh:mm', width: 28 },
];

const WORKSHOPS = ['第一车间 冲压线', '第二车间 焊装线', '第三车间 涂装线', '第四车间 总装线', '第五车间 机加线', '第六车间 热处理线', '第七车间 注塑线', '第八车间 检测线'];
const CN_PRODUCTS = ['阀体 VB-20 铸铁', '泵壳 PH-7 铝合金', '齿轮轴 GS-12 合金钢', '轴承盖 BC-3 球墨铸铁', '法兰 FL-40 不锈钢', '传感器支架 SM-9'];
const CN_STEPS = ['铸造', '粗加工', '精加工', '热处理', '磨削', '装配', '终检'];
const CN_OPERATORS = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄强', '周杰', '吴婷'];

/**
 * The PDF rows: `groups` workshops (the group column), each with count/groups detail rows, ordered by workshop.
 * Lot, product, step, operator (Chinese text), qty (integer), yield (fraction), started (a Date).
 */
export function pdfRows(count, groups = 40, seed = 7) {
  const rnd = random(seed);
  const rows = new Array(count);
  const perGroup = Math.ceil(count / groups);
  for (let i = 0; i < count; i++) {
    const g = Math.floor(i / perGroup);
    rows[i] = {
      workshop: `${WORKSHOPS[g % WORKSHOPS.length]} ${String(1 + Math.floor(g / WORKSHOPS.length)).padStart(2, '0')}号`,
      lot: `批-${String(240100 + g)}-${String(i + 1).padStart(5, '0')}`,
      product: pick(rnd, CN_PRODUCTS),
      step: pick(rnd, CN_STEPS),
      operator: pick(rnd, CN_OPERATORS),
      qty: 20 + Math.floor(rnd() * 980),
      yield: Math.round((0.92 + rnd() * 0.08) * 1000) / 1000,
      started: new Date(T0 + i * 611_000),
    };
  }
  return rows;
}
