/**
 * The collectors' boundary types (DESIGN §7): driver → tag mapping → rules → batcher → journal → writer.
 * Drivers turn device values into Readings; the pipeline persists them; rules turn them into alarm changes.
 */

/** One process value, mapped to the trace store's terms. */
export interface Reading {
  readonly equipment: string;
  readonly parameter: string;
  /** When the value was measured (device time when the device gives one, else time of receipt). */
  readonly ts: Date;
  readonly value: number;
  readonly unit?: string;
  /** OPC UA status / Modbus read quality; absent means good. */
  readonly quality?: 'good' | 'uncertain' | 'bad';
}

/**
 * Where a driver hands its readings (synchronously; the pipeline buffers and journals them). Throws when it
 * cannot take them (the journal is full): the driver must not acknowledge them to its peer.
 */
export interface ReadingSink {
  (readings: readonly Reading[]): void;
  /**
   * Makes what the sink took so far reach the journal file now (it does by itself at the end of the event loop's
   * turn). A driver that acknowledges what it received calls it before sending the acknowledgements; it throws
   * when the journal could not keep them (then they must not be acknowledged).
   */
  journaled?(): void;
}

export type DriverType = 'mqtt' | 'opcua' | 'modbus';

export interface DriverStatus {
  readonly name: string;
  readonly type: DriverType;
  readonly state: 'starting' | 'connected' | 'reconnecting' | 'stopped' | 'error';
  /** The last connection or read error, without secrets. */
  readonly lastError?: string;
  /** Readings delivered since start. */
  readonly readings: number;
  readonly lastReadingAt?: Date;
  /** Reconnects since start. */
  readonly reconnects: number;
}

/** A device connection: delivers readings to the sink until stopped; reconnects by itself. */
export interface Driver {
  readonly name: string;
  readonly type: DriverType;
  /** Resolves once the driver runs (connected, or retrying in the background); rejects only on a configuration error. */
  start(sink: ReadingSink): Promise<void>;
  /** Stops and releases the connection; resolves when no more readings will be delivered. */
  stop(): Promise<void>;
  status(): DriverStatus;
}

/** A rule kind: a limit from the spec or config, or a Nelson rule of the SPC chart. */
export type AlarmRule = 'limit_high' | 'limit_low' | 'spc_nelson_1' | 'spc_nelson_2' | 'spc_nelson_3' | 'spc_nelson_4';

/** An alarm raised or cleared by the rules; the pipeline writes it to the `alarm` table and the notifier sends it. */
export interface AlarmChange {
  readonly kind: 'raise' | 'clear';
  readonly rule: AlarmRule;
  readonly equipment: string;
  readonly parameter: string;
  /** The value that raised (or cleared) it: a sample, or a subgroup mean for SPC rules. */
  readonly value: number;
  /** The limit crossed (USL, LSL, a control limit), when there is one. */
  readonly limit?: number;
  readonly severity: 'warning' | 'critical';
  /** Sample time of the value. */
  readonly at: Date;
  /** Human-readable, e.g. "melt_pressure 131.2 bar above USL 120". */
  readonly message: string;
}
