/**
 * A grouped traceability report with Chinese text, built directly as a resolved sheet (no engine), for
 * the PDF benchmark and the PDF output tests: header row repeated on every page, workshop and lot
 * cells merged over their rows, numbers with formats, a few styles.
 */
import type { PageSetup, ResolvedReport, ResolvedRow, RowBand } from '../renderer/resolved.js';
import { StyleTable } from '../renderer/style-table.js';

export interface GroupedReportOptions {
  /** Data rows (default 2,000). */
  rows?: number;
  /** Rows per workshop group (one band each; default 100). */
  groupRows?: number;
  /** Rows per lot (merged lot cell; default 10). */
  lotRows?: number;
  page?: Partial<PageSetup>;
}

export const HEADER = ['车间', '批次号', '工序', '设备', '参数', '测量值', '规格', '状态'];
const STEPS = ['混料', '压片', '包衣', '干燥', '包装'];
const PARAMS = ['温度', '压力', '湿度', '转速'];

export function groupedChineseReport(options: GroupedReportOptions = {}): ResolvedReport {
  const total = options.rows ?? 2000;
  const groupRows = options.groupRows ?? 100;
  const lotRows = options.lotRows ?? 10;
  const styles = new StyleTable();
  const hdr = styles.intern({ font: { bold: true, color: '#FFFFFF' }, fill: '#1F4E79', align: 'center', border: 'thin' });
  const grp = styles.intern({ font: { bold: true }, valign: 'top', border: 'thin' });
  const cell = styles.intern({ border: 'thin' });
  const bad = styles.intern({ fill: '#FFC7CE', font: { color: '#9C0006' }, border: 'thin' });
  const page: PageSetup = {
    size: 'A4',
    orientation: 'landscape',
    margins: { top: 12, bottom: 15, left: 10, right: 10 },
    footer: 'Page {{page}} of {{pages}} · {{plant}}',
    ...options.page,
  };

  async function* bands(): AsyncIterable<RowBand> {
    yield { rows: [{ row: 0, cells: HEADER.map((value, col) => ({ col, value, style: hdr })) }] };
    for (let g = 0; g * groupRows < total; g++) {
      const rows: ResolvedRow[] = [];
      const n = Math.min(groupRows, total - g * groupRows);
      for (let i = 0; i < n; i++) {
        const k = g * groupRows + i;
        const r = k + 1;
        const cells: ResolvedRow['cells'][number][] = [];
        if (i === 0) cells.push({ col: 0, value: `第${g + 1}车间`, style: grp, rowSpan: n });
        if (i % lotRows === 0) cells.push({ col: 1, value: `批次-${String(Math.floor(k / lotRows) + 1).padStart(5, '0')}`, style: grp, rowSpan: Math.min(lotRows, n - i) });
        const v = 60 + ((k * 37) % 400) / 10;
        const ok = v < 95;
        cells.push(
          { col: 2, value: STEPS[k % STEPS.length]!, style: cell },
          { col: 3, value: `设备${(k % 12) + 1}号`, style: cell },
          { col: 4, value: PARAMS[k % PARAMS.length]!, style: cell },
          { col: 5, value: v, numFmt: '#,##0.00', style: ok ? cell : bad },
          { col: 6, value: '70.00 – 95.00', style: cell },
          { col: 7, value: ok ? '合格' : '不合格', style: ok ? cell : bad },
        );
        rows.push({ row: r, cells });
      }
      yield { rows };
    }
  }

  return {
    name: '批次追溯报告',
    page,
    params: { plant: '苏州工厂' },
    styles,
    meta: { mode: 'full', warnings: [], rowCounts: {}, outputRows: {} },
    sheets: (async function* () {
      yield {
        name: '追溯',
        columns: [{ width: 12 }, { width: 14 }, { width: 10 }, { width: 12 }, { width: 10 }, { width: 12 }, { width: 16 }, { width: 10 }],
        frozen: { rows: 1, cols: 0 },
        repeatRows: { first: 0, last: 0 },
        floats: [],
        bands: bands(),
      };
    })(),
  };
}
