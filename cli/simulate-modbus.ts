import type { Command } from 'commander';
import { TraceReportError } from '../datasources/errors.js';
import { createLine } from '../collectors/simulate/line.js';
import { modbusRegisterMap, simulateModbus, type ModbusRegisterMap } from '../collectors/simulate/modbus.js';
import { action, parsePositiveInt } from './common.js';
import { SIMULATE_DB_HELP } from './simulate.js';

interface ModbusSimOptions {
  port: number;
  host: string;
  seed?: string;
  lines?: string;
  rate?: string;
  map?: boolean;
  db?: string;
}

function parseRate(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1000)) throw new TraceReportError('ARGUMENT_INVALID', `--rate must be samples per second in (0, 1000], got "${v}"`);
  return n;
}

function lineOptions(opts: ModbusSimOptions) {
  return {
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.lines !== undefined ? { lines: opts.lines.split(',').map((l) => l.trim()).filter(Boolean) } : {}),
    ...(opts.rate !== undefined ? { rateHz: parseRate(opts.rate) } : {}),
  };
}

/** The register map as text: one line per tag with its three views. */
export function describeRegisterMap(map: ModbusRegisterMap): string {
  const rows = map.driver.registers.map((r, i) => {
    const name = `${r.equipment}/${r.parameter}`.padEnd(28);
    return `  input ${String(r.address).padStart(3)}-${String(r.address + 1).padEnd(3)} float32 ABCD  ${name} ${(r.unit ?? '').padEnd(5)}  holding ${String(map.holding[i].address).padStart(3)} int16 ×10  coil ${String(map.coils[i].address).padStart(3)} out of spec`;
  });
  return [`register map (zero-based addresses, any unit id):`, ...rows].join('\n');
}

export function register(simulate: Command): void {
  simulate
    .command('modbus')
    .description('serve the simulated line as a Modbus TCP server (float32 input registers, int16 ×10 holding registers, out-of-spec coils) until stopped')
    .option('--port <n>', 'TCP port (0: any free port)', parsePositiveInt('--port'), 5020)
    .option('--host <address>', 'listen address', '127.0.0.1')
    .option('--seed <seed>', 'same seed, same signals (default tracereport)')
    .option('--lines <L1,L2>', 'demo plant lines to simulate (default all)')
    .option('--rate <hz>', 'register updates per second (default 1)')
    .option('--map', 'print the register map as JSON (with a collector driver section) and exit')
    .option('--db <db>', SIMULATE_DB_HELP)
    .action(
      action(async (opts: ModbusSimOptions) => {
        if (opts.port > 65535) throw new TraceReportError('ARGUMENT_INVALID', `--port must be at most 65535, got ${opts.port}`);
        let line;
        try {
          line = createLine(lineOptions(opts));
        } catch (e) {
          throw new TraceReportError('ARGUMENT_INVALID', (e as Error).message);
        }
        if (opts.map) {
          process.stdout.write(`${JSON.stringify(modbusRegisterMap(line, opts.host, opts.port), null, 2)}\n`);
          return;
        }
        let sim;
        try {
          sim = await simulateModbus({ ...lineOptions(opts), port: opts.port, host: opts.host, ...(opts.db !== undefined ? { db: opts.db } : {}) });
        } catch (e) {
          if (e instanceof TraceReportError) throw e;
          throw new TraceReportError('ARGUMENT_INVALID', `cannot serve Modbus TCP on ${opts.host}:${opts.port}: ${(e as Error).message}`);
        }
        const ex = sim.line.excursion;
        process.stdout.write(
          [
            `Modbus TCP line simulator on ${sim.host}:${sim.port} (seed ${sim.line.seed}, ${sim.map.driver.registers.length} tags, ${sim.line.rateHz} Hz)`,
            ...(ex ? [`planted excursion: ${ex.equipment}/${ex.parameter} rises above USL ${ex.usl} from time to time`] : []),
            ...(sim.recorder ? [`running operations recorded in ${sim.recorder.display} (each before its first value)`] : []),
            describeRegisterMap(sim.map),
            `--map prints this map as JSON with a collector driver section. Stop with Ctrl-C or SIGTERM.`,
            '',
          ].join('\n'),
        );
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        });
        await sim.stop();
      }),
    );
}
