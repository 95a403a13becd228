/**
 * Finding a template: a JSON file path, or the name of a built-in template (templates/<name>.json
 * at the package root).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TraceReportError } from '../../datasources/errors.js';
import { parseTemplate } from './load.js';
import type { Template } from './schema.js';

/** The package root: the nearest folder above this module holding package.json (works from source and from dist/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the renderer');
    dir = up;
  }
  return dir;
}

export function builtinTemplatesDir(): string {
  return path.join(packageRoot(), 'templates');
}

/** Names of the built-in templates. */
export function listBuiltinTemplates(): string[] {
  const dir = builtinTemplatesDir();
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Loads a template from a file path or a built-in name. */
export function loadTemplate(nameOrPath: string): { template: Template; where: string } {
  let file: string | undefined;
  if (fs.existsSync(nameOrPath) && fs.statSync(nameOrPath).isFile()) file = nameOrPath;
  else if (/^[A-Za-z0-9_-]+$/.test(nameOrPath)) {
    const builtin = path.join(builtinTemplatesDir(), `${nameOrPath}.json`);
    if (fs.existsSync(builtin)) file = builtin;
  }
  if (!file) {
    const names = listBuiltinTemplates();
    throw new TraceReportError(
      'TEMPLATE_NOT_FOUND',
      `no template file "${nameOrPath}" and no built-in template of that name; built-in templates: ${names.length ? names.join(', ') : 'none'}`,
      { template: nameOrPath, builtin: names },
    );
  }
  const where = file;
  return { template: parseTemplate(fs.readFileSync(file, 'utf8'), where), where };
}
