import { requireBuild, runCli } from './support/cli.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from '../datasources/data-source.js';
import type { DemoIncident } from '../trace/demo/index.js';
import { openTraceStore } from '../trace/store.js';
import { dialectTargets, type TestDatabase } from './support/databases.js';

/** `tracereport demo generate` end to end: into every dialect, traced back and forward through the CLI. */

const LOTS = 300;
const SEED = 'demo-test';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

const cli = (...args: string[]): Run => runCli(args);

function json<T>(r: Run, what: string): T {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface GenerateOutput {
  incident: DemoIncident;
  lots: number;
  events: number;
  written: number;
  duplicates: number;
}

interface TraceOutput {
  root: string;
  direction: string;
  lots: Array<{ lot: string; kind: string | null; depth: number; supplier?: string; material: string | null }>;
  edges: Array<{ input: string; output: string }>;
  shipments: Array<{ lot: string; customer: string }>;
}

beforeAll(requireBuild);

const targets = await dialectTargets();

describe.each(targets)('demo plant through the CLI on $label', (target) => {
  let tdb: TestDatabase;
  let first: GenerateOutput;
  beforeAll(async () => {
    if (target.unavailable) return;
    tdb = await target.create();
    first = json<GenerateOutput>(cli('demo', 'generate', '--db', tdb.url, '--lots', String(LOTS), '--seed', SEED, '--json'), 'demo generate');
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it.skipIf(!!target.unavailable)('stores every lot and event of the plant', async () => {
    expect(first.lots).toBe(LOTS);
    expect(first.events).toBeGreaterThan(LOTS * 5);
    expect(first.written).toBe(first.events);
    expect(first.duplicates).toBe(0);
    const db: DataSource = await openTraceStore(tdb.url, { migrate: false });
    try {
      const [lots] = await db.query<{ n: number }>('select count(*) as n from lot where placeholder = :no', { no: false });
      const [events] = await db.query<{ n: number }>('select count(*) as n from ingest_event');
      const [samples] = await db.query<{ n: number }>('select count(*) as n from sample');
      const [links] = await db.query<{ n: number }>('select count(*) as n from lot_link');
      expect(Number(lots!.n)).toBe(LOTS);
      // Every event is stored: samples in `sample` (deduplicated by their key, no ledger row), the others in the ledger.
      expect(Number(samples!.n)).toBeGreaterThan(0);
      expect(Number(events!.n) + Number(samples!.n)).toBe(first.events);
      expect(Number(links!.n)).toBeGreaterThan(LOTS);
    } finally {
      await db.close();
    }
  });

  it.skipIf(!!target.unavailable)('traces the incident forward to exactly its finished lots and customers', () => {
    const { incident } = first;
    const g = json<TraceOutput>(cli('trace', 'forward', incident.supplierLot, '--db', tdb.url, '--json'), 'trace forward');
    expect(g.root).toBe(incident.supplierLot);
    const finished = g.lots.filter((l) => l.kind === 'finished').map((l) => l.lot).sort();
    expect(finished).toEqual(incident.finishedLots);
    const intermediates = g.lots.filter((l) => l.kind === 'intermediate' && l.depth === 1).map((l) => l.lot).sort();
    expect(intermediates).toEqual(incident.intermediateLots);
    expect([...new Set(g.shipments.map((s) => s.customer))].sort()).toEqual(incident.customers);
  });

  it.skipIf(!!target.unavailable)('traces an affected finished lot backward to the supplier lot and its supplier', () => {
    const { incident } = first;
    const g = json<TraceOutput>(cli('trace', 'backward', incident.sampleFinishedLot, '--db', tdb.url, '--json'), 'trace backward');
    const supplierLot = g.lots.find((l) => l.lot === incident.supplierLot);
    expect(supplierLot, `backward trace of ${incident.sampleFinishedLot}`).toBeDefined();
    expect(supplierLot!.kind).toBe('raw');
    expect(supplierLot!.material).toBe(incident.material);
    expect(supplierLot!.supplier).toBe(incident.supplier);
    expect(supplierLot!.depth).toBe(2);
  });

  it.skipIf(!!target.unavailable)('writes nothing new when run again, and says so', () => {
    const again = json<GenerateOutput>(cli('demo', 'generate', '--db', tdb.url, '--lots', String(LOTS), '--seed', SEED, '--json'), 'second demo generate');
    expect(again.written).toBe(0);
    expect(again.duplicates).toBe(first.events);
    expect(again.incident).toEqual(first.incident);
    const text = cli('demo', 'generate', '--db', tdb.url, '--lots', String(LOTS), '--seed', SEED);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/nothing new/);
  });
});

describe('demo generate output and arguments', () => {
  let dir: string;
  let db: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-demo-'));
    db = path.join(dir, 'demo.sqlite');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the incident and the two trace commands to run', () => {
    const r = cli('demo', 'generate', '--db', db, '--lots', '200', '--seed', 's1');
    expect(r.status, r.stderr).toBe(0);
    const { incident } = json<GenerateOutput>(cli('demo', 'generate', '--db', db, '--lots', '200', '--seed', 's1', '--json'), 'demo generate --json');
    expect(r.stdout).toContain(`supplier lot ${incident.supplierLot}`);
    expect(r.stdout).toContain(`tracereport trace forward ${incident.supplierLot} --db ${db}`);
    expect(r.stdout).toContain(`tracereport trace backward ${incident.sampleFinishedLot} --db ${db}`);
    for (const c of incident.customers) expect(r.stdout).toContain(c);
    expect(r.stdout).toMatch(/200 lots/);
  });

  it('refuses to mix a different plant into a store that holds one', () => {
    const r = cli('demo', 'generate', '--db', db, '--lots', '200', '--seed', 'another');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/already holds lots that are not this demo plant/);
  });

  it('refuses bad sizes with exit code 2', () => {
    const small = cli('demo', 'generate', '--db', path.join(dir, 'small.sqlite'), '--lots', '10');
    expect(small.status).toBe(2);
    expect(small.stderr).toMatch(/≥ 150/);
    const notNumber = cli('demo', 'generate', '--db', path.join(dir, 'nan.sqlite'), '--samples', 'many');
    expect(notNumber.status).toBe(2);
  });
});
