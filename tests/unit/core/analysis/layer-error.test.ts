/** Per-layer error statistics and histograms against numbers worked out by hand. */
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../../../src/core/analysis/histogram';
import { dequantize, ErrorAccumulator, toTensorData } from '../../../../src/core/analysis/layer-error';
import type { Tensor } from '../../../../src/core/ir/types';

describe('ErrorAccumulator', () => {
  it('matches a hand computation, per tensor and per channel', () => {
    // ref [1, −2, 3, 0], x [1.5, −2, 2, 0]: e = x − ref = [0.5, 0, −1, 0]
    //   Σref² = 14, Σe² = 1.25 → SQNR = 10·log10(11.2) = 10.492180226701816 dB, MSE = 0.3125
    //   RMSE/scale (S = 0.5) = √0.3125 / 0.5 = 1.118033988749895
    //   Σref·x = 11.5, Σx² = 10.25 → cosine = 11.5 / √143.5; mean error = −0.5/4; max |e| = 1
    // Two channels (last axis): c0 = {1, 3} vs {1.5, 2}: 10·log10(10/1.25) = 9.030899869919436 dB,
    //   MSE 0.625; c1 = {−2, 0} exact: +Infinity, MSE 0.
    const acc = new ErrorAccumulator(2);
    acc.add([1, -2], [1.5, -2]);
    acc.add(Float32Array.from([3, 0]), Float32Array.from([2, 0]));
    const r = acc.result(0.5);
    expect(r.sqnrDb).toBeCloseTo(10.492180226701816, 12);
    expect(r.mse).toBeCloseTo(0.3125, 15);
    expect(r.rmseOverScale).toBeCloseTo(1.118033988749895, 12);
    expect(r.cosine).toBeCloseTo(11.5 / Math.sqrt(143.5), 12);
    expect(r.meanError).toBeCloseTo(-0.125, 15);
    expect(r.maxAbsError).toBe(1);
    expect(r.elements).toBe(4);
    const c = acc.channelResults();
    expect(c[0].sqnrDb).toBeCloseTo(9.030899869919436, 12);
    expect(c[0].mse).toBeCloseTo(0.625, 15);
    expect(c[0].maxAbsError).toBe(1);
    expect(c[1]).toMatchObject({ sqnrDb: Infinity, mse: 0, maxAbsError: 0 });
  });

  it('gives RMSE/scale ≈ 1/√12 ≈ 0.289 for ideal rounding, and SQNR ≈ 6.02·bits + 1.76 dB for a full-scale sine', () => {
    const t: Tensor = { name: 'x', dtype: 'int8', shape: [1, 100000], quant: { scale: [1 / 127], zeroPoint: [0] } };
    const x = new Float32Array(100000);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.0123456);
    const acc = new ErrorAccumulator();
    acc.add(x, dequantize(t, toTensorData(t, x)));
    const r = acc.result(1 / 127);
    expect(r.rmseOverScale!).toBeGreaterThan(0.28);
    expect(r.rmseOverScale!).toBeLessThan(0.3);
    // 127 steps each side ≈ 7.99 bits: 6.02 · log2(254) + 1.76 ≈ 49.9 dB.
    expect(r.sqnrDb).toBeGreaterThan(49.5);
    expect(r.sqnrDb).toBeLessThan(50.3);
    expect(Math.abs(r.meanError)).toBeLessThan(1e-4);
  });

  it('handles the edge cases like the output fidelity does', () => {
    const acc = new ErrorAccumulator();
    acc.add([0, 0], [1, 0]);
    expect(acc.result()).toMatchObject({ sqnrDb: -Infinity, cosine: 0, rmseOverScale: null });
    expect(() => acc.add([1], [1, 2])).toThrow(RangeError);
  });
});

describe('quantize / dequantize helpers', () => {
  it('round half away from zero and clamp to the grid', () => {
    const t: Tensor = { name: 'x', dtype: 'int8', shape: [5], quant: { scale: [0.5], zeroPoint: [-3] } };
    // r/S = [0.5, −0.5, 1.25, 1000, −1000] → round [1, −1, 1, 2000, −2000] + Z → clamp to [−128, 127]
    const q = toTensorData(t, Float32Array.from([0.25, -0.25, 0.625, 500, -500]));
    expect(Array.from(q as Int8Array)).toEqual([-2, -4, -2, 127, -128]);
    expect(Array.from(dequantize(t, q))).toEqual([0.5, -0.5, 0.5, 65, -62.5]);
  });
});

describe('Histogram', () => {
  it('bins the clipping range and counts the clipped tails apart', () => {
    const h = new Histogram(-1, 1, 4); // bins [-1,-0.5) [-0.5,0) [0,0.5) [0.5,1]
    h.add([-1, -0.75, -0.5, 0, 0.49, 0.5, 1, 1.5, -3, NaN]);
    const d = h.toJSON();
    expect(d.counts).toEqual([2, 1, 2, 2]);
    expect(d).toMatchObject({ lo: -1, hi: 1, below: 1, above: 1, min: -3, max: 1.5, total: 9 });
    expect(h.clippedFraction()).toBeCloseTo(2 / 9, 15);
  });

  it('takes a zero-width range (an all-zero tensor)', () => {
    const h = new Histogram(0, 0, 8);
    h.add([0, 0]);
    expect(h.toJSON().counts[0]).toBe(2);
    expect(() => new Histogram(1, 0)).toThrow(RangeError);
  });
});
