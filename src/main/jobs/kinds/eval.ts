/**
 * `eval`: run a .tflite model (float or integer) over a dataset in QuantLab's runtime and record
 * top-1 accuracy (when the data has labels), the output fidelity against a float reference model
 * (when one is given), the output statistics and the desktop latency.
 *
 * Integer models: a float sample is quantized into an int8/uint8/int16 input with the input
 * tensor's scale and zero point as TFLite's reference QUANTIZE does (x / S in float32, round half
 * away from zero, + Z, clamp); integer outputs are dequantized (S · (q − Z)) before argmax and
 * fidelity. The integer rounding mode of the runtime is a parameter and is recorded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FidelityAccumulator, type Fidelity } from '../../../core/analysis/fidelity';
import { checkFitsInput, DatasetHasher, openDataset, parseDatasetSpec, type Dataset, type Preprocess } from '../../../core/data/dataset';
import { UserError } from '../../../core/errors';
import { readTflite } from '../../../core/formats/tflite/reader';
import type { Graph, Tensor, TensorData } from '../../../core/ir/types';
import { Interpreter } from '../../../core/runtime/interpreter';
import { QUANT_RANGES, quantizeToCodes } from '../../../core/runtime/quantized-util';
import type { RoundingMode } from '../../../core/runtime/kernel';
import { evaluateInParallel, PARALLEL_MIN_SAMPLES, startEvalPool, type EvalPool } from '../parallel-eval';
import type { JobContext, JobResult } from '../types';

// bench.ts imports it from here.

export interface EvalParams {
  modelPath: string;
  /** Dataset spec (src/core/data/dataset.ts), e.g. 'mnist:test@1000', 'folder:/data/val', 'random:100'. */
  data?: string;
  /** Old form, still accepted: `mnist` (all 10,000 built-in digits) or `random`, with `count`. */
  dataset?: 'mnist' | 'random';
  count?: number;
  /** Seed of random data. */
  seed?: number;
  /** Preprocessing beyond the dataset's defaults. */
  preprocess?: Preprocess;
  /** Multiply inputs by this on top of the preprocessing (old form; prefer preprocess.scale). */
  inputScale?: number;
  /** Integer rounding of the runtime (default 'xnnpack', TFLite's default CPU path). */
  rounding?: RoundingMode;
  /** A float .tflite model to compare the outputs against (SQNR, cosine, max abs error per output). */
  referencePath?: string;
  /** Directory relative dataset paths are resolved against. */
  cwd?: string;
  fashionMnistDir?: string;
  /**
   * Threads that evaluate (default os.availableParallelism()): this one plus threads − 1
   * workers, for ≥ PARALLEL_MIN_SAMPLES samples without a reference model; 1 runs the serial loop.
   */
  threads?: number;
}

/** The spec of the params, old form translated ('mnist' with count N is 'mnist:all@N'). */
export function evalDataSpec(p: EvalParams): string {
  if (p.data) return p.data;
  if (p.dataset === 'mnist') return p.count !== undefined ? `mnist:all@${p.count}` : 'mnist:all';
  if (p.dataset === 'random') return `random:${p.count ?? 1}`;
  throw new UserError('bad-input', 'eval needs a dataset spec (e.g. mnist:test or random:100).');
}

interface LoadedModel {
  graph: Graph;
  bytes: Uint8Array;
  input: Tensor;
}

function loadModel(file: string, role: string): LoadedModel {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UserError('bad-input', `${role} file '${file}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  const graph = readTflite(bytes, path.basename(file)).subgraphs[0];
  if (graph.inputs.length !== 1) {
    throw new UserError('bad-input', `${role} '${file}' has ${graph.inputs.length} inputs (${graph.inputs.map((t) => `'${graph.tensors[t].name}'`).join(', ')}); eval feeds models with one input.`);
  }
  return { graph, bytes, input: graph.tensors[graph.inputs[0]] };
}

/** Per-tensor scale and zero point of an integer input/output, or a sentence why not. */
function perTensorQuant(t: Tensor, file: string): { scale: number; zeroPoint: number } {
  const q = t.quant;
  if (!q || q.scale.length === 0) throw new UserError('bad-model', `Model '${file}': ${t.dtype} tensor '${t.name}' has no quantization parameters, so eval cannot convert its values to and from float.`);
  if (q.scale.length > 1) throw new UserError('bad-model', `Model '${file}': ${t.dtype} tensor '${t.name}' is quantized per channel (${q.scale.length} scales); eval takes per-tensor quantized inputs and outputs.`);
  return { scale: Math.fround(q.scale[0]), zeroPoint: q.zeroPoint[0] ?? 0 };
}

/** Turns a float sample into what the model input takes. */
function makeFeeder(input: Tensor, file: string, perSample: number): (sample: Float32Array) => TensorData {
  if (input.dtype === 'float32') return (s) => s;
  const range = QUANT_RANGES[input.dtype];
  if (!range) throw new UserError('bad-input', `Model '${file}': input '${input.name}' is ${input.dtype}; eval feeds float32, int8, uint8 and int16 inputs.`);
  const { scale, zeroPoint } = perTensorQuant(input, file);
  const out = input.dtype === 'int8' ? new Int8Array(perSample) : input.dtype === 'uint8' ? new Uint8Array(perSample) : new Int16Array(perSample);
  return (s) => quantizeToCodes(s, input.dtype, scale, zeroPoint, out);
}

/** Turns each output into float values (dequantizing integer outputs). */
function makeReaders(graph: Graph, file: string): ((data: TensorData) => Float64Array)[] {
  return graph.outputs.map((t) => {
    const tensor = graph.tensors[t];
    if (tensor.dtype === 'float32') return (d) => Float64Array.from(d as Float32Array);
    if (QUANT_RANGES[tensor.dtype] || tensor.dtype === 'int32') {
      if (tensor.quant && tensor.quant.scale.length > 0) {
        const { scale, zeroPoint } = perTensorQuant(tensor, file);
        return (d) => Float64Array.from(d as ArrayLike<number>, (q) => scale * (q - zeroPoint));
      }
      return (d) => Float64Array.from(d as ArrayLike<number>);
    }
    throw new UserError('bad-model', `Model '${file}': output '${tensor.name}' is ${tensor.dtype}; eval reads float32 and integer outputs.`);
  });
}

/** The shape to prepare for: batch 1, unknown dimensions taken from the dataset's samples. */
function concreteInputShape(input: Tensor, ds: Dataset): number[] {
  const rest = input.shape.slice(1);
  if (rest.every((d) => d > 0)) return [1, ...rest];
  return [1, ...ds.sampleShape];
}

/** 'float32' or the integer scheme of a graph (the input's or any activation's integer type). */
function precisionOf(graph: Graph): string {
  const activations = graph.tensors.filter((t) => !t.data && t.quant && t.quant.scale.length > 0);
  if (activations.some((t) => t.dtype === 'int16')) return 'int16x8';
  if (activations.some((t) => t.dtype === 'int8' || t.dtype === 'uint8')) return 'int8';
  return 'float32';
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

export async function evalJob(ctx: JobContext<EvalParams>): Promise<JobResult> {
  const p = ctx.params;
  const rounding: RoundingMode = p.rounding ?? 'xnnpack';
  const spec = evalDataSpec(p);
  ctx.progress('reading model', 0, null);
  const model = loadModel(p.modelPath, 'Model');
  const reference = p.referencePath ? loadModel(p.referencePath, 'Reference model') : null;

  // Workers start now, while the data loads (that hides their start-up), when the evaluation
  // may be large enough to spread; closed below whatever happens.
  const limit = parseDatasetSpec(spec).limit;
  const threads = p.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new UserError('bad-input', `The thread count must be a positive whole number; got ${threads}.`);
  const spread = threads > 1 && !reference && (limit === undefined || limit >= PARALLEL_MIN_SAMPLES);
  const pool = spread ? startEvalPool({ model: { bytes: model.bytes }, rounding, workers: threads - 1 }) : null;
  try {
    // let the threads be created before the data loading (partly synchronous) takes this thread
    await pool?.spawned();
    return await evaluate(ctx, p, spec, rounding, model, reference, pool);
  } finally {
    await pool?.close();
  }
}

async function evaluate(
  ctx: JobContext<EvalParams>, p: EvalParams, spec: string, rounding: RoundingMode,
  model: ReturnType<typeof loadModel>, reference: ReturnType<typeof loadModel> | null, pool: EvalPool | null,
): Promise<JobResult> {
  const { graph, input } = model;
  ctx.progress('loading data', 0, null);
  const openOptions = { inputShape: input.shape.map((d, i) => (d < 0 && i === 0 ? 1 : d)), seed: p.seed ?? 0, preprocess: p.preprocess, cwd: p.cwd, fashionMnistDir: p.fashionMnistDir };
  let ds = await openDataset(spec, openOptions);
  if (p.inputScale !== undefined && p.inputScale !== 1) {
    ds = await openDataset(spec, { ...openOptions, preprocess: { ...p.preprocess, scale: (ds.preprocess.scale ?? 1) * p.inputScale } });
  }
  checkFitsInput(ds, input.name, input.shape, input.dtype);
  if (reference) checkFitsInput(ds, reference.input.name, reference.input.shape, reference.input.dtype);

  const perSample = ds.sampleShape.reduce((a, b) => a * b, 1);
  const interpreter = Interpreter.prepare(graph, { rounding, inputShapes: [concreteInputShape(input, ds)] });
  const refInterpreter = reference ? Interpreter.prepare(reference.graph, { rounding, inputShapes: [concreteInputShape(reference.input, ds)] }) : null;
  const feed = makeFeeder(input, p.modelPath, perSample);
  const refFeed = reference ? makeFeeder(reference.input, p.referencePath!, perSample) : null;
  const read = makeReaders(graph, p.modelPath);
  const refRead = reference ? makeReaders(reference.graph, p.referencePath!) : null;
  if (reference && reference.graph.outputs.length !== graph.outputs.length) {
    throw new UserError(
      'bad-input',
      `Model '${p.modelPath}' has ${graph.outputs.length} outputs but reference '${p.referencePath}' has ${reference.graph.outputs.length}; they must be the same network.`,
    );
  }
  const names = interpreter.outputs.map((o) => o.name);
  const firstSize = interpreter.outputs[0].shape.reduce((a, b) => a * b, 1);
  if (ds.classes && firstSize !== ds.classes.length) {
    ctx.log('warn', `Output '${names[0]}' has ${firstSize} values but dataset '${ds.spec}' has ${ds.classes.length} classes; top-1 accuracy takes the argmax of that output as the class index.`);
  }
  const fidelity = graph.outputs.map(() => new FidelityAccumulator());
  const stored = ctx.putArtifact(model.bytes);

  const count = ds.count;
  const labels = ds.labels;
  const sample = new Float32Array(perSample);
  let correct = 0;
  let outSum = 0;
  let outSumSq = 0;
  let outCount = 0;
  const predictions = new Int32Array(count);
  // The dataset hash (Dataset.hash()) is computed in the same pass as the evaluation.
  const hasher = new DatasetHasher(ds);
  let runMs = 0;
  let workers = 0;
  let threads = 1;
  let threadNote = '';
  const evalStart = performance.now();
  /** Everything recorded about sample i from its outputs (argmax, accuracy, output statistics). */
  const account = (i: number, outputs: readonly TensorData[]): Float64Array[] => {
    const values = outputs.map((o, k) => read[k](o));
    const first = values[0];
    let best = 0;
    for (let k = 1; k < first.length; k++) if (first[k] > first[best]) best = k;
    predictions[i] = best;
    if (labels && best === labels[i]) correct++;
    for (const v of values) {
      for (let k = 0; k < v.length; k++) {
        outSum += v[k];
        outSumSq += v[k] * v[k];
      }
      outCount += v.length;
    }
    return values;
  };
  // Many samples and no reference model: one interpreter per worker thread, and this thread's
  // own interpreter beside them (parallel-eval.ts); the same outputs as the serial loop below, in order.
  const parallel = pool !== null && !refInterpreter && count >= PARALLEL_MIN_SAMPLES;
  if (parallel) {
    const sizes = interpreter.outputs.map((o) => o.shape.reduce((a, b) => a * b, 1));
    ctx.progress('evaluating', 0, count);
    const r = await evaluateInParallel({
      model: pool.model, pool, rounding, inputShape: interpreter.inputs[0].shape, inputDtype: input.dtype, count, local: interpreter,
      fill: (start, end, into) => {
        for (let i = start; i < end; i++) {
          ds.sample(i, sample);
          hasher.add(sample);
          (into as Float32Array).set(feed(sample) as Float32Array, (i - start) * perSample);
        }
      },
      consume: (start, end, outs) => {
        for (let i = start; i < end; i++) account(i, outs.map((o, k) => o.subarray((i - start) * sizes[k], (i - start + 1) * sizes[k]) as TensorData));
      },
      onChunk: async (done) => {
        ctx.progress('evaluating', done, count);
        await new Promise((res) => setImmediate(res));
        ctx.throwIfCancelled();
      },
    });
    runMs = r.runMs;
    workers = r.workers;
    threads = r.threads;
    threadNote = `${r.threads} threads (${r.workers} worker thread${r.workers === 1 ? '' : 's'} and this one, which took ${r.localSamples} samples; the first worker was ready after ${r.startMs.toFixed(0)} ms)`;
  }
  for (let i = 0; i < count && !parallel; i++) {
    ctx.throwIfCancelled();
    ds.sample(i, sample);
    hasher.add(sample);
    const fed = feed(sample);
    const t0 = performance.now();
    const { outputs } = interpreter.run([fed]);
    runMs += performance.now() - t0;
    const values = account(i, outputs);
    if (refInterpreter) {
      const ref = refInterpreter.run([refFeed!(sample)]).outputs.map((o, k) => refRead![k](o));
      ref.forEach((r, k) => {
        if (r.length !== values[k].length) {
          throw new UserError(
            'bad-input',
            `Output '${names[k]}' of '${p.modelPath}' has ${values[k].length} values but output ${k} ('${refInterpreter.outputs[k].name}') of reference '${p.referencePath}' has ${r.length}; they must be the same network.`,
          );
        }
        fidelity[k].add(r, values[k]);
      });
    }
    if ((i & 15) === 15 || i === count - 1) {
      ctx.progress('evaluating', i + 1, count);
      // Yield so a cancel message can be delivered.
      await new Promise((r) => setImmediate(r));
    }
  }
  const datasetHash = hasher.digest();
  const predictionsArtifact = ctx.putArtifact(new Uint8Array(predictions.buffer));
  const precision = precisionOf(graph);
  const msPerSample = runMs / count;
  const evalWallMs = performance.now() - evalStart;
  const metrics = [
    { name: 'latency', context: `desktop-${precision}`, value: msPerSample, unit: 'ms' },
    // serial: samples per second of run time; parallel: samples per second of wall time over all threads
    { name: 'throughput', context: `desktop-${precision}`, value: parallel ? (count / evalWallMs) * 1000 : (count / runMs) * 1000, unit: 'img/s' },
    { name: 'output-mean', context: precision, value: outSum / outCount, unit: '' },
    { name: 'output-rms', context: precision, value: Math.sqrt(outSumSq / outCount), unit: '' },
  ];
  const accuracy = labels ? correct / count : null;
  if (accuracy !== null) metrics.push({ name: 'accuracy', context: precision, value: 100 * accuracy, unit: '%' });
  let outputsFidelity: ({ name: string; referenceName: string; exact: boolean } & Omit<Fidelity, 'sqnrDb'> & { sqnrDb: number | null })[] | undefined;
  if (refInterpreter) {
    outputsFidelity = fidelity.map((acc, k) => {
      const f = acc.result();
      return { name: names[k], referenceName: refInterpreter.outputs[k].name, sqnrDb: finiteOrNull(f.sqnrDb), cosine: f.cosine, maxAbsError: f.maxAbsError, elements: f.elements, exact: f.maxAbsError === 0 };
    });
    for (const o of outputsFidelity) {
      if (o.sqnrDb !== null) metrics.push({ name: 'sqnr', context: `output:${o.name}`, value: o.sqnrDb, unit: 'dB' });
      metrics.push({ name: 'cosine', context: `output:${o.name}`, value: o.cosine, unit: '' });
      metrics.push({ name: 'max-abs-error', context: `output:${o.name}`, value: o.maxAbsError, unit: '' });
    }
  }
  ctx.log('info', parallel
    ? `Evaluated ${count} samples of ${ds.spec} in ${evalWallMs.toFixed(0)} ms on ${threadNote} (${runMs.toFixed(0)} ms of run time; ${precision}, rounding ${rounding}).`
    : `Evaluated ${count} samples of ${ds.spec} in ${runMs.toFixed(0)} ms (${precision}, rounding ${rounding}).`);
  const artifacts = [
    { ...stored, role: 'model', name: path.basename(p.modelPath) },
    { ...predictionsArtifact, role: 'predictions', name: 'predictions.int32' },
  ];
  if (reference) artifacts.push({ ...ctx.putArtifact(reference.bytes), role: 'reference-model', name: path.basename(p.referencePath!) });
  return {
    summary: {
      samples: count,
      accuracy,
      accuracyPercent: accuracy === null ? null : 100 * accuracy,
      msPerSample,
      latencyMs: msPerSample,
      /** Worker threads used (0: the serial loop), and threads that evaluated samples (workers + this one). */
      workers,
      threads,
      /** Wall time of the evaluation loop (ms): data preparation, runs and bookkeeping, worker start-up not hidden by the data loading. */
      wallMs: evalWallMs,
      precision,
      rounding,
      data: ds.spec,
      dataDescription: ds.description,
      preprocess: ds.preprocess,
      ...(outputsFidelity ? { outputs: outputsFidelity } : {}),
    },
    metrics,
    artifacts,
    model: { ...stored, name: path.basename(p.modelPath), format: 'tflite', sourcePath: path.resolve(p.modelPath), summary: { ops: graph.ops.length, tensors: graph.tensors.length, precision } },
    dataset: {
      spec: ds.spec,
      sha256: datasetHash,
      sampleCount: count,
      // Image folders list every file: keep the record small (the hash identifies the data).
      preprocessing: { ...ds.preprocess, sampleShape: ds.sampleShape, classes: ds.classes, description: ds.description, ...(ds.files.length <= 10 ? { files: ds.files } : { fileCount: ds.files.length }) },
    },
  };
}
