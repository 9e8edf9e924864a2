/**
 * src/core/quant/fixed-point.ts against the independent BigInt reference
 * (tests/helpers/bigint-reference.ts): millions of seeded values plus the tie-heavy cases
 * where the three roundings part (power-of-two multipliers, x at ±2^k boundaries, INT32_MIN).
 * Every comparison is exact.
 */
import { describe, expect, it } from 'vitest';
import {
  frexp,
  multiplyByQuantizedMultiplierDouble,
  multiplyByQuantizedMultiplierInt64,
  multiplyByQuantizedMultiplierSingle,
  quantizeMultiplier,
  roundHalfAwayFromZero,
  roundHalfToEven,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
  xnnpackRequantize,
} from '../../../../src/core/quant/fixed-point';
import {
  doubleRoundingRef,
  int64MultiplierRef,
  quantizeMultiplierRef,
  rdbpotRef,
  singleRoundingRef,
  srdhmRef,
  xnnpackRequantizeRef,
} from '../../../helpers/bigint-reference';
import { rng } from '../runtime/reference';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Uniform over all int32 values. */
function int32(r: () => number): number {
  return Math.floor(r() * 4294967296) - 2147483648;
}

/** Int32 values spread over magnitudes (uniform exponent), both signs. */
function int32Spread(r: () => number): number {
  const bits = Math.floor(r() * 32);
  const v = Math.floor(r() * 2 ** bits);
  return r() < 0.5 ? -v : Math.min(v, INT32_MAX);
}

/** The interesting int32 values: 0, ±1, ±2^k, ±2^k ± 1, the extremes. */
function edgeInt32s(): number[] {
  const out = new Set<number>([0, 1, -1, INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1]);
  for (let k = 1; k <= 31; k++) {
    for (const d of [-1, 0, 1]) {
      const p = 2 ** k + d;
      if (p <= INT32_MAX) out.add(p);
      if (-p >= INT32_MIN) out.add(-p);
      if (k <= 30) {
        // odd multiples of 2^(k−1): exact ties for a right shift by k
        const tie = 3 * 2 ** (k - 1) + d;
        if (tie <= INT32_MAX) out.add(tie);
        if (-tie >= INT32_MIN) out.add(-tie);
      }
    }
  }
  return [...out];
}

/** Multipliers over the whole range TFLite meets (2^-33 … 2^31), plus powers of two. */
function randomMultiplier(r: () => number): number {
  const e = -33 + r() * 63;
  return 2 ** e * (r() < 0.2 ? 1 : 0.5 + r());
}

describe('frexp and the scalar roundings', () => {
  it('frexp splits exactly and lands q in [0.5, 1)', () => {
    const r = rng(11);
    for (let i = 0; i < 20000; i++) {
      const v = (r() < 0.5 ? -1 : 1) * 2 ** (-60 + r() * 120) * (r() < 0.1 ? 1 : r() + 0.5);
      const { q, e } = frexp(v);
      if (!(Math.abs(q) >= 0.5 && Math.abs(q) < 1) || q * 2 ** e !== v) throw new Error(`frexp(${v}) = ${q}·2^${e}`);
    }
    for (let k = -40; k <= 40; k++) expect(frexp(2 ** k)).toEqual({ q: 0.5, e: k + 1 });
  });

  it('half-way cases: away from zero vs to even', () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5].map(roundHalfAwayFromZero)).toEqual([-3, -2, -1, 1, 2, 3]);
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5].map(roundHalfToEven).map((v) => v + 0)).toEqual([-2, -2, 0, 0, 2, 2]);
  });
});

describe('quantizeMultiplier', () => {
  const check = (m: number) => {
    const ours = quantizeMultiplier(m);
    const ref = quantizeMultiplierRef(m);
    if (BigInt(ours.m0) !== ref.m0 || ours.shift !== ref.shift) {
      throw new Error(`quantizeMultiplier(${m}) = ${JSON.stringify(ours)}, reference ${ref.m0} / ${ref.shift}`);
    }
  };

  it('matches the reference on 200,000 seeded multipliers of both signs', () => {
    const r = rng(21);
    for (let i = 0; i < 200000; i++) check((r() < 0.1 ? -1 : 1) * randomMultiplier(r));
  });

  it('powers of two, values that round up to 2^31, and the −31 flush', () => {
    for (let k = -40; k <= 30; k++) {
      check(2 ** k);
      // 1 − 2^-33 rounds to 2^31 in Q31: halved, shift bumped
      check(2 ** k * (1 - 2 ** -33));
      check(2 ** k * (1 - 2 ** -32));
      check(2 ** k * (0.5 + 2 ** -33));
    }
    expect(quantizeMultiplier(1 - 2 ** -33)).toEqual({ m0: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.5)).toEqual({ m0: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(2 ** -32)).toEqual({ m0: 2 ** 30, shift: -31 });
    expect(quantizeMultiplier(2 ** -33)).toEqual({ m0: 0, shift: 0 });
    expect(quantizeMultiplier(0)).toEqual({ m0: 0, shift: 0 });
  });
});

describe('gemmlowp primitives', () => {
  it('SaturatingRoundingDoublingHighMul on 1,000,000 seeded pairs and every edge pair', () => {
    const r = rng(31);
    const edges = edgeInt32s();
    let n = 0;
    const check = (a: number, b: number) => {
      const ours = saturatingRoundingDoublingHighMul(a, b);
      const ref = srdhmRef(BigInt(a), BigInt(b));
      if (BigInt(ours) !== ref) throw new Error(`SRDHM(${a}, ${b}) = ${ours}, reference ${ref}`);
      n++;
    };
    for (const a of edges) for (const b of edges) check(a, b);
    for (let i = 0; i < 500000; i++) check(int32(r), int32(r));
    for (let i = 0; i < 500000; i++) check(int32Spread(r), int32(r));
    expect(n).toBeGreaterThan(1_000_000);
    expect(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN)).toBe(INT32_MAX);
  });

  it('RoundingDivideByPOT on every exponent with exact ties', () => {
    const r = rng(41);
    const edges = edgeInt32s();
    for (let e = 0; e <= 31; e++) {
      const xs = [...edges, ...Array.from({ length: 5000 }, () => int32(r))];
      for (const x of xs) {
        const ours = roundingDivideByPOT(x, e);
        const ref = rdbpotRef(BigInt(x), e);
        if (BigInt(ours) !== ref) throw new Error(`RDBPOT(${x}, ${e}) = ${ours}, reference ${ref}`);
      }
    }
    expect([-6, -5, -3, -1, 1, 3, 5, 6].map((x) => roundingDivideByPOT(x, 1))).toEqual([-3, -3, -2, -1, 1, 2, 3, 3]);
  });
});

describe('requantization x → M·x, all three modes, exact for every int32 x', () => {
  function checkBoth(x: number, m0: number, shift: number): void {
    const d = multiplyByQuantizedMultiplierDouble(x, m0, shift);
    const dRef = doubleRoundingRef(x, BigInt(m0), shift);
    if (BigInt(d) !== dRef) throw new Error(`double(${x}, ${m0}, ${shift}) = ${d}, reference ${dRef}`);
    const s = multiplyByQuantizedMultiplierSingle(x, m0, shift);
    const sRef = singleRoundingRef(x, BigInt(m0), shift);
    if (BigInt(s) !== sRef) throw new Error(`single(${x}, ${m0}, ${shift}) = ${s}, reference ${sRef}`);
  }

  it('1,800,000 seeded (x, M) pairs over the whole int32 range and M from 2^-33 to 2^31', () => {
    const r = rng(51);
    let n = 0;
    for (let i = 0; i < 6000; i++) {
      const { m0, shift } = quantizeMultiplier(randomMultiplier(r));
      for (let j = 0; j < 100; j++) {
        checkBoth(int32(r), m0, shift);
        checkBoth(int32Spread(r), m0, shift);
        n += 2;
      }
    }
    // raw (m0, shift) pairs too, including negative and unnormalised mantissas
    for (let i = 0; i < 3000; i++) {
      const m0 = int32(r);
      const shift = Math.floor(r() * 62) - 31;
      for (let j = 0; j < 100; j++) {
        checkBoth(int32(r), m0, shift);
        checkBoth(int32Spread(r), m0, shift);
        n += 2;
      }
    }
    expect(n).toBe(1_800_000);
  });

  it('tie-heavy: M = 2^-k exactly, x at ±2^k boundaries and odd multiples of 2^(k−1), INT32_MIN', () => {
    const edges = edgeInt32s();
    let parted = 0;
    for (let k = 0; k <= 31; k++) {
      const { m0, shift } = quantizeMultiplier(2 ** -k);
      expect(m0).toBe(2 ** 30);
      for (const x of edges) {
        checkBoth(x, m0, shift);
        if (multiplyByQuantizedMultiplierDouble(x, m0, shift) !== multiplyByQuantizedMultiplierSingle(x, m0, shift)) parted++;
      }
    }
    // ties of negative odd multiples: double rounds away from zero, single rounds up
    expect(parted).toBeGreaterThan(100);
    // M = 1/4: x = −2 is a tie at −0.5 (double: away from zero → −1; single: half up → 0);
    // x = −6 is −1.5 (−2 vs −1); positive ties agree (both round up)
    const quarter = quantizeMultiplier(0.25);
    const dbl = (x: number) => multiplyByQuantizedMultiplierDouble(x, quarter.m0, quarter.shift);
    const sgl = (x: number) => multiplyByQuantizedMultiplierSingle(x, quarter.m0, quarter.shift);
    expect([-6, -2, 2, 6].map(dbl)).toEqual([-2, -1, 1, 2]);
    expect([-6, -2, 2, 6].map(sgl).map((v) => v + 0)).toEqual([-1, 0, 1, 2]);
    for (const m of [0.5, 2 ** -20, 0.999, 1.5, 2 ** 10]) {
      const q = quantizeMultiplier(m);
      checkBoth(INT32_MIN, q.m0, q.shift);
      checkBoth(INT32_MAX, q.m0, q.shift);
    }
  });

  it('double and single rounding part on ordinary multipliers too (small grid, every x in ±1000)', () => {
    let parted = 0;
    for (let m = 1; m < 100; m++) {
      const q = quantizeMultiplier(m / 1024);
      for (let x = -1000; x <= 1000; x++) {
        checkBoth(x, q.m0, q.shift);
        if (multiplyByQuantizedMultiplierDouble(x, q.m0, q.shift) !== multiplyByQuantizedMultiplierSingle(x, q.m0, q.shift)) parted++;
      }
    }
    expect(parted).toBeGreaterThan(0);
  });

  it('xnnpack: round_half_even(f32(f32(acc)·scale)) on 600,000 seeded values and power-of-two ties', () => {
    const r = rng(61);
    let n = 0;
    const check = (acc: number, scale: number) => {
      const ours = xnnpackRequantize(acc, scale);
      const ref = xnnpackRequantizeRef(acc, scale);
      if (BigInt(ours) !== ref) throw new Error(`xnnpack(${acc}, ${scale}) = ${ours}, reference ${ref}`);
      n++;
    };
    for (let i = 0; i < 3000; i++) {
      const scale = Math.fround(2 ** (-32 + r() * 40) * (0.5 + r()));
      for (let j = 0; j < 100; j++) {
        check(int32(r), scale);
        check(int32Spread(r), scale);
      }
    }
    const edges = edgeInt32s();
    for (let k = 0; k <= 31; k++) for (const acc of edges) check(acc, 2 ** -k);
    expect(n).toBeGreaterThan(600_000);
    // ties go to even; values above 2^24 are rounded to float32 first
    expect([-3, -1, 1, 3, 5].map((a) => xnnpackRequantize(a, 0.5) + 0)).toEqual([-2, 0, 0, 2, 2]);
    expect(xnnpackRequantize(2 ** 24 + 1, 1)).toBe(2 ** 24);
  });
});

describe('int64 accumulators (int16x8 kernels): Q15-reduced multiplier, one rounding', () => {
  it('matches the reference on 300,000 seeded (x, M) pairs with |x| < 2^47, and on power-of-two ties', () => {
    const r = rng(71);
    let n = 0;
    const check = (x: number, m0: number, shift: number) => {
      const ours = multiplyByQuantizedMultiplierInt64(x, m0, shift);
      const ref = int64MultiplierRef(BigInt(x), BigInt(m0), shift);
      // TFLite requires the result to fit int32; outside that only the reference is meaningful
      if (ref >= -(2n ** 31n) && ref < 2n ** 31n && BigInt(ours) !== ref) throw new Error(`int64(${x}, ${m0}, ${shift}) = ${ours}, reference ${ref}`);
      n++;
    };
    for (let i = 0; i < 3000; i++) {
      const { m0, shift } = quantizeMultiplier(2 ** (-30 + 37 * r()) * (0.5 + r()));
      if (shift < -31 || shift > 7) continue;
      for (let j = 0; j < 100; j++) {
        const bits = Math.floor(r() * 47);
        const x = Math.floor((r() * 2 - 1) * 2 ** bits);
        check(x, m0, shift);
      }
    }
    for (let k = 0; k <= 31; k++) {
      const { m0, shift } = quantizeMultiplier(2 ** -k);
      for (let j = -5; j <= 5; j++) check(j * 2 ** Math.max(k - 1, 0) + (j % 2), m0, shift);
      for (const x of [-(2 ** 46), 2 ** 46 - 1, -1, 1, -3 * 2 ** 20, 3 * 2 ** 20]) check(x, m0, shift);
    }
    expect(n).toBeGreaterThan(250_000);
    // a negative tie rounds up: −1.5 → −1
    const half = quantizeMultiplier(0.5);
    expect(multiplyByQuantizedMultiplierInt64(-3, half.m0, half.shift)).toBe(-1);
  });
});
