/**
 * The report's page setup as Excel print settings: paper size, orientation, margins (millimetres →
 * inches), print titles (rows repeated on every printed page) and header/footer text, where
 * `{{page}}` and `{{pages}}` become Excel's page-number codes and the other handlebars expressions
 * see the report's parameters.
 */
import type ExcelJS from 'exceljs';
import Handlebars from 'handlebars';
import { TraceReportError } from '../../datasources/errors.js';
import { formatValue } from '../format/number-format.js';
import type { CellValue, PageSetup } from '../resolved.js';

/** Excel paper size codes (ECMA-376 ST_PaperSize). */
const PAPER_SIZE: Record<PageSetup['size'], number> = { Letter: 1, Legal: 5, A3: 8, A4: 9, A5: 11 };

const MM_PER_INCH = 25.4;
/** Header/footer distance from the page edge: Excel's default. */
const HEADER_FOOTER_INCHES = 0.3;

const hb = Handlebars.create();

/**
 * Print settings for one worksheet. `titleRows` are 1-based worksheet rows repeated at the top of
 * every printed page.
 */
export function xlsxPageSetup(page: PageSetup, titleRows?: { first: number; last: number }): Partial<ExcelJS.PageSetup> {
  const inches = (mm: number) => Math.round((mm / MM_PER_INCH) * 10_000) / 10_000;
  const setup: Partial<ExcelJS.PageSetup> = {
    paperSize: PAPER_SIZE[page.size] as ExcelJS.PageSetup['paperSize'],
    orientation: page.orientation,
    margins: {
      top: inches(page.margins.top),
      bottom: inches(page.margins.bottom),
      left: inches(page.margins.left),
      right: inches(page.margins.right),
      header: Math.min(HEADER_FOOTER_INCHES, inches(page.margins.top)),
      footer: Math.min(HEADER_FOOTER_INCHES, inches(page.margins.bottom)),
    },
  };
  if (titleRows) setup.printTitlesRow = `${titleRows.first}:${titleRows.last}`;
  return setup;
}

/** Header and footer (centred) in Excel's header/footer code syntax. */
export function xlsxHeaderFooter(page: PageSetup, params: Readonly<Record<string, unknown>>): Partial<ExcelJS.HeaderFooter> {
  const out: Partial<ExcelJS.HeaderFooter> = {};
  const header = page.header ? headerFooterText(page.header, params, 'page.header') : '';
  const footer = page.footer ? headerFooterText(page.footer, params, 'page.footer') : '';
  if (header) out.oddHeader = `&C${header}`;
  if (footer) out.oddFooter = `&C${footer}`;
  return out;
}

/**
 * Handlebars text as Excel header/footer codes. `&` starts a code in Excel, so literal ampersands
 * (in the text and in parameter values) are doubled; `{{page}}` → `&P`, `{{pages}}` → `&N`.
 */
export function headerFooterText(template: string, params: Readonly<Record<string, unknown>>, where = 'page.footer'): string {
  const context: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) context[k] = escapeAmp(paramText(v));
  context.page = '&P';
  context.pages = '&N';
  try {
    return hb.compile(escapeAmp(template), { noEscape: true, strict: false })(context);
  } catch (e) {
    throw new TraceReportError('TEMPLATE_INVALID', `${where}: ${JSON.stringify(template)} is not a valid handlebars text (${(e as Error).message.split('\n')[0]}); write {{page}}, {{pages}} or {{parameter}}`, { path: where }, { cause: e });
  }
}

const escapeAmp = (s: string) => s.replace(/&/g, '&&');

function paramText(v: unknown): string {
  if (Array.isArray(v)) return v.map(paramText).join(', ');
  if (v === null || v === undefined) return '';
  if (v instanceof Date || typeof v === 'number' || typeof v === 'boolean') return formatValue(v as CellValue);
  return String(v);
}
