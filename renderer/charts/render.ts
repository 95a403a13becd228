/**
 * Draws a bound chart (renderer/charts/bind.ts) with ECharts' server-side rendering: SVG for HTML and
 * PDF, and the same SVG rasterised to PNG (resvg) for XLSX. Each call makes and disposes its own
 * ECharts instance; nothing is kept between calls but the list of font files found once.
 */
import { existsSync } from 'node:fs';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import * as echarts from 'echarts';
import { TraceReportError } from '../../datasources/errors.js';
import type { ResolvedChart } from '../resolved.js';

/**
 * Chart text: DejaVu Sans for Latin text, Noto Sans CJK SC for what DejaVu lacks (Chinese). The order
 * matters for PNG speed: resvg re-reads a font file (Noto CJK is a 20 MB collection) for every text it
 * shapes with it, about 65 ms a label, so only labels with CJK characters should reach it. Single
 * quotes: ECharts writes the list into a double-quoted style attribute.
 */
export const CHART_FONT_FAMILIES = "'DejaVu Sans', 'Noto Sans CJK SC', sans-serif";
const LATIN_FAMILY = 'DejaVu Sans';

export function renderChartSvg(chart: ResolvedChart): string {
  checkSize(chart);
  checkSeriesTypes(chart.option);
  const instance = echarts.init(null, null, { renderer: 'svg', ssr: true, width: chart.width, height: chart.height });
  try {
    const base = { textStyle: { fontFamily: CHART_FONT_FAMILIES } };
    instance.setOption({ ...base, ...chart.option, textStyle: { ...base.textStyle, ...asObject(chart.option.textStyle) }, animation: false });
    return instance.renderToSVGString();
  } catch (e) {
    if (e instanceof TraceReportError) throw e;
    throw new TraceReportError(
      'CHART_FAILED',
      `the chart (${describe(chart.option)}) could not be drawn: ${(e as Error).message}. Check the chart's ECharts option (axes for cartesian series, series types, data).`,
      { series: seriesTypes(chart.option) },
      { cause: e },
    );
  } finally {
    instance.dispose();
  }
}

export async function renderChartPng(chart: ResolvedChart): Promise<Buffer> {
  const svg = renderChartSvg(chart);
  try {
    const image = new Resvg(svg, pngOptions(chart)).render();
    return image.asPng();
  } catch (e) {
    throw new TraceReportError('CHART_FAILED', `the chart (${describe(chart.option)}) could not be turned into a PNG image: ${(e as Error).message}`, undefined, { cause: e });
  }
}

let fontFiles: string[] | undefined;

/** The DejaVu and Noto CJK files when installed (found once); otherwise resvg scans the system fonts as well. */
function pngOptions(chart: ResolvedChart): ResvgRenderOptions {
  fontFiles ??= [
    '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
    '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc',
    '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  ].filter((f) => existsSync(f));
  const complete = fontFiles.length === 4;
  return {
    fitTo: { mode: 'width', value: chart.width },
    background: 'white',
    font: {
      loadSystemFonts: !complete,
      fontFiles,
      defaultFontFamily: LATIN_FAMILY,
      sansSerifFamily: LATIN_FAMILY,
    },
    logLevel: 'off',
  };
}

function checkSize(chart: ResolvedChart): void {
  for (const k of ['width', 'height'] as const) {
    const v = chart[k];
    if (!Number.isInteger(v) || v <= 0 || v > 10000) {
      throw new TraceReportError('CHART_FAILED', `chart ${k} must be a whole number of pixels from 1 to 10000, got ${String(v)}`);
    }
  }
}

/** ECharts' class registry (present at runtime, not in its type declarations). */
const seriesClasses = echarts.ComponentModel as unknown as { getClass(main: string, sub: string, throwWhenNotFound: boolean): unknown };

/** ECharts only warns about an unknown series type and then fails with an unrelated TypeError. */
function checkSeriesTypes(option: Record<string, unknown>): void {
  for (const [i, type] of seriesTypes(option).entries()) {
    if (type === '') throw new TraceReportError('CHART_FAILED', `series ${i} of the chart has no type; give it one such as "line", "bar" or "sankey"`, { series: i });
    if (!seriesClasses.getClass('series', type, false)) {
      throw new TraceReportError('CHART_FAILED', `the chart has a series of type "${type}", which ECharts does not know; use line, bar, scatter, pie, sankey, boxplot, ...`, { series: type });
    }
  }
}

function seriesTypes(option: Record<string, unknown>): string[] {
  const series = option.series;
  const list = Array.isArray(series) ? series : series === undefined ? [] : [series];
  return list.map((s) => {
    const t = asObject(s).type;
    return typeof t === 'string' ? t : '';
  });
}

function describe(option: Record<string, unknown>): string {
  const title = asObject(Array.isArray(option.title) ? option.title[0] : option.title).text;
  const types = seriesTypes(option);
  const parts = [typeof title === 'string' && title !== '' ? `"${title}"` : '', types.length > 0 ? `series ${types.join(', ')}` : 'no series'];
  return parts.filter(Boolean).join(', ');
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
