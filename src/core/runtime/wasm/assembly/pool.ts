/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * int8 max pooling, NHWC, one image: input and output share scale and zero point (TFLite's
 * rule), so it is a max over the valid taps, then the activation clamp [qmin, qmax].
 * 16 channels per vector; up to 15 bytes past a pixel's channels are read, exactly C written.
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
