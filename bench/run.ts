/**
 * `npm run bench -- <name> [options]`: runs one benchmark (each prints its figures; docs/performance.md has them
 * with the load they were taken at). Without a name, lists them. Benchmarks are not tests: run them on a quiet
 * machine, several times, and read the noise.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCHES: Record<string, string> = {
  genealogy: 'genealogy and trace-detail latency on a generated plant (SQLite, PostgreSQL)',
  ingest: 'NDJSON ingest events/s into SQLite and PostgreSQL',
  collect: 'collectors end to end: MQTT -> SQLite / PostgreSQL, journal replay, 10,000 tags',
  'collect-rules': 'the limit rules per reading, in process',
  xlsx: 'XLSX output speed and memory against plain exceljs',
  pdf: 'PDF of a 60-page grouped Chinese report through the browser pool',
  'viewer-page': 'first viewer page of a 1M-row list report',
  'server-html': 'cached small report HTML through the server (autocannon)',
  'server-trace': 'the trace API under 50 connections (autocannon)',
  'server-pdf': 'PDF renders per minute through the server',
  'jsreport-compare': 'TraceReport vs jsreport on the same rows (bench/jsreport/run.sh runs both sides)',
};

const here = path.dirname(fileURLToPath(import.meta.url));
const [name, ...rest] = process.argv.slice(2);

if (!name || name === '--help' || name === '-h') {
  console.log('usage: npm run bench -- <name> [options]   (options: see the head of bench/<name>.ts)\n');
  for (const [n, what] of Object.entries(BENCHES)) console.log(`  ${n.padEnd(18)} ${what}`);
  process.exit(0);
}
if (!(name in BENCHES)) {
  console.error(`tracereport bench: no benchmark "${name}"; choose one of: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const file = path.join(here, `${name}.js`);
if (!fs.existsSync(file)) {
  console.error(`tracereport bench: ${file} is missing; run \`npm run build\` first`);
  process.exit(2);
}
const child = spawn(process.execPath, [file, ...rest], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
