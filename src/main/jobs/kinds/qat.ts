/**
 * `qat`: quantization-aware training of a float model (any format QuantLab reads) on a labelled
 * training set, validated on another, exported as an int8 .tflite (temporary file, then rename:
 * a failed or cancelled run leaves nothing behind) and recorded as an experiment.
 *
 * Three accuracies, all measured by QuantLab's runtime on the validation set in the chosen
 * rounding, so they compare like with like: the float model; PTQ (min/max calibration on the
 * first `ptqSamples` training samples, PTQ's defaults otherwise, same per-channel choice); and the
 * QAT int8 model. The training history, notes and chosen parameters go into a report artifact.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkFitsInput, openDataset } from '../../../core/data/dataset';
import type { Dataset, Preprocess } from '../../../core/data/dataset';
import { UserError } from '../../../core/errors';
import { openModelFile } from '../../../core/formats';
import { writeTflite } from '../../../core/formats/tflite/writer';
import { checkLabels, defaultQatOptions, runQat } from '../../../core/qat';
import type { QatEvent, QatOptions, RangeMode } from '../../../core/qat';
import type { TfjsBackendName } from '../../../core/qat/backend';
import { defaultPtqOptions, quantizeModel } from '../../../core/quant/ptq';
import type { RoundingMode } from '../../../core/runtime/kernel';
import type { JobContext, JobResult } from '../types';
import { writeFileAtomic } from '../files';
import { evaluateGraph } from './quantize';

export interface QatParams {
  modelPath: string;
  outPath: string;
  /** Training and validation dataset specs (labelled). */
  train: string;
  val: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule: 'constant' | 'cosine';
  optimizer: 'adam' | 'sgd';
  ranges: RangeMode;
  emaDecay: number;
  perChannel: boolean;
  /** Early stopping: epochs without a better validation accuracy (0: never). */
  patience: number;
  /** Random translation of training images by up to this many pixels (0: none). */
  shiftPx: number;
  /** Weight of the float model's soft labels in the loss (1: match the float model only; 0: labels only). */
  distill: number;
  seed: number;
  /** Warm-start calibration samples (QAT) and PTQ calibration samples (the comparison). */
  calibrationSamples: number;
  ptqSamples: number;
  rounding: RoundingMode;
  backend?: TfjsBackendName;
  preprocess?: Preprocess;
  cwd?: string;
}

export function defaultQatParams(p: Pick<QatParams, 'modelPath' | 'outPath' | 'train' | 'val'> & Partial<QatParams>): QatParams {
  const o = defaultQatOptions();
  return {
    epochs: o.epochs,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    schedule: o.schedule,
    optimizer: o.optimizer,
    ranges: o.ranges,
    emaDecay: o.emaDecay,
    perChannel: o.perChannel,
    patience: o.patience,
    shiftPx: o.shiftPx,
    distill: o.distill,
    seed: o.seed,
    calibrationSamples: o.calibrationSamples,
    ptqSamples: 500,
    rounding: 'xnnpack',
    ...p,
  };
}

function readBytes(file: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    throw new UserError('bad-input', `Model file '${file}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(2)}%`);

export async function qatJob(ctx: JobContext<QatParams>): Promise<JobResult> {
  const p = ctx.params;
  const started = performance.now();
  ctx.progress('reading model', 0, null);
  const sourceBytes = readBytes(p.modelPath);
  const model = await openModelFile(p.modelPath);
  const graph = model.subgraphs[0];
  const input = graph.tensors[graph.inputs[0]];
  const output = graph.tensors[graph.outputs[0]];
  const classes = output.shape[output.shape.length - 1];
  if (input.dtype !== 'float32') throw new UserError('bad-model', `Model '${p.modelPath}' is already quantized (input '${input.name}' is ${input.dtype}); train its float source.`);

  ctx.progress('loading data', 0, null);
  const open = async (spec: string): Promise<Dataset> => {
    const ds = await openDataset(spec, { inputShape: input.shape, seed: p.seed, cwd: p.cwd, ...(p.preprocess ? { preprocess: p.preprocess } : {}) });
    checkFitsInput(ds, input.name, input.shape, input.dtype);
    return ds;
  };
  const train = await open(p.train);
  const val = await open(p.val);
  const trainData = { ...train, name: train.spec, sample: (i: number, out: Float32Array) => train.sample(i, out) };
  const valData = { ...val, name: val.spec, sample: (i: number, out: Float32Array) => val.sample(i, out) };
  checkLabels(trainData, classes, 'training');
  checkLabels(valData, classes, 'validation');

  const floatEval = await evaluateGraph(graph, val, p.rounding, ctx);
  ctx.throwIfCancelled();

  const yieldAndCheck = async () => {
    await new Promise((r) => setImmediate(r));
    ctx.throwIfCancelled();
  };
  const ptqSamples = Math.min(p.ptqSamples, train.count);
  const ptq = await quantizeModel(
    model,
    { count: ptqSamples, name: `${train.spec}@${ptqSamples}`, sample: trainData.sample },
    defaultPtqOptions({ samples: ptqSamples, perChannel: p.perChannel, calibration: { kind: 'minmax' } }),
    async (stage, done, total) => {
      ctx.progress(`PTQ baseline: ${stage}`, done, total);
      await yieldAndCheck();
    },
    p.rounding,
  );
  const ptqEval = await evaluateGraph(ptq.model.subgraphs[0], val, p.rounding, ctx);

  const options: QatOptions = defaultQatOptions({
    epochs: p.epochs,
    batchSize: p.batchSize,
    learningRate: p.learningRate,
    schedule: p.schedule,
    optimizer: p.optimizer,
    ranges: p.ranges,
    emaDecay: p.emaDecay,
    perChannel: p.perChannel,
    patience: p.patience,
    shiftPx: p.shiftPx,
    distill: p.distill,
    seed: p.seed,
    calibrationSamples: p.calibrationSamples,
    rounding: p.rounding,
    ...(p.backend ? { backend: p.backend } : {}),
  });
  let lastStageMs = 0;
  let stage = 'training';
  const onEvent = async (e: QatEvent) => {
    if (e.phase === 'calibrate') ctx.progress('QAT warm start: calibrating', e.done, e.total);
    else if (e.phase === 'validate') ctx.progress(`validating epoch ${e.epoch}/${e.epochs}`, e.step, e.steps);
    else {
      // The stage text (loss, accuracy) changes at most every 2 s: each change is a stored progress row.
      const now = performance.now();
      if (now - lastStageMs > 2000 || e.step === e.steps) {
        lastStageMs = now;
        stage = `training epoch ${e.epoch}/${e.epochs}, step ${e.step}/${e.steps}: loss ${e.loss.toFixed(4)}, accuracy ${pct(e.accuracy)}, lr ${e.learningRate.toExponential(2)}`;
      }
      ctx.progress(stage, e.globalStep, e.totalSteps);
    }
    await yieldAndCheck();
  };
  const qat = await runQat(model, trainData, valData, options, onEvent);
  for (const note of [...qat.backendNotes.filter((n) => !n.includes('tfjs-node')), ...qat.train.notes]) ctx.log(qat.train.stopReason === 'non-finite-loss' ? 'warn' : 'info', note);
  const qatEval = await evaluateGraph(qat.model.subgraphs[0], val, p.rounding, ctx);

  const bytes = writeTflite(qat.model);
  ctx.throwIfCancelled();
  writeFileAtomic(p.outPath, bytes);
  const source = ctx.putArtifact(sourceBytes);
  const stored = ctx.putArtifact(bytes);
  const report = {
    options,
    backend: qat.backend,
    backendNotes: qat.backendNotes,
    foldedBatchNorms: qat.foldedBatchNorms,
    calibrationSamples: qat.calibrationSamples,
    initial: qat.train.initial,
    history: qat.train.history,
    keptEpoch: qat.train.keptEpoch,
    stopReason: qat.train.stopReason,
    notes: qat.train.notes,
    tensors: qat.tensors,
  };
  const reportArtifact = ctx.putArtifact(new TextEncoder().encode(JSON.stringify(report, null, 2)));
  const seconds = qat.seconds;
  const metrics: NonNullable<JobResult['metrics']> = [
    { name: 'accuracy', context: 'float32', value: 100 * (floatEval.accuracy ?? NaN), unit: '%' },
    { name: 'accuracy', context: 'ptq-int8', value: 100 * (ptqEval.accuracy ?? NaN), unit: '%' },
    { name: 'accuracy', context: 'qat-int8', value: 100 * (qatEval.accuracy ?? NaN), unit: '%' },
    { name: 'qat-time', context: qat.backend, value: seconds, unit: 's' },
    { name: 'size', context: 'qat-int8', value: bytes.length, unit: 'B' },
    { name: 'latency', context: 'desktop-qat-int8', value: qatEval.msPerSample, unit: 'ms' },
  ].filter((m) => Number.isFinite(m.value));
  ctx.log('info', `QAT of ${path.basename(p.modelPath)}: float ${pct(floatEval.accuracy)}, PTQ ${pct(ptqEval.accuracy)}, QAT int8 ${pct(qatEval.accuracy)} on ${val.spec}; ${qat.train.history.length} epochs in ${seconds.toFixed(1)} s on ${qat.backend}.`);
  return {
    summary: {
      output: path.resolve(p.outPath),
      floatAccuracy: floatEval.accuracy,
      ptqAccuracy: ptqEval.accuracy,
      qatAccuracy: qatEval.accuracy,
      msPerSample: qatEval.msPerSample,
      epochs: qat.train.history.length,
      epochsRequested: p.epochs,
      keptEpoch: qat.train.keptEpoch,
      stopReason: qat.train.stopReason,
      notes: qat.train.notes,
      seconds,
      totalSeconds: (performance.now() - started) / 1000,
      backend: qat.backend,
      backendNotes: qat.backendNotes,
      steps: qat.train.steps,
      ranges: p.ranges,
      distill: p.distill,
      shiftPx: p.shiftPx,
      perChannel: p.perChannel,
      learningRate: p.learningRate,
      batchSize: p.batchSize,
      train: train.spec,
      val: val.spec,
      valSamples: val.count,
      ptqSamples,
      rounding: p.rounding,
      sizeBytes: bytes.length,
      foldedBatchNorms: qat.foldedBatchNorms,
      history: qat.train.history,
    },
    metrics,
    artifacts: [
      { ...source, role: 'source-model', name: path.basename(p.modelPath) },
      { ...stored, role: 'quantized-model', name: path.basename(p.outPath) },
      { ...reportArtifact, role: 'qat-report', name: 'qat-report.json' },
    ],
    model: { ...source, name: path.basename(p.modelPath), format: model.format, sourcePath: path.resolve(p.modelPath), summary: { ops: graph.ops.length, tensors: graph.tensors.length } },
    dataset: { spec: train.spec, sha256: train.hash(), sampleCount: train.count, preprocessing: train.preprocess },
  };
}
