/**
 * `quantize`: post-training quantization of a float model (any format QuantLab reads) with a
 * calibration dataset, written as a .tflite (temporary file, then rename: an interrupted run
 * leaves nothing behind) and recorded as an experiment: the source model, the calibration
 * dataset (spec, hash, preprocessing), the options, the per-tensor parameters chosen, the
 * quantized model as an artifact. With `evalData` the integer model is then evaluated (top-1 on
 * labelled data) in the chosen rounding mode, so one experiment holds one method's outcome.
 */
import path from 'node:path';
import { UserError } from '../../../core/errors';
import { checkFitsInput, openDataset } from '../../../core/data/dataset';
import type { Dataset, Preprocess } from '../../../core/data/dataset';
import { analyzeLayers, rankByIsolatedError } from '../../../core/analysis/layer-error';
import { preflight } from '../../../core/analysis/preflight';
import type { PreflightDelegate } from '../../../core/analysis/preflight';
import { openModelFile } from '../../../core/formats';
import { writeTflite } from '../../../core/formats/tflite/writer';
import type { Graph } from '../../../core/ir/types';
import { parseCalibration } from '../../../core/quant/observers';
import { defaultPtqOptions, quantizeModel } from '../../../core/quant/ptq';
import type { PtqOptions, Recipe } from '../../../core/quant/ptq';
import { Interpreter } from '../../../core/runtime/interpreter';
import { quantizeToCodes } from '../../../core/runtime/quantized-util';
import type { RoundingMode } from '../../../core/runtime/kernel';
import { argmaxOf, evaluateInParallel, PARALLEL_MIN_SAMPLES } from '../parallel-eval';
import { readModelBytes, writeFileAtomic } from '../files';
import { cancellableProgress, limitSpec } from '../progress';
import type { JobContext, JobResult } from '../types';

export interface QuantizeParams {
  modelPath: string;
  outPath: string;
  /** Calibration dataset spec (not needed by fp16/dynamic). */
  calib: string | null;
  recipe: Recipe;
  io: 'float' | 'int8';
  perChannel: boolean;
  calibration: string;
  samples: number;
  keepFloat: string[];
  biasCorrection?: 'analytic' | 'empirical' | 'none';
  equalize?: boolean;
  preprocess?: Preprocess;
  seed: number;
  rounding: RoundingMode;
  cwd?: string;
  /** Evaluate the quantized model on this dataset spec afterwards (top-1 when labelled). */
  evalData?: string;
  /** Per-layer error of the integer model against the float one on this dataset (first `samples`), stored as layer metrics. */
  analyze?: { data: string; samples: number };
  /** Delegate pre-flight of the integer model, stored with the experiment. */
  preflight?: { delegates: PreflightDelegate[]; androidApi: number };
}


/** Top-1 accuracy (when labelled) and desktop latency of `graph` on `ds`; float samples quantized for integer inputs. */
export async function evaluateGraph(graph: Graph, ds: Dataset, rounding: RoundingMode, ctx: Pick<JobContext, 'progress' | 'throwIfCancelled'>): Promise<{ accuracy: number | null; samples: number; msPerSample: number }> {
  const interp = Interpreter.prepare(graph, { rounding, inputShapes: [[1, ...graph.tensors[graph.inputs[0]].shape.slice(1)]] });
  const input = graph.tensors[graph.inputs[0]];
  const perSample = interp.inputs[0].shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(perSample);
  const q = input.dtype === 'int8' ? new Int8Array(perSample) : input.dtype === 'int16' ? new Int16Array(perSample) : null;
  const s = input.quant?.scale[0] ?? 1;
  const z = input.quant?.zeroPoint[0] ?? 0;
  let correct = 0;
  let ms = 0;
  const quantizeSample = () => {
    if (q) quantizeToCodes(x, input.dtype, s, z, q);
  };
  if (ds.count >= PARALLEL_MIN_SAMPLES) {
    // one interpreter per worker thread and this thread's own (parallel-eval.ts): the serial loop's predictions, in order
    const classes = interp.outputs[0].shape.reduce((a, b) => a * b, 1);
    const r = await evaluateInParallel({
      model: { graph }, rounding, inputShape: interp.inputs[0].shape, inputDtype: q ? input.dtype : 'float32', count: ds.count, local: interp,
      fill: (start, end, into) => {
        for (let i = start; i < end; i++) {
          ds.sample(i, x);
          quantizeSample();
          (into as Float32Array).set((q ?? x) as Float32Array, (i - start) * perSample);
        }
      },
      consume: (start, end, outs) => {
        for (let i = start; i < end; i++) if (ds.labels && argmaxOf(outs[0] as Float32Array, (i - start) * classes, classes) === ds.labels[i]) correct++;
      },
      onChunk: async (done) => {
        ctx.progress('evaluating', done, ds.count);
        await new Promise((res) => setImmediate(res));
        ctx.throwIfCancelled();
      },
    });
    return { accuracy: ds.labels ? correct / ds.count : null, samples: ds.count, msPerSample: r.runMs / Math.max(1, ds.count) };
  }
  for (let i = 0; i < ds.count; i++) {
    ds.sample(i, x);
    quantizeSample();
    const t0 = performance.now();
    const out = interp.run([q ?? x]).outputs[0];
    ms += performance.now() - t0;
    if (ds.labels) {
      let best = 0;
      for (let k = 1; k < out.length; k++) if (Number(out[k]) > Number(out[best])) best = k;
      if (best === ds.labels[i]) correct++;
    }
    if ((i & 63) === 63 || i === ds.count - 1) {
      ctx.progress('evaluating', i + 1, ds.count);
      await new Promise((r) => setImmediate(r));
      ctx.throwIfCancelled();
    }
  }
  return { accuracy: ds.labels ? correct / ds.count : null, samples: ds.count, msPerSample: ms / Math.max(1, ds.count) };
}

export async function quantizeJob(ctx: JobContext<QuantizeParams>): Promise<JobResult> {
  const p = ctx.params;
  ctx.progress('reading model', 0, null);
  const sourceBytes = readModelBytes(p.modelPath, 'Model');
  const model = await openModelFile(p.modelPath);
  const graph = model.subgraphs[0];
  const input = graph.tensors[graph.inputs[0]];
  const floatSizeBytes = writeTflite(model).length;
  const needsData = p.recipe === 'int8' || p.recipe === 'int16x8';
  let ds: Dataset | null = null;
  if (needsData) {
    if (!p.calib) throw new UserError('bad-input', `The ${p.recipe} recipe needs calibration data: give --calib DATASET (e.g. mnist:train@500).`);
    ctx.progress('loading calibration data', 0, null);
    // Calibration reads the first `samples` samples: the recorded spec and hash say exactly those.
    ds = await openDataset(limitSpec(p.calib, p.samples), { inputShape: input.shape, seed: p.seed, cwd: p.cwd, ...(p.preprocess ? { preprocess: p.preprocess } : {}) });
    if (ds.count === 0) throw new UserError('bad-input', `The calibration set '${ds.spec}' is empty.`);
    checkFitsInput(ds, input.name, input.shape, input.dtype);
    if (input.dtype !== 'float32') throw new UserError('bad-model', `Model '${p.modelPath}' is already quantized (input '${input.name}' is ${input.dtype}); quantize its float source.`);
  }
  const options: PtqOptions = defaultPtqOptions({
    recipe: p.recipe,
    io: p.io,
    perChannel: p.perChannel,
    calibration: parseCalibration(p.calibration),
    samples: p.samples,
    keepFloat: p.keepFloat,
    ...(p.biasCorrection !== undefined ? { biasCorrection: p.biasCorrection } : {}),
    ...(p.equalize !== undefined ? { equalize: p.equalize } : {}),
  });
  const progress = cancellableProgress(ctx);
  const calibData = ds ? { count: ds.count, name: ds.spec, sample: (i: number, out: Float32Array) => ds.sample(i, out) } : null;
  const { model: quantized, report, floatGraph } = await quantizeModel(model, calibData, options, progress, p.rounding);
  const bytes = writeTflite(quantized);
  ctx.throwIfCancelled();
  writeFileAtomic(p.outPath, bytes);
  const source = ctx.putArtifact(sourceBytes);
  const stored = ctx.putArtifact(bytes);
  const reportArtifact = ctx.putArtifact(new TextEncoder().encode(JSON.stringify(report, null, 2)));

  const metrics: NonNullable<JobResult['metrics']> = [
    { name: 'size', context: p.recipe, value: bytes.length, unit: 'B' },
    { name: 'size', context: 'float32', value: floatSizeBytes, unit: 'B' },
    { name: 'size-ratio', context: p.recipe, value: bytes.length / floatSizeBytes, unit: '' },
    { name: 'quantize-time', context: p.recipe, value: report.seconds, unit: 's' },
  ];
  let evaluation: { accuracy: number | null; samples: number; msPerSample: number; data: string } | null = null;
  if (p.evalData) {
    const qGraph = quantized.subgraphs[0];
    const qIn = qGraph.tensors[qGraph.inputs[0]];
    const evalDs = await openDataset(p.evalData, { inputShape: qIn.shape, seed: p.seed, cwd: p.cwd, ...(p.preprocess ? { preprocess: p.preprocess } : {}) });
    checkFitsInput(evalDs, qIn.name, qIn.shape, qIn.dtype);
    const r = await evaluateGraph(qGraph, evalDs, p.rounding, ctx);
    evaluation = { ...r, data: evalDs.spec };
    if (r.accuracy !== null) metrics.push({ name: 'accuracy', context: p.recipe, value: 100 * r.accuracy, unit: '%' });
    metrics.push({ name: 'latency', context: `desktop-${p.recipe}`, value: r.msPerSample, unit: 'ms' });
  }
  const artifacts: NonNullable<JobResult['artifacts']> = [
    { ...source, role: 'source-model', name: path.basename(p.modelPath) },
    { ...stored, role: 'quantized-model', name: path.basename(p.outPath) },
    { ...reportArtifact, role: 'quantization-report', name: 'quantization-report.json' },
  ];
  let layerMetrics: JobResult['layerMetrics'];
  let analysis: { data: string; samples: number; worstIsolated: { layer: string; op: string; sqnrDb: number | null } | null } | null = null;
  if (p.analyze) {
    const qGraph = quantized.subgraphs[0];
    const data = await openDataset(limitSpec(p.analyze.data, p.analyze.samples), { inputShape: input.shape, seed: p.seed, cwd: p.cwd, ...(p.preprocess ? { preprocess: p.preprocess } : {}) });
    checkFitsInput(data, input.name, input.shape, input.dtype);
    // Compared with the float graph PTQ quantized (folded, fused, equalized): the same tensors.
    const layers = await analyzeLayers(floatGraph, qGraph, data, p.analyze.samples, { rounding: p.rounding, reference: 'as-given', progress });
    layerMetrics = layers.rows;
    const worst = rankByIsolatedError(layers).find((t) => t.opType !== 'QUANTIZE');
    analysis = { data: data.spec, samples: layers.samples, worstIsolated: worst ? { layer: worst.layerName, op: worst.opType, sqnrDb: worst.isolated?.sqnrDb ?? null } : null };
    const art = ctx.putArtifact(new TextEncoder().encode(JSON.stringify(layers, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))));
    artifacts.push({ ...art, role: 'layer-analysis', name: 'layer-analysis.json' });
  }
  const preflights: { delegate: string; androidApi: number; summary: string; nodesDelegated: number; nodes: number; partitions: number; findings: number }[] = [];
  for (const delegate of p.preflight?.delegates ?? []) {
    const r = preflight(quantized.subgraphs[0], { delegate, androidApi: p.preflight?.androidApi ?? 30 });
    preflights.push({ delegate, androidApi: r.androidApi, summary: r.summary, nodesDelegated: r.nodesDelegated, nodes: r.nodesTotal, partitions: r.partitions, findings: r.findings.length });
    const art = ctx.putArtifact(new TextEncoder().encode(JSON.stringify(r, null, 2)));
    artifacts.push({ ...art, role: 'preflight', name: `preflight-${delegate}-api${r.androidApi}.json` });
  }
  ctx.log('info', `Quantized ${path.basename(p.modelPath)} (${p.recipe}, ${report.calibration}) in ${report.seconds.toFixed(1)} s: ${bytes.length} bytes.`);
  return {
    summary: {
      output: path.resolve(p.outPath),
      sizeBytes: bytes.length,
      floatSizeBytes,
      recipe: p.recipe,
      calibration: report.calibration,
      samples: report.samples,
      seconds: report.seconds,
      io: p.io,
      perChannel: p.perChannel,
      rounding: p.rounding,
      quantizedOps: report.quantizedOps,
      floatOps: report.floatOps,
      foldedBatchNorms: report.foldedBatchNorms,
      equalizedPairs: report.equalizedPairs.length,
      biasCorrectedLayers: report.biasCorrectedLayers,
      ...(evaluation ? { evaluation } : {}),
      ...(analysis ? { analysis } : {}),
      ...(preflights.length ? { preflight: preflights } : {}),
    },
    metrics,
    ...(layerMetrics ? { layerMetrics } : {}),
    artifacts,
    model: { ...source, name: path.basename(p.modelPath), format: model.format, sourcePath: path.resolve(p.modelPath), summary: { ops: graph.ops.length, tensors: graph.tensors.length } },
    ...(ds ? { dataset: { spec: ds.spec, sha256: ds.hash(), sampleCount: report.samples, preprocessing: ds.preprocess } } : {}),
  };
}
