/**
 * What the server benchmarks share: `tracereport serve` as a child process (its own event loop, its own
 * core if one is free) over a temporary data folder, an admin session, autocannon runs with per-response
 * latencies, the machine's load, and the CPU time of the server's process tree (Node and its Chromium).
 * Benchmarks print; they never assert.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type AutocannonOptions, type AutocannonResult } from 'autocannon';
import { stats, type Stats } from './common.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/cli/main.js next to dist/bench/. */
export const CLI = path.join(here, '..', 'cli', 'main.js');
export const ADMIN_PASSWORD = 'Bench-boss-password-2026';

export const log = (s: string) => process.stderr.write(`${s}\n`);

/** The 1-, 5- and 15-minute load averages, as `uptime` prints them. */
export function load(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [round2(a!), round2(b!), round2(c!)];
}
const round2 = (v: number) => Math.round(v * 100) / 100;

export interface Session {
  cookie: string;
  csrf: string;
}

export interface BenchServer {
  url: string;
  pid: number;
  dir: string;
  logFile: string;
  session: Session;
  /** Headers of a logged-in JSON request (cookie, CSRF token, content type). */
  headers(): Record<string, string>;
  /** A JSON API call with the session; throws on a non-2xx status with the reply. */
  api<T = any>(method: string, urlPath: string, body?: unknown): Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The /metrics text. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** A temporary folder removed by the caller (or left for a look with --keep). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tracereport-bench-${prefix}-`));
}

/** Generates the small demo plant with the CLI into a SQLite file (in a child: the bench process stays lean). */
export function generateDemoPlant(file: string, lots: number): { incident: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [CLI, 'demo', 'generate', '--db', file, '--lots', String(lots), '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`demo generate failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { incident: Record<string, unknown> };
}

/**
 * Starts `tracereport serve --port 0` over a fresh data folder in `dir`, with the trace store `traceDb`,
 * waits for its URL, and logs in as admin. The server's request log goes to DIR/server.log.
 * BENCH_SERVER_NODE_ARGS adds Node options to the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
export async function startServerProcess(opts: { dir: string; traceDb: string }): Promise<BenchServer> {
  const logFile = path.join(opts.dir, 'server.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    process.execPath,
    [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), CLI, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', path.join(opts.dir, 'data'), '--db', opts.traceDb],
    { env: { ...process.env, TRACEREPORT_ADMIN_PASSWORD: ADMIN_PASSWORD }, stdio: ['ignore', out, 'pipe'] },
  );
  fs.closeSync(out);
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (e: Error) => {
      child.kill('SIGKILL');
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`the server did not start within 120 s: ${stderr}`)), 120_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      const m = /serving on (https?:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const login = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const loginBody = (await login.json()) as { csrfToken?: string };
  const cookie = /tr_session=[^;]*/.exec(login.headers.get('set-cookie') ?? '')?.[0];
  if (login.status !== 200 || !cookie || !loginBody.csrfToken) {
    child.kill('SIGTERM');
    throw new Error(`admin login failed (${login.status}): ${JSON.stringify(loginBody)}`);
  }
  const session: Session = { cookie, csrf: loginBody.csrfToken };
  const headers = () => ({ cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json' });

  return {
    url,
    pid: child.pid!,
    dir: opts.dir,
    logFile,
    session,
    headers,
    async api(method, urlPath, body) {
      const r = await fetch(url + urlPath, { method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      if (r.status < 200 || r.status > 299) throw new Error(`${method} ${urlPath}: ${r.status} ${text.slice(0, 500)}`);
      return text ? JSON.parse(text) : undefined;
    },
    async metrics() {
      return (await fetch(`${url}/metrics`)).text();
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** One value of a metric (name with its labels exactly as printed), 0 when absent. */
export function metricValue(text: string, name: string): number {
  for (const line of text.split('\n')) if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  return 0;
}

/** Cumulative bucket counts of one series of a histogram (`le` → count), e.g. the request durations of a route. */
export function histogramBuckets(text: string, name: string, labels: string): Map<number, number> {
  const out = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix) || !line.includes(labels)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le) out.set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/**
 * The upper bound of the bucket holding quantile q of the requests counted between two scrapes
 * (seconds → ms): "p95 ≤ 25 ms" as the server saw it, from koa's first middleware to its last.
 */
export function bucketQuantileMs(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (!total) return NaN;
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  return Infinity;
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout) > 0 ? Number(r.stdout) : 100;
})();

/**
 * CPU seconds (user + system) of a process and its descendants (the server and its Chromium): the live
 * ones plus the children they have reaped (a Chromium helper that exited meanwhile still counts).
 */
export function treeCpuSeconds(rootPid: number): number {
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
      procs.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) }); // utime stime cutime cstime
    } catch {
      // gone meanwhile
    }
  }
  const inTree = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) if (!inTree.has(pid) && inTree.has(p.ppid)) (inTree.add(pid), (grew = true));
  }
  let ticks = 0;
  for (const pid of inTree) ticks += procs.get(pid)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

export interface LoadRun {
  /** Requests completed per second over the run. */
  rps: number;
  requests: number;
  seconds: number;
  /** Latency of the 2xx responses (autocannon's histogram, ms). */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Every response's time as measured per response (ms), for p95. */
  measured: Stats;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU seconds of the server's process tree per second of the run (2 = both cores). */
  serverCores: number;
  /** The same requests as the server measured them (koa, from /metrics): bucket bounds holding p50/p95/p99, ms. */
  serverMs: { p50: number; p95: number; p99: number };
  /** Event-loop delay of the server over the run (its default metrics, ms). */
  eventLoopLagMs: { mean: number; p99: number; max: number };
  /** Load averages (1, 5, 15 min) before and after. */
  loadBefore: [number, number, number];
  loadAfter: [number, number, number];
}

/** One autocannon run against the server, with per-response times and the server's CPU. */
export async function loadRun(server: BenchServer, urlPath: string, opts: Omit<AutocannonOptions, 'url'> & { route: string }): Promise<LoadRun> {
  const { route, ...cannon } = opts;
  const series = `route="${route}",status="200"`;
  const hist = (text: string) => histogramBuckets(text, 'tracereport_http_request_duration_seconds', series);
  const before = hist(await server.metrics());
  const loadBefore = load();
  const cpu0 = treeCpuSeconds(server.pid);
  const t0 = performance.now();
  const times: number[] = [];
  const instance = autocannon({ url: server.url + urlPath, timeout: 60, ...cannon }); // slow answers count as latency, not as timeouts
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => times.push(ms));
  const r: AutocannonResult = await instance;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = treeCpuSeconds(server.pid) - cpu0;
  const text = await server.metrics(); // the event-loop figures cover the time since the last scrape (before the run)
  const after = hist(text);
  const lag = (k: string) => metricValue(text, `tracereport_nodejs_eventloop_lag_${k}_seconds`) * 1000;
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, Number(v.count)]));
  const requests = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    rps: requests / r.duration,
    requests,
    seconds: r.duration,
    latency: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
    measured: stats(times),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    serverCores: cpu / seconds,
    serverMs: { p50: bucketQuantileMs(before, after, 0.5), p95: bucketQuantileMs(before, after, 0.95), p99: bucketQuantileMs(before, after, 0.99) },
    eventLoopLagMs: { mean: lag('mean'), p99: lag('p99'), max: lag('max') },
    loadBefore,
    loadAfter: load(),
  };
}

/** Smallest and largest of a figure over runs, as "a–b" (or one value). */
export function spread(values: number[], format: (v: number) => string): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? format(lo) : `${format(lo)}–${format(hi)}`;
}
