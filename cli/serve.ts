import type { Command } from 'commander';
import { TraceReportError } from '../datasources/errors.js';
import { CONFIG_DB_ENV } from '../server/store/open.js';
import { ADMIN_PASSWORD_ENV } from '../server/bootstrap.js';
import { SECRET_KEY_ENV } from '../server/store/secret-key.js';
import { action, DB_OPTION_HELP } from './common.js';

interface ServeOpts {
  port: string;
  host?: string;
  dataDir?: string;
  configDb?: string;
  db?: string;
  tlsCert?: string;
  tlsKey?: string;
  embedOrigin: string[];
}

/** `tracereport serve [--port 8080] [--data-dir DIR] [--config-db URL] [--db DB] [--tls-cert F --tls-key F] [--embed-origin URL ...]` */
export function register(program: Command): void {
  program
    .command('serve')
    .description('start the report server (API on /api, /healthz, /metrics); creates the admin user and loads the built-in templates on first start')
    .option('--port <port>', 'TCP port', '8080')
    .option('--host <host>', 'address to listen on (default all)')
    .option('--data-dir <dir>', `server data: server.sqlite (the config database) and secret.key (default ./data; the key may come from ${SECRET_KEY_ENV})`)
    .option('--config-db <url>', `config database instead of DIR/server.sqlite, e.g. postgres://… shared by several nodes (default $${CONFIG_DB_ENV})`)
    .option('--db <db>', `${DB_OPTION_HELP}; the reports' source "trace"`)
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--embed-origin <origin>', 'an origin (https://portal.example.com) allowed to frame embedded reports; repeat for several', (v: string, prev: string[]) => [...prev, v], [])
    .action(
      action(async (opts: ServeOpts) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TraceReportError('ARGUMENT_INVALID', `--port must be 0–65535, got "${opts.port}"`);
        for (const o of opts.embedOrigin) {
          if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(o)) throw new TraceReportError('ARGUMENT_INVALID', `--embed-origin takes an origin such as https://portal.example.com, got "${o}"`);
        }
        if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new TraceReportError('ARGUMENT_INVALID', 'give both --tls-cert and --tls-key, or neither');
        const { startServer } = await import('../server/start.js'); // koa, the renderer and its libraries load only to serve
        const server = await startServer({
          port,
          host: opts.host,
          dataDir: opts.dataDir,
          configDb: opts.configDb,
          traceDb: opts.db,
          tls: opts.tlsCert && opts.tlsKey ? { cert: opts.tlsCert, key: opts.tlsKey } : undefined,
          settings: { embedOrigins: opts.embedOrigin },
        });
        const b = server.bootstrap;
        const lines = [`TraceReport serving on ${server.url}`];
        if (b.admin?.password) lines.push(`admin login: user "admin", password "${b.admin.password}" (shown once; change it after logging in)`);
        else if (b.admin?.fromEnv) lines.push(`admin login: user "admin", password from ${ADMIN_PASSWORD_ENV}`);
        if (b.builtin.added.length) lines.push(`built-in templates loaded: ${b.builtin.added.join(', ')}`);
        if (b.builtin.updated.length) lines.push(`built-in templates updated: ${b.builtin.updated.join(', ')}`);
        process.stderr.write(lines.join('\n') + '\n');
        const stop = () => {
          void server.close().then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }),
    );
}
