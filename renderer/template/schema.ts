/**
 * The template format, version 1: the public contract of a report (docs/template-format.md).
 * Everything that enters as a template is checked against these schemas; the inferred types are
 * what the rest of the renderer works with.
 */
import { z } from 'zod';

export const CURRENT_FORMAT = 1;

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name of letters, digits and _ that does not start with a digit');

/** An A1 cell address such as `B3` (no `$`, no sheet). */
export const cellAddress = z.string().regex(/^[A-Z]{1,3}[1-9][0-9]{0,6}$/, 'a cell address such as B3');
/** A range such as `A2:B3`. */
export const cellRange = z
  .string()
  .regex(/^[A-Z]{1,3}[1-9][0-9]{0,6}:[A-Z]{1,3}[1-9][0-9]{0,6}$/, 'a cell range such as A2:B3');
const colour = z.string().regex(/^#[0-9A-Fa-f]{6}$/, 'a colour such as #1F4E79');

// ---------------------------------------------------------------- parameters

export const parameterType = z.enum(['string', 'number', 'date', 'datetime', 'boolean']);
export type ParameterType = z.infer<typeof parameterType>;

const literal = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type Literal = z.infer<typeof literal>;

/** Values (and labels) taken from a dataset: the dataset may use the other parameters (cascading). */
const fromDataset = z.strictObject({
  dataset: identifier,
  value: z.string().optional(),
  label: z.string().optional(),
});

const localizedText = z.union([z.string(), z.strictObject({ en: z.string().optional(), zh: z.string().optional() })]);

export const parameterSchema = z.strictObject({
  name: identifier,
  type: parameterType.default('string'),
  label: localizedText.optional(),
  multi: z.boolean().default(false),
  required: z.boolean().default(false),
  /** A literal (a list when multi) or the first row(s) of a dataset. */
  default: z.union([literal, z.array(literal), fromDataset]).optional(),
  /** Allowed values: a list, or a dataset (optionally depending on other parameters). */
  options: z
    .union([z.array(z.union([literal, z.strictObject({ value: literal, label: z.string().optional() })])), fromDataset])
    .optional(),
  /** Widget hint for the viewer: text, number, date, daterange, select, multiselect. */
  widget: z.enum(['text', 'number', 'date', 'daterange', 'select', 'multiselect', 'checkbox']).optional(),
});
export type TemplateParameter = z.infer<typeof parameterSchema>;

// ---------------------------------------------------------------- datasets

export const sqlDatasetSchema = z.strictObject({
  name: identifier,
  /** Name of a data source; `trace` is the trace store. */
  source: z.string().min(1),
  sql: z.string().min(1),
  /** Seconds a result may be served from the query cache (server). */
  cacheTtl: z.number().int().nonnegative().optional(),
});
export const inlineDatasetSchema = z.strictObject({
  name: identifier,
  rows: z.array(z.record(z.string(), z.unknown())),
});
export const datasetSchema = z.union([sqlDatasetSchema, inlineDatasetSchema]);
export type SqlDataset = z.infer<typeof sqlDatasetSchema>;
export type InlineDataset = z.infer<typeof inlineDatasetSchema>;
export type TemplateDataset = z.infer<typeof datasetSchema>;

// ---------------------------------------------------------------- styles

const borderStyle = z.enum(['thin', 'medium', 'thick', 'dashed', 'dotted', 'double']);
const borderLine = z.strictObject({
  style: borderStyle.default('thin'),
  color: colour.optional(),
});
export const styleSchema = z.strictObject({
  font: z
    .strictObject({
      bold: z.boolean().optional(),
      italic: z.boolean().optional(),
      underline: z.boolean().optional(),
      color: colour.optional(),
      /** Points. */
      size: z.number().positive().optional(),
      name: z.string().optional(),
    })
    .optional(),
  fill: colour.optional(),
  align: z.enum(['left', 'center', 'right']).optional(),
  valign: z.enum(['top', 'middle', 'bottom']).optional(),
  wrap: z.boolean().optional(),
  /** `"thin"` etc. for all four sides, or one line per side. */
  border: z
    .union([
      borderStyle,
      z.strictObject({
        top: borderLine.optional(),
        bottom: borderLine.optional(),
        left: borderLine.optional(),
        right: borderLine.optional(),
      }),
    ])
    .optional(),
});
export type CellStyle = z.infer<typeof styleSchema>;

// ---------------------------------------------------------------- charts

/**
 * An ECharts option template. The rows of `dataset` (those in the cell's context, for a chart in a
 * grid cell) are given to ECharts as `option.dataset.source`, so series bind fields with `encode`.
 * String values in the option may use `{{param}}` handlebars interpolation.
 */
export const chartSchema = z.strictObject({
  dataset: identifier.optional(),
  option: z.record(z.string(), z.unknown()),
  /** Pixels. */
  width: z.number().int().positive().default(480),
  height: z.number().int().positive().default(300),
});
export type TemplateChart = z.infer<typeof chartSchema>;

// ---------------------------------------------------------------- cells

export const aggregateSchema = z.enum(['sum', 'count', 'countDistinct', 'avg', 'min', 'max']);
export type Aggregate = z.infer<typeof aggregateSchema>;

export const linkSchema = z.union([
  z.strictObject({
    /** Name of the target report. */
    report: z.string().min(1),
    /** Target parameter → value: a literal, or a formula (`=B3`) evaluated in the cell's context. */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  }),
  z.strictObject({ url: z.string().min(1) }),
]);
export type TemplateLink = z.infer<typeof linkSchema>;

export const conditionSchema = z.strictObject({
  /** A formula (`=C2>100`, `=D3>$usl`); the style applies where it is true. */
  when: z.string().regex(/^=/, 'a formula starting with ='),
  style: z.string(),
});

const fieldRef = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[^.\s]+$/, 'dataset.field, such as ds1.region');
const parentRef = z.union([cellAddress, z.literal('none')]);

export const cellSchema = z
  .strictObject({
    /** Static text; may use `{{param}}` handlebars interpolation. */
    text: z.string().optional(),
    /** A data column: `dataset.field`. */
    field: fieldRef.optional(),
    /** An Excel formula, starting with `=`. */
    formula: z.string().regex(/^=/, 'a formula starting with =').optional(),
    /** A chart drawn in this cell (over its merge area when merged). */
    chart: chartSchema.optional(),
    expand: z.enum(['down', 'right', 'none']).optional(),
    display: z.enum(['group', 'list', 'summary']).optional(),
    /** Group only consecutive runs of equal values (streams). */
    adjacent: z.boolean().optional(),
    aggregate: aggregateSchema.optional(),
    leftParent: parentRef.optional(),
    topParent: parentRef.optional(),
    /** A condition against a parent from another dataset: `orders.customer_id = customers.id`. */
    filter: z.string().optional(),
    /** Name of a style in `styles`. */
    style: z.string().optional(),
    /** Excel number format code. */
    numFmt: z.string().optional(),
    conditions: z.array(conditionSchema).optional(),
    link: linkSchema.optional(),
  })
  .superRefine((cell, ctx) => {
    const kinds = (['text', 'field', 'formula', 'chart'] as const).filter((k) => cell[k] !== undefined);
    if (kinds.length > 1) {
      ctx.addIssue({ code: 'custom', message: `a cell holds one of text, field, formula or chart, not ${kinds.join(' and ')}` });
    }
    if (cell.field === undefined) {
      for (const k of ['expand', 'display', 'adjacent', 'aggregate', 'filter'] as const) {
        if (cell[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} applies only to a data column (field)` });
      }
    }
    if (cell.display === 'summary' && cell.aggregate === undefined) {
      ctx.addIssue({ code: 'custom', path: ['aggregate'], message: 'a summary cell needs aggregate: sum, count, countDistinct, avg, min or max' });
    }
    if (cell.aggregate !== undefined && cell.display !== 'summary') {
      ctx.addIssue({ code: 'custom', path: ['display'], message: 'aggregate needs display: "summary"' });
    }
  });
export type TemplateCell = z.infer<typeof cellSchema>;

export const floatSchema = z.strictObject({
  /** Top-left cell the element is anchored to (it moves with expansion above/left of it). */
  anchor: cellAddress,
  chart: chartSchema,
});
export type TemplateFloat = z.infer<typeof floatSchema>;

export const sheetSchema = z.strictObject({
  name: z.string().min(1).max(31),
  /** Column letter → width in characters (Excel units). */
  columns: z
    .record(z.string().regex(/^[A-Z]{1,3}$/, 'a column letter such as A'), z.strictObject({ width: z.number().positive().optional(), hidden: z.boolean().optional() }))
    .default({}),
  /** Row number → height in points. */
  rows: z.record(z.string().regex(/^[1-9][0-9]*$/, 'a row number such as 1'), z.strictObject({ height: z.number().positive().optional() })).default({}),
  merges: z.array(cellRange).default([]),
  cells: z.record(cellAddress, cellSchema),
  floats: z.array(floatSchema).default([]),
  /** Top-left cell of the scrolling area (Excel "freeze panes"): `A2` freezes row 1. */
  freeze: cellAddress.optional(),
  /** This sheet's rows repeated at the top of every printed page, such as `3:3` (default: page.repeatRows). */
  repeatRows: z.string().regex(/^[1-9][0-9]*:[1-9][0-9]*$/, 'rows such as 1:2').optional(),
});
export type TemplateSheet = z.infer<typeof sheetSchema>;

export const pageSchema = z.strictObject({
  size: z.enum(['A3', 'A4', 'A5', 'Letter', 'Legal']).default('A4'),
  orientation: z.enum(['portrait', 'landscape']).default('portrait'),
  /** Millimetres. */
  margins: z
    .strictObject({ top: z.number().nonnegative(), bottom: z.number().nonnegative(), left: z.number().nonnegative(), right: z.number().nonnegative() })
    .default({ top: 15, bottom: 15, left: 10, right: 10 }),
  /** Template rows repeated at the top of every printed page, such as `1:2`. */
  repeatRows: z.string().regex(/^[1-9][0-9]*:[1-9][0-9]*$/, 'rows such as 1:2').optional(),
  /** Handlebars text with `{{page}}`, `{{pages}}` and the parameters. */
  header: z.string().optional(),
  footer: z.string().optional(),
  /** Rows per HTML viewer page when paging is not by the printed page. */
  rowsPerPage: z.number().int().positive().optional(),
});
export type PageSetup = z.infer<typeof pageSchema>;

const common = {
  format: z.literal(CURRENT_FORMAT),
  name: z.string().min(1),
  description: z.string().optional(),
  parameters: z.array(parameterSchema).default([]),
  datasets: z.array(datasetSchema).default([]),
};

export const gridTemplateSchema = z.strictObject({
  ...common,
  kind: z.literal('grid'),
  styles: z.record(z.string(), styleSchema).default({}),
  sheets: z.array(sheetSchema).min(1),
  page: pageSchema.default(pageSchema.parse({})),
});
export type GridTemplate = z.infer<typeof gridTemplateSchema>;

/** A handlebars HTML document (certificate of analysis, batch record) over the same datasets and parameters. */
export const documentTemplateSchema = z.strictObject({
  ...common,
  kind: z.literal('document'),
  /** Handlebars HTML; sees `params`, and each dataset's rows by its name (`{{#each ds1}}`). */
  html: z.string().min(1),
  css: z.string().optional(),
  page: pageSchema.default(pageSchema.parse({})),
});
export type DocumentTemplate = z.infer<typeof documentTemplateSchema>;

export const templateSchema = z.discriminatedUnion('kind', [gridTemplateSchema, documentTemplateSchema]);
export type Template = z.infer<typeof templateSchema>;
