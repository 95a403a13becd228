/**
 * What outputs call to draw a chart (implemented in renderer/charts/render.ts):
 *   renderChartSvg(chart: ResolvedChart): string          — ECharts server-side rendering to SVG (HTML, PDF)
 *   renderChartPng(chart: ResolvedChart): Promise<Buffer> — the same chart as a PNG image (XLSX)
 * and what the engine calls to bind a template chart to its rows (renderer/charts/bind.ts):
 *   bindChart(chart: TemplateChart, rows: readonly Row[], params): ResolvedChart
 * Both throw TraceReportError CHART_FAILED with what failed. bind.ts documents the `"=$param"`,
 * `"=max(field)"`, `"=rows"`, `"=nodes(a,b)"` values an option template may use.
 */
export { bindChart } from './bind.js';
export { renderChartPng, renderChartSvg } from './render.js';
