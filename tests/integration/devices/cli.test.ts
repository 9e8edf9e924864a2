/**
 * `quantlab devices` and `quantlab bench` as a user runs them (child processes of bin/quantlab.mjs)
 * against a private adb server with simulated phones attached.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../../src/main/services';
import { WorkspaceStore } from '../../../src/main/store';
import { listDeviceRuns } from '../../../src/main/store/device-runs';
import { DeviceListing } from '../../../src/shared/api/contract';
import type { SimHandle } from '../../fixtures/sim-device/client';
import { attachSim, MODEL, startAdbServer, writeSimTool, type AdbServerHandle } from './harness';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bench-cli-'));
const workspace = path.join(tmp, 'ws');

function quantlab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.ANDROID_ADB_SERVER_PORT;
    delete env.QUANTLAB_ADB_SERVERS;
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let adb: AdbServerHandle;
let phone: SimHandle;
let bare: SimHandle;
let tool: string;

beforeAll(async () => {
  adb = await startAdbServer();
  [phone, bare] = await Promise.all([attachSim(adb, { scenario: { durationMs: 10 } }), attachSim(adb, {})]);
  tool = writeSimTool(tmp);
}, 60_000);

afterAll(async () => {
  await Promise.all([phone?.stop(), bare?.stop()]);
  await adb?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const KEYS = ['delegate', 'threads', 'avgUs', 'stdUs', 'initUs', 'firstUs', 'nodesDelegated', 'nodesTotal', 'partitions', 'experimentId'];

describe('quantlab devices / bench', () => {
  it('devices --json lists the phones of the server given by --adb-server', async () => {
    const r = await quantlab(['--json', 'devices', '--adb-server', adb.address.label]);
    expect(r.code, r.stderr).toBe(0);
    const listing = DeviceListing.parse(JSON.parse(r.stdout));
    expect(listing.servers).toEqual([expect.objectContaining({ address: adb.address.label, ok: true, source: 'flag' })]);
    expect(listing.devices.filter((d) => d.serial === phone.serial || d.serial === bare.serial)).toHaveLength(2);
    expect(listing.devices.find((d) => d.serial === phone.serial)).toMatchObject({ state: 'device', facts: { model: 'SimPhone 7', sdk: 34, abi: 'arm64-v8a' } });
  });

  it('bench --json runs a delegates × threads matrix on the phone, then the desktop runtime; both stored side by side', async () => {
    const r = await quantlab(
      ['--json', '--workspace', workspace, 'bench', MODEL, '--device', phone.serial, '--adb-server', adb.address.label]
        .concat(['--delegate', 'cpu,xnnpack', '--threads', '1,2', '--runs', '5', '--warmup', '1', '--benchmark-binary', tool, '--extra-flags', "--min_secs=0 --label='a b'"]),
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { experimentId: string; serial: string; runs: Record<string, unknown>[] };
    expect(out.runs.map((x) => [x.delegate, x.threads, x.status])).toEqual([
      ['cpu', 1, 'completed'],
      ['cpu', 2, 'completed'],
      ['xnnpack', 1, 'completed'],
      ['xnnpack', 2, 'completed'],
    ]);
    for (const run of out.runs) {
      for (const k of KEYS) expect(run, k).toHaveProperty(k);
      expect(run.experimentId).toBe(out.experimentId);
      expect(run.avgUs).toBeGreaterThan(0);
    }
    expect(out.runs[2]).toMatchObject({ nodesDelegated: 31, nodesTotal: 31, partitions: 1 });
    const execs = (await phone.stats()).execs.filter((e) => e[0].endsWith('/benchmark_model') && e.includes('--min_secs=0'));
    expect(execs).toHaveLength(4);
    expect(execs[0]).toContain('--label=a b');

    const d = await quantlab(['--json', '--workspace', workspace, 'bench', MODEL, '--runs', '3', '--warmup', '1']);
    expect(d.code, d.stderr).toBe(0);
    const desk = JSON.parse(d.stdout) as { experimentId: string; runs: Record<string, unknown>[] };
    expect(desk.runs).toHaveLength(1);
    for (const k of KEYS) expect(desk.runs[0], k).toHaveProperty(k);
    expect(desk.runs[0]).toMatchObject({ delegate: 'quantlab-cpu', threads: 1, status: 'completed', nodesDelegated: 0, partitions: 0 });

    const store = WorkspaceStore.open(workspace);
    try {
      const phoneRuns = listDeviceRuns(store.db, { experimentId: out.experimentId });
      const deskRuns = listDeviceRuns(store.db, { experimentId: desk.experimentId });
      expect(phoneRuns.map((x) => x.server)).toEqual(Array(4).fill(adb.address.label));
      expect(deskRuns[0]).toMatchObject({ server: 'local', serial: 'desktop', delegate: 'quantlab-cpu', latency: { count: 3 } });
      // Per-op times from the interpreter's profile, one row per op it runs (constant ops are folded
      // at prepare time), in the same shape as the phone's.
      const prof = deskRuns[0].profile!;
      expect(prof.runOrder.length).toBe(prof.nodesExecuted);
      expect(prof.runOrder.length + (deskRuns[0].device as { foldedOps: number }).foldedOps).toBe(deskRuns[0].delegation.nodesTotal);
      expect(deskRuns[0].profile!.runOrder[0]).toMatchObject({ nodeType: expect.any(String), nodeIndex: expect.any(Number), avgMs: expect.any(Number) });
      expect(store.getExperiment(out.experimentId).model!.sha256).toBe(store.getExperiment(desk.experimentId).model!.sha256);
    } finally {
      store.close();
    }
    // The device's facts through the services include what the tool reported in those runs.
    const services = createServices({ workspaceDir: workspace, transport: 'web', adbServers: [adb.address.label], log: () => {} });
    try {
      const got = await services.call('devices.get', { serial: phone.serial });
      expect(got).toMatchObject({ ok: true, result: { facts: { model: 'SimPhone 7', tool: { xnnpackDelegateCreated: true, gpuDelegateCreated: false } } } });
    } finally {
      await services.close();
    }
  });

  it('bench on a phone without the benchmark tool fails with what to do (exit 1)', async () => {
    const r = await quantlab(['--workspace', workspace, 'bench', MODEL, '--device', bare.serial, '--adb-server', adb.address.label]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^quantlab: bench failed: There is no benchmark_model at '\/data\/local\/tmp\/benchmark_model'\. QuantLab needs TFLite's benchmark_model .* --benchmark-binary PATH/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a device that is not there before recording anything', async () => {
    const r = await quantlab(['--json', '--workspace', workspace, 'bench', MODEL, '--device', 'nope', '--adb-server', adb.address.label]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'device-not-found' } });
    expect(r.stderr).toContain(phone.serial);
  });
});
