/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * Depthwise convolution (depth multiplier 1, dilation 1), NHWC, one image:
 *
 *   out[oy, ox, c] = requant(bias[c] + Σ_{ky,kx valid} (in[iy, ix, c] − zIn) · w[ky, kx, c])
 *
 * with iy = oy·sH − padT + ky, ix = ox·sW − padL + kx; taps in the padding contribute nothing.
 * Weights are packed once as int16 [kH·kW][C8] (C8 = C rounded up to 8, zero padded), so a tap
 * of 8 channels is one load8x8_s of the input, one i16 subtraction of the zero point
 * (|in − zIn| ≤ 255 fits int16) and two extending multiplies into int32.
 *
 * 3×3 interior pixels (the whole window inside the input) take an unrolled path: the zero
 * point is folded into the bias (bias − zIn·Σ_taps w[c], `ibias`), and taps go in pairs through
 * i32x4.dot_i16x8_s: interleaving the int16 inputs of taps t and t+1 gives (x_t[c], x_t+1[c])
 * pairs for 4 channels, and weights packed the same way make one dot 2 taps × 4 channels
 * (tap 8 pairs with zeros). `pairs` holds, per group of 8 channels, 5 pairs × 2 halves of i16x8.
 *
 * Channels are read in groups of 8: up to 7 bytes past a pixel's channels are read (they meet
 * zero weights), so the input needs 8 bytes of slack after its end. Exactly C bytes per output
 * pixel are written.
 */
import { requant4 } from './requant';
import { PARAM_HEADER_BYTES, PARAM_BLOCK_BYTES } from './layout';

function storeTail(dst: usize, v: v128, count: i32, hdr: usize): void {
  v128.store(hdr, v, 112);
  for (let t = 0; t < count; t++) store<u8>(dst + <usize>t, load<u8>(hdr + 112 + <usize>t));
}

/** Interleaves the int16 lanes 0..3 (or 4..7) of a and b: (a0, b0, a1, b1, …). */
// @inline
function lo16(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
}

// @inline
function hi16(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}

/** One output pixel of a 3×3 window wholly inside the input: all channel groups. */
// @inline
function interior3x3(base: usize, rowBytes: i32, ch: i32, c8: i32, pairs: usize, ibias: usize, params: usize, mode: i32, op: usize): void {
  const hdr = params;
  const c = <usize>ch;
  const c2 = <usize>(ch << 1);
  const zero = i32x4.splat(0);
  let pp = params + <usize>PARAM_HEADER_BYTES;
  let wp = pairs;
  for (let cg = 0; cg < c8; cg += 8) {
    const r0 = base + <usize>cg;
    const r1 = r0 + <usize>rowBytes;
    const r2 = r1 + <usize>rowBytes;
    let x = v128.load8x8_s(r0);
    let y = v128.load8x8_s(r0 + c);
    let acc0 = i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 0));
    let acc1 = i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 16));
    x = v128.load8x8_s(r0 + c2);
    y = v128.load8x8_s(r1);
    acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 32)));
    acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 48)));
    x = v128.load8x8_s(r1 + c);
    y = v128.load8x8_s(r1 + c2);
    acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 64)));
    acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 80)));
    x = v128.load8x8_s(r2);
    y = v128.load8x8_s(r2 + c);
    acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 96)));
    acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 112)));
    x = v128.load8x8_s(r2 + c2);
    acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(lo16(x, zero), v128.load(wp, 128)));
    acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(hi16(x, zero), v128.load(wp, 144)));
    const bp = ibias + (<usize>cg << 2);
    const r0q = requant4(i32x4.add(acc0, v128.load(bp, 0)), pp, hdr, mode);
    const pp1 = pp + <usize>PARAM_BLOCK_BYTES;
    const r1q = requant4(i32x4.add(acc1, v128.load(bp, 16)), pp1, hdr, mode);
    const res = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0q, r1q), r0q);
    if (cg + 8 <= ch) v128.store64_lane(op + <usize>cg, res, 0);
    else storeTail(op + <usize>cg, res, ch - cg, hdr);
    pp += <usize>(PARAM_BLOCK_BYTES << 1);
    wp += 160;
  }
}

/**
 * `pairs`/`ibias`: the 3×3 interior packing (0 when kH×kW is not 3×3; every pixel then takes
 * the general path).
 */
export function dwconv_s8(
  inp: usize, inH: i32, inW: i32, ch: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, padT: i32, padL: i32, outH: i32, outW: i32,
  w: usize, params: usize, mode: i32, zIn: i32, out: usize, pairs: usize, ibias: usize,
): void {
  const hdr = params;
  const c8 = (ch + 7) & ~7;
  const zv = i16x8.splat(<i16>zIn);
  const rowBytes = inW * ch;
  const tapBytes = c8 << 1;
  // output rows / columns whose 3×3 window lies wholly inside the input
  const fast = pairs != 0;
  const oyA = (padT + sH - 1) / sH;
  const oyB = inH - 3 + padT >= 0 ? (inH - 3 + padT) / sH + 1 : 0;
  const oxA = (padL + sW - 1) / sW;
  const oxB = inW - 3 + padL >= 0 ? (inW - 3 + padL) / sW + 1 : 0;
  let op = out;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sH - padT;
    const kyA = iy0 < 0 ? -iy0 : 0;
    const kyB = inH - iy0 < kH ? inH - iy0 : kH;
    const rowFast = fast && oy >= oyA && oy < oyB;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sW - padL;
      const base = inp + <usize>(iy0 * rowBytes + ix0 * ch);
      if (rowFast && ox >= oxA && ox < oxB) {
        interior3x3(base, rowBytes, ch, c8, pairs, ibias, params, mode, op);
        op += <usize>ch;
        continue;
      }
      const kxA = ix0 < 0 ? -ix0 : 0;
      const kxB = inW - ix0 < kW ? inW - ix0 : kW;
      let pp = params + <usize>PARAM_HEADER_BYTES;
      for (let cg = 0; cg < c8; cg += 8) {
        let acc0 = i32x4.splat(0);
        let acc1 = acc0;
        for (let ky = kyA; ky < kyB; ky++) {
          const rowPtr = base + <usize>(ky * rowBytes + cg);
          const wRow = w + <usize>((ky * kW) * tapBytes + (cg << 1));
          for (let kx = kxA; kx < kxB; kx++) {
            const x = i16x8.sub(v128.load8x8_s(rowPtr + <usize>(kx * ch)), zv);
            const wv = v128.load(wRow + <usize>(kx * tapBytes));
            acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(x, wv));
            acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(x, wv));
          }
        }
        const r0 = requant4(i32x4.add(acc0, v128.load(pp)), pp, hdr, mode);
        const pp1 = pp + <usize>PARAM_BLOCK_BYTES;
        const r1 = requant4(i32x4.add(acc1, v128.load(pp1)), pp1, hdr, mode);
        const res = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0);
        if (cg + 8 <= ch) v128.store64_lane(op + <usize>cg, res, 0);
        else storeTail(op + <usize>cg, res, ch - cg, hdr);
        pp += <usize>(PARAM_BLOCK_BYTES << 1);
      }
      op += <usize>ch;
    }
  }
}
