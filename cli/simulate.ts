/**
 * `tracereport simulate <kind>`: simulated lines for the demo and the tests. This file creates the parent
 * command and the `mqtt` subcommand; the other kinds register theirs from cli/simulate-<kind>.ts.
 */
import type { Command } from 'commander';
import { TraceReportError } from '../datasources/errors.js';
import type { ExcursionOptions } from '../collectors/simulate/line.js';
import { simulateMqtt } from '../collectors/simulate/mqtt.js';
import { action } from './common.js';
import { register as registerOpcua } from './simulate-opcua.js';
import { register as registerModbus } from './simulate-modbus.js';

interface MqttSimOptions {
  broker: string;
  rate: string;
  seed?: string;
  prefix: string;
  lines?: string;
  excursion: boolean;
  excursionEvery: string;
  excursionFor: string;
  excursionAt?: string;
  timeScale?: string;
  duration?: string;
  username?: string;
  password?: string;
  db?: string;
}

/** The help of every simulator's `--db`. */
export const SIMULATE_DB_HELP =
  'record each operation a machine starts (lot, product, route step, equipment, start, end) in this trace store (SQLite file or URL holding the demo plant), before its first sample: a collector then judges the samples on the product\'s spec';

/** `; operations recorded in <store>` for the start line, or nothing. */
export function recordingNote(display: string | undefined): string {
  return display ? `; operations recorded in ${display}` : '';
}

/** `; N of M operation starts recorded in the trace store (…)` for the stop line, or nothing. */
export function recordedNote(recorder: { status(): { changes: number; recorded: number; pending: number; dropped: number } } | undefined): string {
  if (!recorder) return '';
  const s = recorder.status();
  const left = [s.pending ? `${s.pending} not written` : '', s.dropped ? `${s.dropped} dropped` : ''].filter(Boolean).join(', ');
  return `; ${s.recorded} of ${s.changes} operation starts recorded in the trace store${left ? ` (${left})` : ''}`;
}

function positive(name: string, v: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0 && n <= max)) throw new TraceReportError('ARGUMENT_INVALID', `${name} must be a number in (0, ${max}], got "${v}"`);
  return n;
}

function excursionOf(opts: MqttSimOptions): ExcursionOptions | false {
  if (!opts.excursion) return false;
  const durationMs = positive('--excursion-for', opts.excursionFor) * 1000;
  if (opts.excursionAt !== undefined) {
    const at = new Date(opts.excursionAt);
    if (Number.isNaN(at.getTime())) throw new TraceReportError('ARGUMENT_INVALID', `--excursion-at must be an ISO time, got "${opts.excursionAt}"`);
    return { at, durationMs };
  }
  const everyMs = positive('--excursion-every', opts.excursionEvery) * 1000;
  if (everyMs < durationMs) throw new TraceReportError('ARGUMENT_INVALID', `--excursion-every (${opts.excursionEvery} s) must be at least --excursion-for (${opts.excursionFor} s)`);
  return { everyMs, durationMs };
}

/** Resolves on SIGTERM or SIGINT (or after `ms` when given). */
function untilStopped(ms: number | undefined): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      clearTimeout(timer);
      resolve(why);
    };
    const onTerm = () => done('SIGTERM');
    const onInt = () => done('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    const timer = ms === undefined ? undefined : setTimeout(() => done('duration'), ms);
  });
}

function registerMqtt(simulate: Command): void {
  simulate
    .command('mqtt')
    .description('publish the simulated line to an MQTT broker as <prefix>/<equipment>/<parameter> {"ts","value"} (QoS 1) until stopped')
    .option('--broker <url>', 'broker URL', 'mqtt://127.0.0.1:1883')
    .option('--rate <hz>', 'samples per second per tag', '1')
    .option('--seed <seed>', 'same seed, same signals (default tracereport)')
    .option('--prefix <prefix>', 'topic prefix; lot and operation go to <prefix>-state/<equipment> (retained)', 'tracereport')
    .option('--lines <L1,L2>', 'demo plant lines to simulate (default all)')
    .option('--no-excursion', 'no planted excursion')
    .option('--excursion-every <s>', 'seconds between the planted melt_pressure excursions above USL', '600')
    .option('--excursion-for <s>', 'seconds one excursion lasts', '90')
    .option('--excursion-at <iso>', 'one excursion starting at this time instead of periodic ones')
    .option('--time-scale <f>', 'operation durations: demo route minutes × this (default 1/60)')
    .option('--duration <s>', 'stop after this many seconds (default: run until SIGTERM or Ctrl-C)')
    .option('--username <user>', 'broker user name')
    .option('--password <password>', 'broker password (or $TRACEREPORT_MQTT_PASSWORD)')
    .option('--db <db>', SIMULATE_DB_HELP)
    .action(
      action(async (opts: MqttSimOptions) => {
        const rateHz = positive('--rate', opts.rate, 1000);
        const durationMs = opts.duration !== undefined ? positive('--duration', opts.duration) * 1000 : undefined;
        const password = opts.password ?? process.env.TRACEREPORT_MQTT_PASSWORD;
        const sim = await simulateMqtt({
          broker: opts.broker,
          rateHz,
          prefix: opts.prefix,
          excursion: excursionOf(opts),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(opts.lines !== undefined ? { lines: opts.lines.split(',').map((l) => l.trim()).filter(Boolean) } : {}),
          ...(opts.timeScale !== undefined ? { timeScale: positive('--time-scale', opts.timeScale) } : {}),
          ...(opts.username !== undefined ? { username: opts.username } : {}),
          ...(password !== undefined ? { password } : {}),
          ...(opts.db !== undefined ? { db: opts.db } : {}),
        });
        const numeric = sim.line.tags().filter((t) => t.kind === 'number').length;
        const ex = sim.line.excursion;
        process.stderr.write(
          `simulate mqtt: ${numeric} tags to ${sim.broker} as ${sim.prefix}/<equipment>/<parameter> at ${rateHz} Hz` +
            (ex ? `; excursion: ${ex.equipment}/${ex.parameter} above USL ${ex.usl}` : '') +
            recordingNote(sim.recorder?.display) +
            `; stop with SIGTERM or Ctrl-C\n`,
        );
        const why = await untilStopped(durationMs);
        await sim.stop();
        const c = sim.counts();
        process.stderr.write(
          `simulate mqtt: stopped (${why}): ${c.published} messages published, ${c.acknowledged} acknowledged, ${c.droppedTicks} ticks dropped${recordedNote(sim.recorder)}\n`,
        );
      }),
    );
}

export function register(program: Command): void {
  const simulate = program.command('simulate').description('simulated production lines (from the demo plant) for demos and tests');
  registerMqtt(simulate);
  registerOpcua(simulate);
  registerModbus(simulate);
}
