/**
 * KL calibration against a brute-force implementation written here from the description of
 * TensorRT's algorithm: its own |x| histogram (2048 bins over [0, max|x|]), P and Q built as
 * explicit arrays for every candidate, normalised, KL summed bin by bin.
 */
import { describe, expect, it } from 'vitest';
import { createObserver } from '../../../../../src/core/quant/observers';
import { INT8_ACTIVATION, INT8_WEIGHT } from '../../../../../src/core/quant/params';
import { gaussian } from './helpers';

/**
 * Brute force: histogram of the values (already ≥ 0) with `bins` bins over [0, max] (the
 * observer's convention, 'edges': bins − 1 bins span [0, max) and max opens the last one; or the
 * textbook 'span': bins bins span [0, max] exactly); for each
 * i ≥ levels: P = bins [0, i) with everything beyond added to bin i − 1; Q = bins [0, i)
 * without that, bin j in level floor(j·levels/i), each level's mass spread over its bins where
 * P ≠ 0. Returns the upper edge of the best i.
 */
function bruteForceKl(values: ArrayLike<number>, bins: number, levels: number, convention: 'edges' | 'span'): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  const width = convention === 'edges' ? max / (bins - 1) : max / bins;
  const hist = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) hist[Math.min(bins - 1, Math.floor(values[i] / width))]++;
  let best = Infinity;
  let bestI = bins;
  for (let i = levels; i <= bins; i++) {
    const p = hist.slice(0, i);
    for (let j = i; j < bins; j++) p[i - 1] += hist[j];
    const levelMass = new Array<number>(levels).fill(0);
    const levelNonzero = new Array<number>(levels).fill(0);
    for (let j = 0; j < i; j++) {
      const l = Math.floor((j * levels) / i);
      levelMass[l] += hist[j];
      if (p[j] > 0) levelNonzero[l]++;
    }
    const q = p.map((pj, j) => (pj > 0 ? levelMass[Math.floor((j * levels) / i)] / levelNonzero[Math.floor((j * levels) / i)] : 0));
    const sp = p.reduce((a, b) => a + b, 0);
    const sq = q.reduce((a, b) => a + b, 0);
    let kl = 0;
    for (let j = 0; j < i; j++) {
      if (p[j] === 0) continue;
      kl += q[j] === 0 ? Infinity : (p[j] / sp) * Math.log(p[j] / sp / (q[j] / sq));
    }
    if (kl < best) {
      best = kl;
      bestI = i;
    }
  }
  return Math.min(max, bestI * width);
}

describe('kl', () => {
  it('symmetric: a Gaussian with a few huge outliers is clipped near the bulk, as the brute force', () => {
    const x = gaussian(100_000, 21);
    x[1] = 40;
    x[2] = -35;
    x[3] = 50;
    const o = createObserver({ kind: 'kl' }, { grid: INT8_WEIGHT });
    o.observe(x, [x.length]);
    const t = o.range().max[0];
    const abs = Array.from(x, Math.abs);
    expect(t).toBeLessThan(50 / 8);
    expect(t).toBeGreaterThan(3);
    // Same bins: the same threshold (the closed-form KL equals the explicit one).
    expect(Math.abs(t - bruteForceKl(abs, 2048, 128, 'edges'))).toBeLessThan(1e-9);
    // Bins cut differently move the noisy optimum a little.
    expect(Math.abs(t - bruteForceKl(abs, 2048, 128, 'span')) / t).toBeLessThan(0.05);
    expect(o.range().min[0]).toBe(-t);
  });

  it('symmetric: a heavier tail (Laplace-like) with outliers', () => {
    const g = gaussian(80_000, 22);
    const x = g.map((v, i) => v * Math.abs(g[(i * 7919) % g.length])); // product of normals: heavy tail
    x[5] = 90;
    const o = createObserver({ kind: 'kl' }, { grid: INT8_WEIGHT });
    o.observe(x, [x.length]);
    const t = o.range().max[0];
    const abs = Array.from(x, Math.abs);
    expect(t).toBeLessThan(90 / 4);
    expect(Math.abs(t - bruteForceKl(abs, 2048, 128, 'edges'))).toBeLessThan(1e-9);
    expect(Math.abs(t - bruteForceKl(abs, 2048, 128, 'span')) / t).toBeLessThan(0.05);
  });

  it('asymmetric on one-signed data (ReLU outputs) is the same search on [0, max] with 256 levels', () => {
    const x = gaussian(100_000, 23).map((v) => Math.max(0, v));
    x[7] = 45;
    x[8] = 60;
    const o = createObserver({ kind: 'kl' }, { grid: INT8_ACTIVATION });
    o.observe(x, [x.length]);
    const r = o.range();
    expect(r.min[0]).toBe(0);
    expect(r.max[0]).toBeLessThan(60 / 8);
    expect(Math.abs(r.max[0] - bruteForceKl(x, 4096, 256, 'edges'))).toBeLessThan(1e-9);
    expect(Math.abs(r.max[0] - bruteForceKl(x, 4096, 256, 'span')) / r.max[0]).toBeLessThan(0.05);
  });

  it('asymmetric on two-sided data trims both outlier tails and keeps the bulk', () => {
    const x = gaussian(100_000, 24, 1, 1);
    x[1] = 40;
    x[2] = -35;
    x[3] = 50;
    const o = createObserver({ kind: 'kl' }, { grid: INT8_ACTIVATION });
    o.observe(x, [x.length]);
    const { min, max } = o.range();
    expect(min[0]).toBeLessThan(-2);
    expect(min[0]).toBeGreaterThan(-6);
    expect(max[0]).toBeGreaterThan(4);
    expect(max[0]).toBeLessThan(8);
  });

  it('a grid with more levels than the histogram has bins (int16) keeps the full range', () => {
    const x = gaussian(10_000, 25);
    x[0] = 30;
    const o = createObserver({ kind: 'kl' }, { grid: { qmin: -32767, qmax: 32767, symmetric: true } });
    o.observe(x, [x.length]);
    expect(o.range()).toEqual({ min: [-30], max: [30] });
  });
});

describe('KL and the zeros of a ReLU', () => {
  it('ignores exact zeros (exact on every grid): a 60% spike at 0 does not pull the clip down', () => {
    // ReLU-like activations: 60% exact zeros, the rest half-normal (σ 0.4, max ≈ 1.7).
    const values = new Float32Array(200_000);
    let s = 17;
    const r = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < values.length; i++) {
      const u = r();
      values[i] = u < 0.6 ? 0 : Math.abs(Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r())) * 0.4;
    }
    const ob = createObserver({ kind: 'kl' }, { grid: INT8_ACTIVATION });
    ob.observe(values, [values.length]);
    const withZeros = ob.range().max[0];
    // The same distribution with the zeros removed gives the same clip: zeros play no part.
    const nonzero = values.filter((v) => v !== 0);
    const ob2 = createObserver({ kind: 'kl' }, { grid: INT8_ACTIVATION });
    ob2.observe(nonzero, [nonzero.length]);
    expect(Math.abs(withZeros - ob2.range().max[0])).toBeLessThanOrEqual(2.5 / 1000);
    // With the zeros in P the search clipped at ≈ 0.74 (below 2σ); without them ≈ 1.55.
    expect(withZeros).toBeGreaterThan(1.2);
  });
});
