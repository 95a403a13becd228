/** `npm run bench`: lists the benchmarks, runs one by name, refuses an unknown one. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, ROOT } from './support/cli.js';

beforeAll(requireBuild);
const RUN = path.join(ROOT, 'dist', 'bench', 'run.js');

describe('npm run bench', () => {
  it('lists every benchmark with what it measures', () => {
    const r = spawnSync(process.execPath, [RUN], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const name of ['genealogy', 'ingest', 'collect', 'xlsx', 'pdf', 'viewer-page', 'server-html', 'server-trace', 'server-pdf']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    }
  });

  it('refuses an unknown name and says which exist', () => {
    const r = spawnSync(process.execPath, [RUN, 'nope'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no benchmark "nope"; choose one of: genealogy, ingest, collect/);
  });

  it('runs one by name with its options', () => {
    const r = spawnSync(process.execPath, [RUN, 'collect-rules', '--seconds', '10'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rules only \(running product\): [\d,]+ readings in/);
  });
});
