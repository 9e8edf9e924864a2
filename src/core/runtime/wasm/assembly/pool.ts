/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * int8 pooling, NHWC, one image. Input and output share scale and zero point (TFLite's rule):
 *  - max: the max over the valid taps, then the activation clamp [qmin, qmax] (16 channels per
 *    vector; up to 15 bytes past a pixel's channels are read);
 *  - average: TFLite's integer mean over the valid taps, rounded half away from zero:
 *    (Σ ± count/2) / count with C's truncating division (exact in float64: a non-integer
 *    quotient is at least 1/count from an integer), then the clamp (8 channels per step; up
 *    to 7 bytes past a pixel's channels are read).
 * Exactly C bytes per output pixel are written.
 */
import { storeBytes } from './store';

export function maxpool_s8(
  inp: usize, inH: i32, inW: i32, ch: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, padT: i32, padL: i32, outH: i32, outW: i32,
  qmin: i32, qmax: i32, out: usize,
): void {
  const rowBytes = inW * ch;
  const lo = i8x16.splat(<i8>qmin);
  const hi = i8x16.splat(<i8>qmax);
  let op = out;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sH - padT;
    const kyA = iy0 < 0 ? -iy0 : 0;
    const kyB = inH - iy0 < kH ? inH - iy0 : kH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sW - padL;
      const kxA = ix0 < 0 ? -ix0 : 0;
      const kxB = inW - ix0 < kW ? inW - ix0 : kW;
      const base = inp + <usize>(iy0 * rowBytes + ix0 * ch);
      for (let cg = 0; cg < ch; cg += 16) {
        let m = i8x16.splat(-128);
        for (let ky = kyA; ky < kyB; ky++) {
          const rowPtr = base + <usize>(ky * rowBytes + cg);
          for (let kx = kxA; kx < kxB; kx++) m = i8x16.max_s(m, v128.load(rowPtr + <usize>(kx * ch)));
        }
        m = i8x16.min_s(i8x16.max_s(m, lo), hi);
        storeBytes(op + <usize>cg, m, ch - cg);
      }
      op += <usize>ch;
    }
  }
}

export function avgpool_s8(
  inp: usize, inH: i32, inW: i32, ch: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, padT: i32, padL: i32, outH: i32, outW: i32,
  qmin: i32, qmax: i32, out: usize,
): void {
  const rowBytes = inW * ch;
  const lo = i32x4.splat(qmin);
  const hi = i32x4.splat(qmax);
  const zero = i32x4.splat(0);
  let op = out;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sH - padT;
    const kyA = iy0 < 0 ? -iy0 : 0;
    const kyB = inH - iy0 < kH ? inH - iy0 : kH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sW - padL;
      const kxA = ix0 < 0 ? -ix0 : 0;
      const kxB = inW - ix0 < kW ? inW - ix0 : kW;
      const count = (kyB - kyA) * (kxB - kxA);
      const half = i32x4.splat(count >> 1);
      const cnt = f64x2.splat(<f64>count);
      const base = inp + <usize>(iy0 * rowBytes + ix0 * ch);
      for (let cg = 0; cg < ch; cg += 8) {
        let a0 = zero;
        let a1 = zero;
        for (let ky = kyA; ky < kyB; ky++) {
          const rowPtr = base + <usize>(ky * rowBytes + cg);
          for (let kx = kxA; kx < kxB; kx++) {
            const v = v128.load8x8_s(rowPtr + <usize>(kx * ch));
            a0 = i32x4.add(a0, i32x4.extend_low_i16x8_s(v));
            a1 = i32x4.add(a1, i32x4.extend_high_i16x8_s(v));
          }
        }
        const q0 = i32x4.min_s(i32x4.max_s(divRound(a0, half, cnt), lo), hi);
        const q1 = i32x4.min_s(i32x4.max_s(divRound(a1, half, cnt), lo), hi);
        const n = ch - cg;
        const r = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), q0);
        if (n >= 8) v128.store64_lane(op + <usize>cg, r, 0);
        else storeBytes(op + <usize>cg, r, n);
      }
      op += <usize>ch;
    }
  }
}

/** TFLite: acc > 0 ? (acc + count/2) / count : (acc − count/2) / count, truncating. */
// @inline
function divRound(acc: v128, half: v128, cnt: v128): v128 {
  const a = v128.bitselect(i32x4.add(acc, half), i32x4.sub(acc, half), i32x4.gt_s(acc, i32x4.splat(0)));
  const l = f64x2.trunc(f64x2.div(f64x2.convert_low_i32x4_s(a), cnt));
  const h = f64x2.trunc(f64x2.div(f64x2.convert_low_i32x4_s(i64x2.shuffle(a, a, 1, 0)), cnt));
  return i64x2.shuffle(i32x4.trunc_sat_f64x2_s_zero(l), i32x4.trunc_sat_f64x2_s_zero(h), 0, 2);
}
