import { Writable } from 'node:stream';
import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';
import { renderHtml, writeHtml } from '../renderer/html/write-html.js';
import { mayOverflow } from '../renderer/html/row-html.js';
import { StyleTable } from '../renderer/style-table.js';
import type { ResolvedReport, ResolvedRow, RowBand } from '../renderer/resolved.js';
import { reportOf, type ReportSpec } from './support/resolved.js';

function dom(html: string): Document {
  return parseHTML(html).document as unknown as Document;
}

const texts = (els: Iterable<Element>) => [...els].map((e) => e.textContent ?? '');

/** A grouped report: header row, then per region a merged region cell over its rows, a subtotal row. */
function grouped(spec: Partial<ReportSpec> = {}): ReportSpec {
  return {
    styles: [{ font: { bold: true, color: '#FFFFFF' }, fill: '#1F4E79', align: 'center' }, { fill: '#FFC7CE', border: 'thin' }],
    sheets: [
      {
        name: 'Sales',
        columns: [{ width: 14 }, { width: 10 }, { width: 12 }],
        frozen: { rows: 1, cols: 0 },
        rows: [
          { row: 0, height: 22, cells: [{ col: 0, value: 'Region', style: 0 }, { col: 1, value: 'Person', style: 0 }, { col: 2, value: 'Qty', style: 0 }] },
          { row: 1, cells: [{ col: 0, value: 'East', rowSpan: 2 }, { col: 1, value: 'Ann' }, { col: 2, value: 1234.5, numFmt: '#,##0.00', style: 1 }] },
          { row: 2, cells: [{ col: 1, value: 'Bob' }, { col: 2, value: 0.25, numFmt: '0.0%' }] },
          { row: 3, cells: [{ col: 0, value: 'Total', colSpan: 2 }, { col: 2, value: new Date(Date.UTC(2024, 2, 5)), numFmt: 'yyyy-mm-dd' }] },
        ],
      },
    ],
    ...spec,
  };
}

describe('HTML output, continuous layout', () => {
  it('draws merges as rowspan/colspan and leaves covered cells out', async () => {
    const { html } = await renderHtml(reportOf(grouped()));
    const doc = dom(html);
    const trs = [...doc.querySelectorAll('tr')];
    expect(trs).toHaveLength(4);
    const east = trs[1]!.querySelector('td')!;
    expect(east.textContent).toBe('East');
    expect(east.getAttribute('rowspan')).toBe('2');
    expect(texts(trs[2]!.querySelectorAll('td'))).toEqual(['Bob', '25.0%']);
    const total = trs[3]!.querySelector('td')!;
    expect(total.getAttribute('colspan')).toBe('2');
    expect(trs[3]!.querySelectorAll('td')).toHaveLength(2);
  });

  it('styles are classes with rules from the style table; numbers and dates are right-aligned', async () => {
    const { html } = await renderHtml(reportOf(grouped()));
    const doc = dom(html);
    const css = texts(doc.querySelectorAll('style')).join('');
    expect(css).toContain('.s0{font-weight:bold;color:#FFFFFF;background:#1F4E79;text-align:center}');
    expect(css).toContain('.s1{background:#FFC7CE;border:1px solid #000}');
    const qty = doc.querySelectorAll('tr')[1]!.querySelectorAll('td')[2]!;
    expect(qty.getAttribute('class')).toBe('n s1');
    expect(doc.querySelectorAll('tr')[0]!.querySelector('td')!.getAttribute('class')).toBe('s0');
    // The alignment classes come before the style rules, so a style's own alignment wins.
    expect(html.indexOf('.n{text-align:right}')).toBeLessThan(html.indexOf('.s0{'));
  });

  it('sets column widths in pixels from Excel character widths, and row heights', async () => {
    const { html } = await renderHtml(reportOf(grouped()));
    const doc = dom(html);
    const cols = [...doc.querySelectorAll('col')].map((c) => c.getAttribute('style'));
    expect(cols).toEqual(['width:103px', 'width:75px', 'width:89px']);
    expect(doc.querySelector('table')!.getAttribute('style')).toBe('width:267px');
    expect(doc.querySelectorAll('tr')[0]!.getAttribute('style')).toBe('height:22pt');
  });

  it('shows values as Excel formats them', async () => {
    const { html } = await renderHtml(reportOf(grouped()));
    const cells = texts(dom(html).querySelectorAll('td'));
    expect(cells).toContain('1,234.50');
    expect(cells).toContain('25.0%');
    expect(cells).toContain('2024-03-05');
  });

  it('puts frozen rows in a sticky thead', async () => {
    const { html } = await renderHtml(reportOf(grouped()));
    const thead = dom(html).querySelector('thead.frozen')!;
    expect(texts(thead.querySelectorAll('td'))).toEqual(['Region', 'Person', 'Qty']);
    expect(html).toContain('thead.frozen{position:sticky');
  });

  it('keeps frozen columns in view (sticky, left offsets from the column widths)', async () => {
    const rep = reportOf({
      sheets: [
        {
          name: 'S',
          frozen: { rows: 0, cols: 2 },
          columns: [{ width: 10 }, { width: 20 }],
          rows: [
            { row: 0, cells: [{ col: 0, value: 'Lot' }, { col: 1, value: 'Product' }, { col: 2, value: 'Qty' }] },
            { row: 1, cells: [{ col: 2, value: 5 }] },
          ],
        },
      ],
    });
    const { html } = await renderHtml(rep);
    const doc = dom(html);
    const table = doc.querySelector('table')!;
    expect(table.className).toBe('tr q0');
    const css = texts(doc.querySelectorAll('style')).join('');
    expect(css).toContain('.q0 .f0{left:0px}.q0 .f1{left:75px}');
    expect(css).toContain('td.fc{position:sticky');
    const [r0, r1] = [...doc.querySelectorAll('tr')];
    expect([...r0!.querySelectorAll('td')].map((t) => t.className)).toEqual(['fc f0', 'fc f1', '']);
    // Empty frozen cells are drawn one by one so they stay opaque over scrolled content.
    expect([...r1!.querySelectorAll('td')].map((t) => t.className)).toEqual(['fc f0', 'fc f1', 'n']);
    // Print has no sideways scrolling.
    expect((await renderHtml(reportOf({ sheets: [{ name: 'S', frozen: { rows: 0, cols: 1 }, rows: [{ row: 0, cells: [{ col: 0, value: 'a' }] }] }] }), { layout: 'print' })).html).not.toContain('fc');
  });

  it('links carry the target report and parameters (href and data attributes); unsafe URLs are not links', async () => {
    const rep = reportOf({
      sheets: [
        {
          name: 'S',
          rows: [
            {
              row: 0,
              cells: [
                { col: 0, value: 'L-001', link: { report: 'lot-detail', params: { lot: 'L-001', line: 'A&B', n: 3 } } },
                { col: 1, value: 'docs', link: { url: 'https://example.test/a?b=1&c=2' } },
                { col: 2, value: 'bad', link: { url: 'javascript:alert(1)' } },
              ],
            },
          ],
        },
      ],
    });
    const doc = dom((await renderHtml(rep, { linkBase: 'https://tr.test' })).html);
    const [a, b] = [...doc.querySelectorAll('a')];
    expect(a!.getAttribute('href')).toBe('https://tr.test/view/lot-detail?lot=L-001&line=A%26B&n=3');
    expect(a!.getAttribute('data-report')).toBe('lot-detail');
    expect(JSON.parse(a!.getAttribute('data-params')!)).toEqual({ lot: 'L-001', line: 'A&B', n: 3 });
    expect(a!.textContent).toBe('L-001');
    expect(b!.getAttribute('href')).toBe('https://example.test/a?b=1&c=2');
    expect(doc.querySelectorAll('a')).toHaveLength(2);
    expect(doc.querySelectorAll('td')[2]!.textContent).toBe('bad');
  });

  it('escapes text, sheet names and titles', async () => {
    const rep = reportOf({
      name: '</title><script>alert(1)</script>',
      sheets: [{ name: '"><script>x()</script>', rows: [{ row: 0, cells: [{ col: 0, value: '<script>alert("x")</script> & <b>' }] }] }],
    });
    const { html } = await renderHtml(rep);
    const doc = dom(html);
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(doc.querySelectorAll('b')).toHaveLength(0);
    expect(doc.querySelector('td')!.textContent).toBe('<script>alert("x")</script> & <b>');
    expect(doc.querySelector('table')!.getAttribute('data-sheet')).toBe('"><script>x()</script>');
  });

  it('keeps columns in place around missing cells and empty rows', async () => {
    const rep = reportOf({ sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: 'a' }] }, { row: 2, cells: [{ col: 3, value: 'd' }] }] }] });
    const doc = dom((await renderHtml(rep)).html);
    const trs = [...doc.querySelectorAll('tr')];
    expect(trs).toHaveLength(3);
    expect(trs[1]!.querySelectorAll('td')).toHaveLength(0);
    // Columns 0..2 are empty (one cell spanning them), then d in column 3.
    const tds = [...trs[2]!.querySelectorAll('td')];
    expect(tds.map((t) => t.getAttribute('colspan'))).toEqual(['3', null]);
    expect(tds[1]!.textContent).toBe('d');
  });

  it('emits rules for styles added while bands stream, before the rows that use them', async () => {
    const styles = new StyleTable();
    styles.intern({ font: { bold: true } });
    async function* bands(): AsyncIterable<RowBand> {
      yield { rows: [{ row: 0, cells: [{ col: 0, value: 'first', style: 0 }] }] };
      const late = styles.intern({ fill: '#00FF00' });
      yield { rows: [{ row: 1, cells: [{ col: 0, value: 'late', style: late }] }] };
    }
    const report: ResolvedReport = {
      name: 'r',
      page: { size: 'A4', orientation: 'portrait', margins: { top: 10, bottom: 10, left: 10, right: 10 } },
      params: {},
      styles,
      meta: { mode: 'streaming', warnings: [], rowCounts: {}, outputRows: {} },
      sheets: (async function* () {
        yield { name: 'S', columns: [], floats: [], bands: bands() };
      })(),
    };
    const { html } = await renderHtml(report);
    expect(html.indexOf('.s1{background:#00FF00}')).toBeGreaterThan(html.indexOf('first'));
    expect(html.indexOf('.s1{background:#00FF00}')).toBeLessThan(html.indexOf('late'));
    expect(dom(html).querySelectorAll('td')[1]!.getAttribute('class')).toBe('s1');
  });

  it('streams to a slow writable, waiting for drain instead of buffering the report', async () => {
    const rows: ResolvedRow[] = Array.from({ length: 3000 }, (_, r) => ({ row: r, cells: [{ col: 0, value: `row ${r}` }, { col: 1, value: r }] }));
    const chunks: string[] = [];
    let maxBuffered = 0;
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        setImmediate(done);
      },
    });
    const watch = setInterval(() => (maxBuffered = Math.max(maxBuffered, out.writableLength)), 0);
    const origWrite = out.write.bind(out);
    out.write = ((c: unknown, ...rest: unknown[]) => {
      const ok = (origWrite as (...a: unknown[]) => boolean)(c, ...rest);
      maxBuffered = Math.max(maxBuffered, out.writableLength);
      return ok;
    }) as typeof out.write;
    await writeHtml(reportOf({ sheets: [{ name: 'S', rows, bandSize: 100 }] }), out);
    clearInterval(watch);
    const html = chunks.join('');
    expect(dom(html).querySelectorAll('tr')).toHaveLength(3000);
    // One band is about 5 kB; without backpressure all 3,000 rows (~150 kB) would queue up.
    expect(maxBuffered).toBeLessThan(20_000);
    expect(out.writableFinished).toBe(true);
  });
});

describe('HTML output, paged layout', () => {
  const many = (): ReportSpec => ({
    styles: [{ font: { bold: true } }],
    sheets: [
      {
        name: 'Lots',
        repeatRows: { first: 0, last: 0 },
        rows: [
          { row: 0, cells: [{ col: 0, value: 'Line', style: 0 }, { col: 1, value: 'Lot', style: 0 }] },
          // Line A spans rows 1..12, across the first page boundary.
          { row: 1, cells: [{ col: 0, value: 'A', rowSpan: 12 }, { col: 1, value: 'lot-1' }] },
          ...Array.from({ length: 11 }, (_, i) => ({ row: i + 2, cells: [{ col: 1, value: `lot-${i + 2}` }] })),
          { row: 13, cells: [{ col: 0, value: 'B' }, { col: 1, value: 'lot-13' }] },
        ],
        bandSize: 13,
      },
    ],
  });

  it('splits into pages of rowsPerPage rows, repeating the header rows on later pages', async () => {
    const { html, pages } = await renderHtml(reportOf(many()), { layout: 'paged', rowsPerPage: 5 });
    // Page 1: header + 4 rows; later pages: header + 4 rows. 14 rows = 5 + 4 + 4 + 1.
    expect(pages).toBe(4);
    const doc = dom(html);
    const tables = [...doc.querySelectorAll('table.page')];
    expect(tables.map((t) => t.getAttribute('data-page'))).toEqual(['1', '2', '3', '4']);
    for (const t of tables) expect(t.querySelector('tr')!.textContent).toBe('LineLot');
    expect(tables.slice(1).every((t) => t.querySelector('thead') !== null)).toBe(true);
    expect(tables.map((t) => t.querySelectorAll('tr').length)).toEqual([5, 5, 5, 2]);
  });

  it('continues a merge across a page boundary, clipped to each page', async () => {
    const doc = dom((await renderHtml(reportOf(many()), { layout: 'paged', rowsPerPage: 5 })).html);
    const [p1, p2, p3, p4] = [...doc.querySelectorAll('table.page')];
    const firstBodyCell = (t: Element) => t.querySelector('tbody tr td')!;
    expect(p1!.querySelectorAll('tr')[1]!.querySelector('td')!.getAttribute('rowspan')).toBe('4');
    expect(firstBodyCell(p2!).textContent).toBe('A');
    expect(firstBodyCell(p2!).getAttribute('rowspan')).toBe('4');
    expect(firstBodyCell(p3!).getAttribute('rowspan')).toBe('4');
    expect(texts(p4!.querySelectorAll('tbody td'))).toEqual(['B', 'lot-13']);
  });

  it('emits only page N and returns the total page count', async () => {
    const { html, pages, complete } = await renderHtml(reportOf(many()), { layout: 'paged', rowsPerPage: 5, page: 3 });
    expect(pages).toBe(4);
    expect(complete).toBe(true);
    const doc = dom(html);
    const tables = [...doc.querySelectorAll('table')];
    expect(tables).toHaveLength(1);
    expect(tables[0]!.getAttribute('data-page')).toBe('3');
    expect(texts(doc.querySelectorAll('tbody tr')).map((t) => t.replace(/^A/, ''))).toEqual(['lot-9', 'lot-10', 'lot-11', 'lot-12']);
    expect(doc.querySelector('thead')!.textContent).toBe('LineLot');
    expect(html).toContain('.s0{font-weight:bold}');
  });

  it('can stop reading after page N when the count is not needed', async () => {
    const r = await renderHtml(reportOf(many()), { layout: 'paged', rowsPerPage: 5, page: 2, countPages: false });
    expect(r.complete).toBe(false);
    expect(r.pages).toBe(3);
    expect(dom(r.html).querySelector('table')!.getAttribute('data-page')).toBe('2');
  });

  it('numbers pages across sheets and derives the page size from the paper when none is given', async () => {
    const rows = Array.from({ length: 120 }, (_, r) => ({ row: r, cells: [{ col: 0, value: r }] }));
    const rep = reportOf({ page: { size: 'A4', orientation: 'portrait' }, sheets: [{ name: 'One', rows }, { name: 'Two', rows: rows.slice(0, 3) }] });
    const { html, pages } = await renderHtml(rep, { layout: 'paged' });
    const tables = [...dom(html).querySelectorAll('table.page')];
    expect(pages).toBe(tables.length);
    const perPage = tables[0]!.querySelectorAll('tr').length;
    expect(perPage).toBeGreaterThan(30);
    expect(perPage).toBeLessThan(60);
    expect(tables.at(-1)!.getAttribute('data-sheet')).toBe('Two');
    expect(tables.at(-1)!.getAttribute('data-page')).toBe(String(pages));
  });
});

describe('HTML output, print layout', () => {
  it('puts repeat rows in thead, title rows before them, and the page setup in @page', async () => {
    const rep = reportOf({
      page: { size: 'A4', orientation: 'landscape', margins: { top: 12, bottom: 14, left: 8, right: 9 } },
      sheets: [
        {
          name: 'S',
          repeatRows: { first: 1, last: 1 },
          rows: [
            { row: 0, cells: [{ col: 0, value: 'Batch report', colSpan: 2 }] },
            { row: 1, cells: [{ col: 0, value: 'Lot' }, { col: 1, value: 'Qty' }] },
            { row: 2, cells: [{ col: 0, value: 'L1' }, { col: 1, value: 5 }] },
          ],
        },
      ],
    });
    const { html } = await renderHtml(rep, { layout: 'print' });
    const doc = dom(html);
    expect(html).toContain('@page{size:A4 landscape;margin:12mm 9mm 14mm 8mm}');
    expect(html).toContain('tr.k{break-inside:avoid}');
    expect(html).toContain('table-layout:fixed');
    const tables = [...doc.querySelectorAll('table')];
    expect(tables).toHaveLength(2);
    expect(tables[0]!.textContent).toBe('Batch report');
    expect(texts(tables[1]!.querySelectorAll('thead td'))).toEqual(['Lot', 'Qty']);
    expect(texts(tables[1]!.querySelectorAll('tbody td'))).toEqual(['L1', '5']);
  });

  it('keeps only rows with wrapped text from splitting across pages', async () => {
    const rep = reportOf({
      styles: [{ wrap: true }],
      sheets: [{ name: 'S', rows: [{ row: 0, cells: [{ col: 0, value: 'one line' }] }, { row: 1, cells: [{ col: 0, value: 'long\nwrapped', style: 0 }] }] }],
    });
    const trs = [...dom((await renderHtml(rep, { layout: 'print' })).html).querySelectorAll('tr')];
    expect(trs.map((t) => t.className)).toEqual(['', 'k']);
  });
});

describe('HTML output, charts', () => {
  const option = { xAxis: { type: 'category', data: ['一月', 'Feb'] }, yAxis: { type: 'value' }, series: [{ type: 'bar', data: [3, 5] }] };

  it('draws a chart cell and a floating chart as inline SVG', async () => {
    const rep = reportOf({
      sheets: [
        {
          name: 'S',
          rows: [
            { row: 0, cells: [{ col: 0, value: 'Trend' }] },
            { row: 1, cells: [{ col: 0, value: null, colSpan: 2, chart: { option, width: 320, height: 200 } }] },
          ],
          floats: [{ row: 3, col: 1, chart: { option, width: 200, height: 120 } }],
        },
      ],
    });
    const doc = dom((await renderHtml(rep)).html);
    const cell = doc.querySelectorAll('tr')[1]!.querySelector('td')!;
    expect(cell.getAttribute('colspan')).toBe('2');
    const svg = cell.querySelector('div.chart svg')!;
    expect(svg.getAttribute('width')).toBe('320');
    expect(svg.textContent).toContain('一月');
    // The float is anchored in row 3, column 1 (an empty cell made for it).
    const row3 = doc.querySelectorAll('tr')[3]!;
    const tds = [...row3.querySelectorAll('td')];
    expect(tds).toHaveLength(2);
    expect(tds[1]!.className).toBe('anchor');
    expect(tds[1]!.querySelector('div.float svg')!.getAttribute('height')).toBe('120');
  });
});

describe('HTML output, clipping', () => {
  it.each([
    // text, cell width px, style, clipped?
    ['12345', 64, undefined, false],
    ['a long product description', 64, undefined, true],
    ['批次追溯', 64, undefined, false], // 4 CJK characters: 53 px
    ['批次追溯报告', 64, undefined, true], // 6: 80 px
    ['批次追溯报告', 103, undefined, false],
    ['ABCDEFGHIJ', 89, undefined, false], // 10 × 0.6 em = 80 px
    ['ABCDEFGHIJ', 89, { font: { bold: true } }, true],
    ['ABCDEFGHIJ', 89, { font: { size: 14 } }, true],
  ] as const)('%s in %i px (style %o): clipped %s', (text, px, style, clipped) => {
    expect(mayOverflow(text, px, style)).toBe(clipped);
  });

  it('clips only cells whose text may not fit their (merged) width, never wrapped ones', async () => {
    const rep = reportOf({
      styles: [{ wrap: true }],
      sheets: [
        {
          name: 'S',
          rows: [
            {
              row: 0,
              cells: [
                { col: 0, value: 'short' },
                { col: 1, value: 'a description that is far too long' },
                { col: 2, value: 'a description that is far too long', colSpan: 6 },
                { col: 8, value: 'a description that is far too long', style: 0 },
              ],
            },
          ],
        },
      ],
    });
    const tds = [...dom((await renderHtml(rep)).html).querySelectorAll('td')];
    expect(tds.map((t) => t.className)).toEqual(['', 'x', '', 's0']);
  });
});

