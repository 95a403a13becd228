/**
 * What the XLSX output needs from exceljs's streaming WorkbookWriter (4.4.0) beyond its public API,
 * in one place so a version change is checked here (tests/xlsx-output.test.ts reads every feature back):
 *
 * - Rows written as XML (row-xml.ts) straight into the worksheet's stream, instead of Row and Cell
 *   objects: `startSheetData` writes the columns and opens `<sheetData>` as the writer's first row would;
 *   cell styles are indexes from the workbook's style table (`styleIndex`).
 * - Merges recorded for `<mergeCells>` without the public `mergeCells` (which checks every earlier merge
 *   of the sheet: quadratic, and needs Cell objects). Resolved merges never overlap by construction.
 * - The amount of worksheet XML waiting for the zip (`zipBacklog`), since the worksheet stream ignores
 *   backpressure.
 * - Hyperlinks on typed cells: the public route (`{text, hyperlink}` values) turns numbers and dates
 *   into text; the sheet's relationship writer takes a hyperlink for any cell address.
 * - Images: the streaming writer has no `worksheet.addImage` (exceljs issues #322, #1709; the README
 *   says images are not supported in streaming mode). `workbook.addImage` stores the media; this module
 *   writes the drawing part (one `oneCellAnchor` picture per image), its relationships, the sheet's
 *   `<drawing>` element and the content type the writer leaves out.
 */
import { createRequire } from 'node:module';
import ExcelJS from 'exceljs';

const require = createRequire(import.meta.url);

export type WorkbookWriter = ExcelJS.stream.xlsx.WorkbookWriter;
export type WorksheetWriter = ExcelJS.Worksheet;

interface ZipLike {
  append(source: string | Buffer, data: { name: string }): void;
}
interface WorkbookInternals {
  zip: ZipLike;
  media: unknown[];
  _worksheets: unknown[];
  sharedStrings: unknown;
  commentRefs: unknown[];
  addContentTypes(): Promise<void>;
  styles: { addStyleModel(style: Partial<ExcelJS.Style>, cellType: ExcelJS.ValueType): number };
}
interface SheetRelsWriter {
  addHyperlink(h: { address: string; target: string }): void;
  addRelationship(rel: { Type: string; Target: string }): string;
}
interface WorksheetInternals {
  _merges: unknown[];
  _sheetRelsWriter: SheetRelsWriter;
  _writeLegacyData(): void;
  _writeColumns(): void;
  _writeOpenSheetData(): void;
  startedData: boolean;
  stream: {
    write(s: string): void;
    /** Where the worksheet's StreamBuf writes (archiver's PassThrough for the entry), ignoring their backpressure. */
    pipes: { _writableState?: { length: number }; _readableState?: { length: number } }[];
    /** Data not yet handed on (before archiver starts the entry). */
    buffers: { length: number }[];
  };
}

const DRAWING_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing';
const IMAGE_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/image';
/** English Metric Units per pixel at 96 dpi. */
const EMU_PER_PX = 9525;

/** Hyperlink on any cell, keeping the cell's value and type. */
export function addHyperlink(ws: WorksheetWriter, address: string, target: string): void {
  (ws as unknown as WorksheetInternals)._sheetRelsWriter.addHyperlink({ address, target });
}

/** Records a merged range (`A1:B3`) for the worksheet's `<mergeCells>`. */
export function addMerge(ws: WorksheetWriter, range: string): void {
  (ws as unknown as WorksheetInternals)._merges.push(range);
}

/** Writes the column settings and opens `<sheetData>`; set the columns first. */
export function startSheetData(ws: WorksheetWriter): void {
  const sheet = ws as unknown as WorksheetInternals;
  sheet._writeColumns();
  sheet._writeOpenSheetData();
  sheet.startedData = true;
}

/** Appends `<row>` elements to the worksheet's `<sheetData>` (after startSheetData). */
export function writeSheetXml(ws: WorksheetWriter, xml: string): void {
  (ws as unknown as WorksheetInternals).stream.write(xml);
}

/**
 * Bytes of worksheet XML written but not yet compressed. exceljs's worksheet stream hands data on
 * without waiting (it ignores backpressure), so a writer faster than the zip would pile the whole
 * sheet up in memory; the XLSX output waits while this is large.
 */
export function zipBacklog(ws: WorksheetWriter): number {
  const stream = (ws as unknown as WorksheetInternals).stream;
  let n = 0;
  // archiver's PassThrough comes from an old readable-stream without writableLength/readableLength.
  for (const p of stream.pipes) n += (p._writableState?.length ?? 0) + (p._readableState?.length ?? 0);
  for (const b of stream.buffers) n += b.length;
  return n;
}

/** The index of a style in the workbook's style table (cellXfs), adding it when new. */
export function styleIndex(workbook: WorkbookWriter, style: Partial<ExcelJS.Style>): number {
  return (workbook as unknown as WorkbookInternals).styles.addStyleModel(style, ExcelJS.ValueType.Number);
}

export interface SheetImage {
  /** 0-based worksheet row and column of the top-left corner. */
  readonly row: number;
  readonly col: number;
  /** Pixels. */
  readonly width: number;
  readonly height: number;
  readonly png: Buffer;
}

/** Pictures in worksheets of a streaming workbook (call `attach` before the worksheet is committed). */
export class StreamingDrawings {
  private readonly drawings: { name: string }[] = [];

  constructor(private readonly workbook: WorkbookWriter) {
    const wb = workbook as unknown as WorkbookInternals;
    const ContentTypesXform = require('exceljs/lib/xlsx/xform/core/content-types-xform.js') as new () => { toXml(model: unknown): string };
    const drawings = this.drawings;
    wb.addContentTypes = function addContentTypes(this: WorkbookInternals) {
      const xml = new ContentTypesXform().toXml({
        worksheets: this._worksheets.filter(Boolean),
        sharedStrings: this.sharedStrings,
        commentRefs: this.commentRefs,
        media: this.media,
        drawings,
      });
      this.zip.append(xml, { name: '[Content_Types].xml' });
      return Promise.resolve();
    };
  }

  /** Adds the images to the worksheet as one drawing; the worksheet's `<drawing>` is written when it is committed. */
  attach(ws: WorksheetWriter, images: readonly SheetImage[]): void {
    if (images.length === 0) return;
    const wb = this.workbook as unknown as WorkbookInternals;
    const name = `drawing${this.drawings.length + 1}`;
    this.drawings.push({ name });
    const rels: string[] = [];
    const anchors: string[] = [];
    images.forEach((img, i) => {
      const id = this.workbook.addImage({ buffer: img.png as unknown as ExcelJS.Buffer, extension: 'png' });
      const rId = `rId${i + 1}`;
      rels.push(`<Relationship Id="${rId}" Type="${IMAGE_REL}" Target="../media/image${id}.png"/>`);
      anchors.push(anchorXml(img, i + 2, rId));
    });
    wb.zip.append(
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rels.join('')}</Relationships>`,
      { name: `xl/drawings/_rels/${name}.xml.rels` },
    );
    wb.zip.append(
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">${anchors.join('')}</xdr:wsDr>`,
      { name: `xl/drawings/${name}.xml` },
    );
    const sheet = ws as unknown as WorksheetInternals;
    const writeLegacyData = sheet._writeLegacyData.bind(sheet);
    // `<drawing>` comes right before `<legacyDrawing>` in a worksheet (ECMA-376 CT_Worksheet order).
    sheet._writeLegacyData = () => {
      const rId = sheet._sheetRelsWriter.addRelationship({ Type: DRAWING_REL, Target: `../drawings/${name}.xml` });
      sheet.stream.write(`<drawing r:id="${rId}"/>`);
      writeLegacyData();
    };
  }
}

function anchorXml(img: SheetImage, shapeId: number, rId: string): string {
  const cx = Math.round(img.width * EMU_PER_PX);
  const cy = Math.round(img.height * EMU_PER_PX);
  return (
    '<xdr:oneCellAnchor>' +
    `<xdr:from><xdr:col>${img.col}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>${img.row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>` +
    `<xdr:ext cx="${cx}" cy="${cy}"/>` +
    '<xdr:pic>' +
    `<xdr:nvPicPr><xdr:cNvPr id="${shapeId}" name="Chart ${shapeId - 1}"/><xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr>` +
    `<xdr:blipFill><a:blip xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:embed="${rId}"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>` +
    `<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="${cx}" cy="${cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>` +
    '</xdr:pic>' +
    '<xdr:clientData/>' +
    '</xdr:oneCellAnchor>'
  );
}
