import type { Command } from 'commander';
import { TraceReportError } from '../datasources/errors.js';
import { action, parsePositiveInt } from './common.js';
import { SIMULATE_DB_HELP } from './simulate.js';

interface OpcuaSimOptions {
  port: number;
  seed?: string;
  lines?: string;
  rate?: string;
  user: string[];
  pki?: string;
  config?: boolean;
  db?: string;
}

function parseRate(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1000)) throw new TraceReportError('ARGUMENT_INVALID', `--rate must be samples per second in (0, 1000], got "${v}"`);
  return n;
}

function parseUsers(list: readonly string[]): Record<string, string> {
  const users: Record<string, string> = {};
  for (const u of list) {
    const i = u.indexOf(':');
    if (i <= 0 || i === u.length - 1) throw new TraceReportError('ARGUMENT_INVALID', `--user must be name:password, got "${u.slice(0, Math.max(0, i)) || u}…"`);
    users[u.slice(0, i)] = u.slice(i + 1);
  }
  return users;
}

export function register(simulate: Command): void {
  simulate
    .command('opcua')
    .description('serve the simulated line as an OPC UA server (Objects/<Line>/<Equipment>/<parameter>, lot and operation strings) until stopped')
    .option('--port <n>', 'TCP port (0: any free port)', parsePositiveInt('--port'), 4840)
    .option('--seed <seed>', 'same seed, same signals (default tracereport)')
    .option('--lines <L1,L2>', 'demo plant lines to simulate (default all)')
    .option('--rate <hz>', 'value updates per second (default 1)')
    .option('--user <name:password>', 'a user who may log in (repeatable); with users, anonymous sessions are refused', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--pki <dir>', 'the server PKI folder (certificate made on first start; default data/pki/opcua-simulator)')
    .option('--config', 'also print a collector driver section (JSON) subscribing to every tag')
    .option('--db <db>', SIMULATE_DB_HELP)
    .action(
      action(async (opts: OpcuaSimOptions) => {
        // node-opcua takes seconds to load: only this command pays for it.
        const [{ quietOpcuaLogs }, { opcuaDriverSection, simulateOpcua }] = await Promise.all([import('../collectors/opcua/quiet.js'), import('../collectors/simulate/opcua.js')]);
        if (opts.port > 65535) throw new TraceReportError('ARGUMENT_INVALID', `--port must be at most 65535, got ${opts.port}`);
        const users = parseUsers(opts.user);
        quietOpcuaLogs('errors');
        let sim;
        try {
          sim = await simulateOpcua({
            port: opts.port,
            ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            ...(opts.lines !== undefined ? { lines: opts.lines.split(',').map((l) => l.trim()).filter(Boolean) } : {}),
            ...(opts.rate !== undefined ? { rateHz: parseRate(opts.rate) } : {}),
            ...(opts.pki !== undefined ? { pkiDir: opts.pki } : {}),
            ...(Object.keys(users).length > 0 ? { users } : {}),
            ...(opts.db !== undefined ? { db: opts.db } : {}),
          });
        } catch (e) {
          if (e instanceof TraceReportError) throw e;
          if (e instanceof RangeError) throw new TraceReportError('ARGUMENT_INVALID', e.message);
          throw new TraceReportError('ARGUMENT_INVALID', `cannot serve OPC UA on port ${opts.port}: ${(e as Error).message}`);
        }
        const numeric = sim.line.tags().filter((t) => t.kind === 'number');
        const first = numeric[0]!;
        const ex = sim.line.excursion;
        const names = Object.keys(users);
        process.stdout.write(
          [
            `OPC UA line simulator at ${sim.endpoint} (seed ${sim.line.seed}, ${numeric.length} numeric tags, ${sim.line.rateHz} Hz)`,
            `security: None, SignAndEncrypt (Basic256Sha256, Aes128_Sha256_RsaOaep); ${names.length > 0 ? `users: ${names.join(', ')} (no anonymous sessions)` : 'anonymous sessions'}`,
            `nodes: ${sim.server.nodeId(first.equipment, first.parameter)}  or  ${sim.server.browsePath(first.equipment, first.parameter)}; lot and operation strings per machine`,
            ...(ex ? [`planted excursion: ${ex.equipment}/${ex.parameter} rises above USL ${ex.usl} from time to time`] : []),
            ...(sim.recorder ? [`running operations recorded in ${sim.recorder.display} (each before its first value)`] : []),
            ...(opts.config ? [JSON.stringify(opcuaDriverSection(sim.line, sim.server), null, 2)] : ['--config prints a collector driver section for every tag.']),
            'Stop with Ctrl-C or SIGTERM.',
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
