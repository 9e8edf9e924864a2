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
 * 3×3 interior pixels (the whole window inside the input) take an unrolled path that folds the
 * zero point into the bias (bias − zIn·Σ taps w, stored as `interiorBias` in the block's
 * spare lanes… see below) and pairs taps with i32x4.dot_i16x8_s.
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

export function dwconv_s8(
  inp: usize, inH: i32, inW: i32, ch: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, padT: i32, padL: i32, outH: i32, outW: i32,
  w: usize, params: usize, mode: i32, zIn: i32, out: usize,
): void {
  const hdr = params;
  const c8 = (ch + 7) & ~7;
  const zv = i16x8.splat(<i16>zIn);
  const rowBytes = inW * ch;
  const tapBytes = c8 << 1;
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
