/**
 * Collector figures (issue 6): end-to-end samples/s from MQTT (the local Mosquitto) into SQLite and into
 * PostgreSQL through `tracereport collect --mqtt`, with the publisher in a separate process; journal replay
 * speed; the collector's CPU and RSS with 10,000 tags.
 *
 *   npm run build && node dist/bench/collect.js [--samples 100000] [--pg postgres://postgres@127.0.0.1:5432/test] [--only e2e]
 *                                             [--values N --publishers P] [--stores sqlite,postgres] [--prof DIR] [--ceiling]
 *
 * End to end, three shapes: one value per message (the zero-config convention) from one publisher and from four,
 * and ten values per message (one equipment's parameters, read by JSON paths from a --config).
 *
 * `--ceiling` first measures the chain without the collector (the same publisher and broker, a subscriber that only
 * acknowledges): the most the collector could reach on this machine for that shape.
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
/** The bench's broker process (its CPU is reported beside the collector's). */
let BROKER_PID: number | undefined;
const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(here, '..', 'cli', 'main.js');
const T0 = Date.UTC(2026, 2, 1);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

// ------------------------------------------------------------------ publisher (a separate process)

/**
 * `--publish prefix count tags rate broker [values] [publisher]`: publishes `count` samples over `tags` tags (QoS 1,
 * a window of 1,000 messages in flight), `values` per message: 1 is one topic per tag with `{"ts","value"}` (the
 * zero-config convention); more is one topic per equipment with `{"ts", "p0": …, "p1": …}`, its parameters read by
 * JSON paths (how gateways publish). `publisher` (0, 1, …) names equipment of its own, so that several publishers
 * never send the same sample.
 */
/** QoS 1 messages a publisher keeps in flight. */
const WINDOW = 1000;

async function publishMode(): Promise<void> {
  const [, , , prefix, countS, tagsS, rateS, , valuesS, publisherS] = process.argv;
  const values = Number(valuesS ?? 1);
  const messages = Number(countS) / values;
  const tags = Number(tagsS);
  const rate = Number(rateS); // messages/s, 0 = as fast as possible
  const pub = Number(publisherS ?? 0);
  const side = Math.ceil(Math.sqrt(tags));
  const equipment = tags / values;
  const client = connect(BROKER, { clientId: `bench-pub-${prefix}-${pub}`, clean: true });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  // Connected: wait for the go (a line on stdin), so that the clock does not count starting this process.
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  let inFlight = 0;
  let sent = 0;
  let acked = 0;
  const started = Date.now();
  const message = (i: number): [string, string] => {
    if (values === 1) {
      const tag = i % tags;
      // Per tag, one sample per second of plant time: unique (equipment, parameter, ts).
      const ts = new Date(T0 + Math.floor(i / tags) * 1000).toISOString();
      return [`${prefix}/EQ-${pub}-${Math.floor(tag / side)}/p${tag % side}`, `{"ts":"${ts}","value":${(i % 1000) / 10}}`];
    }
    const eq = i % equipment;
    const ts = new Date(T0 + Math.floor(i / equipment) * 1000).toISOString();
    let body = `{"ts":"${ts}"`;
    for (let k = 0; k < values; k++) body += `,"p${k}":${((i + k) % 1000) / 10}`;
    return [`${prefix}/EQ-${pub}-${eq}/data`, `${body}}`];
  };
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < messages && inFlight < WINDOW) {
        if (rate > 0 && sent > ((Date.now() - started) * rate) / 1000) return void setTimeout(pump, 5);
        const [topic, payload] = message(sent);
        inFlight++;
        sent++;
        client.publish(topic, payload, { qos: 1 }, () => {
          inFlight--;
          acked++;
          if (acked === messages) resolve();
          // Refill in bursts (a burst leaves in one socket write), not one message per acknowledgement.
          else if (inFlight <= WINDOW / 2) pump();
        });
      }
    };
    pump();
  });
  await client.endAsync();
  process.stderr.write(`publisher ${pub}: ${messages} messages (${messages * values} samples) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdin.destroy();
}

// ------------------------------------------------------------------ helpers

/**
 * Starts `tracereport collect`: zero-config (`--mqtt`) for one value per message, else `--config` with one tag per
 * parameter reading its JSON path from the equipment's topic (as docs/collectors.md shows).
 */
function startCollector(db: string, prefix: string, journal: string, values = 1): ChildProcess {
  let mode = ['--mqtt', BROKER, '--topic-prefix', prefix, '--client-id', prefix];
  if (values > 1) {
    const config = {
      drivers: [
        {
          type: 'mqtt',
          name: 'bench',
          url: BROKER,
          clientId: prefix,
          tags: Array.from({ length: values }, (_, k) => ({ topic: `${prefix}/+/data`, equipment: '{1}', parameter: `p${k}`, path: `p${k}` })),
        },
      ],
      // As zero-config: limits from the store's specs, no SPC.
      rules: { spc: { enabled: false } },
    };
    const file = path.join(journal, '..', `${prefix}.json`);
    fs.writeFileSync(file, JSON.stringify(config));
    mode = ['--config', file];
  }
  // --prof DIR: a CPU profile of the collector (and of each publisher) into DIR, for looking at where the time goes.
  const prof = process.argv.includes('--prof') ? ['--cpu-prof', '--cpu-prof-dir', arg('--prof', '')] : [];
  const child = spawn(process.execPath, [...prof, MAIN, 'collect', ...mode, '--db', db, '--journal', journal], {
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

/**
 * Starts `publishers` publisher processes for `n` samples over `tags` tags (each a share of both), `values` per
 * message; resolves once all are connected, with `go()` to start them all and `done` for when all are through.
 */
async function publishers(prefix: string, n: number, tags: number, rate = 0, values = 1, count = 1): Promise<{ go(): void; done: Promise<void>; pids: number[] }> {
  const procs = Array.from({ length: count }, (_, i) => {
    const prof = process.argv.includes('--prof') ? ['--cpu-prof', '--cpu-prof-dir', arg('--prof', '')] : [];
    const args = [...prof, fileURLToPath(import.meta.url), '--publish', prefix, String(n / count), String(tags / count), String(rate), BROKER, String(values), String(i)];
    return spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  });
  const done = Promise.all(
    procs.map((p) => new Promise<void>((resolve, reject) => p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`)))))),
  ).then(() => undefined);
  done.catch(() => undefined);
  await Promise.race([
    Promise.all(procs.map((p) => new Promise<void>((resolve) => p.stdout!.once('data', () => resolve())))),
    done.then(() => Promise.reject(new Error('a publisher ended before it was ready'))),
  ]);
  return { go: () => procs.forEach((p) => p.stdin!.write('go\n')), done, pids: procs.map((p) => p.pid!) };
}

/** Publishes and waits until every publisher is through. */
async function publish(prefix: string, n: number, tags: number, rate = 0, values = 1, count = 1): Promise<void> {
  const p = await publishers(prefix, n, tags, rate, values, count);
  p.go();
  await p.done;
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

interface Shape {
  /** Samples per MQTT message (1: zero-config topics; more: one JSON payload per equipment, read by paths). */
  values: number;
  /** Publisher processes. */
  publishers: number;
}

/**
 * Publishes `samples` samples over `tags` tags and waits until the store holds them all (or nothing arrived for
 * 5 s). Counts every sample in (the collector's own count, from its summary at SIGTERM) and every row out.
 */
async function endToEnd(label: string, db: string, samples: number, tags: number, shape: Shape = { values: 1, publishers: 1 }): Promise<void> {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-journal-'));
  const journal = path.join(work, 'journal');
  const child = startCollector(db, prefix, journal, shape.values);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  await waitFor(child, /collecting from/);
  const ds = new DataSource('bench', db);
  const pubs = await publishers(prefix, samples, tags, 0, shape.values, shape.publishers);
  const start = performance.now();
  const cpu0 = usage(child.pid!).cpu;
  const broker0 = BROKER_PID ? usage(BROKER_PID).cpu : 0;
  // A publisher's CPU is read just before it exits (its /proc entry goes with it): sampled while it runs.
  const pubCpu = new Map<number, number>();
  const sampler = setInterval(() => {
    for (const pid of pubs.pids) {
      try {
        pubCpu.set(pid, usage(pid).cpu);
      } catch {
        // exited
      }
    }
  }, 200);
  pubs.go();
  const pub = pubs.done;
  let published: number | undefined;
  void pub.then(() => (published = performance.now()));
  let stored = 0;
  let last = -1;
  let lastAt = performance.now();
  while ((stored = await count(ds)) < samples) {
    if (stored !== last) [last, lastAt] = [stored, performance.now()];
    // Stalled (nothing new for 5 s once the publishers are through, or for 30 s): report what arrived.
    else if (performance.now() - lastAt > (published && stored > 0 ? 5000 : 30_000)) break;
    // count(*) scans the table (tens of ms at half a million rows, on the same 2 cores): seldom until the end is near.
    await new Promise((r) => setTimeout(r, stored < samples * 0.9 ? 1000 : 50));
  }
  const seconds = (stored < samples ? lastAt : performance.now()) / 1000 - start / 1000;
  const u = usage(child.pid!);
  const brokerCpu = BROKER_PID ? usage(BROKER_PID).cpu - broker0 : NaN;
  await pub;
  clearInterval(sampler);
  const publisherCpu = [...pubCpu.values()].reduce((a, b) => a + b, 0);
  const publishSeconds = ((published ?? performance.now()) - start) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const distinct = Number((await ds.query<{ n: number }>('select count(*) as n from (select distinct equipment_id, parameter, ts from sample) d'))[0]!.n);
  await ds.close();
  fs.rmSync(work, { recursive: true, force: true });
  // "collected N readings: W written, D already stored, ..."
  const m = /collected (\d+) readings: (\d+) written, (\d+) already stored/.exec(stdout);
  const [readingsIn, written, duplicates] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
  const how = `${shape.values === 1 ? '1 value' : `${shape.values} values`} per message, ${shape.publishers} publisher${shape.publishers > 1 ? 's' : ''}`;
  console.log(
    `${label} (${how}): ${stored} of ${samples} samples over ${tags} tags in ${seconds.toFixed(1)} s = ${Math.round(stored / seconds).toLocaleString('en-US')} samples/s ` +
      `(published in ${publishSeconds.toFixed(1)} s; collector CPU ${(u.cpu - cpu0).toFixed(1)} s = ${(((u.cpu - cpu0) / seconds) * 100).toFixed(0)}% of a core, ` +
      `RSS ${u.rssMb.toFixed(0)} MB; broker CPU ${brokerCpu.toFixed(1)} s, publisher CPU ≥ ${publisherCpu.toFixed(1)} s; in ${readingsIn}, written ${written}, already stored ${duplicates}, rows ${stored}, distinct keys ${distinct}, ` +
      `lost ${samples - stored}; load ${loadavg()})`,
  );
  if (stored < samples) console.log(`the collector said:\n${stderr}`);
}

/**
 * The ceiling of the chain without the collector: the same publisher and broker, and a subscriber that only
 * acknowledges (QoS 1, persistent session, acknowledgements sent together per event-loop turn, as the collector does).
 */
async function ceiling(samples: number, shape: Shape): Promise<void> {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const sub = connect(BROKER, { clientId: `${prefix}-null`, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
  let received = 0;
  let held = false;
  sub.handleMessage = (_packet, done) => {
    if (!held) {
      held = true;
      sub.stream.cork();
      setImmediate(() => {
        held = false;
        sub.stream.uncork();
      });
    }
    received++;
    done();
  };
  await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
  await sub.subscribeAsync(shape.values === 1 ? `${prefix}/+/+` : `${prefix}/+/data`, { qos: 1 });
  const messages = samples / shape.values;
  const pubs = await publishers(prefix, samples, 1000, 0, shape.values, shape.publishers);
  const cpu0 = process.cpuUsage();
  const broker0 = BROKER_PID ? usage(BROKER_PID).cpu : 0;
  const start = performance.now();
  pubs.go();
  while (received < messages) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - start) / 1000;
  const c = process.cpuUsage(cpu0);
  const brokerCpu = BROKER_PID ? usage(BROKER_PID).cpu - broker0 : NaN;
  await pubs.done;
  await sub.endAsync(true);
  const how = `${shape.values === 1 ? '1 value' : `${shape.values} values`} per message, ${shape.publishers} publisher${shape.publishers > 1 ? 's' : ''}`;
  console.log(
    `ceiling, a subscriber that only acknowledges (${how}): ${messages} messages in ${seconds.toFixed(1)} s = ${Math.round(messages / seconds).toLocaleString('en-US')} messages/s ` +
      `(broker CPU ${brokerCpu.toFixed(1)} s = ${((brokerCpu / seconds) * 100).toFixed(0)}% of a core, subscriber ${((c.user + c.system) / 1e6).toFixed(1)} s; load ${loadavg()})`,
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
  BROKER_PID = child.pid;
  await new Promise((r) => setTimeout(r, 500));
  return { url: `mqtt://127.0.0.1:${port}`, child };
}

/** The end-to-end cases: the zero-config shape (one value per message) from one and from several publishers, and gateway-style messages. */
const SHAPES: Shape[] = [
  { values: 1, publishers: 1 },
  { values: 1, publishers: 4 },
  { values: 10, publishers: 1 },
];

async function cases(): Promise<void> {
  const samples = Number(arg('--samples', '100000'));
  const pgAdmin = arg('--pg', process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  console.log(`collector bench: ${os.cpus().length} cores, load ${loadavg()}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tr-bench-collect-'));
  try {
    let n = 0;
    const only = process.argv.includes('--values') ? [{ values: Number(arg('--values', '1')), publishers: Number(arg('--publishers', '1')) }] : SHAPES;
    const stores = arg('--stores', 'sqlite,postgres').split(',');
    for (const shape of only) {
      if (process.argv.includes('--ceiling')) await ceiling(samples, shape);
      if (stores.includes('sqlite')) await endToEnd('MQTT -> SQLite', path.join(dir, `e2e-${++n}.sqlite`), samples, 1000, shape);
      if (!stores.includes('postgres')) continue;
      const name = `tr_bench_${process.pid}_${++n}`;
      const admin = knexFactory(new DataSource('admin', pgAdmin).spec.knexConfig);
      await admin.raw(`create database ${name}`);
      const url = new URL(pgAdmin);
      url.pathname = `/${name}`;
      try {
        await endToEnd('MQTT -> PostgreSQL', url.toString(), samples, 1000, shape);
      } finally {
        await admin.raw(`drop database if exists ${name} with (force)`);
        await admin.destroy();
      }
    }
    if (arg('--only', 'all') === 'e2e') return;
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
