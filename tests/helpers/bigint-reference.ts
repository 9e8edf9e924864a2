/**
 * An independent reference for integer requantization, written from the definitions with
 * BigInt (exact integers) and with float32 rounding done by hand on exact rationals — it
 * shares no code and no tricks (no 16-bit splitting, no Math.fround, no Math.log2) with
 * src/core/quant/fixed-point.ts. Slow; for tests only.
 *
 * Definitions (notes/int8.md):
 *   QuantizeMultiplier: m = q·2^e, q ∈ [0.5, 1); M0 = round_half_away(q·2^31); M0 = 2^31 →
 *     M0 = 2^30, e + 1; e < −31 → M0 = 0, e = 0.
 *   SRDHM(a, b) = trunc((a·b + nudge) / 2^31), nudge = 2^30 if a·b ≥ 0 else 1 − 2^30;
 *     SRDHM(−2^31, −2^31) = 2^31 − 1.
 *   RDBPOT(x, n) = x / 2^n rounded half away from zero.
 *   double(x) = RDBPOT(SRDHM(wrap32(x·2^max(e,0)), M0), max(−e, 0))
 *   single(x) = wrap32(floor((x·M0 + 2^(s−1)) / 2^s)), s = 31 − e
 *   xnnpack(acc, scale) = round_half_even(f32(f32(acc) · scale))
 */

const B31 = 1n << 31n;

export function wrap32(v: bigint): bigint {
  return BigInt.asIntN(32, v);
}

/** Exact decomposition of a finite double: v = mant · 2^exp, mant a (signed) BigInt. */
export function decomposeDouble(v: number): { mant: bigint; exp: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0x7ff) throw new RangeError('not finite');
  if (biased === 0) return { mant: sign * frac, exp: -1074 };
  return { mant: sign * (frac | (1n << 52n)), exp: biased - 1075 };
}

function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  return (n < 0n ? -n : n).toString(2).length;
}

/** floor(n / 2^k) for k ≥ 0 (BigInt >> floors). */
function floorShift(n: bigint, k: number): bigint {
  return k >= 0 ? n >> BigInt(k) : n << BigInt(-k);
}

/** Rounds the rational num / 2^k (k may be negative) to an integer, half away from zero. */
function roundHalfAwayPow2(num: bigint, k: number): bigint {
  if (k <= 0) return num << BigInt(-k);
  const neg = num < 0n;
  const a = neg ? -num : num;
  const q = a >> BigInt(k);
  const rem = a - (q << BigInt(k));
  const half = 1n << BigInt(k - 1);
  const r = rem >= half ? q + 1n : q;
  return neg ? -r : r;
}

/** Rounds num / 2^k to an integer, half to even. */
function roundHalfEvenPow2(num: bigint, k: number): bigint {
  if (k <= 0) return num << BigInt(-k);
  const q = num >> BigInt(k); // floor
  const rem = num - (q << BigInt(k)); // in [0, 2^k)
  const half = 1n << BigInt(k - 1);
  if (rem > half) return q + 1n;
  if (rem < half) return q;
  return q % 2n === 0n ? q : q + 1n;
}

export function quantizeMultiplierRef(m: number): { m0: bigint; shift: number } {
  if (m === 0) return { m0: 0n, shift: 0 };
  const { mant, exp } = decomposeDouble(m);
  // |m| = |mant|·2^exp; frexp exponent e: 2^(e−1) ≤ |m| < 2^e  ⇒  e = bitLength(mant) + exp
  const e = bitLength(mant) + exp;
  // q·2^31 = mant·2^(exp − e + 31)
  let m0 = roundHalfAwayPow2(mant, -(exp - e + 31));
  let shift = e;
  if (m0 === B31) {
    m0 = B31 / 2n;
    shift++;
  }
  if (shift < -31) return { m0: 0n, shift: 0 };
  return { m0, shift };
}

export function srdhmRef(a: bigint, b: bigint): bigint {
  if (a === -B31 && b === -B31) return B31 - 1n;
  const ab = a * b;
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return (ab + nudge) / B31; // BigInt division truncates toward zero
}

export function rdbpotRef(x: bigint, exponent: number): bigint {
  return roundHalfAwayPow2(x, exponent);
}

export function doubleRoundingRef(x: number, m0: bigint, shift: number): bigint {
  const left = Math.max(shift, 0);
  const right = Math.max(-shift, 0);
  return rdbpotRef(srdhmRef(wrap32(BigInt(x) << BigInt(left)), m0), right);
}

export function singleRoundingRef(x: number, m0: bigint, shift: number): bigint {
  const s = 31 - shift;
  const round = s > 0 ? 1n << BigInt(s - 1) : 0n;
  return wrap32(floorShift(BigInt(x) * m0 + round, s));
}

/** Rounds the exact rational num·2^exp to float32 (round to nearest even, normal range). */
export function toFloat32Ref(num: bigint, exp: number): { mant: bigint; exp: number } {
  if (num === 0n) return { mant: 0n, exp: 0 };
  const len = bitLength(num);
  if (len <= 24) return { mant: num, exp };
  const drop = len - 24;
  const m = roundHalfEvenPow2(num, drop);
  return { mant: m, exp: exp + drop }; // m may be 2^24: still the right value
}

/** round_half_even(f32(f32(acc) · scale)) for int32 acc and a float32 scale. */
export function xnnpackRequantizeRef(acc: number, scale: number): bigint {
  const a = toFloat32Ref(BigInt(acc), 0);
  const s = decomposeDouble(scale); // scale is a float32 value, so this is exact
  const p = toFloat32Ref(a.mant * s.mant, a.exp + s.exp);
  return roundHalfEvenPow2(p.mant, -p.exp);
}

// ---- op-level references for the integer kernels ------------------------------------------

export type RefArithmetic = 'double-rounding' | 'single-rounding' | 'xnnpack';

/** acc → Z + M·acc clamped to [lo, hi] in the given arithmetic; M real (double), `xnnScale` float32. */
export function requantizeRef(acc: number, real: number, xnnScale: number, zp: number, lo: number, hi: number, mode: RefArithmetic): number {
  let v: bigint;
  const a = Number(BigInt.asIntN(32, BigInt(acc)));
  if (mode === 'xnnpack') v = xnnpackRequantizeRef(a, xnnScale);
  else {
    const q = quantizeMultiplierRef(real);
    v = mode === 'double-rounding' ? doubleRoundingRef(a, q.m0, q.shift) : singleRoundingRef(a, q.m0, q.shift);
  }
  const r = Number(v) + zp;
  return Math.min(Math.max(r, lo), hi);
}

/** Rounds a float32 quotient f / s the way C does in float (correctly rounded), as an exact double. */
function f32div(f: number, s: number): number {
  const q = f / s;
  const d = new DataView(new ArrayBuffer(4));
  d.setFloat32(0, q);
  return d.getFloat32(0);
}

/**
 * Fused-activation clamp bounds: TFLite zp + round_half_away(f/S); XNNPACK
 * lrintf(clamp(f/S + zp)) (both in float32).
 */
export function activationBoundsRef(act: string, scale: number, zp: number, qmin: number, qmax: number, mode: RefArithmetic): [number, number] {
  const bounds: Record<string, [number, number]> = { NONE: [-Infinity, Infinity], RELU: [0, Infinity], RELU6: [0, 6], RELU_N1_TO_1: [-1, 1] };
  const [flo, fhi] = bounds[act];
  const quant = (f: number): number => {
    if (mode === 'xnnpack') {
      const v = f32div(f32div(f, scale) + zp, 1); // float add of an exactly representable zp, rounded
      const c = Math.min(Math.max(v, qmin), qmax);
      const fl = Math.floor(c);
      return c - fl > 0.5 || (c - fl === 0.5 && fl % 2 !== 0) ? fl + 1 : fl;
    }
    const v = f32div(f, scale);
    return zp + (v < 0 ? -Math.round(-v) : Math.round(v));
  };
  const lo = flo === -Infinity ? qmin : Math.max(qmin, quant(flo));
  const hi = fhi === Infinity ? qmax : Math.min(qmax, quant(fhi));
  return [lo, hi];
}

/** TFLite's int64-accumulator MultiplyByQuantizedMultiplier: Q15-reduced multiplier, one rounding (half up). */
export function int64MultiplierRef(x: bigint, m0: bigint, shift: number): bigint {
  const m15 = m0 < 0x7fff0000n ? (m0 + 32768n) >> 16n : 0x7fffn;
  const s = BigInt(15 - shift);
  return (x * m15 + (1n << (s - 1n))) >> s;
}
