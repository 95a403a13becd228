/**
 * Tag mapping shared by every driver: a raw device value becomes a reading's value (× scale + offset),
 * and a deadband drops values that moved less than it from the last one kept for that tag.
 */
export interface ScaleSpec {
  readonly scale: number;
  readonly offset: number;
}

export function scaled(raw: number, spec: ScaleSpec): number {
  return raw * spec.scale + spec.offset;
}

/** Remembers the last kept value per tag key; `keep` says whether a new value passes the deadband. */
export class Deadband {
  private readonly last = new Map<string, number>();

  keep(key: string, value: number, deadband: number): boolean {
    if (deadband <= 0) return true;
    const prev = this.last.get(key);
    if (prev !== undefined && Math.abs(value - prev) <= deadband) return false;
    this.last.set(key, value);
    return true;
  }
}
