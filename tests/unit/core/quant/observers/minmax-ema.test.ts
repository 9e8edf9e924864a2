/**
 * minmax and ema: exact ranges against values written in the test, a hand-written
 * moving-average recurrence, per-channel against per-tensor on slices, the grid's shape
 * (0 included, symmetric on symmetric grids), and the errors for bad tensors.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../../src/core/errors';
import { createObserver, rangeToParams } from '../../../../../src/core/quant/observers';
import { chooseParams, INT8_ACTIVATION, INT8_WEIGHT } from '../../../../../src/core/quant/params';
import { channelSlice, gaussian } from './helpers';

describe('minmax', () => {
  it('is exactly the smallest and largest value over every call', () => {
    const o = createObserver({ kind: 'minmax' }, { grid: INT8_ACTIVATION });
    o.observe(Float32Array.from([0.5, -1.25, 3]), [3]);
    o.observe(Float64Array.from([[2, 7.5], [-0.75, 1]].flat()), [2, 2]);
    expect(o.count).toBe(2);
    expect(o.range()).toEqual({ min: [-1.25], max: [7.5] });
  });

  it('widens to 0 on asymmetric grids and to ±max|x| on symmetric ones', () => {
    const a = createObserver({ kind: 'minmax' }, { grid: INT8_ACTIVATION });
    a.observe(Float32Array.from([1, 2, 3]), [3]);
    expect(a.range()).toEqual({ min: [0], max: [3] });
    const s = createObserver({ kind: 'minmax' }, { grid: INT8_WEIGHT });
    s.observe(Float32Array.from([-5, 2, 3]), [3]);
    expect(s.range()).toEqual({ min: [-5], max: [5] });
    const z = createObserver({ kind: 'minmax' }, { grid: INT8_WEIGHT });
    z.observe(new Float32Array(4), [4]);
    expect(z.range()).toEqual({ min: [0], max: [0] });
    expect(rangeToParams(z.range(), INT8_WEIGHT)).toEqual({ scale: [1], zeroPoint: [0] });
  });

  it('per channel along any axis equals per tensor on each channel slice', () => {
    const shape = [3, 4, 5];
    const data = gaussian(60, 1);
    for (const axis of [0, 1, 2, -1]) {
      const o = createObserver({ kind: 'minmax' }, { grid: INT8_ACTIVATION, axis });
      o.observe(data, shape);
      const a = axis < 0 ? axis + 3 : axis;
      const r = o.range();
      expect(r.min).toHaveLength(shape[a]);
      for (let c = 0; c < shape[a]; c++) {
        const slice = channelSlice(data, shape, a, c);
        const t = createObserver({ kind: 'minmax' }, { grid: INT8_ACTIVATION });
        t.observe(slice, [slice.length]);
        expect([r.min[c], r.max[c]]).toEqual([t.range().min[0], t.range().max[0]]);
        expect(r.min[c]).toBe(Math.min(0, ...slice));
      }
    }
  });

  it('rangeToParams maps every channel through chooseParams', () => {
    const range = { min: [-1, -0.5, 0], max: [2, 0.25, 4] };
    const p = rangeToParams(range, INT8_ACTIVATION);
    for (let c = 0; c < 3; c++) {
      expect({ scale: p.scale[c], zeroPoint: p.zeroPoint[c] }).toEqual(chooseParams({ min: range.min[c], max: range.max[c] }, INT8_ACTIVATION));
    }
  });
});

describe('ema', () => {
  it('follows the recurrence m ← d·m + (1 − d)·batch, the first call initialising', () => {
    const batches = [
      [-1, 2],
      [-3, 1],
      [0.5, 4],
      [-0.25, 0.5],
    ];
    const d = 0.9;
    const o = createObserver({ kind: 'ema', decay: d }, { grid: INT8_ACTIVATION });
    // By hand, asymmetric grid: each batch's range first widened to contain 0.
    let mn = NaN;
    let mx = NaN;
    for (const [k, b] of batches.entries()) {
      o.observe(Float32Array.from(b), [2]);
      const lo = Math.min(0, ...b);
      const hi = Math.max(0, ...b);
      mn = k === 0 ? lo : d * mn + (1 - d) * lo;
      mx = k === 0 ? hi : d * mx + (1 - d) * hi;
      expect(o.range().min[0]).toBeCloseTo(mn, 14);
      expect(o.range().max[0]).toBeCloseTo(mx, 14);
    }
    // -1 → 0.9·-1 + 0.1·-3 = -1.2 → 0.9·-1.2 + 0 = -1.08 → 0.9·-1.08 + 0.1·-0.25 = -0.997
    expect(mn).toBeCloseTo(-0.997, 12);
    expect(o.count).toBe(4);
  });

  it('symmetric grids average ±max|x| and per channel equals per tensor on slices', () => {
    const shape = [2, 3];
    const b1 = Float32Array.from([1, -4, 2, -1, 0.5, 3]);
    const b2 = Float32Array.from([-2, 1, 1, 5, -0.5, 1]);
    const o = createObserver({ kind: 'ema', decay: 0.5 }, { grid: INT8_WEIGHT, axis: 1 });
    o.observe(b1, shape);
    o.observe(b2, shape);
    // channel c is elements c and 3 + c. max|x|: channel 0: 1 then 5 → 3; channel 1: 4 then 1 → 2.5;
    // channel 2: 3 then 1 → 2.
    expect(o.range()).toEqual({ min: [-3, -2.5, -2], max: [3, 2.5, 2] });
    const t = createObserver({ kind: 'ema', decay: 0.5 }, { grid: INT8_WEIGHT });
    t.observe(channelSlice(b1, shape, 1, 1), [2]);
    t.observe(channelSlice(b2, shape, 1, 1), [2]);
    expect(t.range()).toEqual({ min: [-2.5], max: [2.5] });
  });

  it('defaults to decay 0.999 and ignores empty tensors', () => {
    const o = createObserver({ kind: 'ema', decay: 0.999 }, { grid: INT8_ACTIVATION });
    o.observe(new Float32Array(0), [0, 3]);
    expect(() => o.range()).toThrow(UserError);
    o.observe(Float32Array.from([-2, 2]), [2]);
    o.observe(new Float32Array(0), [0]);
    o.observe(Float32Array.from([-1, 1]), [2]);
    expect(o.range().max[0]).toBeCloseTo(0.999 * 2 + 0.001 * 1, 14);
    expect(o.count).toBe(4);
  });
});

describe('bad tensors', () => {
  for (const kind of ['minmax', 'ema'] as const) {
    it(`${kind}: NaN/Inf throw a RangeError naming the count, and leave the observer unchanged`, () => {
      const o = createObserver(kind === 'ema' ? { kind, decay: 0.9 } : { kind }, { grid: INT8_ACTIVATION });
      o.observe(Float32Array.from([-1, 1]), [2]);
      const bad = Float32Array.from([0, NaN, 2, Infinity, -Infinity, NaN, 100]);
      expect(() => o.observe(bad, [7])).toThrow(RangeError);
      expect(() => o.observe(bad, [7])).toThrow(/^4 of 7 values are not finite \(2 NaN, 2 infinite; the first at flat index 1: NaN\)/);
      expect(o.count).toBe(1);
      expect(o.range()).toEqual({ min: [-1], max: [1] });
    });
  }

  it('a shape that does not match the data, a missing axis, a changed channel count', () => {
    const o = createObserver({ kind: 'minmax' }, { grid: INT8_ACTIVATION, axis: 1 });
    expect(() => o.observe(new Float32Array(5), [2, 3])).toThrow('The shape [2, 3] holds 6 values but 5 were given.');
    expect(() => o.observe(new Float32Array(6), [6])).toThrow('Channel axis 1 does not exist in the shape [6] (rank 1).');
    o.observe(new Float32Array(6), [2, 3]);
    o.observe(new Float32Array(12), [4, 3]); // a different batch size is fine
    expect(() => o.observe(new Float32Array(8), [2, 4])).toThrow('The shape [2, 4] has 4 channels along axis 1, but earlier observations had 3.');
  });

  it('range() before any value throws a UserError', () => {
    const o = createObserver({ kind: 'minmax' }, { grid: INT8_ACTIVATION });
    expect(() => o.range()).toThrow(/calibration set is empty/);
    o.observe(new Float32Array(0), [0]);
    expect(() => o.range()).toThrow(/all empty/);
  });
});
