/**
 * The simulated line's running operations, recorded in the trace store (`tracereport simulate … --db`), so
 * that a collector judges each sample against the spec of the product running on its machine
 * (collectors/rules/running-product.ts reads the `operation` table) instead of the equipment's widest window.
 *
 * Each time a machine starts a lot's operation in the simulation, one transaction through the ingest writer
 * (trace/ingest/writer.ts, the write path of `tracereport ingest`) writes:
 *  - the work order of the line's product: `WO-S<line>-<product>` with the route and version the line runs;
 *  - the lot, with the product as its material and that work order (the simulation's lot codes,
 *    `<product>-S<line>[<moulder>]-<n>`, never take the demo plant's forms `RM-`, `CP-`, `MB-`, `FG-<n>`);
 *  - the operation `OP-<lot>-<step>`: lot, work order, route step, equipment and start;
 *  - the end of the operation the machine ran before (from the simulation: the new one's start).
 * Every event has an id made of what it writes (codes and times), so writing it again (a restart, a retry)
 * is a duplicate the store skips. When the store is first opened, operations of the simulated machines that
 * the store still holds as running but that the simulation has ended (left by a previous run) get their end.
 *
 * The caller waits for the write before publishing the operation's first sample (at most `waitMs`), so a
 * collector finds the operation when it reads the sample. A store that fails or does not answer does not
 * stop the simulation: the changes wait (bounded), the failure is logged once (then at most once a minute),
 * and the next change writes them all.
 */
import fs from 'node:fs';
import { DataSource } from '../../datasources/data-source.js';
import { TraceReportError } from '../../datasources/errors.js';
import { LINES, MADE } from '../../trace/demo/catalog.js';
import { traceEvent, type TraceEvent } from '../../trace/ingest/events.js';
import { createEventWriter, type EventWriter } from '../../trace/ingest/writer.js';
import { openTraceStore } from '../../trace/store.js';
import type { MachineState, SimulatedLine } from './line.js';

export interface RecorderOptions {
  /** The trace store: a SQLite file path (the file must exist) or a URL. */
  readonly db: string;
  readonly line: SimulatedLine;
  /** How long `observe` keeps its caller waiting for the write (default 2 s); the write goes on after that. */
  readonly waitMs?: number;
  /** Operation changes kept while the store is away (default 5,000); the oldest go first beyond it. */
  readonly maxPending?: number;
  /** How long the start waits for the store to open (default 10 s); the simulation starts without it after that. */
  readonly openTimeoutMs?: number;
  /** Least time between two log lines about a store that keeps failing (default 60 s). */
  readonly logEveryMs?: number;
  readonly log?: (line: string) => void;
}

export interface RecorderStatus {
  /** Operation changes seen, and those written to the store. */
  changes: number;
  recorded: number;
  /** Events stored, and events the store already had. */
  written: number;
  duplicates: number;
  /** Writes (or opens of the store) that failed. */
  failures: number;
  /** Changes waiting for the store, and changes dropped because too many waited. */
  pending: number;
  dropped: number;
  /** Operations left running by a previous run that were given their end. */
  closed: number;
}

export interface OperationRecorder {
  /** Where the operations go (safe to print). */
  readonly display: string;
  /**
   * Takes the machines' states at a tick. Undefined when no machine started an operation since the last
   * call; otherwise a promise that resolves once the changes are written, the write failed, or `waitMs`
   * passed. Never rejects.
   */
  observe(states: readonly MachineState[]): Promise<void> | undefined;
  status(): RecorderStatus;
  /** Waits (at most `graceMs`, default 5 s) for a write in progress, then closes the store. */
  close(graceMs?: number): Promise<void>;
}

/** The store code of an operation of the simulation. */
export function operationCode(s: MachineState): string {
  return `OP-${s.lot}-${s.step}`;
}

/** The work order of a line's product. */
export function workOrderCode(s: MachineState): string {
  return `WO-S${s.line}-${s.product}`;
}

const PLANT = new Map(LINES.map((l) => [l.line, l.plant]));
const UOM = new Map(MADE.map((m) => [m.code, m.uom]));

/** The work order and lot an operation of the simulation names (written before it; duplicates once stored). */
function masterEvents(s: MachineState): TraceEvent[] {
  const wo = workOrderCode(s);
  const uom = UOM.get(s.product);
  const plant = PLANT.get(s.line);
  return [
    {
      type: 'workOrder', id: `sim-wo-${wo}-${s.route}-v${s.routeVersion}`, workOrder: wo, product: s.product, route: s.route, routeVersion: s.routeVersion,
      status: 'running', ...(plant ? { plant } : {}),
    },
    { type: 'lot', id: `sim-lot-${s.lot}`, lot: s.lot, material: s.product, workOrder: wo, ...(uom ? { uom } : {}) },
  ];
}

/** The events that record the start of an operation of the simulation (work order, lot, operation). */
export function startEvents(s: MachineState): TraceEvent[] {
  const code = operationCode(s);
  const start = s.startedAt.toISOString();
  return [
    ...masterEvents(s),
    { type: 'operation', id: `sim-op-${code}-${start}`, operation: code, lot: s.lot, workOrder: workOrderCode(s), step: s.step, equipment: s.equipment, start },
  ];
}

/** The events that record the end of an operation of the simulation (at its planned end: the next one's start). */
export function endEvents(s: MachineState): TraceEvent[] {
  const code = operationCode(s);
  const start = s.startedAt.toISOString();
  const end = s.endsAt.toISOString();
  return [
    ...masterEvents(s),
    { type: 'operation', id: `sim-op-${code}-${start}-${end}`, operation: code, lot: s.lot, workOrder: workOrderCode(s), step: s.step, equipment: s.equipment, start, end },
  ];
}

const toMs = (v: unknown): number => (v instanceof Date ? v.getTime() : Date.parse(String(v)));

/** Rows of an `in` list per query (below every store's limit on bound values). */
const IN_CHUNK = 500;
/** Event ids remembered as written, so that the work order and lot are not sent with every operation. */
const MAX_REMEMBERED = 50_000;

/**
 * Opens the recorder and the store. A store that does not hold the demo plant's machines and routes (or a
 * SQLite file that does not exist) is an error (ARGUMENT_INVALID), as is a bad URL; a store that does not
 * answer is logged and tried again at the first operation change.
 */
export async function openOperationRecorder(opts: RecorderOptions): Promise<OperationRecorder> {
  const recorder = new Recorder(opts);
  const opening = recorder.open();
  // A store that hangs (an unreachable host) does not hold up the start: the first change waits for it again.
  opening.catch(() => undefined);
  const timeoutMs = opts.openTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    opening.then(
      () => undefined,
      (e: unknown) => e ?? new Error('failed'),
    ),
    new Promise<Error>((resolve) => (timer = setTimeout(() => resolve(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome instanceof TraceReportError && (outcome.code === 'ARGUMENT_INVALID' || outcome.code === 'SOURCE_URL_INVALID')) throw outcome;
  if (outcome !== undefined) recorder.failed(outcome);
  return recorder;
}

/** One change of one machine: its events, written together. */
interface Change {
  readonly events: readonly TraceEvent[];
}

class Recorder implements OperationRecorder {
  readonly display: string;
  private readonly url: string;
  /** The SQLite file of the store (undefined for a server). */
  private readonly sqliteFile: string | undefined;
  private readonly line: SimulatedLine;
  private readonly waitMs: number;
  private readonly maxPending: number;
  private readonly logEveryMs: number;
  private readonly log: (line: string) => void;
  private db: DataSource | undefined;
  private writer: EventWriter | undefined;
  /** Per machine: the operation seen last (code and start). */
  private readonly last = new Map<string, MachineState>();
  private pending: Change[] = [];
  /** Changes of the write under way. */
  private writing = 0;
  private flight: Promise<void> | undefined;
  private opening: Promise<void> | undefined;
  private readonly remembered = new Set<string>();
  private readonly counts: RecorderStatus = { changes: 0, recorded: 0, written: 0, duplicates: 0, failures: 0, pending: 0, dropped: 0, closed: 0 };
  private failingSince: number | undefined;
  private lastLogAt = 0;
  private closing = false;

  constructor(opts: RecorderOptions) {
    this.url = opts.db;
    this.line = opts.line;
    this.waitMs = opts.waitMs ?? 2000;
    this.maxPending = opts.maxPending ?? 5000;
    this.logEveryMs = opts.logEveryMs ?? 60_000;
    this.log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    // Parses the URL now: a bad one is the caller's error, not an outage.
    const probe = new DataSource('trace', opts.db);
    this.display = probe.display;
    this.sqliteFile = probe.dialect === 'sqlite' && probe.spec.database !== ':memory:' ? probe.spec.database : undefined;
    void probe.close();
  }

  observe(states: readonly MachineState[]): Promise<void> | undefined {
    let changed = false;
    for (const s of states) {
      const prev = this.last.get(s.equipment);
      if (prev && prev.lot === s.lot && prev.step === s.step && prev.startedAt.getTime() === s.startedAt.getTime()) continue;
      this.last.set(s.equipment, s);
      this.counts.changes++;
      this.pending.push({ events: [...(prev ? endEvents(prev) : []), ...startEvents(s)] });
      changed = true;
    }
    if (!changed) return undefined;
    if (this.pending.length > this.maxPending) {
      const drop = this.pending.length - this.maxPending;
      this.pending.splice(0, drop);
      this.counts.dropped += drop;
    }
    const flight = (this.flight ??= this.flush().finally(() => (this.flight = undefined)));
    return waitAtMost(flight, this.waitMs);
  }

  status(): RecorderStatus {
    return { ...this.counts, pending: this.pending.length + this.writing };
  }

  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    if (this.flight) await waitAtMost(this.flight, graceMs);
    if (this.opening) await waitAtMost(this.opening, graceMs);
    const db = this.db;
    this.db = undefined;
    this.writer = undefined;
    if (db) await db.close();
  }

  /** Opens the store (migrated), checks that it holds the demo plant, and ends the operations a previous run left running. */
  open(): Promise<void> {
    if (this.db) return Promise.resolve();
    // One open at a time: the start's, if still under way, is the first change's too.
    return (this.opening ??= this.openStore().finally(() => (this.opening = undefined)));
  }

  private async openStore(): Promise<void> {
    const sqliteFile = this.sqliteFile;
    // openTraceStore would create it: a mistyped path is the caller's error.
    if (sqliteFile !== undefined && !fs.existsSync(sqliteFile)) {
      throw new TraceReportError(
        'ARGUMENT_INVALID',
        `--db: there is no trace store at ${sqliteFile}; generate the demo plant there first (tracereport demo generate --db ${sqliteFile}) or give the store the collector writes to`,
      );
    }
    const db = await openTraceStore(this.url);
    try {
      await this.checkPlant(db);
      const writer = createEventWriter(db);
      await this.closeLeftRunning(db, writer);
      this.db = db;
      this.writer = writer;
    } catch (e) {
      await db.close();
      throw e;
    }
  }

  /** Failure bookkeeping and its log line: once when the store goes away, then at most once per `logEveryMs`. */
  failed(e: unknown): void {
    this.counts.failures++;
    const now = Date.now();
    const why = (e as Error)?.message ?? String(e);
    if (this.failingSince === undefined) {
      this.failingSince = now;
      this.lastLogAt = now;
      this.log(`simulate: cannot record the running operations in the trace store ${this.display} (${why}); the simulation goes on and writes them at the next operation change`);
    } else if (now - this.lastLogAt >= this.logEveryMs) {
      this.lastLogAt = now;
      this.log(`simulate: still cannot record the running operations in ${this.display} (${why}); ${this.pending.length} operation changes waiting`);
    }
  }

  private recovered(changes: number): void {
    if (this.failingSince === undefined) return;
    const s = ((Date.now() - this.failingSince) / 1000).toFixed(1);
    this.failingSince = undefined;
    this.log(`simulate: the trace store ${this.display} answers again after ${s} s; recorded the ${changes} operation changes that waited`);
  }

  /** Writes every pending change (more may arrive meanwhile); on a failure they wait for the next change. */
  private async flush(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      this.writing = batch.length;
      try {
        await this.open();
        const seen = new Set<string>();
        const events: TraceEvent[] = [];
        for (const c of batch) {
          for (const e of c.events) {
            if (seen.has(e.id) || this.remembered.has(e.id)) continue;
            seen.add(e.id);
            events.push(traceEvent.parse(e));
          }
        }
        const r = await this.writer!.write(events);
        this.counts.written += r.written;
        this.counts.duplicates += r.duplicates;
        this.counts.recorded += batch.length;
        if (this.remembered.size + seen.size > MAX_REMEMBERED) this.remembered.clear();
        for (const id of seen) this.remembered.add(id);
        this.recovered(batch.length);
      } catch (e) {
        // Back in front, in order, within the bound; tried again at the next change.
        this.pending = [...batch, ...this.pending];
        if (this.pending.length > this.maxPending) {
          const drop = this.pending.length - this.maxPending;
          this.pending.splice(0, drop);
          this.counts.dropped += drop;
        }
        this.failed(e);
        return;
      } finally {
        this.writing = 0;
      }
      if (this.closing) return;
    }
  }

  private async checkPlant(db: DataSource): Promise<void> {
    const states = this.line.state(new Date());
    const equipment = [...new Set(states.map((s) => s.equipment))];
    const routes = new Map(states.map((s) => [`${s.route} v${s.routeVersion}`, s]));
    const known = new Set<string>();
    for (let i = 0; i < equipment.length; i += IN_CHUNK) {
      const rows = (await db.knex('equipment').whereIn('code', equipment.slice(i, i + IN_CHUNK)).select('code')) as { code: string }[];
      for (const r of rows) known.add(r.code);
    }
    const routeRows = (await db
      .knex('route as r')
      .join('parameter_spec as ps', 'ps.route_id', 'r.id')
      .whereIn('r.code', [...new Set(states.map((s) => s.route))])
      .groupBy('r.code', 'r.version')
      .select('r.code as code', 'r.version as version')) as { code: string; version: number | string }[];
    const withSpecs = new Set(routeRows.map((r) => `${r.code} v${Number(r.version)}`));
    const missing = [...equipment.filter((e) => !known.has(e)).map((e) => `equipment ${e}`), ...[...routes.keys()].filter((r) => !withSpecs.has(r)).map((r) => `route ${r} with parameter specs`)];
    if (missing.length) {
      const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
      throw new TraceReportError(
        'ARGUMENT_INVALID',
        `--db: the trace store ${db.display} does not hold the demo plant the simulated line runs on (no ${shown}); ` +
          `generate it there first (tracereport demo generate --db …) or give the store the demo plant is in`,
      );
    }
  }

  /**
   * Operations on the simulated machines that the store holds as running (no end) and that are the
   * simulation's own (same code and start at that time), ended since: a previous run stopped while they
   * ran. They get their end, so that they do not stay open over the samples that came after them.
   */
  private async closeLeftRunning(db: DataSource, writer: EventWriter): Promise<void> {
    const now = Date.now();
    const equipment = [...new Set(this.line.state(new Date(now)).map((s) => s.equipment))];
    const events: TraceEvent[] = [];
    let ended = 0;
    for (let i = 0; i < equipment.length; i += IN_CHUNK) {
      const rows = (await db
        .knex('operation as o')
        .join('equipment as e', 'e.id', 'o.equipment_id')
        .whereIn('e.code', equipment.slice(i, i + IN_CHUNK))
        .whereNull('o.ended_at')
        .whereNotNull('o.started_at')
        .select('o.code as code', 'e.code as equipment', 'o.started_at as started_at')) as { code: string; equipment: string; started_at: unknown }[];
      for (const r of rows) {
        const start = toMs(r.started_at);
        if (!Number.isFinite(start)) continue;
        const s = this.line.state(new Date(start)).find((x) => x.equipment === r.equipment);
        if (!s || operationCode(s) !== r.code || s.startedAt.getTime() !== start || s.endsAt.getTime() > now) continue;
        events.push(...endEvents(s).map((e) => traceEvent.parse(e)));
        ended++;
      }
    }
    if (events.length) await writer.write(events);
    this.counts.closed += ended;
  }
}

/** Resolves when `p` settles or after `ms`, whichever is first; never rejects. */
function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}
