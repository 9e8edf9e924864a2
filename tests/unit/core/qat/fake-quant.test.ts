/**
 * The fake-quant ops against quantize-dequantize written here from the TFLite scheme (not from
 * the code under test), and their gradients against the straight-through estimator's mask.
 * Runs on the 'cpu' backend (the op is the same code on every backend).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeQuant, fakeQuantLearned, fakeQuantWeights } from '../../../../src/core/qat/fake-quant';
import { chooseParams, INT8_ACTIVATION } from '../../../../src/core/quant/params';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Seeded values in [lo, hi). */
function values(n: number, lo: number, hi: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * a) / 2 ** 32;
  }
  return out;
}

const roundAway = (r: number) => (r >= 0 ? Math.floor(r + 0.5) : -Math.floor(-r + 0.5));

/** TFLite QUANTIZE then DEQUANTIZE of one value (the division in float32, as the model's float32 arithmetic does). */
function quantDequant(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  const q = Math.min(qmax, Math.max(qmin, roundAway(Math.fround(x / scale)) + zeroPoint));
  return Math.fround(scale * (q - zeroPoint));
}

describe('fakeQuant (per tensor, asymmetric int8)', () => {
  const cases: [string, number, number][] = [
    ['a range around 0', -1.3, 2.7],
    ['a ReLU range (min 0)', 0, 6.2],
    ['an all-negative range (widened to hold 0)', -3.1, -0.4],
  ];
  for (const [what, min, max] of cases) {
    it(`equals quantize-dequantize for ${what}, values inside and outside`, () => {
      const p = chooseParams({ min, max }, INT8_ACTIVATION);
      const x = values(4096, min - 1.5, max + 1.5, 7);
      const y = tf.tidy(() => fakeQuant(tf.tensor1d(x), p, INT8_ACTIVATION).dataSync());
      let mismatched = 0;
      for (let i = 0; i < x.length; i++) if (y[i] !== quantDequant(x[i], p.scale, p.zeroPoint, -128, 127)) mismatched++;
      expect(mismatched).toBe(0);
      // 0 is exact (the nudged zero point).
      expect(tf.tidy(() => fakeQuant(tf.tensor1d([0]), p, INT8_ACTIVATION).dataSync()[0])).toBe(0);
    });
  }

  it('passes the gradient straight through inside the range and blocks it outside', () => {
    const p = chooseParams({ min: -1, max: 3 }, INT8_ACTIVATION);
    const lo = p.scale * (-128 - p.zeroPoint);
    const hi = p.scale * (127 - p.zeroPoint);
    const x = values(1000, -3, 5, 11);
    const w = values(1000, -1, 1, 13);
    const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuant(t, p, INT8_ACTIVATION), tf.tensor1d(w))))(tf.tensor1d(x)).dataSync());
    let inside = 0;
    for (let i = 0; i < x.length; i++) {
      const mask = x[i] >= Math.fround(lo) && x[i] <= Math.fround(hi) ? 1 : 0;
      inside += mask;
      expect(g[i]).toBe(mask * w[i]);
    }
    expect(inside).toBeGreaterThan(300);
    expect(inside).toBeLessThan(700);
  });
});

describe('fakeQuantWeights (symmetric int8 [-127, 127])', () => {
  it('per channel (last axis) equals quantize-dequantize with scale max|w_c|/127; an all-zero channel stays 0', () => {
    const [kh, kw, cin, cout] = [3, 3, 2, 4];
    const w = values(kh * kw * cin * cout, -0.5, 0.5, 3);
    for (let i = 0; i < w.length; i++) {
      if (i % cout === 1) w[i] *= 20; // a wide channel
      if (i % cout === 3) w[i] = 0; // an empty one
    }
    const y = tf.tidy(() => fakeQuantWeights(tf.tensor4d(w, [kh, kw, cin, cout]), true).dataSync());
    const absMax = new Array<number>(cout).fill(0);
    for (let i = 0; i < w.length; i++) absMax[i % cout] = Math.max(absMax[i % cout], Math.abs(w[i]));
    for (let i = 0; i < w.length; i++) {
      const c = i % cout;
      const scale = absMax[c] > 0 ? Math.fround(absMax[c] / 127) : 1;
      expect(y[i]).toBe(quantDequant(w[i], scale, 0, -127, 127));
    }
  });

  it('per tensor uses one scale; the gradient is the identity (nothing is clipped)', () => {
    const w = values(64, -2, 1, 5);
    const absMax = Math.max(...Array.from(w, Math.abs));
    const scale = Math.fround(absMax / 127);
    const y = tf.tidy(() => fakeQuantWeights(tf.tensor2d(w, [16, 4]), false).dataSync());
    for (let i = 0; i < w.length; i++) expect(y[i]).toBe(quantDequant(w[i], scale, 0, -127, 127));
    const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuantWeights(t, true), 3)))(tf.tensor2d(w, [16, 4])).dataSync());
    expect(Array.from(g)).toEqual(new Array(64).fill(3));
  });
});

describe('fakeQuantLearned (LSQ)', () => {
  it('forward equals quantize-dequantize with S = exp(logS) and Z = round(z); dx is the STE mask; dS follows LSQ', () => {
    const scale = 0.05;
    const zeroPoint = -20.3; // rounds to -20
    const logScale = tf.variable(tf.scalar(Math.log(scale)));
    const zp = tf.variable(tf.scalar(zeroPoint));
    const s = Math.fround(Math.exp(Math.fround(Math.log(scale))));
    const x = values(2000, -6, 10, 17);
    const y = tf.tidy(() => fakeQuantLearned(tf.tensor1d(x), { logScale, zeroPoint: zp }, INT8_ACTIVATION, 2000).dataSync());
    let mismatched = 0;
    for (let i = 0; i < x.length; i++) if (Math.abs(y[i] - quantDequant(x[i], s, -20, -128, 127)) > 1e-6) mismatched++;
    expect(mismatched).toBe(0);

    const grads = tf.tidy(() => {
      const xt = tf.tensor1d(x);
      const { grads: gv } = tf.variableGrads(() => tf.sum(fakeQuantLearned(xt, { logScale, zeroPoint: zp }, INT8_ACTIVATION, 2000)) as tf.Scalar, [logScale, zp]);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(fakeQuantLearned(t, { logScale, zeroPoint: zp }, INT8_ACTIVATION, 2000)))(xt);
      return { dx: dx.dataSync(), dLogScale: gv[logScale.name].dataSync()[0], dZero: gv[zp.name].dataSync()[0] };
    });
    const lo = -108; // qmin − Z in steps
    const hi = 147; // qmax − Z
    let dS = 0;
    let outside = 0;
    for (let i = 0; i < x.length; i++) {
      const v = Math.fround(x[i] / s);
      const inside = v >= lo && v <= hi;
      expect(grads.dx[i]).toBe(inside ? 1 : 0);
      dS += inside ? roundAway(v) - v : v < lo ? lo : hi;
      if (!inside) outside++;
    }
    const g = 1 / Math.sqrt(2000 * 127);
    expect(grads.dLogScale).toBeCloseTo(dS * s * g, 3);
    expect(grads.dZero).toBeCloseTo(-outside * s * g, 5);
    logScale.dispose();
    zp.dispose();
  });
});
