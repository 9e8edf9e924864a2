/**
 * `eval`: run a float model over a dataset in QuantLab's runtime and record top-1 accuracy (when
 * the data has labels), the output statistics and the desktop latency. The first computing verb,
 * and the real job the store's crash tests drive until `quantize` lands.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../core/errors';
import { loadMnistDigits } from '../../../core/data/mnist';
import { readTflite } from '../../../core/formats/tflite/reader';
import { Interpreter } from '../../../core/runtime/interpreter';
import type { JobContext, JobResult } from '../types';

export interface EvalParams {
  modelPath: string;
  /** `mnist` (built-in digits, x/255) or `random` (seeded uniform [0,1) inputs), with a count. */
  dataset: 'mnist' | 'random';
  count: number;
  seed: number;
  /** Multiply inputs by this (e.g. 255 for models trained on raw pixels). */
  inputScale?: number;
}

/** A small seeded generator (mulberry32): the same seed gives the same inputs on every machine. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function evalJob(ctx: JobContext<EvalParams>): Promise<JobResult> {
  const p = ctx.params;
  ctx.progress('reading model', 0, null);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(p.modelPath);
  } catch (e) {
    throw new UserError('bad-input', `Model file '${p.modelPath}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  const model = readTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path.basename(p.modelPath));
  const graph = model.subgraphs[0];
  const input = graph.tensors[graph.inputs[0]];
  const shape = input.shape.map((d, i) => (d < 0 && i === 0 ? 1 : d));
  if (shape.some((d) => d < 0)) {
    throw new UserError('bad-input', `Model '${p.modelPath}': input '${input.name}' has unknown dimensions ${JSON.stringify(input.shape)}; fix them with --input-shape.`);
  }
  if (input.dtype !== 'float32') throw new UserError('bad-input', `Model '${p.modelPath}': input '${input.name}' is ${input.dtype}; eval takes float32 inputs.`);
  const perSample = shape.slice(1).reduce((a, b) => a * b, 1);
  const interpreter = Interpreter.prepare(graph, { inputShapes: [[1, ...shape.slice(1)]] });
  const stored = ctx.putArtifact(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));

  ctx.progress('loading data', 0, null);
  // Random inputs are generated sample by sample (a large N must not allocate N samples at once);
  // the dataset hash covers exactly the values evaluated.
  const hash = crypto.createHash('sha256');
  let images: Float32Array | null = null;
  let labels: Uint8Array | null = null;
  let count: number;
  if (p.dataset === 'mnist') {
    const digits = loadMnistDigits(p.count);
    if (perSample !== digits.height * digits.width) {
      throw new UserError('bad-input', `Model '${p.modelPath}' takes ${perSample} values per sample (${JSON.stringify(shape)}); MNIST digits have 784.`);
    }
    images = digits.images;
    labels = digits.labels;
    count = digits.count;
  } else {
    count = p.count;
  }
  const next = seededUniform(p.seed);
  const scale = p.inputScale ?? 1;

  const sample = new Float32Array(perSample);
  const sampleBytes = new Uint8Array(sample.buffer);
  let correct = 0;
  let outSum = 0;
  let outSumSq = 0;
  let outCount = 0;
  const predictions = new Int32Array(count);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    ctx.throwIfCancelled();
    if (images) for (let k = 0; k < perSample; k++) sample[k] = images[i * perSample + k];
    else for (let k = 0; k < perSample; k++) sample[k] = next();
    hash.update(sampleBytes);
    if (scale !== 1) for (let k = 0; k < perSample; k++) sample[k] *= scale;
    const { outputs } = interpreter.run([sample]);
    const out = outputs[0] as Float32Array;
    let best = 0;
    for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
    predictions[i] = best;
    if (labels && best === labels[i]) correct++;
    for (const o of outputs) {
      for (let k = 0; k < o.length; k++) {
        const v = Number(o[k]);
        outSum += v;
        outSumSq += v * v;
      }
      outCount += o.length;
    }
    if ((i & 15) === 15 || i === count - 1) {
      ctx.progress('evaluating', i + 1, count);
      // Yield so a cancel message can be delivered.
      await new Promise((r) => setImmediate(r));
    }
  }
  const datasetHash = hash.digest('hex');
  const ms = performance.now() - t0;
  const predictionsArtifact = ctx.putArtifact(new Uint8Array(predictions.buffer));
  const metrics = [
    { name: 'latency', context: 'desktop-float32', value: ms / count, unit: 'ms' },
    { name: 'throughput', context: 'desktop-float32', value: (count / ms) * 1000, unit: 'img/s' },
    { name: 'output-mean', context: 'float32', value: outSum / outCount, unit: '' },
    { name: 'output-rms', context: 'float32', value: Math.sqrt(outSumSq / outCount), unit: '' },
  ];
  if (labels) metrics.push({ name: 'accuracy', context: 'float32', value: (100 * correct) / count, unit: '%' });
  ctx.log('info', `Evaluated ${count} samples in ${ms.toFixed(0)} ms.`);
  return {
    summary: { samples: count, accuracy: labels ? (100 * correct) / count : null, latencyMs: ms / count },
    metrics,
    artifacts: [
      { ...stored, role: 'model', name: path.basename(p.modelPath) },
      { ...predictionsArtifact, role: 'predictions', name: 'predictions.int32' },
    ],
    model: { ...stored, name: path.basename(p.modelPath), format: 'tflite', sourcePath: path.resolve(p.modelPath), summary: { ops: graph.ops.length, tensors: graph.tensors.length } },
    dataset: { spec: `${p.dataset}@${count}`, sha256: datasetHash, sampleCount: count, preprocessing: { scale } },
  };
}
