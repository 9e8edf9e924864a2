/**
 * Fixed-point requantization: x → M·x for an int32 accumulator x and a real multiplier M,
 * the three ways integer runtimes do it (notes/int8.md, "Three rounding behaviours"):
 *
 * 1. 'double-rounding' (TFLite reference kernels, gemmlowp):
 *      SaturatingRoundingDoublingHighMul(x·2^left, M0), then RoundingDivideByPOT(·, right)
 *    (nudge ±2^30 then truncation toward zero, then round half away from zero);
 * 2. 'single-rounding' (TFLITE_SINGLE_ROUNDING builds, ruy): (x·M0 + 2^(s−1)) >> s in 64 bits,
 *    s = 31 − shift, i.e. round half up;
 * 3. 'xnnpack': float32 arithmetic, round_half_to_even(fl(fl(x) · scale)) with scale a float32.
 *
 * M is stored as M0 · 2^(shift − 31) with M0 in [2^30, 2^31) (see quantizeMultiplier).
 *
 * The product x·M0 needs up to 62 bits, beyond a double's 53: it is formed exactly from 16-bit
 * halves, never with a plain `*` on the full operands. Every function here takes and returns
 * plain numbers holding int32 values and is exact for every int32 input; where the C code it
 * imitates would overflow int32 (multipliers ≥ 1 with large x) the result is wrapped to int32
 * the way the C code's casts do, so it stays well defined.
 */

const TWO_16 = 65536;
const TWO_31 = 2147483648;
const TWO_32 = 4294967296;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A real multiplier M = m0 · 2^(shift − 31) as TFLite stores it. */
export interface QuantizedMultiplier {
  /** Q31 mantissa in [2^30, 2^31) (negated for negative M; 0 when M is 0 or tiny). */
  readonly m0: number;
  /** Power-of-two exponent: M = (m0 / 2^31) · 2^shift. */
  readonly shift: number;
}

/** C's frexp: v = q · 2^e with |q| in [0.5, 1). Exact (scales by powers of two only). */
export function frexp(v: number): { q: number; e: number } {
  if (v === 0 || !Number.isFinite(v)) return { q: v, e: 0 };
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(v))) + 1);
  let q = v / 2 ** e;
  // log2 may be off by one near powers of two; fix up exactly.
  while (Math.abs(q) >= 1) {
    q /= 2;
    e++;
  }
  while (Math.abs(q) < 0.5) {
    q *= 2;
    e--;
  }
  return { q, e };
}

/** std::round / TfLiteRound on a double: half away from zero. */
export function roundHalfAwayFromZero(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * Round half to even on a double (lrintf / nearbyint in the default rounding mode, and what
 * XNNPACK's magic-number trick computes on float32 values).
 */
export function roundHalfToEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f; // exact: v and f share the exponent range
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * TFLite's QuantizeMultiplier: frexp, M0 = round(q · 2^31) (half away from zero); if that
 * rounds up to 2^31, halve it and bump the shift; shifts below −31 flush M to 0.
 */
export function quantizeMultiplier(m: number): QuantizedMultiplier {
  if (m === 0) return { m0: 0, shift: 0 };
  if (!Number.isFinite(m)) throw new RangeError(`Cannot quantize the multiplier ${m}.`);
  const { q, e } = frexp(m);
  let m0 = roundHalfAwayFromZero(q * TWO_31); // q · 2^31 is exact (a power-of-two scaling)
  let shift = e;
  if (m0 === TWO_31) {
    m0 = TWO_31 / 2;
    shift++;
  }
  if (shift < -31) return { m0: 0, shift: 0 };
  return { m0, shift };
}

/**
 * x · m as the exact pair (c, lo) with x·m = c·2^16 + lo, 0 ≤ lo < 2^16; |c| < 2^47.
 * x and m are int32 (m may be −2^31 … 2^31). Written to the two module-level slots to avoid
 * allocating.
 */
let prodC = 0;
let prodLo = 0;
function mulSplit(x: number, m: number): void {
  const mLo = m & 0xffff; // m mod 2^16, in [0, 2^16)
  const mHi = (m - mLo) / TWO_16; // exact, in [−2^15, 2^15]
  const a = x * mHi; // |a| ≤ 2^46: exact
  const b = x * mLo; // |b| < 2^47: exact
  const bLo = b - Math.floor(b / TWO_16) * TWO_16; // b mod 2^16 ≥ 0, exact
  const bHi = (b - bLo) / TWO_16; // exact
  prodC = a + bHi; // < 2^47 + 2^31: exact
  prodLo = bLo;
}

/** Wraps an integer-valued double (|v| < 2^53) to int32 like a C cast from int64. */
function wrapInt32(v: number): number {
  const r = v - Math.floor(v / TWO_32) * TWO_32; // v mod 2^32 in [0, 2^32)
  return r >= TWO_31 ? r - TWO_32 : r;
}

/**
 * gemmlowp's SaturatingRoundingDoublingHighMul(a, b): the high 32 bits of 2·a·b with the
 * product nudged by 2^30 (non-negative products) or 1 − 2^30 (negative ones) and the division
 * by 2^31 truncating toward zero; (INT32_MIN, INT32_MIN) saturates to INT32_MAX.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  mulSplit(a, b); // a·b = C·2^16 + lo
  const negative = (a < 0 && b > 0) || (a > 0 && b < 0);
  // Q = a·b + nudge = C·2^16 + D, |D| < 2^31
  const d = prodLo + (negative ? 1 - 1073741824 : 1073741824);
  // C = cH·2^15 + cL, 0 ≤ cL < 2^15  ⇒  Q = cH·2^31 + E with E = cL·2^16 + D, |E| < 2^32
  const cL = prodC - Math.floor(prodC / 32768) * 32768;
  const cH = (prodC - cL) / 32768;
  const e = cL * TWO_16 + d;
  const eFloor = Math.floor(e / TWO_31);
  let r = cH + eFloor; // floor(Q / 2^31)
  // Q < 0 exactly when the product is negative (the nudge never flips the sign); truncation
  // toward zero then rounds the floor up unless Q is a multiple of 2^31.
  if (negative && e - eFloor * TWO_31 !== 0) r += 1;
  return r;
}

/** gemmlowp's RoundingDivideByPOT(x, exponent): x / 2^exponent rounded half away from zero, 0 ≤ exponent ≤ 31. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = exponent === 31 ? 0x7fffffff : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * TFLite's reference MultiplyByQuantizedMultiplier (double rounding). For shift > 0 the
 * left shift x·2^shift wraps in int32 as in the C code.
 */
export function multiplyByQuantizedMultiplierDouble(x: number, m0: number, shift: number): number {
  if (shift > 31 || shift < -31) throw new RangeError(`Multiplier shift ${shift} is outside [-31, 31].`);
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const shifted = left === 0 ? x : Math.imul(x, left === 31 ? INT32_MIN : 1 << left);
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, m0), right);
}

/**
 * Single rounding: (x·M0 + 2^(s−1)) >> s in 64-bit arithmetic with s = 31 − shift
 * (round half up), cast to int32. For shift = 31 (s = 0) nothing is rounded.
 */
export function multiplyByQuantizedMultiplierSingle(x: number, m0: number, shift: number): number {
  const s = 31 - shift;
  if (s < 0 || s > 62) throw new RangeError(`Multiplier shift ${shift} is outside [-31, 31].`);
  mulSplit(x, m0); // x·M0 = C·2^16 + lo
  if (s >= 17) {
    // (C·2^16 + lo + 2^(s−1)) >> s  =  floor((C + 2^(s−17)) / 2^(s−16)): lo/2^16 < 1 drops out
    return wrapInt32(Math.floor((prodC + 2 ** (s - 17)) / 2 ** (s - 16)));
  }
  // s ≤ 16: = C·2^(16−s) + floor((lo + round) / 2^s), taken mod 2^32
  const k = 16 - s;
  const cMod = prodC - Math.floor(prodC / 2 ** (32 - k)) * 2 ** (32 - k); // C mod 2^(32−k)
  const round = s > 0 ? 2 ** (s - 1) : 0;
  return wrapInt32(cMod * 2 ** k + Math.floor((prodLo + round) / 2 ** s));
}

/**
 * XNNPACK's fp32 requantization before the zero point: round_half_to_even(fl(fl(acc) · scale))
 * with `scale` a float32 value. The int32 → float32 conversion and the product each round to
 * nearest even, as the float32 instructions do; the magic-number rounding XNNPACK uses is
 * round-half-even on that float. Callers add the zero point and clamp (clamping before or after
 * the rounding gives the same result because the bounds are integers).
 */
export function xnnpackRequantize(acc: number, scale: number): number {
  return roundHalfToEven(Math.fround(Math.fround(acc) * scale));
}

/** lrintf(v) for a float32 value v: round half to even. */
export const lrintf = roundHalfToEven;

// ---- 16-bit fixed point (TFLite's int8 HARD_SWISH) ----------------------------------------

const INT16_MIN = -32768;
const INT16_MAX = 32767;

/** gemmlowp's int16 SaturatingRoundingDoublingHighMul: (a·b + nudge) / 2^15, nudge ±2^14, truncating. */
export function saturatingRoundingDoublingHighMul16(a: number, b: number): number {
  if (a === INT16_MIN && b === INT16_MIN) return INT16_MAX;
  const ab = a * b;
  const nudge = ab >= 0 ? 16384 : 1 - 16384;
  return ((ab + nudge) / 32768) | 0; // |·| < 2^16: `| 0` truncates toward zero exactly
}

/** TFLite's SaturatingDoublingHighMul on int16: a·b / 2^15 truncated toward zero, no rounding. */
export function saturatingDoublingHighMul16(a: number, b: number): number {
  if (a === INT16_MIN && b === INT16_MIN) return INT16_MAX;
  return ((a * b) / 32768) | 0;
}

/** TFLite's SaturatingLeftShift on int16: value·2^amount clamped to int16. */
export function saturatingLeftShift16(value: number, amount: number): number {
  const r = value * 2 ** amount;
  return r > INT16_MAX ? INT16_MAX : r < INT16_MIN ? INT16_MIN : r;
}

/** TFLite's DownScaleInt32ToInt16Multiplier: (m + 2^15) >> 16, saturating near INT32_MAX. */
export function downScaleInt32ToInt16Multiplier(m: number): number {
  if (m >= INT32_MAX - 32768) return INT16_MAX;
  return Math.floor((m + 32768) / 65536);
}

// ---- 64-bit accumulators (TFLite's int16x8 kernels) -------------------------------------

/**
 * TFLite's MultiplyByQuantizedMultiplier for an int64 accumulator (int16 activations × int8
 * weights): the Q31 multiplier is first reduced to Q15, m₁₅ = (M0 + 2^15) >> 16 (0x7FFF when
 * M0 ≥ 0x7FFF0000), then y = (x·m₁₅ + 2^(s−1)) >> s with s = 15 − shift. One rounding, half up;
 * TFLite has this single form for every build. Exact for |x| < 2^47 (TFLite's stated range).
 */
export function multiplyByQuantizedMultiplierInt64(x: number, m0: number, shift: number): number {
  const m15 = m0 < 0x7fff0000 ? Math.floor((m0 + 32768) / 65536) : 0x7fff;
  const s = 15 - shift;
  if (s < 1 || s > 62) throw new RangeError(`Multiplier shift ${shift} is outside the int64 kernels' range.`);
  // x = xh·2^24 + xl, 0 ≤ xl < 2^24: the partial products stay below 2^53
  const xl = x - Math.floor(x / 16777216) * 16777216;
  const xh = (x - xl) / 16777216;
  const a = xh * m15; // |a| < 2^24·2^15
  const bl = xl * m15; // < 2^39
  if (s >= 25) {
    // x·m + 2^(s−1) = (a + floor(bl / 2^24) + 2^(s−25))·2^24 + (bl mod 2^24); the floor by 2^s
    // drops the part below 2^24
    return Math.floor((a + Math.floor(bl / 16777216) + 2 ** (s - 25)) / 2 ** (s - 24));
  }
  // s ≤ 24: a·2^(24−s) is an integer; the rest is small
  return a * 2 ** (24 - s) + Math.floor((bl + 2 ** (s - 1)) / 2 ** s);
}
