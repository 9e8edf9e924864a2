/**
 * `bench`: latency of one model, either on a phone over ADB (TFLite's benchmark_model, one run per
 * delegate × thread count: a matrix in one job) or on the desktop in QuantLab's own runtime
 * (delegate 'quantlab-cpu', server 'local'), stored the same way so both sit side by side.
 *
 * Every run is written as a device run when it ends (see store/device-runs.ts), linked to this
 * job's experiment: a phone unplugged mid-matrix fails that run with the reason, the remaining
 * runs fail with "not run" and the reason, and the finished runs are kept. The job completes when
 * at least one run completed; when none did, it fails with the reasons (the runs stay recorded).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../../core/errors';
import { readTflite } from '../../../core/formats/tflite/reader';
import type { DType, Graph, TensorData } from '../../../core/ir/types';
import { Interpreter, opName } from '../../../core/runtime/interpreter';
import { allocTyped } from '../../../core/runtime/tensor-utils';
import type { DeviceRun, Metric } from '../../../shared/api/contract';
import { AdbServerClient } from '../../devices/adb';
import { DeviceBenchSession, type Delegate, type RunOutcome, type RunSpec, type StepTimeouts } from '../../devices/bench';
import type { BenchLatency, BenchmarkParse, NodeTypeRow, OpProfile, OpProfileRow } from '../../devices/benchmark-parser';
import type { DeviceFacts } from '../../devices/facts';
import { preflight } from '../../../core/analysis/preflight';
import { NO_PREDICTION, predictionFromPreflight, predictionRecord, type DelegationComparison, type PredictedDelegation } from '../../devices/predict';
import type { AdbServerAddress } from '../../devices/servers';
import { DeviceRunWriter, type NewDeviceRun } from '../../store/device-runs';
import type { JobContext, JobResult } from '../types';
import { seededUniform } from '../../../core/random';

export interface BenchParams {
  modelPath: string;
  /** A phone (serial on an adb server), or the desktop runtime. */
  target: { kind: 'device'; server: AdbServerAddress; serial: string } | { kind: 'desktop' };
  delegates: { delegate: Delegate; accelerator: string | null }[];
  threads: number[];
  runs: number;
  warmup: number;
  profile: boolean;
  benchmarkBinary: string | null;
  extraFlags: string[];
  timeouts?: Partial<StepTimeouts>;
  seed?: number;
}

export interface BenchRunSummary {
  deviceRunId: string;
  delegate: string;
  accelerator: string | null;
  threads: number;
  status: DeviceRun['status'];
  error: string | null;
  avgUs: number | null;
  stdUs: number | null;
  initUs: number | null;
  firstUs: number | null;
  minUs: number | null;
  maxUs: number | null;
  medianUs: number | null;
  nodesDelegated: number | null;
  nodesTotal: number | null;
  partitions: number | null;
  staticShapeWarning: boolean;
  /** The pre-flight's prediction matched the phone (null: nothing predicted or nothing measured). */
  predictionAgrees: boolean | null;
}

const EMPTY_LATENCY: BenchLatency = {
  initUs: null,
  firstUs: null,
  warmupAvgUs: null,
  avgUs: null,
  stdUs: null,
  minUs: null,
  maxUs: null,
  count: null,
  p5Us: null,
  medianUs: null,
  p95Us: null,
  warmup: null,
};

function readModel(modelPath: string): { bytes: Buffer; graph: Graph | null; readError: string | null } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(modelPath);
  } catch (e) {
    throw new UserError('bad-input', `Model file '${modelPath}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  try {
    const model = readTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path.basename(modelPath));
    return { bytes, graph: model.subgraphs[0], readError: null };
  } catch (e) {
    return { bytes, graph: null, readError: (e as Error).message };
  }
}

function delegationRecord(parse: BenchmarkParse | null, spec: { delegate: string; accelerator: string | null }, modelNodes: number | null): DeviceRun['delegation'] {
  const d = parse?.delegation;
  const fromLog = d?.nodesTotal ?? null;
  const cpuOnly = spec.delegate === 'cpu' && parse !== null && d !== undefined && d.lines.length === 0;
  return {
    requested: spec.delegate,
    accelerator: spec.accelerator,
    delegate: d?.delegate ?? null,
    nodesDelegated: cpuOnly ? 0 : (d?.nodesDelegated ?? null),
    nodesTotal: fromLog ?? (parse ? modelNodes : null),
    nodesTotalSource: fromLog !== null ? 'log' : parse && modelNodes !== null ? 'model' : null,
    partitions: cpuOnly ? 0 : (d?.partitions ?? null),
    lines: d?.lines ?? [],
    staticShapeWarning: d?.staticShapeWarning ?? false,
    delegateNotApplied: d?.delegateNotApplied ?? false,
    coverage: d?.coverage ?? null,
  };
}

function summaryOf(id: string, run: NewDeviceRun, accelerator: string | null): BenchRunSummary {
  return {
    deviceRunId: id,
    delegate: run.delegate,
    accelerator,
    threads: run.threads ?? 1,
    status: run.status,
    error: run.error,
    avgUs: run.latency.avgUs,
    stdUs: run.latency.stdUs,
    initUs: run.latency.initUs,
    firstUs: run.latency.firstUs,
    minUs: run.latency.minUs,
    maxUs: run.latency.maxUs,
    medianUs: run.latency.medianUs,
    nodesDelegated: run.delegation.nodesDelegated,
    nodesTotal: run.delegation.nodesTotal,
    partitions: run.delegation.partitions,
    staticShapeWarning: run.delegation.staticShapeWarning,
    predictionAgrees: (run.predicted.comparison as DelegationComparison | null)?.agrees ?? null,
  };
}

function metricsOf(runs: BenchRunSummary[], where: string): Metric[] {
  const metrics: Metric[] = [];
  for (const r of runs) {
    if (r.status !== 'completed' || r.avgUs === null) continue;
    const context = `${where}/${r.delegate}${r.accelerator ? `:${r.accelerator}` : ''}/t${r.threads}`;
    metrics.push({ name: 'latency', context, value: r.avgUs / 1000, unit: 'ms' });
    if (r.delegate !== 'cpu' && r.delegate !== 'quantlab-cpu' && r.nodesDelegated !== null && r.nodesTotal) metrics.push({ name: 'delegated-nodes', context, value: (100 * r.nodesDelegated) / r.nodesTotal, unit: '%' });
  }
  return metrics;
}

export async function benchJob(ctx: JobContext<BenchParams>): Promise<JobResult> {
  const p = ctx.params;
  ctx.progress('reading model', 0, null);
  const { bytes, graph, readError } = readModel(p.modelPath);
  const stored = ctx.putArtifact(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  const name = path.basename(p.modelPath);
  const writer = DeviceRunWriter.open(ctx.workspaceDir);
  try {
    const experimentId = writer.experimentOfJob(ctx.jobId);
    const outcome = p.target.kind === 'desktop' ? await desktopBench(ctx, graph, readError, writer, experimentId) : await deviceBench(ctx, p.target, bytes, graph, readError, writer, experimentId);
    const completed = outcome.runs.filter((r) => r.status === 'completed').length;
    if (completed === 0) {
      const reasons = [...new Set(outcome.runs.map((r) => r.error).filter(Boolean))].slice(0, 3).join(' ');
      throw new UserError('bench-failed', `No benchmark run completed (${outcome.runs.length} recorded as failed): ${reasons}`);
    }
    ctx.log('info', `${completed} of ${outcome.runs.length} runs completed.`);
    return {
      summary: { target: p.target.kind, model: name, modelSha256: stored.sha256, ...outcome.summary, runs: outcome.runs },
      metrics: metricsOf(outcome.runs, outcome.where),
      artifacts: [{ ...stored, role: 'model', name }],
      model: {
        ...stored,
        name,
        format: 'tflite',
        sourcePath: path.resolve(p.modelPath),
        summary: graph ? { ops: graph.ops.length, tensors: graph.tensors.length } : { readError },
      },
    };
  } finally {
    writer.close();
  }
}

interface BenchOutcome {
  runs: BenchRunSummary[];
  summary: Record<string, unknown>;
  /** The metric context prefix: the serial, or 'desktop'. */
  where: string;
}

async function deviceBench(
  ctx: JobContext<BenchParams>,
  target: { server: AdbServerAddress; serial: string },
  bytes: Buffer,
  graph: Graph | null,
  readError: string | null,
  writer: DeviceRunWriter,
  experimentId: string | null,
): Promise<BenchOutcome> {
  const p = ctx.params;
  const { serial } = target;
  const specs: RunSpec[] = p.delegates.flatMap((d) => p.threads.map((threads) => ({ delegate: d.delegate, threads, accelerator: d.accelerator })));
  const total = specs.length;
  if (readError) ctx.log('warn', `QuantLab could not read the model itself (${readError}); the phone will still run it, but node totals come only from the log.`);
  const modelNodes = graph ? graph.ops.length : null;
  const client = new AdbServerClient(target.server);
  const session = new DeviceBenchSession(client, serial, { log: (level, message) => ctx.log(level, message), signal: ctx.signal, timeouts: p.timeouts });

  ctx.progress('connecting to the phone', 0, total);
  const notReady = await session.readiness();
  if (notReady) throw new UserError('device-not-ready', notReady);
  const facts: DeviceFacts = await session.facts();
  ctx.log('info', `Device '${serial}' on ${target.server.label}: ${facts.manufacturer ?? '?'} ${facts.model ?? '?'}, Android ${facts.androidVersion ?? '?'} (SDK ${facts.sdk ?? '?'}), ${facts.abi ?? '?'}.`);

  ctx.progress('pushing the benchmark tool', 0, total);
  const tool = await session.ensureTool(p.benchmarkBinary);
  ctx.throwIfCancelled();
  ctx.progress('pushing the model', 0, total);
  const model = await session.ensureModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  ctx.throwIfCancelled();
  if (p.delegates.some((d) => d.delegate === 'nnapi')) {
    ctx.progress('listing NNAPI accelerators', 0, total);
    const probed = await session.probeNnapi(tool.path, model.path);
    if (probed) facts.tool = probed;
  }

  // The delegate pre-flight for each NNAPI / GPU run, at the phone's Android level (#9 item 4).
  const predictions = new Map<string, { prediction: PredictedDelegation | null; reason: string | null }>();
  const predictionFor = (delegate: Delegate) => {
    const known = predictions.get(delegate);
    if (known) return known;
    let out: { prediction: PredictedDelegation | null; reason: string | null };
    if (delegate !== 'nnapi' && delegate !== 'gpu') out = { prediction: null, reason: NO_PREDICTION.noDelegate(delegate) };
    else if (!graph) out = { prediction: null, reason: NO_PREDICTION.unreadableModel(readError ?? 'unknown') };
    else if (facts.sdk === null) out = { prediction: null, reason: NO_PREDICTION.unknownSdk };
    else {
      const report = preflight(graph, { delegate, androidApi: facts.sdk });
      out = { prediction: predictionFromPreflight(report), reason: null };
      ctx.log('info', `Pre-flight for ${delegate} at Android API ${facts.sdk}: ${report.summary}.`);
    }
    predictions.set(delegate, out);
    return out;
  };

  const runs: BenchRunSummary[] = [];
  let lost: string | null = null;
  for (const [i, spec] of specs.entries()) {
    const label = `${spec.delegate}${spec.accelerator ? `:${spec.accelerator}` : ''} × ${spec.threads} thread${spec.threads === 1 ? '' : 's'}`;
    ctx.progress(`run ${i + 1}/${total}: ${label}`, i, total);
    let outcome: RunOutcome;
    if (ctx.signal.aborted) {
      outcome = { spec, argv: [], status: 'failed', error: 'The job was cancelled before this run.', parse: null, rawLog: '', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), deviceLost: false };
    } else {
      if (lost) {
        const stillGone = await session.readiness();
        if (stillGone === null) lost = null;
        else {
          const now = new Date().toISOString();
          outcome = { spec, argv: [], status: 'failed', error: `Not run: ${stillGone} (${lost})`, parse: null, rawLog: '', startedAt: now, finishedAt: now, deviceLost: true };
        }
      }
      outcome ??= await session.run(tool.path, model.path, spec, { runs: p.runs, warmup: p.warmup, profile: p.profile, extraFlags: p.extraFlags });
    }
    if (outcome.deviceLost && !lost) lost = `the device was lost during run ${i + 1} (${label})`;
    if (outcome.parse?.tool) mergeToolFacts(facts, outcome.parse);
    const delegation = delegationRecord(outcome.parse, { delegate: spec.delegate, accelerator: spec.accelerator ?? null }, modelNodes);
    const record: NewDeviceRun = {
      experimentId,
      server: target.server.label,
      serial,
      device: { ...facts, tool: facts.tool ? { ...facts.tool } : null },
      delegate: spec.delegate,
      threads: spec.threads,
      flags: outcome.argv,
      status: ctx.signal.aborted && outcome.status === 'failed' ? 'cancelled' : outcome.status,
      latency: outcome.parse?.latency ?? EMPTY_LATENCY,
      memory: outcome.parse?.memory ?? { initMb: null, overallMb: null, peakMb: null },
      delegation,
      // What the pre-flight predicted, compared with what a completed run measured (devices/predict.ts).
      predicted: (() => {
        const p = predictionFor(spec.delegate);
        return predictionRecord(p.prediction, outcome.status === 'completed' && outcome.parse ? outcome.parse.delegation : null, outcome.parse?.profile ?? null, p.reason);
      })(),
      profile: outcome.parse?.profile ?? null,
      rawLog: outcome.rawLog,
      error: outcome.error,
      createdAt: outcome.startedAt,
      finishedAt: outcome.finishedAt,
    };
    const id = writer.insert(record);
    runs.push(summaryOf(id, record, spec.accelerator ?? null));
    const cmp = record.predicted.comparison as DelegationComparison | null;
    if (cmp && !cmp.agrees) ctx.log('warn', `Run ${i + 1}/${total} (${label}) disagrees with the pre-flight: ${cmp.flags.map((f) => f.message).join(' ')}`);
    if (outcome.status === 'failed') ctx.log('warn', `Run ${i + 1}/${total} (${label}) failed: ${outcome.error}`);
    else ctx.log('info', `Run ${i + 1}/${total} (${label}): ${((record.latency.avgUs ?? 0) / 1000).toFixed(3)} ms average.`);
    ctx.progress(`run ${i + 1}/${total}: ${label}`, i + 1, total);
  }
  ctx.throwIfCancelled();
  return {
    runs,
    where: serial,
    summary: {
      server: target.server.label,
      serial,
      device: facts,
      tool: { path: tool.path, sha256: tool.sha256, pushed: tool.pushed },
      modelOnDevice: { path: model.path, pushed: model.pushed },
    },
  };
}

function mergeToolFacts(facts: DeviceFacts, parse: BenchmarkParse): void {
  const t = parse.tool;
  const cur = facts.tool ?? { ...t, nnapiAccelerators: null };
  facts.tool = {
    nnapiAccelerators: t.nnapiAccelerators ?? cur.nnapiAccelerators,
    nnapiDelegateCreated: cur.nnapiDelegateCreated || t.nnapiDelegateCreated,
    gpuDelegateCreated: cur.gpuDelegateCreated || t.gpuDelegateCreated,
    gpuApi: t.gpuApi ?? cur.gpuApi,
    gpuKernels: t.gpuKernels ?? cur.gpuKernels,
    xnnpackDelegateCreated: cur.xnnpackDelegateCreated || t.xnnpackDelegateCreated,
    tfliteVersion: t.tfliteVersion ?? cur.tfliteVersion,
  };
}

// ---- desktop ----------------------------------------------------------------------------------

function randomInput(dtype: DType, n: number, next: () => number): TensorData {
  const data = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    const u = next();
    if (data instanceof Float32Array) data[i] = u;
    else if (data instanceof BigInt64Array) data[i] = BigInt(Math.floor(u * 16));
    else if (data instanceof Int8Array) data[i] = Math.floor(u * 256) - 128;
    else if (data instanceof Uint8Array) data[i] = dtype === 'bool' ? (u < 0.5 ? 0 : 1) : Math.floor(u * 256);
    else if (data instanceof Uint16Array) data[i] = 0x3c00; // float16 1.0
    else data[i] = Math.floor(u * 16);
  }
  return data;
}

function stats(timesUs: number[]): Pick<BenchLatency, 'avgUs' | 'stdUs' | 'minUs' | 'maxUs' | 'count' | 'p5Us' | 'medianUs' | 'p95Us'> {
  const n = timesUs.length;
  if (n === 0) return { avgUs: null, stdUs: null, minUs: null, maxUs: null, count: 0, p5Us: null, medianUs: null, p95Us: null };
  const avg = timesUs.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(timesUs.reduce((a, b) => a + (b - avg) ** 2, 0) / n);
  const sorted = [...timesUs].sort((a, b) => a - b);
  const q = (f: number) => sorted[Math.min(n - 1, Math.max(0, Math.round(f * (n - 1))))];
  const r = (x: number) => Math.round(x * 10) / 10;
  return { avgUs: r(avg), stdUs: r(std), minUs: r(sorted[0]), maxUs: r(sorted[n - 1]), count: n, p5Us: r(q(0.05)), medianUs: r(q(0.5)), p95Us: r(q(0.95)) };
}

async function desktopBench(ctx: JobContext<BenchParams>, graph: Graph | null, readError: string | null, writer: DeviceRunWriter, experimentId: string | null): Promise<BenchOutcome> {
  const p = ctx.params;
  if (!graph) throw new UserError('bad-model', `The QuantLab runtime cannot read '${p.modelPath}': ${readError}`);
  const total = p.warmup + p.runs;
  ctx.progress('preparing', 0, total);
  const createdAt = new Date().toISOString();
  const t0 = performance.now();
  const interpreter = Interpreter.prepare(graph, { profile: true, inputShapes: graph.inputs.map((t) => graph.tensors[t].shape.map((d, i) => (d < 0 && i === 0 ? 1 : d))) });
  const initUs = (performance.now() - t0) * 1000;
  const next = seededUniform(p.seed ?? 0);
  const inputs = interpreter.inputs.map((t) => randomInput(t.dtype, t.shape.reduce((a, b) => a * b, 1), next));

  const perOp = new Map<number, { type: string; firstMs: number; totalMs: number; count: number }>();
  const warmupUs: number[] = [];
  const timesUs: number[] = [];
  let firstUs: number | null = null;
  for (let i = 0; i < total; i++) {
    ctx.throwIfCancelled();
    const s = performance.now();
    const { timings } = interpreter.run(inputs);
    const us = (performance.now() - s) * 1000;
    firstUs ??= us;
    if (i < p.warmup) warmupUs.push(us);
    else {
      timesUs.push(us);
      for (const t of timings ?? []) {
        const o = perOp.get(t.opIndex) ?? { type: t.type, firstMs: t.ms, totalMs: 0, count: 0 };
        o.totalMs += t.ms;
        o.count++;
        perOp.set(t.opIndex, o);
      }
    }
    if ((i & 7) === 7 || i === total - 1) {
      ctx.progress(i < p.warmup ? 'warming up' : 'timing', i + 1, total);
      await new Promise((r) => setImmediate(r));
    }
  }
  const w = stats(warmupUs);
  const latency: BenchLatency = {
    ...stats(timesUs),
    initUs: Math.round(initUs * 10) / 10,
    firstUs: firstUs === null ? null : Math.round(firstUs * 10) / 10,
    warmupAvgUs: w.avgUs,
    warmup: warmupUs.length
      ? { count: warmupUs.length, firstUs: w.avgUs === null ? null : Math.round(warmupUs[0] * 10) / 10, currUs: null, minUs: w.minUs, maxUs: w.maxUs, avgUs: w.avgUs, stdUs: w.stdUs, p5Us: w.p5Us, medianUs: w.medianUs, p95Us: w.p95Us }
      : null,
  };
  const profile = desktopProfile(graph, interpreter, perOp);
  const flags = ['quantlab-runtime', `--warmup_runs=${p.warmup}`, `--num_runs=${p.runs}`, '--num_threads=1', '--enable_op_profiling=true'];
  const device = {
    kind: 'desktop',
    host: os.hostname(),
    platform: `${process.platform}-${process.arch}`,
    cpu: os.cpus()[0]?.model ?? null,
    node: process.versions.node,
    runtime: 'QuantLab interpreter (float, one thread)',
    arenaBytes: interpreter.arenaBytes,
    /** Ops run once at prepare time (constant inputs), absent from the per-op profile. */
    foldedOps: interpreter.foldedOps.length,
  };
  const record: NewDeviceRun = {
    experimentId,
    server: 'local',
    serial: 'desktop',
    device,
    delegate: 'quantlab-cpu',
    threads: 1,
    flags,
    status: 'completed',
    latency,
    memory: { initMb: null, overallMb: null, peakMb: interpreter.peakActivationBytes / (1024 * 1024) },
    delegation: {
      requested: 'quantlab-cpu',
      accelerator: null,
      delegate: null,
      nodesDelegated: 0,
      nodesTotal: graph.ops.length,
      nodesTotalSource: 'model',
      partitions: 0,
      lines: [],
      staticShapeWarning: false,
      delegateNotApplied: false,
      coverage: null,
    },
    predicted: { prediction: null, reason: 'Not applicable: the desktop runtime has no delegate.', comparison: null },
    profile,
    rawLog: '',
    error: null,
    createdAt,
    finishedAt: new Date().toISOString(),
  };
  const id = writer.insert(record);
  const run = summaryOf(id, record, null);
  ctx.log('info', `Desktop: ${((latency.avgUs ?? 0) / 1000).toFixed(3)} ms average over ${p.runs} runs.`);
  return { runs: [run], where: 'desktop', summary: { server: 'local', serial: 'desktop', device } };
}

function desktopProfile(graph: Graph, interpreter: Interpreter, perOp: Map<number, { type: string; firstMs: number; totalMs: number; count: number }>): OpProfile {
  const order = interpreter.steps.map((s) => s.opIndex).filter((i) => perOp.has(i));
  const avg = (i: number) => perOp.get(i)!.totalMs / perOp.get(i)!.count;
  const sum = order.reduce((a, i) => a + avg(i), 0) || 1;
  let start = 0;
  let cdf = 0;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const runOrder: OpProfileRow[] = order.map((i) => {
    const o = perOp.get(i)!;
    const a = avg(i);
    cdf += (100 * a) / sum;
    const row: OpProfileRow = {
      nodeType: o.type,
      name: opName(graph, graph.ops[i], i),
      nodeIndex: i,
      startMs: r3(start),
      firstMs: r3(o.firstMs),
      avgMs: r3(a),
      percent: r3((100 * a) / sum),
      cdfPercent: r3(Math.min(100, cdf)),
      memKb: null,
      timesCalled: 1,
    };
    start += a;
    return row;
  });
  const byType = new Map<string, { count: number; ms: number }>();
  for (const r of runOrder) {
    const t = byType.get(r.nodeType) ?? { count: 0, ms: 0 };
    t.count++;
    t.ms += r.avgMs ?? 0;
    byType.set(r.nodeType, t);
  }
  cdf = 0;
  const byNodeType: NodeTypeRow[] = [...byType]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([nodeType, t]) => {
      cdf += (100 * t.ms) / sum;
      return { nodeType, count: t.count, avgMs: r3(t.ms), percent: r3((100 * t.ms) / sum), cdfPercent: r3(Math.min(100, cdf)), memKb: null, timesCalled: t.count };
    });
  return { runOrder, byNodeType, nodesExecuted: runOrder.length, init: [] };
}
