import type { Command } from 'commander';
import { TraceReportError } from '../datasources/errors.js';
import { DataSource } from '../datasources/data-source.js';
import { loadTemplate, listBuiltinTemplates } from '../renderer/template/builtin.js';
import { parseParamPairs } from '../renderer/params.js';
import { boundValuesFromPairs } from '../renderer/user-values.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../renderer/output-formats.js';
import { openTraceStore, defaultTraceDb } from '../trace/store.js';
import { action, DB_OPTION_HELP } from './common.js';

interface RenderOpts {
  param: string[];
  userValue: string[];
  source: string[];
  db?: string;
  format?: string;
  output?: string;
  bom?: boolean;
  raw?: boolean;
  sheet?: string;
  linkBase?: string;
  json?: boolean;
  full?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];


function parseSources(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new TraceReportError('ARGUMENT_INVALID', `--source takes name=URL (a SQLite path or a postgres://, mysql:// or mssql:// URL), got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function formatOf(opts: RenderOpts): OutputFormat {
  let f = opts.format;
  if (!f && opts.output) f = opts.output.split('.').pop()?.toLowerCase();
  if (!f || !(OUTPUT_FORMATS as readonly string[]).includes(f)) {
    throw new TraceReportError('ARGUMENT_INVALID', `--format must be one of ${OUTPUT_FORMATS.join(', ')}${f ? `, got "${f}"` : ''}`);
  }
  return f as OutputFormat;
}

/** `tracereport render TEMPLATE [--param name=value ...] [--source name=URL ...] [--db DB] --format F -o OUT` */
export function register(program: Command): void {
  program
    .command('render')
    .description('render a report template to html, pdf, xlsx or csv')
    .argument('<template>', `a template JSON file, or a built-in template name (${listBuiltinTemplates().join(', ') || 'none yet'})`)
    .option('-p, --param <name=value>', 'a parameter value; repeat the flag for a multi-value parameter', collect, [])
    .option('-u, --user-value <name=value>', 'a $user.<name> value for a template with row-level security (the server binds the logged-in user\'s); repeat for a list', collect, [])
    .option('-s, --source <name=URL>', 'define or override a data source named in the datasets (a SQLite path or a URL)', collect, [])
    .option('--db <db>', `${DB_OPTION_HELP}; the source named "trace"`)
    .option('-f, --format <format>', `output format: ${OUTPUT_FORMATS.join(', ')} (default: from the output file's extension)`)
    .requiredOption('-o, --output <file>', 'output file (written whole or not at all)')
    .option('--bom', 'CSV: start with a UTF-8 byte-order mark, for Excel')
    .option('--raw', 'CSV: raw values (plain numbers, ISO dates) instead of formatted ones')
    .option('--sheet <name|n>', 'CSV: the sheet to write, by name or number (default: the first)')
    .option('--link-base <url>', 'prefix for drill-down links in XLSX/PDF files, such as https://reports.example.com')
    .option('--full', 'force full mode (no streaming)')
    .option('--json', 'print the render metadata (mode, warnings, row counts) as JSON on stdout')
    .action(
      action(async (name: string, opts: RenderOpts) => {
        const format = formatOf(opts);
        const { renderToFile } = await import('../renderer/render.js'); // charts, PDF and XLSX libraries load only to render
        const { template } = loadTemplate(name);
        const sources = { trace: opts.db ?? defaultTraceDb(), ...parseSources(opts.source) };
        const result = await renderToFile({
          template,
          params: parseParamPairs(opts.param),
          bound: boundValuesFromPairs(parseParamPairs(opts.userValue, '--user-value')),
          sources,
          openSource: (sourceName, url, limits) => (sourceName === 'trace' ? openTraceStore(url, limits) : Promise.resolve(new DataSource(sourceName, url, limits))),
          format,
          out: opts.output!,
          csvBom: opts.bom,
          csvRaw: opts.raw,
          csvSheet: opts.sheet,
          linkBase: opts.linkBase,
          mode: opts.full ? 'full' : 'auto',
        });
        const { meta } = result;
        for (const w of meta.warnings) process.stderr.write(`warning: ${w.code}${w.cell ? ` at ${w.sheet ? `${w.sheet}!` : ''}${w.cell}` : ''}: ${w.message}\n`);
        if (opts.json) {
          process.stdout.write(JSON.stringify({ file: result.file, bytes: result.bytes, ...meta }, null, 2) + '\n');
        } else {
          const rows = Object.values(meta.outputRows).reduce((a, b) => a + b, 0);
          process.stderr.write(`wrote ${result.file} (${format}, ${result.bytes.toLocaleString('en')} bytes, ${rows.toLocaleString('en')} rows, ${meta.mode} mode${meta.warnings.length ? `, ${meta.warnings.length} warning(s)` : ''})\n`);
        }
      }),
    );
}
