import { describe, expect, it } from 'vitest';
import { float16ArrayToFloat32, float16BitsToNumber, float32ArrayToFloat16, numberToFloat16Bits } from '../../../../src/core/ir/float16';

describe('float16', () => {
  it('decodes known bit patterns', () => {
    expect(float16BitsToNumber(0x3c00)).toBe(1);
    expect(float16BitsToNumber(0xc000)).toBe(-2);
    expect(float16BitsToNumber(0x7bff)).toBe(65504);
    expect(float16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(float16BitsToNumber(0x0400)).toBe(2 ** -14);
    expect(float16BitsToNumber(0x7c00)).toBe(Infinity);
    expect(float16BitsToNumber(0xfc00)).toBe(-Infinity);
    expect(float16BitsToNumber(0x7e00)).toBeNaN();
    expect(Object.is(float16BitsToNumber(0x8000), -0)).toBe(true);
  });

  it('round-trips every one of the 65,536 bit patterns (NaNs stay NaN)', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = float16BitsToNumber(bits);
      const back = numberToFloat16Bits(v);
      if (Number.isNaN(v) ? !Number.isNaN(float16BitsToNumber(back)) : back !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest, ties to even, like an independent reference', () => {
    // Reference: pick the nearest of all finite halves by brute force (ties → even mantissa).
    const halves: [number, number][] = [];
    for (let bits = 0; bits < 0x7c00; bits++) halves.push([float16BitsToNumber(bits), bits]);
    const nearest = (x: number): number => {
      const a = Math.abs(x);
      if (a >= 65520) return 0x7c00; // beyond max + half ulp → Inf
      let lo = 0;
      let hi = halves.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (halves[mid][0] <= a) lo = mid;
        else hi = mid;
      }
      const [vl, bl] = halves[lo];
      const [vh, bh] = halves[hi];
      if (a - vl < vh - a) return bl;
      if (a - vl > vh - a) return bh;
      return bl % 2 === 0 ? bl : bh;
    };
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const samples: number[] = [0.1, 1 / 3, 65519, 65520, 2 ** -25, 3 * 2 ** -26, 2 ** -24 + 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    for (let i = 0; i < 20000; i++) samples.push(Math.fround((rand() - 0.5) * 2 ** (rand() * 40 - 26)));
    const wrong: [number, number, number][] = [];
    for (const x of samples) {
      const expected = nearest(x) | (x < 0 ? 0x8000 : 0);
      const got = numberToFloat16Bits(x);
      if (got !== expected) wrong.push([x, got, expected]);
    }
    expect(wrong).toEqual([]);
  });

  it('converts arrays', () => {
    expect(Array.from(float16ArrayToFloat32(new Uint16Array([0x3c00, 0x3800])))).toEqual([1, 0.5]);
    expect(Array.from(float32ArrayToFloat16(new Float32Array([1, 0.5, -0])))).toEqual([0x3c00, 0x3800, 0x8000]);
  });
});
