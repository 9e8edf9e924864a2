/**
 * MSE clipping, judged by really quantizing the data (chooseParams → quantizeValue →
 * dequantizeValue from params.ts): lower error than min/max and within a small factor of the best
 * clip a brute-force scan finds.
 */
import { describe, expect, it } from 'vitest';
import { createObserver } from '../../../../../src/core/quant/observers';
import { chooseParams, dequantizeValue, INT8_ACTIVATION, INT8_WEIGHT, quantizeValue, type IntegerGrid } from '../../../../../src/core/quant/params';
import { gaussian } from './helpers';

const INT4_SYMMETRIC: IntegerGrid = { qmin: -7, qmax: 7, symmetric: true };
const INT4_ASYMMETRIC: IntegerGrid = { qmin: -8, qmax: 7, symmetric: false };

/**
 * A data set with repeated values: `distinct` each `weight` times (the bulk tiled), so the
 * brute force quantizes each distinct value once and weighs it, while the observer sees them all.
 */
interface Data {
  x: Float32Array;
  distinct: Float64Array;
  weight: Float64Array;
}

function tiled(bulk: Float32Array, times: number, outliers: number[]): Data {
  const x = new Float32Array(bulk.length * times + outliers.length);
  for (let t = 0; t < times; t++) x.set(bulk, t * bulk.length);
  x.set(outliers, bulk.length * times);
  const distinct = Float64Array.from([...bulk, ...outliers]);
  const weight = Float64Array.from([...new Array<number>(bulk.length).fill(times), ...outliers.map(() => 1)]);
  return { x, distinct, weight };
}

/** Mean squared error of quantize-dequantize of every value over the range [lo, hi]. */
function qdqMse(d: Data, lo: number, hi: number, grid: IntegerGrid): number {
  const p = chooseParams({ min: lo, max: hi }, grid);
  let e = 0;
  let n = 0;
  for (let i = 0; i < d.distinct.length; i++) {
    const v = Math.fround(d.distinct[i]);
    const err = dequantizeValue(quantizeValue(v, p, grid), p) - v;
    e += d.weight[i] * err * err;
    n += d.weight[i];
  }
  return e / n;
}

function extremes(d: Data): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of d.distinct) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/** Brute force, symmetric: t = max|x|·k/steps for every k, the real QDQ error of each. */
function bestSymmetric(d: Data, grid: IntegerGrid, steps: number): number {
  const [lo, hi] = extremes(d);
  const m = Math.max(-lo, hi);
  let best = Infinity;
  for (let k = 1; k <= steps; k++) best = Math.min(best, qdqMse(d, -(m * k) / steps, (m * k) / steps, grid));
  return best;
}

/** Brute force, asymmetric: every pair (min·i/steps, max·j/steps) (lo = 0 when min is 0). */
function bestAsymmetric(d: Data, grid: IntegerGrid, steps: number): number {
  const [lo, hi] = extremes(d);
  let best = Infinity;
  for (let i = lo < 0 ? 1 : steps; i <= steps; i++) for (let j = 1; j <= steps; j++) best = Math.min(best, qdqMse(d, (lo * i) / steps, (hi * j) / steps, grid));
  return best;
}

function observed(d: Data, grid: IntegerGrid, kind: 'mse' | 'minmax'): number {
  const o = createObserver({ kind }, { grid });
  o.observe(d.x, [d.x.length]);
  const r = o.range();
  return qdqMse(d, r.min[0], r.max[0], grid);
}

describe('mse', () => {
  it('int8 weights: a Gaussian with two far outliers is clipped, beating min/max', () => {
    // 300k values: clipping two outliers (≈ 70² + 55² of squared error) costs less than the
    // rounding noise their range would add to every value (300k · (80/127)²/12).
    const x = tiled(gaussian(3000, 31), 100, [80, -60]);
    const mse = observed(x, INT8_WEIGHT, 'mse');
    const minmax = observed(x, INT8_WEIGHT, 'minmax');
    const best = bestSymmetric(x, INT8_WEIGHT, 400);
    expect(mse).toBeLessThan(0.95 * minmax);
    expect(mse).toBeLessThan(1.05 * best);
  });

  it('int8 weights: with fewer values the outliers are worth keeping, and it keeps them', () => {
    const x = tiled(gaussian(2000, 32), 10, [80, -60]);
    const o = createObserver({ kind: 'mse' }, { grid: INT8_WEIGHT });
    o.observe(x.x, [x.x.length]);
    expect(o.range().max[0]).toBeGreaterThan(60);
    expect(qdqMse(x, o.range().min[0], o.range().max[0], INT8_WEIGHT)).toBeLessThan(1.05 * bestSymmetric(x, INT8_WEIGHT, 400));
  });

  it('4-bit symmetric: clips a Gaussian with outliers near the optimum', () => {
    const x = tiled(gaussian(5000, 33), 10, [12, -15, 18, -21, 24]);
    const mse = observed(x, INT4_SYMMETRIC, 'mse');
    const minmax = observed(x, INT4_SYMMETRIC, 'minmax');
    const best = bestSymmetric(x, INT4_SYMMETRIC, 400);
    expect(mse).toBeLessThan(0.2 * minmax);
    expect(mse).toBeLessThan(1.05 * best);
  });

  it('asymmetric grids (int8 and 4-bit): both ends chosen, near the brute-force optimum', () => {
    const x = tiled(gaussian(4000, 34, 1, 0.7), 10, [30, -20]);
    for (const [grid, factor] of [
      [INT8_ACTIVATION, 1],
      [INT4_ASYMMETRIC, 0.2],
    ] as const) {
      const mse = observed(x, grid, 'mse');
      const minmax = observed(x, grid, 'minmax');
      const best = bestAsymmetric(x, grid, 40);
      expect(mse).toBeLessThanOrEqual(factor * minmax);
      expect(mse).toBeLessThan(1.1 * best);
    }
  });

  it('ReLU outputs (half exact zeros) on uint8-like asymmetric grids stay at [0, t]', () => {
    const x = tiled(
      gaussian(5000, 35).map((v) => Math.max(0, v)),
      10,
      [25],
    );
    const o = createObserver({ kind: 'mse' }, { grid: INT4_ASYMMETRIC });
    o.observe(x.x, [x.x.length]);
    expect(o.range().min[0]).toBe(0);
    const mse = qdqMse(x, 0, o.range().max[0], INT4_ASYMMETRIC);
    expect(mse).toBeLessThan(1.1 * bestAsymmetric(x, INT4_ASYMMETRIC, 400));
  });
});
