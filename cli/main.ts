#!/usr/bin/env node
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { register as migrate } from './migrate.js';
import { register as ingest } from './ingest.js';
import { register as trace } from './trace.js';
import { register as demo } from './demo.js';
import { register as render } from './render.js';
import { register as collect } from './collect.js';
import { register as simulate } from './simulate.js';
import { register as serve } from './serve.js';
import { register as routes } from './routes.js';
import { register as audit } from './audit.js';
import { reportError } from './common.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('tracereport')
  .description('TraceReport: manufacturing traceability store, genealogy trace and reports')
  .version(pkg.version)
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride((err) => {
    // commander's own usage errors: exit 2, like other bad arguments.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

for (const register of [migrate, ingest, trace, demo, render, simulate, collect, serve, routes, audit]) register(program);

program.parseAsync(process.argv).catch(reportError);
