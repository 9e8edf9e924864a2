/**
 * A private, real adb server for device tests: `adb -P PORT nodaemon server` with its own HOME,
 * on a free port (never 5037, never 5554–5585), behind a small shell that kills it (by its pid)
 * when the test ends or dies, plus helpers to attach simulated devices.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AdbServerClient } from '../../../src/main/devices/adb';
import type { AdbServerAddress } from '../../../src/main/devices/servers';
import { startSimDevice, type SimHandle } from '../../fixtures/sim-device/client';
import type { SimOptions } from '../../fixtures/sim-device/device';
import { simBenchmarkBinary } from '../../fixtures/sim-device/shell';

export const ADB = '/usr/bin/adb';
export const MODEL = path.resolve(__dirname, '../../../node_modules/@mediapipe/face_detection/face_detection_short_range.tflite');

export async function freePort(): Promise<number> {
  for (;;) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    if (port !== 5037 && (port < 5554 || port > 5585)) return port;
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}.`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface AdbServerHandle {
  port: number;
  address: AdbServerAddress;
  client: AdbServerClient;
  home: string;
  pid: number;
  log: () => string;
  stop: () => Promise<void>;
}

export async function startAdbServer(): Promise<AdbServerHandle> {
  const port = await freePort();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-adb-home-'));
  // The shell starts adb, prints its pid, and kills exactly that pid when its stdin closes
  // (the test stopping it, or the test process dying).
  const watchdog: ChildProcess = spawn('/bin/sh', ['-c', '"$0" -P "$1" nodaemon server & child=$!; echo "pid $child"; read _; kill "$child" 2>/dev/null; wait "$child"', ADB, String(port)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: os.tmpdir() },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  watchdog.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  watchdog.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<void>((r) => watchdog.once('exit', () => r()));
  const pid = await waitFor('the adb server pid', () => Number(/pid (\d+)/.exec(out)?.[1] ?? 0), 10_000, 20);
  const address: AdbServerAddress = { host: '127.0.0.1', port, label: `127.0.0.1:${port}`, source: 'flag' };
  const client = new AdbServerClient(address);
  const stop = async () => {
    if (watchdog.exitCode !== null || watchdog.signalCode !== null) return;
    watchdog.stdin!.end();
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      watchdog.kill('SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(timer);
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor('the adb server to answer host:version', () => client.version(1_000), 20_000, 100);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\nadb log:\n${err.slice(-2000)}`);
  }
  return { port, address, client, home, pid, log: () => err, stop };
}

/** Starts a simulated device and `adb connect`s it (through adbkit); waits for the expected state. */
export async function attachSim(server: AdbServerHandle, config: SimOptions = {}, state = config.auth === 'on' ? 'unauthorized' : 'device'): Promise<SimHandle> {
  const sim = await startSimDevice(config);
  try {
    await server.client.connect('127.0.0.1', sim.port);
    await waitForState(server, sim.serial, state);
  } catch (e) {
    await sim.stop();
    throw e;
  }
  return sim;
}

export function waitForState(server: AdbServerHandle, serial: string, state: string | null, timeoutMs = 15_000): Promise<true> {
  return waitFor(`'${serial}' to be ${state ?? 'gone'} on ${server.address.label}`, async () => {
    const d = (await server.client.listDevices()).find((x) => x.serial === serial);
    return state === null ? !d : d?.state === state;
  }, timeoutMs);
}

/** A file the simulated phone runs as benchmark_model. */
export function writeSimTool(dir: string, options: { arch?: 'arm64' | 'x86_64'; salt?: string } = {}): string {
  const file = path.join(dir, `benchmark_model-${options.arch ?? 'arm64'}${options.salt ? `-${options.salt}` : ''}`);
  fs.writeFileSync(file, simBenchmarkBinary(options));
  return file;
}
