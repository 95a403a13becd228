/**
 * The MQTT simulator end to end against the local Mosquitto, read back through the MQTT driver with the
 * zero-config convention: in process, and as `bin/tracereport simulate mqtt` (needs `npm run build`).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { conventionDriverConfig } from '../collectors/mqtt/convention.js';
import { MqttDriver } from '../collectors/mqtt/driver.js';
import { createLine, type TagDef } from '../collectors/simulate/line.js';
import { simulateMqtt } from '../collectors/simulate/mqtt.js';
import type { Reading } from '../collectors/types.js';
import { BIN, requireBuild, ROOT, runCli } from './support/cli.js';

const BROKER = 'mqtt://127.0.0.1:1883';
const uid = () => randomUUID().slice(0, 8);
type NumberTag = Extract<TagDef, { kind: 'number' }>;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A collector of the convention under `prefix`, plus removal of the retained state messages afterwards. */
async function collector(prefix: string) {
  const readings: Reading[] = [];
  const clientId = `trtest-sim-${uid()}`;
  const driver = new MqttDriver(conventionDriverConfig(BROKER, { prefix, clientId }), { log: () => {} });
  await driver.start((rs) => readings.push(...rs));
  cleanups.push(async () => {
    await driver.stop();
    const c = await connectAsync(BROKER, { clientId, clean: true });
    for (const eq of new Set(readings.map((r) => r.equipment))) await c.publishAsync(`${prefix}-state/${eq}`, '', { retain: true, qos: 1 });
    await c.endAsync();
  });
  return { driver, readings };
}

/** Checks readings against the line that made them: every tag present, the exact deterministic values, the excursion above USL. */
function checkAgainstLine(readings: readonly Reading[], line: ReturnType<typeof createLine>) {
  const tags = line.tags().filter((t): t is NumberTag => t.kind === 'number');
  const seen = new Set(readings.map((r) => `${r.equipment}/${r.parameter}`));
  for (const t of tags) expect(seen, `${t.equipment}/${t.parameter}`).toContain(`${t.equipment}/${t.parameter}`);
  const spec = new Map(tags.map((t) => [`${t.equipment}/${t.parameter}`, t]));
  for (const r of readings) {
    const t = spec.get(`${r.equipment}/${r.parameter}`);
    expect(t, `unexpected tag ${r.equipment}/${r.parameter}`).toBeDefined();
    // The published value is the line's value at the sample's own time (ts from the payload).
    expect(r.value).toBe(line.value(r.equipment, r.parameter, r.ts));
    expect(r.ts.getTime() % line.periodMs).toBe(0);
    if (line.inExcursion(r.ts) && r.parameter === line.excursion?.parameter && r.equipment === line.excursion.equipment) continue;
    expect(r.value).toBeGreaterThanOrEqual(t!.lsl);
    expect(r.value).toBeLessThanOrEqual(t!.usl);
  }
  const ex = line.excursion!;
  const above = readings.filter((r) => r.equipment === ex.equipment && r.parameter === ex.parameter && r.value > ex.usl);
  expect(above.length).toBeGreaterThan(0);
}

describe('simulate mqtt', () => {
  it('publishes every tag of the line in the convention; the driver reads back the exact values and the excursion', async () => {
    const prefix = `trtest/${uid()}/tracereport`;
    const { readings } = await collector(prefix);
    const excursion = { everyMs: 2000, durationMs: 1000 };
    const sim = await simulateMqtt({ broker: BROKER, prefix, rateHz: 5, lines: ['L1'], seed: 's-mqtt', excursion, log: () => {} });
    cleanups.push(() => sim.stop());
    const line = createLine({ seed: 's-mqtt', lines: ['L1'], rateHz: 5, excursion });
    const ex = line.excursion!;
    await waitFor('an excursion sample above USL and every tag', () =>
      readings.some((r) => r.parameter === ex.parameter && r.value > ex.usl) && new Set(readings.map((r) => `${r.equipment}/${r.parameter}`)).size >= 12,
    );
    await sim.stop();
    const c = sim.counts();
    expect(c.pending).toBe(0);
    expect(c.acknowledged).toBe(c.published);
    checkAgainstLine(readings, line);
    // Lot and operation: retained per machine, outside the convention's topics.
    const sub = await connectAsync(BROKER, { clientId: `trtest-state-${uid()}` });
    const states = new Map<string, { lot: string; operation: string }>();
    sub.on('message', (topic, payload) => states.set(topic, JSON.parse(payload.toString()) as { lot: string; operation: string }));
    await sub.subscribeAsync(`${prefix}-state/+`, { qos: 1 });
    await waitFor('5 retained states', () => states.size >= 5);
    await sub.endAsync();
    expect(states.get(`${prefix}-state/EXT-L1-01`)).toMatchObject({ operation: 'Compounding extrusion', lot: expect.stringMatching(/^CMP-PP-SL1-\d+$/) });
  });

  it('bin/tracereport simulate mqtt runs until SIGTERM and exits cleanly', async () => {
    requireBuild();
    const prefix = `trtest/${uid()}/tracereport`;
    const { readings } = await collector(prefix);
    const child = spawn(
      BIN,
      ['simulate', 'mqtt', '--broker', BROKER, '--rate', '4', '--lines', 'L1', '--seed', 's-cli', '--prefix', prefix, '--excursion-every', '2', '--excursion-for', '1'],
      { cwd: ROOT, env: { ...process.env, CI: 'true' } },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const line = createLine({ seed: 's-cli', lines: ['L1'], rateHz: 4, excursion: { everyMs: 2000, durationMs: 1000 } });
    const ex = line.excursion!;
    await waitFor('an excursion sample above USL and every tag', () =>
      readings.some((r) => r.parameter === ex.parameter && r.value > ex.usl) && new Set(readings.map((r) => `${r.equipment}/${r.parameter}`)).size >= 12,
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/simulate mqtt: 12 tags to mqtt:\/\/127\.0\.0\.1:1883 .* at 4 Hz; excursion: EXT-L1-01\/melt_pressure above USL 125/);
    expect(stderr).toMatch(/stopped \(SIGTERM\): (\d+) messages published, \1 acknowledged/);
    checkAgainstLine(readings, line);
  });

  it.each([
    { args: ['--rate', '0'], error: /--rate must be a number in \(0, 1000\]/ },
    { args: ['--excursion-every', '10', '--excursion-for', '20'], error: /--excursion-every \(10 s\) must be at least --excursion-for \(20 s\)/ },
    { args: ['--lines', 'L7'], error: /unknown line "L7"/ },
    { args: ['--prefix', 'a/#'], error: /--prefix "a\/#" must be topic levels/ },
  ])('rejects $args with exit 2', ({ args, error }) => {
    requireBuild();
    const r = runCli(['simulate', 'mqtt', '--broker', BROKER, ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ARGUMENT_INVALID/);
    expect(r.stderr).toMatch(error);
  });
});
