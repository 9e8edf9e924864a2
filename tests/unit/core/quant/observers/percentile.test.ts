/**
 * Percentile: against exact percentiles of the sorted data (nearest rank), within one bin width
 * of the histogram (extent/(bins − 1) for a single batch), on a uniform ramp and on Gaussians.
 */
import { describe, expect, it } from 'vitest';
import { createObserver } from '../../../../../src/core/quant/observers';
import { INT8_ACTIVATION, INT8_WEIGHT } from '../../../../../src/core/quant/params';
import { gaussian } from './helpers';

/** Nearest-rank percentile: the smallest value with at least p% of the data at or below it. */
function exactPercentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

describe('percentile', () => {
  it('a uniform ramp: the P-th percentile of |x| is P% of the way up', () => {
    const n = 100_001;
    const ramp = new Float64Array(n);
    for (let i = 0; i < n; i++) ramp[i] = -2 + (4 * i) / (n - 1); // −2 … 2, |x| uniform on [0, 2]
    for (const p of [90, 99, 99.9, 100]) {
      const o = createObserver({ kind: 'percentile', percentile: p }, { grid: INT8_WEIGHT });
      o.observe(ramp, [n]);
      const bin = 2 / 2047;
      const want = exactPercentile(ramp.map(Math.abs), p);
      expect(Math.abs(want - (2 * p) / 100)).toBeLessThan(1e-4);
      expect(Math.abs(o.range().max[0] - want)).toBeLessThan(bin);
      expect(o.range().min[0]).toBe(-o.range().max[0]);
    }
  });

  it('symmetric: the percentile of |x| of a Gaussian with outliers, within one bin', () => {
    const x = gaussian(50_000, 11, 2);
    x[10] = 80;
    x[20] = -60;
    for (const p of [99, 99.9, 99.99]) {
      const o = createObserver({ kind: 'percentile', percentile: p }, { grid: INT8_WEIGHT });
      o.observe(x, [x.length]);
      const want = exactPercentile(Array.from(x, Math.abs), p);
      expect(Math.abs(o.range().max[0] - want)).toBeLessThan(80 / 2047);
    }
  });

  it('asymmetric: each tail at its own percentile, within one bin', () => {
    const x = gaussian(60_000, 12, 1, 0.5); // mean 0.5: tails at different distances from 0
    x[3] = 40;
    x[4] = -25;
    const p = 99.9;
    const o = createObserver({ kind: 'percentile', percentile: p }, { grid: INT8_ACTIVATION });
    o.observe(x, [x.length]);
    const bin = 65 / 2047;
    const r = o.range();
    expect(Math.abs(r.max[0] - exactPercentile(x, p))).toBeLessThan(bin);
    expect(Math.abs(r.min[0] - exactPercentile(x, 100 - p))).toBeLessThan(bin);
  });

  it('asymmetric on one-signed data keeps 0 as the low end', () => {
    const x = gaussian(10_000, 13).map(Math.abs);
    const o = createObserver({ kind: 'percentile', percentile: 99 }, { grid: INT8_ACTIVATION });
    o.observe(x, [x.length]);
    expect(o.range().min[0]).toBe(0);
    expect(Math.abs(o.range().max[0] - exactPercentile(x, 99))).toBeLessThan(Math.max(...x) / 2047);
  });
});
