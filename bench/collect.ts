/**
 * Collector figures (issue 6): end-to-end samples/s from MQTT (the local Mosquitto) into SQLite and into
 * PostgreSQL through `tracereport collect --mqtt`, with the publisher in a separate process; journal replay
 * speed; the collector's CPU and RSS with 10,000 tags.
 *
 *   npm run build && node dist/bench/collect.js [--samples 100000] [--pg postgres://postgres@127.0.0.1:5432/test]
 *
 * Prints figures; not a test. Each run makes its own databases, journal folders and topic prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory from 'knex';
import { connect } from 'mqtt';
import { DataSource } from '../datasources/data-source.js';
import { openTraceStore } from '../trace/store.js';
import { Journal } from '../collectors/pipeline/journal.js';
import { Pipeline } from '../collectors/pipeline/pipeline.js';

/** A Mosquitto of the bench's own: its queue per subscriber is unbounded (the default 1,000 drops messages when the collector falls behind). */
let BROKER = 'mqtt://127.0.0.1:1883';
const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(here, '..', 'cli', 'main.js');
const T0 = Date.UTC(2026, 2, 1);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

// ------------------------------------------------------------------ publisher (a separate process)

/** `--publish prefix count tags rate`: publishes count samples over `tags` topics (QoS 1, a window of 1,000 in flight). */
async function publishMode(): Promise<void> {
  const [, , , prefix, countS, tagsS, rateS] = process.argv;
  const count = Number(countS);
  const tags = Number(tagsS);
  const rate = Number(rateS); // messages/s, 0 = as fast as possible
  const side = Math.ceil(Math.sqrt(tags));
  const client = connect(BROKER, { clientId: `bench-pub-${prefix}`, clean: true });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  let inFlight = 0;
  let sent = 0;
  let acked = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < count && inFlight < 1000) {
        if (rate > 0 && sent > ((Date.now() - started) * rate) / 1000) return void setTimeout(pump, 5);
        const tag = sent % tags;
        const topic = `${prefix}/EQ-${Math.floor(tag / side)}/p${tag % side}`;
        // Per tag, one sample per second of plant time: unique (equipment, parameter, ts).
        const ts = new Date(T0 + Math.floor(sent / tags) * 1000).toISOString();
        inFlight++;
        sent++;
        client.publish(topic, `{"ts":"${ts}","value":${(sent % 1000) / 10}}`, { qos: 1 }, () => {
          inFlight--;
          acked++;
          if (acked === count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await client.endAsync();
  process.stdout.write(`published ${count} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

// ------------------------------------------------------------------ helpers

function startCollector(db: string, prefix: string, journal: string): ChildProcess {
  const child = spawn(process.execPath, [MAIN, 'collect', '--mqtt', BROKER, '--topic-prefix', prefix, '--client-id', prefix, '--db', db, '--journal', journal], {
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return child;
}

async function waitFor(child: ChildProcess, pattern: RegExp): Promise<void> {
  let text = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (pattern.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`collector exited ${code}: ${text}`)));
  });
}

async function count(ds: DataSource): Promise<number> {
  return Number((await ds.query<{ n: number }>('select count(*) as n from sample'))[0]!.n);
}

function publish(prefix: string, n: number, tags: number, rate = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--publish', prefix, String(n), String(tags), String(rate), BROKER], { stdio: 'inherit' });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`))));
  });
}

/** CPU seconds (user + system) and RSS (MB) of a process, from /proc. */
function usage(pid: number): { cpu: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = 100;
  const cpu = (Number(stat[11]) + Number(stat[12])) / ticks;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  return { cpu, rssMb: rss };
}

function loadavg(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

// ------------------------------------------------------------------ cases

async function endToEnd(label: string, db: string, samples: number, tags: number): Promise<void> {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const journal = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-journal-'));
  const child = startCollector(db, prefix, journal);
  await waitFor(child, /collecting from/);
  const ds = new DataSource('bench', db);
  const start = performance.now();
  const cpu0 = usage(child.pid!).cpu;
  const pub = publish(prefix, samples, tags);
  let stored = 0;
  let last = -1;
  let lastAt = performance.now();
  while ((stored = await count(ds)) < samples) {
    if (stored !== last) [last, lastAt] = [stored, performance.now()];
    else if (performance.now() - lastAt > 5000) break; // stalled: report what arrived
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (stored < samples ? lastAt : performance.now()) / 1000 - start / 1000;
  const u = usage(child.pid!);
  await pub;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await ds.close();
  fs.rmSync(journal, { recursive: true, force: true });
  console.log(
    `${label}: ${stored} of ${samples} samples over ${tags} tags in ${seconds.toFixed(1)} s = ${Math.round(stored / seconds).toLocaleString('en-US')} samples/s ` +
      `(collector CPU ${(u.cpu - cpu0).toFixed(1)} s = ${(((u.cpu - cpu0) / seconds) * 100).toFixed(0)}% of a core, RSS ${u.rssMb.toFixed(0)} MB; load ${loadavg()})`,
  );
}

async function tenThousandTags(db: string, seconds: number, rate: number): Promise<void> {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const journal = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-journal-'));
  const child = startCollector(db, prefix, journal);
  await waitFor(child, /collecting from/);
  const u0 = usage(child.pid!);
  const t0 = performance.now();
  await publish(prefix, rate * seconds, 10_000, rate);
  await new Promise((r) => setTimeout(r, 1500));
  const wall = (performance.now() - t0) / 1000;
  const u = usage(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(journal, { recursive: true, force: true });
  console.log(
    `10,000 tags at ${rate.toLocaleString('en-US')} samples/s for ${seconds} s (SQLite): collector CPU ${(((u.cpu - u0.cpu) / wall) * 100).toFixed(0)}% of a core, ` +
      `RSS ${u.rssMb.toFixed(0)} MB (idle before: ${u0.rssMb.toFixed(0)} MB); load ${loadavg()}`,
  );
}

async function replay(samples: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-replay-'));
  const journalDir = path.join(dir, 'journal');
  const j = new Journal({ dir: journalDir, maxBytes: 2 ** 40, onWarning: () => undefined });
  for (let i = 0; i < samples; i += 5000) {
    const rows: [string, string, number, number][] = [];
    for (let k = i; k < Math.min(samples, i + 5000); k++) rows.push([`EQ-${k % 100}`, `p${Math.floor(k / 100) % 100}`, T0 + Math.floor(k / 10_000) * 1000, k / 10]);
    j.appendReadings(rows);
    j.seal();
  }
  j.close();
  const bytes = fs.readdirSync(journalDir).reduce((n, f) => n + fs.statSync(path.join(journalDir, f)).size, 0);
  const db = await openTraceStore(path.join(dir, 'trace.sqlite'));
  const start = performance.now();
  const p = Pipeline.start({ db, journal: { dir: journalDir, maxBytes: 2 ** 40 }, batch: { size: 5000, maxDelayMs: 1000 }, log: () => undefined });
  await p.drained(600_000);
  const seconds = (performance.now() - start) / 1000;
  const s = await p.stop();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    `journal replay into SQLite: ${s.written} samples (${(bytes / 1e6).toFixed(1)} MB of journal) in ${seconds.toFixed(1)} s = ${Math.round(s.written / seconds).toLocaleString('en-US')} samples/s; load ${loadavg()}`,
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--publish') {
    BROKER = process.argv[7]!;
    return publishMode();
  }
  const broker = await startBroker();
  BROKER = broker.url;
  try {
    await cases();
  } finally {
    broker.child.kill('SIGTERM');
  }
}

async function startBroker(): Promise<{ url: string; child: ChildProcess }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-mosquitto-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n`);
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return { url: `mqtt://127.0.0.1:${port}`, child };
}

async function cases(): Promise<void> {
  const samples = Number(arg('--samples', '100000'));
  const pgAdmin = arg('--pg', process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  console.log(`collector bench: ${os.cpus().length} cores, load ${loadavg()}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-collect-'));
  try {
    await endToEnd('MQTT -> SQLite', path.join(dir, 'e2e.sqlite'), samples, 1000);
    const name = `tr_bench_${process.pid}`;
    const admin = knexFactory(new DataSource('admin', pgAdmin).spec.knexConfig);
    await admin.raw(`create database ${name}`);
    const url = new URL(pgAdmin);
    url.pathname = `/${name}`;
    try {
      await endToEnd('MQTT -> PostgreSQL', url.toString(), samples, 1000);
    } finally {
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    }
    await replay(samples * 2);
    await tenThousandTags(path.join(dir, 'tags.sqlite'), 10, 10_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
