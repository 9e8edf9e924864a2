/**
 * What the three histogram observers (percentile, kl, mse) share: per channel equals per tensor
 * on each channel's slice, range growth across batches equals one batch of all the data (exactly
 * when the extents differ by a power of two, within a bin width otherwise), symmetric vs
 * asymmetric grids, all-zero data, and NaN/Inf.
 */
import { describe, expect, it } from 'vitest';
import { createObserver, type CalibrationMethod } from '../../../../../src/core/quant/observers';
import { INT8_ACTIVATION, INT8_WEIGHT } from '../../../../../src/core/quant/params';
import { channelSlice, concat, gaussian } from './helpers';

const METHODS: CalibrationMethod[] = [{ kind: 'percentile', percentile: 99.9 }, { kind: 'kl' }, { kind: 'mse' }];
const GRIDS = [INT8_WEIGHT, INT8_ACTIVATION];

function name(m: CalibrationMethod, symmetric: boolean): string {
  return `${m.kind} ${symmetric ? 'symmetric' : 'asymmetric'}`;
}

/** A batch whose channels (along axis 1 of [4, 3, 500]) have different scales and offsets, plus outliers. */
function batch(seed: number, spread: number): Float32Array {
  const x = gaussian(6000, seed);
  for (let o = 0; o < 4; o++) {
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 500; i++) {
        const k = (o * 3 + c) * 500 + i;
        x[k] = x[k] * spread * (c + 1) + (c === 2 ? 0.8 * spread : 0);
      }
    }
  }
  x[17] = 30 * spread;
  x[500 + 3] = -25 * spread;
  return x;
}

describe('histogram observers', () => {
  for (const m of METHODS) {
    for (const grid of GRIDS) {
      it(`${name(m, grid.symmetric)}: per channel equals per tensor on each slice, over several batches`, () => {
        const shape = [4, 3, 500];
        const batches = [batch(41, 1), batch(42, 3), batch(43, 0.5)];
        const per = createObserver(m, { grid, axis: 1 });
        for (const b of batches) per.observe(b, shape);
        const r = per.range();
        expect(r.min).toHaveLength(3);
        for (let c = 0; c < 3; c++) {
          const t = createObserver(m, { grid });
          for (const b of batches) {
            const s = channelSlice(b, shape, 1, c);
            t.observe(s, [2, s.length / 2]);
          }
          expect([r.min[c], r.max[c]]).toEqual([t.range().min[0], t.range().max[0]]);
        }
        // The channels really differ.
        expect(new Set(r.max).size).toBe(3);
      });

      it(`${name(m, grid.symmetric)}: a later wider batch gives exactly the one-batch result when the extents differ by 2^k`, () => {
        const a = gaussian(20_000, 51);
        const b = gaussian(20_000, 52, 4);
        // Pin the extents: [−1, 1] then [−4, 4], a factor 4.
        for (let i = 0; i < a.length; i++) a[i] = Math.max(-1, Math.min(1, a[i]));
        a[0] = -1;
        a[1] = 1;
        for (let i = 0; i < b.length; i++) b[i] = Math.max(-4, Math.min(4, b[i]));
        b[0] = -4;
        b[1] = 4;
        const grown = createObserver(m, { grid });
        grown.observe(a, [a.length]);
        grown.observe(b, [b.length]);
        const once = createObserver(m, { grid });
        const all = concat([a, b]);
        once.observe(all, [all.length]);
        expect(grown.range()).toEqual(once.range());
      });

      it(`${name(m, grid.symmetric)}: growth across batches matches one batch of all the data within a bin width`, () => {
        // KL's optimum is the edge of the bulk (a mixture's flat KL curve would let the coarser
        // grown bins move it further); percentile and MSE see a widening mixture.
        const parts =
          m.kind === 'kl'
            ? [gaussian(30_000, 61), gaussian(30_000, 62), gaussian(30_000, 63)]
            : [gaussian(20_000, 61, 0.5), gaussian(20_000, 62, 1.3, 0.2), gaussian(20_000, 63, 2.9)];
        parts[1][5] = 11;
        parts[2][5] = 37;
        parts[2][6] = -23;
        const grown = createObserver(m, { grid });
        for (const p of parts) grown.observe(p, [p.length]);
        const all = concat(parts);
        const once = createObserver(m, { grid });
        once.observe(all, [all.length]);
        // The grown histogram's bin is at most twice the one-batch bin: extent · 2 / bins.
        const bins = m.kind === 'kl' && !grid.symmetric ? 4096 : 2048;
        const bin = ((grid.symmetric ? 37 : 60) * 2) / bins;
        const g = grown.range();
        const o = once.range();
        expect(Math.abs(g.max[0] - o.max[0])).toBeLessThanOrEqual(bin);
        expect(Math.abs(g.min[0] - o.min[0])).toBeLessThanOrEqual(bin);
      });
    }

    it(`${m.kind}: symmetric grids give ±t, asymmetric grids follow one-signed data`, () => {
      const x = gaussian(20_000, 71).map((v) => Math.abs(v) + 0.1);
      x[0] = 40;
      const s = createObserver(m, { grid: INT8_WEIGHT });
      s.observe(x, [x.length]);
      expect(s.range().min[0]).toBe(-s.range().max[0]);
      const a = createObserver(m, { grid: INT8_ACTIVATION });
      a.observe(x, [x.length]);
      expect(a.range().min[0]).toBe(0);
      expect(a.range().max[0]).toBeGreaterThan(2);
      expect(a.range().max[0]).toBeLessThanOrEqual(40);
    });

    it(`${m.kind}: all-zero data gives [0, 0]; zeros seen before the first nonzero batch are kept`, () => {
      for (const grid of GRIDS) {
        const z = createObserver(m, { grid });
        z.observe(new Float32Array(100), [100]);
        expect(z.range()).toEqual({ min: [0], max: [0] });
        const x = gaussian(5000, 72);
        z.observe(x, [x.length]);
        const once = createObserver(m, { grid });
        const all = concat([new Float32Array(100), x]);
        once.observe(all, [all.length]);
        expect(z.range()).toEqual(once.range());
      }
    });

    it(`${m.kind}: NaN/Inf throw a RangeError naming the count and change nothing`, () => {
      const o = createObserver(m, { grid: INT8_ACTIVATION, axis: 0 });
      const x = gaussian(200, 73);
      o.observe(x, [2, 100]);
      const before = o.range();
      const bad = Float32Array.from(x);
      bad[3] = NaN;
      bad[150] = -Infinity;
      bad[151] = 1e6; // finite: would widen the histogram if the call were not refused whole
      expect(() => o.observe(bad, [2, 100])).toThrow(/^2 of 200 values are not finite \(1 NaN, 1 infinite; the first at flat index 3: NaN\)/);
      expect(o.count).toBe(1);
      expect(o.range()).toEqual(before);
      expect(() => createObserver(m, { grid: INT8_ACTIVATION }).range()).toThrow(/calibration set is empty/);
    });
  }
});
