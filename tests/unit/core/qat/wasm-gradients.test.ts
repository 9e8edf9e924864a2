/**
 * The WebAssembly training kernels (src/core/qat/wasm-gradients.ts) against TF.js's own 'cpu'
 * kernels: convolution input and weight gradients ('same' and 'valid', odd and even kernels) and
 * the BatchNorm gradient, to float32 precision.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { registerWasmTraining } from '../../../../src/core/qat/wasm-gradients';

function seeded(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32 - 0.5;
  });
}

async function on<T>(backend: 'cpu' | 'wasm', f: () => T): Promise<T> {
  await tf.setBackend(backend);
  await tf.ready();
  if (backend === 'wasm') registerWasmTraining();
  return f();
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / scale;
}

describe('wasm training gradients', () => {
  const cases: [string, number, number, 'same' | 'valid', number][] = [
    ['3×3 same', 3, 3, 'same', 1],
    ['3×3 valid', 3, 3, 'valid', 1],
    ['2×4 same (even, asymmetric padding)', 2, 4, 'same', 1],
    ['3×3 same, stride 2', 3, 3, 'same', 2],
    ['3×3 valid, stride 2', 3, 3, 'valid', 2],
    ['2×2 same, stride 3', 2, 2, 'same', 3],
  ];
  for (const [what, kh, kw, pad, stride] of cases) {
    it(`conv2d ${what}: input and weight gradients equal the cpu kernels`, async () => {
      const [n, h, w, cin, cout] = [2, 9, 8, 3, 5];
      const x = seeded(n * h * w * cin, 1);
      const f = seeded(kh * kw * cin * cout, 2);
      const grads = () =>
        tf.tidy(() => {
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
            const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad);
            // A non-uniform upstream gradient, so every position counts differently.
            return tf.sum(tf.mul(y, tf.range(1, 1 + y.size).reshape(y.shape)));
          });
          const [dx, dw] = g([tf.tensor4d(x, [n, h, w, cin]), tf.tensor4d(f, [kh, kw, cin, cout])]);
          return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
        });
      const [cpuDx, cpuDw] = await on('cpu', grads);
      const [wasmDx, wasmDw] = await on('wasm', grads);
      expect(maxRelError(cpuDx, wasmDx)).toBeLessThan(1e-5);
      expect(maxRelError(cpuDw, wasmDw)).toBeLessThan(1e-5);
    });
  }

  it('batch norm: the gradient with respect to x, scale and offset equals the cpu one', async () => {
    const x = seeded(2 * 4 * 4 * 6, 3);
    const grads = () =>
      tf.tidy(() => {
        const mean = tf.tensor1d(seeded(6, 4));
        const variance = tf.abs(tf.tensor1d(seeded(6, 5))).add(0.1);
        const g = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.square(tf.batchNorm(a as tf.Tensor4D, mean, variance, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3))));
        return g([tf.tensor4d(x, [2, 4, 4, 6]), tf.tensor1d(seeded(6, 6)), tf.tensor1d(seeded(6, 7))]).map((t) => t.dataSync() as Float32Array);
      });
    const cpu = await on('cpu', grads);
    const wasm = await on('wasm', grads);
    cpu.forEach((c, k) => expect(maxRelError(c, wasm[k])).toBeLessThan(1e-5));
  });
});
