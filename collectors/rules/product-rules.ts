/**
 * The rules with the running product (DESIGN §7): each reading goes to the {@link RuleEngine} with the
 * operation running on its equipment at its time ({@link RunningOperations}), which picks the limits in
 * force and the SPC chart (one per product) for it.
 *
 * The common case is synchronous: the cache holds the time, the reading is judged at once and its alarm
 * changes are handed to `emit` before `onReadings` returns (so they join the journal batch of their
 * readings). On a miss the equipment's readings wait, in order, while its operation is read from the
 * store (a few milliseconds); readings of other equipment go on. Their changes are then emitted when the
 * read completes. A store that does not answer within the load timeout, or too many waiting readings,
 * means "no operation known": the readings are judged on the widest window (the table limits).
 */
import type { AlarmChange, Reading } from '../types.js';
import type { RuleEngine } from './engine.js';
import { MISS, type RunningOperations } from './running-product.js';

export interface ProductRulesOptions {
  /** Readings one equipment may hold while its operation is read; beyond, they are judged without a product (default 100,000). */
  maxHeld?: number;
  log?: (message: string) => void;
}

export interface ProductRulesStatus {
  /** Readings waiting for their equipment's running operation. */
  held: number;
  /** Readings judged without a product because too many were waiting. */
  overflow: number;
}

export class ProductRules {
  /** Per equipment with a read in flight: its readings in arrival order. */
  private readonly held = new Map<string, Reading[]>();
  private readonly pending = new Set<Promise<void>>();
  private readonly maxHeld: number;
  private readonly log: (m: string) => void;
  private heldCount = 0;
  private overflow = 0;
  private closed = false;

  constructor(
    private readonly engine: RuleEngine,
    private readonly operations: RunningOperations,
    /** Receives alarm changes: synchronously from `onReadings`, later for held readings. May throw (a full journal). */
    private readonly emit: (changes: AlarmChange[]) => void,
    opts: ProductRulesOptions = {},
  ) {
    this.maxHeld = opts.maxHeld ?? 100_000;
    this.log = opts.log ?? (() => undefined);
  }

  /** Judges the readings whose equipment's operation is cached now and emits their changes; holds the others. */
  onReadings(readings: readonly Reading[]): void {
    const out: AlarmChange[] = [];
    for (const r of readings) this.one(r, out);
    if (out.length) this.emit(out);
  }

  private one(r: Reading, out: AlarmChange[]): void {
    if (this.held.size) {
      const q = this.held.get(r.equipment);
      if (q) {
        if (q.length < this.maxHeld) {
          q.push(r);
          this.heldCount++;
        } else {
          // Keeps the key's order: what waits is judged first, without a product, then this one.
          this.release(r.equipment, false, out);
          this.overflow++;
          this.engine.judge(r, null, out);
        }
        return;
      }
    }
    // A reading the pipeline rejects (no real time) is left to the engine, which ignores it.
    const t = r.ts instanceof Date ? r.ts.getTime() : Number.NaN;
    if (this.closed || !Number.isFinite(t)) {
      this.engine.judge(r, null, out);
      return;
    }
    const op = this.operations.at(r.equipment, t);
    if (op !== MISS) {
      this.engine.judge(r, op, out);
      return;
    }
    this.held.set(r.equipment, [r]);
    this.heldCount++;
    const p = this.operations.load(r.equipment, t).then(() => {
      this.pending.delete(p);
      const changes: AlarmChange[] = [];
      this.release(r.equipment, true, changes);
      if (!changes.length) return;
      try {
        this.emit(changes);
      } catch (e) {
        this.log(`rules: could not hand on ${changes.length} alarm changes: ${(e as Error).message}`);
      }
    });
    this.pending.add(p);
  }

  /** Judges an equipment's waiting readings: with the now cached operation (a later miss holds the rest again), or without one. */
  private release(equipment: string, withProduct: boolean, out: AlarmChange[]): void {
    const q = this.held.get(equipment);
    if (!q) return;
    this.held.delete(equipment);
    this.heldCount -= q.length;
    if (withProduct) for (const r of q) this.one(r, out);
    else for (const r of q) this.engine.judge(r, null, out);
  }

  status(): ProductRulesStatus {
    return { held: this.heldCount, overflow: this.overflow };
  }

  /**
   * Waits (at most `timeoutMs`) for the reads in flight so that held readings are judged with their
   * product, judges what still waits without one, and emits the changes. Later readings are judged at once
   * without a product.
   */
  async close(timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.pending.size && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...this.pending]), new Promise((r) => (timer = setTimeout(r, Math.max(0, until - Date.now()))))]);
      clearTimeout(timer);
    }
    this.closed = true;
    this.operations.close();
    const out: AlarmChange[] = [];
    for (const equipment of [...this.held.keys()]) this.release(equipment, false, out);
    if (out.length) this.emit(out);
  }
}
