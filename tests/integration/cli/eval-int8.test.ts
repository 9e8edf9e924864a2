/**
 * `quantlab eval` on an int8 model (float samples quantized into its int8 input, its int8 output
 * dequantized), against its float source with --reference; and the errors a user meets. The
 * models are a nearest-centroid MNIST classifier (W = class means of mnist:train, b = −½|W|²) as
 * one FULLY_CONNECTED op, float and int8 (weights symmetric per tensor, input scale 1/255 zero
 * point −128, output range from the train split). The bounds are worked out here: the int8
 * accumulator is computed exactly in integers, so |float − int8 output| is at most
 * |float − S_in·S_w·acc| plus half an output step (plus float32 slack).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { singleOpModel } from '../../helpers/tflite-model';

const BIN = path.resolve(__dirname, '../../../bin/quantlab.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-eval8-'));
const ws = path.join(tmp, 'ws');
function quantlab(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--workspace', ws, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const require = createRequire(import.meta.url);
const perClass = Array.from({ length: 10 }, (_, d) => (JSON.parse(fs.readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')) as { data: number[] }).data);
const order: { digit: number; index: number }[] = [];
for (let i = 0; order.length < 10000; i++) for (let d = 0; d < 10; d++) if ((i + 1) * 784 <= perClass[d].length) order.push({ digit: d, index: i });
const image = (k: number) => perClass[order[k].digit].slice(order[k].index * 784, (order[k].index + 1) * 784);

const W = Array.from({ length: 10 }, () => new Float64Array(784));
const n = new Array(10).fill(0);
for (let k = 0; k < 8000; k++) {
  const x = image(k);
  n[order[k].digit]++;
  for (let p = 0; p < 784; p++) W[order[k].digit][p] += x[p];
}
W.forEach((w, c) => w.forEach((v, p) => (w[p] = Math.fround(v / n[c]))));
const B = W.map((w) => Math.fround(-0.5 * w.reduce((a, v) => a + v * v, 0)));
const logits = (x: ArrayLike<number>) => W.map((row, c) => row.reduce((a, v, p) => a + v * x[p], B[c]));

const FC = { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } as const;
const weights = new Float32Array(7840);
W.forEach((row, c) => weights.set(row, c * 784));
const FLOAT = path.join(tmp, 'centroid.tflite');
fs.writeFileSync(
  FLOAT,
  writeTflite(
    singleOpModel({
      type: 'FULLY_CONNECTED',
      options: FC,
      inputs: [{ name: 'pixels', dtype: 'float32', shape: [1, 784] }, { dtype: 'float32', shape: [10, 784], data: weights }, { dtype: 'float32', shape: [10], data: Float32Array.from(B) }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: [1, 10] }],
    }),
  ),
);

// int8 parameters.
const sIn = Math.fround(1 / 255);
const zIn = -128;
const sW = Math.fround(Math.max(...weights.map(Math.abs)) / 127);
const wq = Int8Array.from(weights, (v) => Math.round(v / sW));
const sB = Math.fround(sIn * sW);
const bq = Int32Array.from(B, (v) => Math.round(v / sB));
let lo = Infinity;
let hi = -Infinity;
for (let k = 0; k < 8000; k += 8) for (const z of logits(image(k))) [lo, hi] = [Math.min(lo, z), Math.max(hi, z)];
const margin = 0.2 * (hi - lo);
const sOut = Math.fround((hi - lo + 2 * margin) / 255);
const zOut = Math.round(-128 - (lo - margin) / sOut);
const INT8 = path.join(tmp, 'centroid-int8.tflite');
fs.writeFileSync(
  INT8,
  writeTflite(
    singleOpModel({
      type: 'FULLY_CONNECTED',
      options: FC,
      inputs: [
        { name: 'pixels', dtype: 'int8', shape: [1, 784], quant: { scale: [sIn], zeroPoint: [zIn] } },
        { dtype: 'int8', shape: [10, 784], data: wq, quant: { scale: [sW], zeroPoint: [0] } },
        { dtype: 'int32', shape: [10], data: bq, quant: { scale: [sB], zeroPoint: [0] } },
      ],
      outputs: [{ name: 'logits', dtype: 'int8', shape: [1, 10], quant: { scale: [sOut], zeroPoint: [zOut] } }],
    }),
  ),
);

describe('quantlab eval on an int8 model', () => {
  it('quantizes the input, dequantizes the output, and measures fidelity against the float source', () => {
    const N = 200;
    let floatCorrect = 0;
    let bound = 0;
    for (let k = 8000; k < 8000 + N; k++) {
      const x = image(k);
      const z = logits(x);
      if (z.indexOf(Math.max(...z)) === order[k].digit) floatCorrect++;
      // q = clamp(round_half_away(x / S_in) + Z_in); x ≥ 0 here, so round half away is floor(v + 0.5).
      const q = x.map((v) => Math.min(127, Math.max(-128, Math.floor(Math.fround(v / sIn) + 0.5) + zIn)));
      for (let c = 0; c < 10; c++) {
        let acc = bq[c];
        for (let p = 0; p < 784; p++) acc += wq[c * 784 + p] * (q[p] - zIn);
        bound = Math.max(bound, Math.abs(z[c] - sB * acc));
      }
    }
    bound += sOut / 2 + 1e-3;
    const r = quantlab(['--json', 'eval', INT8, '--data', `mnist:test@${N}`, '--reference', FLOAT, '--rounding', 'single']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ samples: N, precision: 'int8', rounding: 'single-rounding' });
    expect(Math.abs(out.accuracy - floatCorrect / N)).toBeLessThanOrEqual(0.02);
    const o = out.outputs[0];
    expect(o.name).toBe('logits');
    expect(o.maxAbsError).toBeGreaterThan(0);
    expect(o.maxAbsError).toBeLessThanOrEqual(bound);
    expect(o.sqnrDb).toBeGreaterThan(25);
    expect(o.cosine).toBeGreaterThan(0.99);
    expect(out.metrics).toContainEqual(expect.objectContaining({ name: 'sqnr', context: 'output:logits', unit: 'dB' }));
  });

  it('--threads: 2,000 samples on 2 threads (a worker and the CLI\'s own) give exactly the one-thread results; 0 threads is refused', () => {
    const run = (threads: number) => {
      const r = quantlab(['--json', 'eval', INT8, '--data', 'mnist:all@2000', '--threads', String(threads)]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { samples: number; accuracy: number; workers: number; threads: number; wallMs: number; metrics: { name: string; value: number }[] };
    };
    const one = run(1);
    const two = run(2);
    expect(one).toMatchObject({ samples: 2000, workers: 0, threads: 1 });
    expect(two).toMatchObject({ samples: 2000, workers: 1, threads: 2 });
    expect(two.accuracy).toBe(one.accuracy);
    const metric = (o: typeof one, name: string) => o.metrics.find((m) => m.name === name)!.value;
    expect(metric(two, 'output-mean')).toBe(metric(one, 'output-mean'));
    expect(metric(two, 'output-rms')).toBe(metric(one, 'output-rms'));
    expect(one.wallMs).toBeGreaterThan(0);
    const zero = quantlab(['eval', INT8, '--data', 'mnist:all@2000', '--threads', '0']);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toContain("'0' is not a positive integer");
  });

  it('refuses a bad spec before recording, and data that does not fit the model naming both shapes', () => {
    const bad = quantlab(['eval', FLOAT, '--data', 'mnist:validation']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Dataset spec 'mnist:validation'");
    const misfit = quantlab(['eval', INT8, '--data', 'mnist:test@2', '--resize', '20x20']);
    expect(misfit.code).toBe(1);
    expect(misfit.stderr).toContain("Dataset 'mnist:test@2' has samples of shape [20, 20, 1] (400 values) but model input 'pixels' has shape [1, 784] and takes 784 values per sample");
  });
});
