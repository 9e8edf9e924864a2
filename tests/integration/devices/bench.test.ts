/**
 * Benchmark runs through a real adb server on simulated phones: push by hash, every output
 * variant parsed into what the tool printed, op profiles, the static-shape fallback, a phone
 * without the tool, and a phone unplugged in the middle of a matrix job.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { DeviceBenchSession, REMOTE_BIN, REMOTE_MODELS, type BenchSettings } from '../../../src/main/devices/bench';
import type { BenchParams } from '../../../src/main/jobs/kinds/bench';
import { createServices } from '../../../src/main/services';
import { DeviceRun } from '../../../src/shared/api/contract';
import type { SimHandle } from '../../fixtures/sim-device/client';
import type { BenchFormat } from '../../fixtures/sim-device/benchmark';
import { attachSim, MODEL, startAdbServer, writeSimTool, type AdbServerHandle } from './harness';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bench-'));
const modelBytes = new Uint8Array(fs.readFileSync(MODEL));
const modelOps = readTflite(modelBytes, 'm.tflite').subgraphs[0].ops.length;
const settings: BenchSettings = { runs: 10, warmup: 1, profile: false, extraFlags: [] };
const log = () => {};

let adb: AdbServerHandle;
let phone: SimHandle;
let bare: SimHandle;
let tool: string;

beforeAll(async () => {
  adb = await startAdbServer();
  [phone, bare] = await Promise.all([attachSim(adb, { scenario: { durationMs: 10, nodes: modelOps } }), attachSim(adb, { scenario: { durationMs: 10 } })]);
  tool = writeSimTool(tmp);
}, 60_000);

afterAll(async () => {
  await Promise.all([phone?.stop(), bare?.stop()]);
  await adb?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const session = (sim: SimHandle) => new DeviceBenchSession(adb.client, sim.serial, { log, timeouts: { stepMs: 10_000, runMs: 20_000 } });

describe('benchmark runs on a simulated phone', () => {
  it('pushes the tool and the model by hash, once: the second time nothing is pushed', async () => {
    const s1 = session(phone);
    const t1 = await s1.ensureTool(tool);
    const m1 = await s1.ensureModel(modelBytes);
    expect(t1).toMatchObject({ pushed: true, path: `${REMOTE_BIN}/${t1.sha256}/benchmark_model` });
    expect(m1).toMatchObject({ pushed: true, path: `${REMOTE_MODELS}/${m1.sha256}.tflite` });
    const sendsAfterFirst = (await phone.stats()).sends;
    expect(sendsAfterFirst.map((x) => [x.path, x.bytes, x.mode])).toEqual([
      [`${t1.path}.part`, fs.statSync(tool).size, 0o755],
      [`${m1.path}.part`, modelBytes.length, 0o644],
    ]);
    const files = await phone.command<{ path: string; mode: number }[]>('files');
    expect(files.find((f) => f.path === t1.path)?.mode).toBe(0o755);
    expect(files.some((f) => f.path.endsWith('.part'))).toBe(false);

    const s2 = session(phone);
    expect(await s2.ensureTool(tool)).toMatchObject({ pushed: false, sha256: t1.sha256 });
    expect(await s2.ensureModel(modelBytes)).toMatchObject({ pushed: false });
    // Without --benchmark-binary, the tool pushed last is found again.
    expect(await s2.ensureTool(null)).toMatchObject({ path: t1.path, sha256: t1.sha256, pushed: false });
    expect((await phone.stats()).sends).toHaveLength(2);
  });

  it('parses every output variant into exactly what the tool printed', async () => {
    const s = session(phone);
    const { path: bin } = await s.ensureTool(tool);
    const { path: model } = await s.ensureModel(modelBytes);
    const variants: [BenchFormat, boolean, 'cpu' | 'xnnpack' | 'gpu' | 'nnapi'][] = [
      ['legacy', false, 'nnapi'],
      ['legacy', true, 'cpu'],
      ['mid', false, 'xnnpack'],
      ['mid', true, 'gpu'],
      ['modern', false, 'cpu'],
      ['modern', true, 'gpu'],
    ];
    for (const [format, percentiles, delegate] of variants) {
      await phone.configure({ scenario: { format, percentiles, nodes: modelOps, durationMs: 10, delegates: { gpu: { delegated: modelOps - 3, partitions: 2 } } } });
      const out = await s.run(bin, model, { delegate, threads: 2 }, settings);
      const what = `${format}${percentiles ? '+p' : ''} ${delegate}`;
      expect(out.status, what).toBe('completed');
      const truth = (await phone.stats()).benchmarks.at(-1)!;
      expect(truth.delegate, what).toBe(delegate);
      const { printed, delegation } = truth;
      expect(out.parse!.latency, what).toMatchObject({
        initUs: printed!.initUs,
        firstUs: printed!.firstUs,
        warmupAvgUs: printed!.warmupAvgUs,
        avgUs: printed!.avgUs,
        stdUs: printed!.stdUs,
        minUs: printed!.minUs,
        maxUs: printed!.maxUs,
        count: settings.runs,
        p5Us: printed!.p5Us,
        medianUs: printed!.medianUs,
        p95Us: printed!.p95Us,
      });
      expect(out.parse!.memory, what).toMatchObject({ initMb: printed!.initMb, overallMb: printed!.overallMb });
      if (delegation) {
        expect(out.parse!.delegation, what).toMatchObject({
          delegate: delegation.name,
          nodesDelegated: delegation.delegated,
          partitions: delegation.partitions,
          nodesTotal: format === 'legacy' ? null : delegation.total,
        });
      } else expect(out.parse!.delegation.lines, what).toEqual([]);
      expect(out.rawLog, what).toContain('Inference timings in us');
      expect(out.argv).toContain(`--num_threads=2`);
    }
  });

  it('parses the op profile, and the static-shape fallback', async () => {
    const s = session(phone);
    const { path: bin } = await s.ensureTool(tool);
    const { path: model } = await s.ensureModel(modelBytes);
    await phone.configure({ scenario: { format: 'modern', nodes: modelOps, durationMs: 10, delegates: { gpu: { delegated: modelOps - 2, partitions: 1, cpuOps: [5, modelOps - 1] } } } });
    const out = await s.run(bin, model, { delegate: 'gpu', threads: 1 }, { ...settings, profile: true });
    const prof = out.parse!.profile!;
    expect(out.argv).toContain('--enable_op_profiling=true');
    expect(prof.runOrder.filter((r) => r.nodeType !== 'TfLiteGpuDelegateV2').map((r) => r.nodeIndex)).toEqual([5, modelOps - 1]);
    expect(prof.runOrder.filter((r) => r.nodeType === 'TfLiteGpuDelegateV2')).toHaveLength(1);
    expect(prof.byNodeType.find((r) => r.nodeType === 'TfLiteGpuDelegateV2')).toMatchObject({ count: 1 });
    expect(prof.nodesExecuted).toBe(prof.runOrder.length);
    const total = prof.runOrder.reduce((a, r) => a + (r.percent ?? 0), 0);
    expect(total).toBeGreaterThan(99.9);

    await phone.configure({ scenario: { format: 'modern', nodes: modelOps, durationMs: 10, dynamicShapes: true } });
    const fallback = await s.run(bin, model, { delegate: 'nnapi', threads: 1 }, settings);
    expect(fallback.status).toBe('completed');
    expect(fallback.parse!.delegation).toMatchObject({ staticShapeWarning: true, delegateNotApplied: true, nodesDelegated: 0 });
    expect(fallback.parse!.warnings.join('\n')).toContain('static-sized tensors');

    await phone.configure({ scenario: { format: 'modern', nodes: modelOps, durationMs: 10 } });
    const wrong = await s.run(bin, model, { delegate: 'nnapi', threads: 1, accelerator: "no such 'dsp'" }, settings);
    expect(wrong.status).toBe('failed');
    expect(wrong.error).toMatch(/Could not find the specified NNAPI accelerator: no such 'dsp'.*The accelerators on this phone are: qti-dsp, qti-gpu, nnapi-reference\./);
    expect(await s.probeNnapi(bin, model)).toMatchObject({ nnapiAccelerators: ['qti-dsp', 'qti-gpu', 'nnapi-reference'] });
  });

  it('reports a phone without the benchmark tool, or with one built for another ABI, with what to do', async () => {
    const s = session(bare);
    await expect(s.ensureTool(null)).rejects.toMatchObject({ code: 'tool-missing', message: expect.stringMatching(/There is no benchmark_model at '\/data\/local\/tmp\/benchmark_model'\..*--benchmark-binary PATH/) });
    const x86 = writeSimTool(tmp, { arch: 'x86_64' });
    await expect(s.ensureTool(x86)).rejects.toMatchObject({
      code: 'tool-not-executable',
      message: expect.stringMatching(/cannot run on this phone \(.*not executable: 64-bit ELF file\).*arm64-v8a/),
    });
  });

  it('bounds every step in time: a hung run is stopped and reported, a slow phone fails the step, the session stays usable', async () => {
    const s = new DeviceBenchSession(adb.client, phone.serial, { log, timeouts: { stepMs: 400, runMs: 600 } });
    const { path: bin } = await session(phone).ensureTool(tool);
    const { path: model } = await session(phone).ensureModel(modelBytes);
    await phone.configure({ scenario: { nodes: modelOps, durationMs: 10 }, faults: { hang: 'benchmark_model --graph' } });
    const t0 = Date.now();
    const hung = await s.run(bin, model, { delegate: 'cpu', threads: 1 }, settings);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(hung).toMatchObject({ status: 'failed', deviceLost: false });
    expect(hung.error).toMatch(/the benchmark run \(cpu, 1 thread\) on '127\.0\.0\.1:\d+' did not finish within 600 ms; it was stopped\. \(raise the limit with --run-timeout SECONDS\)/);
    await phone.configure({ faults: { slowMs: 1_500 } });
    await expect(s.ensureModel(modelBytes)).rejects.toMatchObject({ code: 'device-timeout', message: expect.stringMatching(/did not finish within 400 ms/) });
    await phone.configure({ faults: {} });
    expect((await s.run(bin, model, { delegate: 'cpu', threads: 1 }, settings)).status).toBe('completed');
  });

  it('a phone unplugged mid-matrix: finished runs kept, the one running and the rest failed with the reason', async () => {
    const workspace = path.join(tmp, 'ws');
    const services = createServices({ workspaceDir: workspace, transport: 'web', log: () => {} });
    const sim = await attachSim(adb, { scenario: { durationMs: 150, nodes: modelOps }, faults: { unplugOnBenchmark: 2 } });
    try {
      const params: BenchParams = {
        modelPath: MODEL,
        target: { kind: 'device', server: adb.address, serial: sim.serial },
        delegates: [
          { delegate: 'cpu', accelerator: null },
          { delegate: 'nnapi', accelerator: null },
        ],
        threads: [1, 2],
        runs: 10,
        warmup: 1,
        profile: false,
        benchmarkBinary: tool,
        extraFlags: [],
        timeouts: { stepMs: 10_000, runMs: 20_000 },
      };
      const job = services.jobs().submit({ kind: 'bench', params, experiment: { name: 'matrix', config: params, appVersion: 'test' } });
      const outcome = await job.done;
      expect(outcome.job.status, outcome.job.error ?? '').toBe('completed');
      const env = await services.call('deviceRuns.list', { experimentId: job.experimentId, includeLog: true });
      const runs = (env as { result: unknown[] }).result.map((r) => DeviceRun.parse(r));
      expect(runs.map((r) => [r.delegate, r.threads, r.status])).toEqual([
        ['cpu', 1, 'completed'],
        ['cpu', 2, 'failed'],
        ['nnapi', 1, 'failed'],
        ['nnapi', 2, 'failed'],
      ]);
      expect(runs[0]).toMatchObject({ server: adb.address.label, serial: sim.serial, error: null, predicted: { prediction: null, comparison: null } });
      expect(runs[0].predicted.reason).toMatch(/^Nothing to predict: the cpu run uses neither the NNAPI nor the GPU delegate, which the pre-flight covers\.$/);
      // The NNAPI runs failed, but what the pre-flight predicted for the phone (API 34) is stored; nothing measured, nothing compared.
      for (const r of runs.slice(2)) {
        expect(r.predicted).toMatchObject({ prediction: { delegate: 'nnapi', nodesDelegated: modelOps, nodesTotal: modelOps, partitions: 1, cpuOps: [], expectsStaticShapeFallback: false }, reason: null, comparison: null });
        expect((r.predicted.prediction as { source: string }).source).toMatch(/NNAPI at Android API 34$/);
      }
      expect(runs[0].latency.avgUs).toBeGreaterThan(0);
      expect(runs[0].delegation).toMatchObject({ requested: 'cpu', nodesDelegated: 0, nodesTotal: modelOps, nodesTotalSource: 'model' });
      expect(runs[0].device).toMatchObject({ model: 'SimPhone 7', tool: { nnapiAccelerators: ['qti-dsp', 'qti-gpu', 'nnapi-reference'] } });
      expect(runs[1].error).toMatch(/The link to '127\.0\.0\.1:\d+' ended during the benchmark run \(cpu, 2 threads\): the phone was unplugged or adb lost it; it is now offline\./);
      expect(runs[1].rawLog).toContain('STARTING!');
      expect(runs[1].rawLog).not.toContain('Inference timings');
      for (const r of runs.slice(2)) expect(r.error).toMatch(/^Not run: The device '127\.0\.0\.1:\d+' is offline: .*\(the device was lost during run 2 \(cpu × 2 threads\)\)$/);
      const exp = services.store().getExperiment(job.experimentId);
      expect(exp).toMatchObject({ status: 'completed', kind: 'bench', deviceRunCount: 4, model: { name: 'face_detection_short_range.tflite' } });
      expect(exp.metrics).toEqual([{ name: 'latency', context: `${sim.serial}/cpu/t1`, value: runs[0].latency.avgUs! / 1000, unit: 'ms' }]);
    } finally {
      await services.close();
      await sim.stop();
    }
  });
  it('stores the pre-flight prediction beside each GPU / NNAPI measurement and flags a disagreement with the op names', async () => {
    const workspace = path.join(tmp, 'ws-predict');
    const services = createServices({ workspaceDir: workspace, transport: 'web', log: () => {} });
    const graph = readTflite(modelBytes, 'm.tflite').subgraphs[0];
    const ops = graph.ops.map((op, i) => ({ type: op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN' ? op.code : op.type, name: op.name ?? graph.tensors[op.outputs[0]]?.name ?? `#${i}` }));
    // The phone leaves the two output CONCATENATIONs on the CPU under the GPU delegate; NNAPI takes everything.
    const sim = await attachSim(adb, { scenario: { durationMs: 10, nodes: modelOps, ops, delegates: { gpu: { delegated: modelOps - 2, partitions: 2, cpuOps: [162, 163] } } } });
    try {
      const params: BenchParams = {
        modelPath: MODEL,
        target: { kind: 'device', server: adb.address, serial: sim.serial },
        delegates: [
          { delegate: 'gpu', accelerator: null },
          { delegate: 'nnapi', accelerator: null },
        ],
        threads: [1],
        runs: 5,
        warmup: 1,
        profile: true,
        benchmarkBinary: tool,
        extraFlags: [],
        timeouts: { stepMs: 10_000, runMs: 20_000 },
      };
      const job = services.jobs().submit({ kind: 'bench', params, experiment: { name: 'predict', config: params, appVersion: 'test' } });
      const outcome = await job.done;
      expect(outcome.job.status, outcome.job.error ?? '').toBe('completed');
      const env = await services.call('deviceRuns.list', { experimentId: job.experimentId });
      const [gpu, nnapi] = (env as { result: unknown[] }).result.map((r) => DeviceRun.parse(r));
      expect(gpu.predicted).toMatchObject({ prediction: { delegate: 'gpu', nodesDelegated: 164, nodesTotal: 164, partitions: 1, cpuOps: [] }, reason: null });
      const cmp = gpu.predicted.comparison as { agrees: boolean; nodesDelegatedDelta: number; partitionsDelta: number; flags: { code: string; message: string; ops: unknown[] }[] };
      expect(cmp).toMatchObject({ agrees: false, nodesDelegatedDelta: -2, partitionsDelta: 1 });
      expect(cmp.flags.map((f) => f.code)).toEqual(['fewer-nodes-delegated', 'partitions-differ', 'ops-on-cpu-not-predicted']);
      expect(cmp.flags[2].ops).toEqual([
        { index: 162, name: 'classificators', type: 'CONCATENATION' },
        { index: 163, name: 'regressors', type: 'CONCATENATION' },
      ]);
      expect(cmp.flags[2].message).toBe("2 ops ran on the CPU that the pre-flight expected on the gpu delegate: CONCATENATION 'classificators' (#162), CONCATENATION 'regressors' (#163).");
      expect(nnapi.predicted).toMatchObject({ prediction: { delegate: 'nnapi', nodesDelegated: 164, partitions: 1 }, comparison: { agrees: true, flags: [] } });
      const summary = outcome.result?.summary as { runs: { delegate: string; predictionAgrees: boolean | null }[] };
      expect(summary.runs.map((r) => [r.delegate, r.predictionAgrees])).toEqual([['gpu', false], ['nnapi', true]]);
    } finally {
      await services.close();
      await sim.stop();
    }
  });
});
