/**
 * The Modbus TCP driver against a real Modbus server: Debian's python3-pymodbus (tests/support/pymodbus-server.py),
 * whose register contents the test sets, typed values laid out by pymodbus's own payload builder.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { register as registerSimulateModbus } from '../cli/simulate-modbus.js';
import { modbusDriverSchema } from '../collectors/config.js';
import { ModbusDriver, type ModbusDriverStatus } from '../collectors/modbus/driver.js';
import { simulateModbus, type ModbusSimulator } from '../collectors/simulate/modbus.js';
import type { Reading } from '../collectors/types.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('./support/pymodbus-server.py', import.meta.url).pathname;

interface PyServer {
  readonly port: number;
  readonly child: ChildProcessWithoutNullStreams;
  /** Sets registers or coils (see the script); resolves once the server applied it. */
  set(cmd: Record<string, unknown>): Promise<void>;
  kill(): Promise<void>;
}

const servers = new Set<PyServer>();
const simulators = new Set<ModbusSimulator>();
const drivers = new Set<ModbusDriver>();

async function startServer(port = 0, size = 200): Promise<PyServer> {
  const child = spawn(PYTHON, [SCRIPT, '--port', String(port), '--size', String(size)]);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: child.stdout });
  const waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  lines.on('line', (line) => waiting.shift()?.resolve(line));
  child.once('exit', (code, signal) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`pymodbus server exited (${code ?? signal}): ${stderr}`));
  });
  const nextLine = () => new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
  const first = await nextLine();
  const m = /^listening (\d+)$/.exec(first);
  if (!m) throw new Error(`pymodbus server said "${first}": ${stderr}`);
  const server: PyServer = {
    port: Number(m[1]),
    child,
    async set(cmd) {
      const answer = nextLine();
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
      const line = await answer;
      if (!line.startsWith('ok')) throw new Error(`pymodbus server: ${line}`);
    },
    async kill() {
      servers.delete(server);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
  servers.add(server);
  return server;
}

function driverFor(port: number, registers: unknown[], extra: Record<string, unknown> = {}, log?: (m: string) => void): ModbusDriver {
  const config = modbusDriverSchema.parse({ type: 'modbus', name: 'plc1', host: '127.0.0.1', port, pollMs: 100, timeoutMs: 1000, registers, ...extra });
  const driver = new ModbusDriver(config, { backoffMinMs: 100, backoffMaxMs: 400, ...(log ? { log } : {}) });
  drivers.add(driver);
  return driver;
}

async function run(driver: ModbusDriver): Promise<Reading[]> {
  const got: Reading[] = [];
  await driver.start((rs) => got.push(...rs));
  return got;
}

async function until<T>(what: string, probe: () => T | undefined | false, driver?: ModbusDriver, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`waited ${ms} ms for ${what}; driver status ${JSON.stringify(driver?.status())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function latest(got: readonly Reading[], parameter: string): Reading | undefined {
  for (let i = got.length - 1; i >= 0; i--) if (got[i].parameter === parameter) return got[i];
  return undefined;
}

afterEach(async () => {
  for (const d of drivers) await d.stop();
  drivers.clear();
  for (const s of [...servers]) await s.kill();
  for (const s of simulators) await s.stop();
  simulators.clear();
});

describe('Modbus TCP driver against pymodbus', () => {
  it('reads every type in every byte and word order from holding and input registers, grouped into one request per area', async () => {
    const server = await startServer();
    const values = { int16: -12345, uint16: 54321, int32: -123456789, uint32: 3_000_000_000, float32: -215.3 } as const;
    const orders = [
      ['big', 'big'],
      ['big', 'little'],
      ['little', 'big'],
      ['little', 'little'],
    ] as const;
    const tags: Record<string, unknown>[] = [];
    const expected = new Map<string, number>();
    for (const area of ['holding', 'input'] as const) {
      let address = area === 'holding' ? 0 : 10; // contiguous within each area
      for (const [type, value] of Object.entries(values)) {
        for (const [byteOrder, wordOrder] of orders) {
          const parameter = `${area}_${type}_${byteOrder}_${wordOrder}`;
          await server.set({ area, address, type, value, byteOrder, wordOrder });
          tags.push({ area, address, type, byteOrder, wordOrder, equipment: 'PLC-1', parameter });
          expected.set(parameter, type === 'float32' ? Math.fround(value) : value);
          address += type.endsWith('32') ? 2 : 1;
        }
      }
    }
    const driver = driverFor(server.port, tags);
    const got = await run(driver);
    await until('a reading of every tag', () => [...expected.keys()].every((p) => latest(got, p)), driver);
    for (const [parameter, value] of expected) expect([parameter, latest(got, parameter)!.value]).toEqual([parameter, value]);
    const status = driver.status();
    expect(status).toMatchObject({ name: 'plc1', type: 'modbus', state: 'connected', requestsPerPoll: 2, failedReads: 0, reconnects: 0 });
  });

  it('splits a long register range into requests of at most 125 registers and reads every value right', async () => {
    const server = await startServer(0, 300);
    const tags = Array.from({ length: 130 }, (_, i) => ({ area: 'holding', address: 2 * i, type: 'float32', wordOrder: 'little', equipment: 'PLC-1', parameter: `t${i}` }));
    for (let i = 0; i < 130; i++) await server.set({ area: 'holding', address: 2 * i, type: 'float32', value: i * 1.25 - 40, wordOrder: 'little' });
    const driver = driverFor(server.port, tags);
    const got = await run(driver);
    await until('every tag', () => tags.every((t) => latest(got, t.parameter)), driver);
    expect(tags.map((t) => [t.parameter, latest(got, t.parameter)!.value])).toEqual(tags.map((t, i) => [t.parameter, i * 1.25 - 40]));
    expect(driver.status()).toMatchObject({ requestsPerPoll: 3, failedReads: 0 }); // 260 registers: 124 + 124 + 12
  });

  it('reads coils and bool registers as 0 and 1', async () => {
    const server = await startServer();
    await server.set({ area: 'coil', address: 0, values: [1, 0, 1, 1, 0, 0, 0, 0, 1, 0] });
    await server.set({ area: 'holding', address: 5, values: [0x0100, 0] });
    const driver = driverFor(server.port, [
      ...[0, 1, 2, 3, 8, 9].map((address) => ({ area: 'coil', address, type: 'bool', equipment: 'PLC-1', parameter: `coil${address}` })),
      { area: 'holding', address: 5, type: 'bool', equipment: 'PLC-1', parameter: 'run' },
      { area: 'holding', address: 6, type: 'bool', equipment: 'PLC-1', parameter: 'fault' },
    ]);
    const got = await run(driver);
    const names = ['coil0', 'coil1', 'coil2', 'coil3', 'coil8', 'coil9', 'run', 'fault'];
    await until('every coil', () => names.every((p) => latest(got, p)), driver);
    expect(names.map((p) => latest(got, p)!.value)).toEqual([1, 0, 1, 1, 1, 0, 1, 0]);
    expect(driver.status().requestsPerPoll).toBe(3); // coils 0-3, coils 8-9, holding 5-6
  });

  it('applies scale and offset, carries the unit, stamps every reading of a poll with the poll time, and drops changes within the deadband', async () => {
    const server = await startServer();
    await server.set({ area: 'holding', address: 0, values: [1000, 1000] });
    const driver = driverFor(server.port, [
      { area: 'holding', address: 0, type: 'uint16', equipment: 'EXT-1', parameter: 'melt_temp', unit: '°C', scale: 0.1, offset: -40 },
      { area: 'holding', address: 1, type: 'uint16', equipment: 'EXT-1', parameter: 'melt_pressure', unit: 'bar', scale: 0.1, deadband: 0.5 },
    ]);
    const before = Date.now();
    const got = await run(driver);
    const first = await until('the first readings', () => latest(got, 'melt_pressure'), driver);
    expect(latest(got, 'melt_temp')).toMatchObject({ equipment: 'EXT-1', value: 60, unit: '°C' });
    expect(first).toMatchObject({ equipment: 'EXT-1', value: 100, unit: 'bar' });
    expect(latest(got, 'melt_temp')!.ts).toEqual(first.ts);
    expect(first.ts.getTime()).toBeGreaterThanOrEqual(before);
    expect(first.ts.getTime()).toBeLessThanOrEqual(Date.now());

    // 100.3 bar: within the 0.5 deadband of 100, never delivered however often it is polled.
    await server.set({ area: 'holding', address: 1, values: [1003] });
    const polls = driver.status().polls;
    await until('three more polls', () => driver.status().polls >= polls + 3, driver);
    // 101 bar: outside it.
    await server.set({ area: 'holding', address: 1, values: [1010] });
    await until('the moved pressure', () => latest(got, 'melt_pressure')!.value !== 100 && latest(got, 'melt_pressure'), driver);
    expect(got.filter((r) => r.parameter === 'melt_pressure').map((r) => r.value)).toEqual([100, 101]);
    // The tag without deadband was delivered on every poll.
    expect(got.filter((r) => r.parameter === 'melt_temp').length).toBeGreaterThanOrEqual(5);
  });

  it('reconnects after the server is killed and restarted, and readings resume', async () => {
    const server = await startServer();
    await server.set({ area: 'input', address: 3, type: 'float32', value: 1.5 });
    const logged: string[] = [];
    const driver = driverFor(server.port, [{ area: 'input', address: 3, type: 'float32', equipment: 'MIX-1', parameter: 'speed' }], {}, (m) => logged.push(m));
    const got = await run(driver);
    await until('a reading', () => latest(got, 'speed')?.value === 1.5, driver);

    await server.kill();
    await until('the driver to notice', () => driver.status().state === 'reconnecting', driver);
    const lost = got.length;
    // Stays alive while nobody listens: failed attempts are retried.
    await until('a failed attempt', () => driver.status().reconnects >= 2, driver);
    expect(driver.status().state).toBe('reconnecting');
    expect(got.length).toBe(lost);

    const again = await startServer(server.port);
    await again.set({ area: 'input', address: 3, type: 'float32', value: 2.5 });
    await until('readings after the restart', () => latest(got, 'speed')?.value === 2.5, driver);
    const status: ModbusDriverStatus = driver.status();
    expect(status.state).toBe('connected');
    expect(status.reconnects).toBeGreaterThanOrEqual(2);
    expect(status.lastError).toMatch(/127\.0\.0\.1:\d+/);
    // One line per connection change, not one per failed attempt.
    expect(logged.map((m) => m.replace(/:\d+ /g, ':PORT ').replace(/ \(.*\)/, ' (…)'))).toEqual([
      'modbus driver "plc1": connected to 127.0.0.1:PORT unit 1; 1 read request(s) every 100 ms',
      'modbus driver "plc1": connection to 127.0.0.1:PORT unit 1 lost (…); reconnecting',
      'modbus driver "plc1": reconnected to 127.0.0.1:PORT unit 1; 1 read request(s) every 100 ms',
    ]);
  });

  it('reconnects when the server stops answering (request timeout), and resumes when it answers again', async () => {
    const server = await startServer();
    await server.set({ area: 'holding', address: 0, values: [7] });
    const driver = driverFor(server.port, [{ area: 'holding', address: 0, equipment: 'MIX-1', parameter: 'step' }], { timeoutMs: 300 });
    const got = await run(driver);
    await until('a reading', () => latest(got, 'step'), driver);

    server.child.kill('SIGSTOP'); // the socket stays open; nothing answers
    try {
      await until('a timed-out read', () => driver.status().failedReads >= 1, driver);
      expect(driver.status().lastError).toMatch(/reading holding 0 from 127\.0\.0\.1:\d+ unit 1 failed: Req timed out/);
      await until('a reconnect', () => driver.status().reconnects >= 1, driver);
    } finally {
      server.child.kill('SIGCONT');
    }
    await server.set({ area: 'holding', address: 0, values: [8] });
    await until('readings again', () => latest(got, 'step')?.value === 8, driver);
    expect(driver.status().state).toBe('connected');
  });

  it('a read of a missing register range is counted and reported; the other reads go on', async () => {
    const server = await startServer(0, 100);
    await server.set({ area: 'holding', address: 0, values: [42] });
    await server.set({ area: 'input', address: 0, values: [0x7fc0, 0] }); // float32 NaN
    const logged: string[] = [];
    const driver = driverFor(server.port, [
      { area: 'holding', address: 0, equipment: 'PLC-1', parameter: 'present' },
      { area: 'holding', address: 500, type: 'float32', equipment: 'PLC-1', parameter: 'missing' },
      { area: 'input', address: 0, type: 'float32', equipment: 'PLC-1', parameter: 'nan' },
    ], {}, (m) => logged.push(m));
    const got = await run(driver);
    await until('three polls', () => driver.status().polls >= 3, driver);
    await until('readings of the present register', () => got.filter((r) => r.parameter === 'present').length >= 2, driver);
    const status = driver.status();
    expect(status.state).toBe('connected');
    expect(status.failedReads).toBeGreaterThanOrEqual(2);
    expect(status.reconnects).toBe(0);
    expect(status.badValues).toBeGreaterThanOrEqual(2);
    expect(got.some((r) => r.parameter === 'missing' || r.parameter === 'nan')).toBe(false);
    expect(latest(got, 'present')!.value).toBe(42);
    // The failing read is logged once, not once per poll.
    expect(logged.filter((m) => m.includes('holding 500-501'))).toHaveLength(1);
    expect(logged.find((m) => m.includes('holding 500-501'))).toMatch(/failed: .*\(Code 2\).*counted in status/);
    // lastError is the latest problem of the poll: the missing range or the NaN.
    expect(status.lastError).toMatch(/reading holding 500-501 from 127\.0\.0\.1:\d+ unit 1 failed: .*\(Code 2\)|registers\[2\] PLC-1\/nan \(input 0\) read NaN/);
  });

  it('starts while the device is unreachable and connects once it appears; stop() ends delivery', async () => {
    const probe = await startServer();
    const port = probe.port;
    await probe.kill(); // a port nobody listens on
    const driver = driverFor(port, [{ area: 'holding', address: 0, equipment: 'PLC-1', parameter: 'x' }]);
    const got = await run(driver);
    expect(driver.status().state).toBe('reconnecting');
    expect(driver.status().lastError).toMatch(/ECONNREFUSED/);
    const server = await startServer(port);
    await server.set({ area: 'holding', address: 0, values: [5] });
    await until('a reading', () => latest(got, 'x')?.value === 5, driver);
    await driver.stop();
    expect(driver.status().state).toBe('stopped');
    const n = got.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(got.length).toBe(n);
  });

  it('backs off and keeps trying against a device that accepts connections and drops them', async () => {
    const sockets = new Set<net.Socket>();
    const dropper = net.createServer((s) => {
      sockets.add(s);
      s.destroy();
    });
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    try {
      const driver = driverFor((dropper.address() as net.AddressInfo).port, [{ area: 'holding', address: 0, equipment: 'PLC-1', parameter: 'x' }]);
      const got = await run(driver);
      await until('three more attempts', () => driver.status().reconnects >= 3, driver);
      expect(sockets.size).toBeGreaterThanOrEqual(3);
      expect(got).toEqual([]);
      expect(['connected', 'reconnecting']).toContain(driver.status().state);
      expect(driver.status().lastError).toMatch(/127\.0\.0\.1:\d+/);
    } finally {
      for (const d of drivers) await d.stop();
      await new Promise((resolve) => dropper.close(resolve));
    }
  });

  it('rejects a tag that cannot be read, naming it, before connecting', async () => {
    const driver = driverFor(1, [
      { area: 'holding', address: 0, equipment: 'PLC-1', parameter: 'x' },
      { area: 'coil', address: 0, type: 'float32', equipment: 'PLC-1', parameter: 'y' },
    ]);
    await expect(driver.start(() => {})).rejects.toThrow(/drivers\.plc1\.registers\[1\]: a coil is one bit/);
    expect(driver.status().state).toBe('stopped');
  });
});

describe('Modbus line simulator', () => {
  it('serves the simulated line: the driver reads it through the simulator\'s own register map', async () => {
    // An excursion on its plateau now (it ramps over its first and last 10 %).
    const sim = await simulateModbus({ port: 0, seed: 'modbus-test', lines: ['L1'], excursion: { at: new Date(Date.now() - 10_000), durationMs: 60_000 } });
    simulators.add(sim);
    const { map, line } = sim;
    const ex = line.excursion!;
    const exIndex = map.driver.registers.findIndex((r) => r.equipment === ex.equipment && r.parameter === ex.parameter);
    expect(exIndex).toBeGreaterThanOrEqual(0);
    const config = modbusDriverSchema.parse({
      ...map.driver,
      pollMs: 200,
      registers: [
        ...map.driver.registers,
        { ...map.holding[exIndex], parameter: `${ex.parameter}_x10` },
        map.coils[exIndex],
      ],
    });
    const driver = new ModbusDriver(config);
    drivers.add(driver);
    const got = await run(driver);
    const names = config.registers.map((r) => r.parameter);
    await until('a reading of every tag', () => config.registers.every((r) => got.some((g) => g.equipment === r.equipment && g.parameter === r.parameter)), driver);
    expect(driver.status()).toMatchObject({ failedReads: 0, requestsPerPoll: 3 });

    // Each float32 reading is the line's value at the update instant the poll saw (the latest, or one or two before it).
    const period = line.periodMs;
    for (const r of got.filter((g) => !g.parameter.endsWith('_x10') && !g.parameter.endsWith('_out_of_spec'))) {
      const tick = Math.floor(r.ts.getTime() / period) * period;
      const candidates = [0, 1, 2].map((k) => Math.fround(line.value(r.equipment, r.parameter, new Date(tick - k * period))!));
      expect(candidates, `${r.equipment}/${r.parameter} at ${r.ts.toISOString()}`).toContain(r.value);
    }
    const pressure = got.find((g) => g.equipment === ex.equipment && g.parameter === ex.parameter)!;
    expect(pressure.value).toBeGreaterThan(ex.usl);
    const x10 = got.find((g) => g.parameter === `${ex.parameter}_x10`)!;
    expect(Math.abs(x10.value - pressure.value)).toBeLessThan(10); // int16 ×10 of a value a poll apart at most
    expect(got.find((g) => g.parameter === `${ex.parameter}_out_of_spec`)!.value).toBe(1);
    // Units come with the map.
    expect(pressure.unit).toBe('bar');
    expect(names.length).toBe(map.driver.registers.length + 2);
  });

  it('simulate modbus --map prints the register map with a driver section a collector config accepts', async () => {
    const simulate = new Command('simulate').exitOverride();
    registerSimulateModbus(simulate);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await simulate.parseAsync(['modbus', '--map', '--port', '5999', '--lines', 'L2', '--seed', 's'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    const map = JSON.parse(out) as { driver: unknown; holding: unknown[]; coils: unknown[] };
    const driver = modbusDriverSchema.parse(map.driver);
    // The holding and coil entries are register entries too.
    modbusDriverSchema.parse({ ...driver, registers: [...map.holding, ...map.coils] });
    expect(driver).toMatchObject({ type: 'modbus', host: '127.0.0.1', port: 5999 });
    expect(driver.registers.length).toBeGreaterThan(5);
    expect(driver.registers.every((r) => r.equipment.includes('-L2-'))).toBe(true);
    expect(driver.registers.map((r) => r.address)).toEqual(driver.registers.map((_, i) => 2 * i));
    expect(map.holding).toHaveLength(driver.registers.length);
    expect(map.coils).toHaveLength(driver.registers.length);
  });
});
