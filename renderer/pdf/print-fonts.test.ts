import { describe, expect, it } from 'vitest';
import { marginTemplate, PRINT_FONT_FACES, withPrintFonts } from './print-pdf.js';

/**
 * Printing takes Chinese from the regular Noto CJK face only (docs/performance.md, PDF): the rule goes first into
 * every printed document's <head> and into the header/footer templates, which Chromium prints as documents of
 * their own (without it there, the regular face is sent twice).
 */
describe('print fonts', () => {
  it('the rule names only the regular CJK face', () => {
    expect(PRINT_FONT_FACES).toMatch(/@font-face\{font-family:"Noto Sans CJK SC";src:local\("NotoSansCJKsc-Regular"\);font-weight:400\}/);
    expect(PRINT_FONT_FACES).not.toMatch(/Bold/i);
  });

  it.each([
    ['<html><head><title>t</title></head><body>批次</body></html>', `<html><head>${PRINT_FONT_FACES}<title>t</title></head><body>批次</body></html>`],
    ['<!doctype html><html><HEAD lang="zh"><style>td{}</style></HEAD></html>', `<!doctype html><html><HEAD lang="zh">${PRINT_FONT_FACES}<style>td{}</style></HEAD></html>`],
    ['<div>no head</div>', '<div>no head</div>'],
    ['<html><header>not the head</header></html>', '<html><header>not the head</header></html>'],
  ])('withPrintFonts(%j)', (html, expected) => {
    expect(withPrintFonts(html)).toBe(expected);
  });

  it('header and footer templates carry the rule too; without text there is no template to carry it', () => {
    expect(marginTemplate('第 {{page}} 页 · {{plant}}', { plant: '苏州' }).startsWith(PRINT_FONT_FACES)).toBe(true);
    expect(marginTemplate(undefined, {})).toBe('<span></span>');
  });
});
