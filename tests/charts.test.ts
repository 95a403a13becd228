import { describe, expect, it } from 'vitest';
import { DOMParser } from 'linkedom';
import { bindChart } from '../renderer/charts/bind.js';
import { renderChartPng, renderChartSvg } from '../renderer/charts/render.js';
import { isTraceReportError } from '../datasources/errors.js';
import type { TemplateChart } from '../renderer/template/schema.js';
import type { ResolvedChart } from '../renderer/resolved.js';

function chart(option: Record<string, unknown>, dataset?: string, width = 480, height = 300): TemplateChart {
  return { option, width, height, ...(dataset === undefined ? {} : { dataset }) };
}

function svgDoc(svg: string) {
  return new DOMParser().parseFromString(svg, 'image/svg+xml');
}

function texts(svg: string): string[] {
  return [...svgDoc(svg).querySelectorAll('text')].map((t) => t.textContent ?? '');
}

/** The stroked, unfilled paths whose points follow the given x positions: a polyline of the series. */
function polylines(svg: string): string[] {
  return [...svgDoc(svg).querySelectorAll('path')]
    .filter((p) => p.getAttribute('fill') === 'none' && (p.getAttribute('d') ?? '').split('L').length >= 3)
    .map((p) => p.getAttribute('d') ?? '');
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function failure(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isTraceReportError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a failure');
}

const trendRows = [
  { ts: new Date('2026-03-01T08:00:00Z'), value: 81.2 },
  { ts: new Date('2026-03-01T09:00:00Z'), value: 84.9 },
  { ts: new Date('2026-03-01T10:00:00Z'), value: 92.5 },
];

const trendOption = {
  title: { text: '批次 {{lot}} 温度趋势' },
  xAxis: { type: 'category' },
  yAxis: { type: 'value', min: 60 },
  series: [
    {
      type: 'line',
      name: 'temp',
      encode: { x: 'ts', y: 'value' },
      markLine: { symbol: 'none', data: [{ name: 'USL', yAxis: '=$usl' }, { name: 'LSL', yAxis: '=$lsl' }, { name: 'max', yAxis: '=max(value)' }] },
    },
  ],
};

describe('bindChart', () => {
  it('copies the option, binds rows as dataset.source with Dates as ISO strings and interpolates parameters', () => {
    const template = chart(trendOption, 'trend');
    const before = JSON.stringify(template);
    const bound = bindChart(template, trendRows, { lot: 'B-100', usl: 90, lsl: 70 });
    expect(JSON.stringify(template)).toBe(before);
    expect(bound.width).toBe(480);
    expect(bound.height).toBe(300);
    expect(bound.option.dataset).toEqual({
      source: [
        { ts: '2026-03-01T08:00:00.000Z', value: 81.2 },
        { ts: '2026-03-01T09:00:00.000Z', value: 84.9 },
        { ts: '2026-03-01T10:00:00.000Z', value: 92.5 },
      ],
    });
    expect((bound.option.title as { text: string }).text).toBe('批次 B-100 温度趋势');
    const markData = ((bound.option.series as { markLine: { data: { yAxis: unknown }[] } }[])[0]!.markLine.data).map((d) => d.yAxis);
    expect(markData).toEqual([90, 70, 92.5]);
  });

  it.each([
    ['=first(value)', 81.2],
    ['=min(value)', 81.2],
    ['=max(value)', 92.5],
    ['=avg(value)', (81.2 + 84.9 + 92.5) / 3],
    ['=min(missing)', null],
    ['=$nope', null],
    ['=$when', '2026-03-02T00:00:00.000Z'],
    ['= not a ref', '= not a ref'],
    ['{{when}} / {{lines}}', '2026-03-02 / L1, L2'],
  ])('replaces %s', (text, expected) => {
    const bound = bindChart(chart({ v: text }, 'trend'), trendRows, { when: new Date('2026-03-02T00:00:00Z'), lines: ['L1', 'L2'] });
    if (typeof expected === 'number') expect(bound.option.v).toBeCloseTo(expected, 9);
    else expect(bound.option.v).toEqual(expected);
  });

  it('puts the bound rows first when the option has a dataset array with its own sources', () => {
    const option = {
      dataset: [{ source: [{ k: 'spec', v: 1 }] }, { fromDatasetIndex: 0, transform: { type: 'sort', config: { dimension: 'value', order: 'desc' } } }],
      xAxis: { type: 'category' },
      yAxis: {},
      series: [{ type: 'bar', datasetIndex: 0, encode: { x: 'ts', y: 'value' } }, { type: 'bar', datasetIndex: 1, encode: { x: 'k', y: 'v' } }],
    };
    const bound = bindChart(chart(option, 'trend'), trendRows, {});
    const ds = bound.option.dataset as { source?: unknown[] }[];
    expect(ds).toHaveLength(3);
    expect(ds[0]!.source).toHaveLength(3);
    expect(ds[1]!.source).toEqual([{ k: 'spec', v: 1 }]);
    expect(renderChartSvg(bound)).toContain('<svg');
  });

  it('keeps dimensions of an object dataset and leaves a chart without a dataset and rows alone', () => {
    const withDims = bindChart(chart({ dataset: { dimensions: ['ts', 'value'] } }, 'trend'), trendRows, {});
    expect(withDims.option.dataset).toMatchObject({ dimensions: ['ts', 'value'] });
    expect((withDims.option.dataset as { source: unknown[] }).source).toHaveLength(3);
    const noData = bindChart(chart({ series: [{ type: 'pie', data: [{ name: 'a', value: 1 }] }] }), [], {});
    expect(noData.option.dataset).toBeUndefined();
  });

  it('gives Sankey links and nodes from rows with =rows and =nodes(...)', () => {
    const rows = [
      { source: 'RM-1', target: 'WIP-1', value: 10 },
      { source: 'WIP-1', target: 'FG-1', value: 8 },
      { source: 'FG-1', target: 'Customer A', value: 5 },
    ];
    const bound = bindChart(chart({ series: [{ type: 'sankey', data: '=nodes(source, target)', links: '=rows' }] }, 'flow'), rows, {});
    const s = (bound.option.series as { data: unknown; links: unknown }[])[0]!;
    expect(s.data).toEqual([{ name: 'RM-1' }, { name: 'WIP-1' }, { name: 'FG-1' }, { name: 'Customer A' }]);
    expect(s.links).toEqual(rows);
  });

  it('refuses a broken handlebars text with CHART_FAILED naming the option path', () => {
    const f = failure(() => bindChart(chart({ title: { text: 'Lot {{#if lot}}' } }), [], { lot: 'x' }));
    expect(f.code).toBe('CHART_FAILED');
    expect(f.message).toContain('option.title.text');
  });
});

describe('renderChartSvg', () => {
  it('draws a line chart of three points, its mark lines, and the interpolated Chinese title', () => {
    const svg = renderChartSvg(bindChart(chart(trendOption, 'trend', 900, 300), trendRows, { lot: 'B-100', usl: 90, lsl: 70 }));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('width="900"');
    const t = texts(svg);
    expect(t).toContain('批次 B-100 温度趋势');
    // category labels are the ISO timestamps of the three rows
    expect(t.filter((x) => x.startsWith('2026-03-01T'))).toHaveLength(3);
    // the series: one polyline through three points (M + 2 L)
    const lines = polylines(svg).filter((d) => (d.match(/L/g) ?? []).length === 2 && d.startsWith('M'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    // mark lines carry their values as labels
    expect(t).toEqual(expect.arrayContaining(['90', '70']));
    // no animation state left in the output
    expect(svg).not.toContain('@keyframes');
  });

  it('draws a Sankey with its nodes labelled', () => {
    const rows = [
      { source: 'RM-000056', target: 'WIP-1', value: 10 },
      { source: 'RM-2', target: 'WIP-1', value: 4 },
      { source: 'WIP-1', target: 'FG-1', value: 8 },
      { source: 'FG-1', target: '客户 A', value: 5 },
    ];
    const svg = renderChartSvg(bindChart(chart({ series: [{ type: 'sankey', data: '=nodes(source,target)', links: '=rows' }] }, 'flow', 600, 400), rows, {}));
    expect(texts(svg)).toEqual(expect.arrayContaining(['RM-000056', 'RM-2', 'WIP-1', 'FG-1', '客户 A']));
    // one filled band per link
    const bands = [...svgDoc(svg).querySelectorAll('path')].filter((p) => (p.getAttribute('d') ?? '').includes('C'));
    expect(bands.length).toBeGreaterThanOrEqual(4);
  });

  it.each<[string, ResolvedChart, string]>([
    ['an unknown series type', { option: { xAxis: {}, yAxis: {}, series: [{ type: 'nope' }] }, width: 100, height: 100 }, '"nope"'],
    ['a series without a type', { option: { series: [{ data: [1] }] }, width: 100, height: 100 }, 'no type'],
    ['a cartesian series without axes', { option: { series: [{ type: 'line', data: [1, 2] }] }, width: 100, height: 100 }, 'series line'],
    ['a Sankey with a cycle', { option: { series: [{ type: 'sankey', data: [{ name: 'a' }, { name: 'b' }], links: [{ source: 'a', target: 'b', value: 1 }, { source: 'b', target: 'a', value: 1 }] }] }, width: 100, height: 100 }, 'cycle'],
    ['a zero width', { option: {}, width: 0, height: 100 }, 'width'],
  ])('fails with CHART_FAILED on %s', (_name, bad, mention) => {
    const f = failure(() => renderChartSvg(bad));
    expect(f.code).toBe('CHART_FAILED');
    expect(f.message).toContain(mention);
  });
});

describe('renderChartPng', () => {
  it('gives a PNG of the requested size', async () => {
    const png = await renderChartPng(bindChart(chart(trendOption, 'trend', 640, 360), trendRows, { lot: '批次-1', usl: 90, lsl: 70 }));
    expect(pngSize(png)).toEqual({ width: 640, height: 360 });
  });

  it('draws Chinese text with real glyphs: two different words give different images (missing glyphs would be identical boxes)', async () => {
    const word = (text: string): ResolvedChart => ({ option: { title: { text, left: 'center', top: 'middle', textStyle: { fontSize: 40, color: '#000' } } }, width: 120, height: 80 });
    const a = await renderChartPng(word('温度'));
    const b = await renderChartPng(word('压力'));
    const blank = await renderChartPng(word(''));
    expect(pngSize(a)).toEqual({ width: 120, height: 80 });
    expect(a.equals(b)).toBe(false);
    expect(a.equals(blank)).toBe(false);
  });

  it('fails with CHART_FAILED on a bad option', async () => {
    await expect(renderChartPng({ option: { series: [{ type: 'nope' }] }, width: 10, height: 10 })).rejects.toMatchObject({ code: 'CHART_FAILED' });
  });
});

describe('chart markup safety', () => {
  it('a parameter in a colour or font cannot break out of the SVG attribute', async () => {
    const { bindChart } = await import('../renderer/charts/bind.js');
    const { renderChartSvg } = await import('../renderer/charts/render.js');
    const evil = '#f00" onload="alert(1)"><script>alert(2)</script>';
    const chart = bindChart(
      {
        width: 300,
        height: 200,
        option: {
          title: { text: 'T {{c}}', textStyle: { color: '{{c}}', fontFamily: '{{c}}' } },
          xAxis: { type: 'category' },
          yAxis: { type: 'value' },
          series: [{ type: 'line', encode: { x: 'k', y: 'v' }, itemStyle: { color: '=$c' } }],
        },
      },
      [{ k: 'a', v: 1 }, { k: 'b', v: 2 }],
      { c: evil },
    );
    const svg = renderChartSvg(chart);
    expect(svg).not.toContain('<script');
    expect(svg).not.toMatch(/"\s*onload=/); // the value stays inside its attribute
    expect(svg).toContain('stroke="#f00 onload=alert(1)scriptalert(2)/script"');
    expect(svg).toContain('T #f00'); // the title text itself keeps the value, escaped by ECharts
  });
});
