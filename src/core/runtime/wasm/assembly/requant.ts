/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * Requantization epilogues: int32 accumulators (bias already added) → output int8 codes,
 * four output channels at a time, exactly as the scalar reference (`../reference.ts`).
 *
 * Variable per-lane shifts do not exist in SIMD128, so divisions by 2^e use a 64-bit product
 * with 2^(31−e) and keep the high half of the doubled product (bits 31..62):
 *   hi32((v · 2^(31−e)) · 2) = floor(v / 2^e).
 * The doubling replaces an i64 arithmetic shift (which x64 lacks) by an add.
 */
import { MODE_DOUBLE_SCALAR } from './layout';

/** hi32 of each doubled 64-bit lane of (lo, hi): floor(v / 2^31) for |v| < 2^62. */
// @inline
function high31(lo: v128, hi: v128): v128 {
  return i32x4.shuffle(i64x2.add(lo, lo), i64x2.add(hi, hi), 1, 3, 5, 7);
}

/**
 * TFLite's reference MultiplyByQuantizedMultiplier (gemmlowp): saturating rounding doubling
 * high multiply, then a rounding (half away from zero) divide by 2^rs. Wrapping int32 left
 * shift, as the C code does on every target.
 */
export function mulDoubleRounding(x: i32, m: i32, shift: i32): i32 {
  const ls = shift > 0 ? shift : 0;
  const rs = shift > 0 ? 0 : -shift;
  const xs = x * (1 << ls);
  let hm: i32;
  if (xs == i32.MIN_VALUE && m == i32.MIN_VALUE) {
    hm = i32.MAX_VALUE;
  } else {
    const ab = <i64>xs * <i64>m;
    const nudge: i64 = ab >= 0 ? <i64>(1 << 30) : <i64>1 - <i64>(1 << 30);
    hm = <i32>((ab + nudge) / (<i64>1 << 31));
  }
  const mask: i32 = <i32>((<i64>1 << rs) - 1);
  const remainder = hm & mask;
  const threshold = (mask >> 1) + (hm < 0 ? 1 : 0);
  return (hm >> rs) + (remainder > threshold ? 1 : 0);
}

/** TFLite built with TFLITE_SINGLE_ROUNDING: (x·M0 + 2^(s−1)) >> s in 64 bits, s = 31 − shift. */
export function mulSingleRounding(x: i32, m: i32, shift: i32): i32 {
  const total = 31 - shift;
  const round: i64 = <i64>1 << <i64>(total - 1);
  return <i32>((<i64>x * <i64>m + round) >> <i64>total);
}

// @inline
function clampScalar(v: i32, hdr: usize): i32 {
  const zOut = load<i32>(hdr, 0);
  const qmin = load<i32>(hdr, 16);
  const qmax = load<i32>(hdr, 32);
  const q = v + zOut;
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

/** The scalar path, lane by lane (shifts > 0, or anything the SIMD path does not cover). */
function requantScalar4(x: v128, pp: usize, hdr: usize, mode: i32): v128 {
  const f = mode == MODE_DOUBLE_SCALAR;
  let r = x;
  let v = i32x4.extract_lane(x, 0);
  let m = load<i32>(pp, 16);
  let s = load<i32>(pp, 32);
  r = i32x4.replace_lane(r, 0, clampScalar(f ? mulDoubleRounding(v, m, s) : mulSingleRounding(v, m, s), hdr));
  v = i32x4.extract_lane(x, 1);
  m = load<i32>(pp, 20);
  s = load<i32>(pp, 36);
  r = i32x4.replace_lane(r, 1, clampScalar(f ? mulDoubleRounding(v, m, s) : mulSingleRounding(v, m, s), hdr));
  v = i32x4.extract_lane(x, 2);
  m = load<i32>(pp, 24);
  s = load<i32>(pp, 40);
  r = i32x4.replace_lane(r, 2, clampScalar(f ? mulDoubleRounding(v, m, s) : mulSingleRounding(v, m, s), hdr));
  v = i32x4.extract_lane(x, 3);
  m = load<i32>(pp, 28);
  s = load<i32>(pp, 44);
  r = i32x4.replace_lane(r, 3, clampScalar(f ? mulDoubleRounding(v, m, s) : mulSingleRounding(v, m, s), hdr));
  return r;
}

/**
 * Compile-time requantization variants. Kernels are generic over a marker type M and
 * instantiated once per mode, so the hot loops carry no mode branches and no calls (a call
 * makes V8 spill every live vector around it):
 *   u8 → double rounding (SIMD), u16 → single rounding (SIMD), f32 → xnnpack,
 *   u64 → the exact scalar path (double or single by `mode`).
 */
// @inline
export function requant4<M>(x: v128, pp: usize, hdr: usize, mode: i32): v128 {
  return requant4c<M>(x, pp, hdr, mode, v128.load(hdr, 0), v128.load(hdr, 16), v128.load(hdr, 32), v128.load(hdr, 48), v128.load(hdr, 64), v128.load(hdr, 80), v128.load(hdr, 96));
}

/**
 * requant4 with the header's constants already in values (load them once per kernel call:
 * reloading them per channel group makes V8 load, spill and reload them every iteration).
 * zo, qlo, qhi: zero point and clamp (integer modes); flo, fhi, magic, magicZ (xnnpack).
 */
// @inline
export function requant4c<M>(x: v128, pp: usize, hdr: usize, mode: i32, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): v128 {
  return requant4s<M>(x, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, isFloat<M>() ? v128.load(pp, 16) : i32x4.splat(0));
}

/**
 * requant4c with the block's float32 scale (xnnpack) already in `scale` (a register tile loads
 * it once for all its rows; the integer modes ignore it and read their block).
 */
// @inline
export function requant4s<M>(x: v128, pp: usize, hdr: usize, mode: i32, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128, scale: v128): v128 {
  if (isFloat<M>()) {
    // (float)acc · scale, clamped to [qmin − zOut, qmax − zOut], rounded half to even by the
    // magic-bias addition, then the zero point comes back with the bias's bit pattern.
    let f = f32x4.mul(f32x4.convert_i32x4_s(x), scale);
    f = f32x4.pmax(f, flo);
    f = f32x4.pmin(f, fhi);
    f = f32x4.add(f, magic);
    return i32x4.sub(f, magicZ);
  }
  let q: v128;
  if (sizeof<M>() == 1) {
    // SaturatingRoundingDoublingHighMul = floor((x·M0 + 2^30) / 2^31) (the nudge and the
    // truncating division combine to this for either sign); M0 ≥ 0 so it never saturates.
    const m0 = v128.load(pp, 16);
    const nudge = i64x2.splat(1 << 30);
    const y = high31(i64x2.add(i64x2.extmul_low_i32x4_s(x, m0), nudge), i64x2.add(i64x2.extmul_high_i32x4_s(x, m0), nudge));
    // RoundingDivideByPOT(y, rs) = floor(y / 2^rs) + (remainder > threshold)
    const p = v128.load(pp, 32);
    let d = high31(i64x2.extmul_low_i32x4_s(y, p), i64x2.extmul_high_i32x4_s(y, p));
    d = v128.bitselect(y, d, v128.load(pp, 48));
    const remainder = v128.and(y, v128.load(pp, 64));
    const threshold = i32x4.sub(v128.load(pp, 80), i32x4.lt_s(y, i32x4.splat(0)));
    q = i32x4.sub(d, i32x4.gt_s(remainder, threshold));
  } else if (sizeof<M>() == 2) {
    // z = floor((x·M0 + nudge) / 2^31), then floor(z / 2^t) + bit (t−1) of z: the same as
    // (x·M0 + 2^(30+t)) >> (31+t) because 2^(30+t) is a multiple of 2^31 when t ≥ 1.
    const m0 = v128.load(pp, 16);
    const z = high31(i64x2.add(i64x2.extmul_low_i32x4_s(x, m0), v128.load(pp, 80)), i64x2.add(i64x2.extmul_high_i32x4_s(x, m0), v128.load(pp, 96)));
    const p = v128.load(pp, 32);
    let d = high31(i64x2.extmul_low_i32x4_s(z, p), i64x2.extmul_high_i32x4_s(z, p));
    d = v128.bitselect(z, d, v128.load(pp, 48));
    q = i32x4.sub(d, i32x4.ne(v128.and(z, v128.load(pp, 64)), i32x4.splat(0)));
  } else {
    return requantScalar4(x, pp, hdr, mode);
  }
  q = i32x4.add(q, zo);
  q = i32x4.max_s(q, qlo);
  return i32x4.min_s(q, qhi);
}
