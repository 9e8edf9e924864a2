/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * im2col for a general convolution, NHWC, one image: row r = oy·outW + ox of the output holds
 * the receptive field in (ky, kx, c) order, the order of OHWI filter rows, so the GEMM's B is
 * the filter as stored. Taps in the padding hold the input zero point: (zIn − zIn)·w = 0, which
 * the GEMM's zero-point trick (bias − zIn·Σw) relies on.
 */

/** Copies in 16-byte chunks, writing (and reading) up to 15 bytes past n. */
// @inline
function copyOver(dst: usize, src: usize, n: i32): void {
  let t = 0;
  do {
    v128.store(dst + <usize>t, v128.load(src + <usize>t));
    t += 16;
  } while (t < n);
}

// @inline
function copyBytes(dst: usize, src: usize, n: i32): void {
  let t = 0;
  for (; t + 8 <= n; t += 8) store<u64>(dst + <usize>t, load<u64>(src + <usize>t));
  for (; t < n; t++) store<u8>(dst + <usize>t, load<u8>(src + <usize>t));
}

function fillBytes(dst: usize, value: i32, n: i32): void {
  for (let t = 0; t < n; t++) store<i8>(dst + <usize>t, <i8>value);
}

export function im2col_s8(
  inp: usize, inH: i32, inW: i32, ch: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, padT: i32, padL: i32, outH: i32, outW: i32,
  zIn: i32, out: usize, ldo: i32, over: i32,
): void {
  const rowBytes = inW * ch;
  const spanW = (kW - 1) * dW;
  let row = out;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sH - padT;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sW - padL;
      let dst = row;
      const wholeRow = ix0 >= 0 && ix0 + spanW < inW && dW == 1;
      for (let ky = 0; ky < kH; ky++) {
        const iy = iy0 + ky * dH;
        if (iy < 0 || iy >= inH) {
          fillBytes(dst, zIn, kW * ch);
          dst += <usize>(kW * ch);
          continue;
        }
        const src = inp + <usize>(iy * rowBytes);
        if (wholeRow) {
          if (over) copyOver(dst, src + <usize>(ix0 * ch), kW * ch);
          else copyBytes(dst, src + <usize>(ix0 * ch), kW * ch);
          dst += <usize>(kW * ch);
          continue;
        }
        for (let kx = 0; kx < kW; kx++) {
          const ix = ix0 + kx * dW;
          if (ix < 0 || ix >= inW) fillBytes(dst, zIn, ch);
          else copyBytes(dst, src + <usize>(ix * ch), ch);
          dst += <usize>ch;
        }
      }
      row += <usize>ldo;
    }
  }
}
