/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * Convolution with dilation 1 as a GEMM over implicit im2col rows (no im2col buffer):
 *
 *   out[p, j] = requant(Σ_{ky} Σ_{s < L} seg_ky(p)[s] · W[j, ky, s] + bias'[j])
 *
 * where seg_ky(p) is the L = kW·C contiguous bytes of input row oy·sH + ky starting at column
 * ox·sW of output pixel p (NHWC). Segments are rounded up to an even length (the extra byte
 * meets a zero weight), so int16 pairs never straddle two segments. The input must already
 * hold the padding (pad_s8 writes a copy bordered with the zero point, which the zero-point
 * trick cancels). Blocks of 4 pixels are packed as in gemm.ts and run by its tile4; the last
 * block repeats its last pixel and sends the extra rows to `trash`.
 *
 * Segments are read in 8-byte slices: up to 7 bytes past a segment and past the input's end
 * are read (slack); the pack buffer needs 48 bytes of slack.
 */
import { tile4 } from './gemm';
import { MODE_DOUBLE, MODE_SINGLE, MODE_XNNPACK } from './layout';

/** The kH segments of 4 pixels (p0..p3) → int16 pairs interleaved by pixel, 16 bytes per pair. */
// @inline
function packSegments4(p0: usize, p1: usize, p2: usize, p3: usize, rowBytes: usize, kH: i32, segPairs: i32, dst: usize): void {
  let d = dst;
  let o: usize = 0;
  for (let ky = 0; ky < kH; ky++) {
    let dd = d;
    for (let t = 0; t < segPairs; t += 4) {
      const v0 = v128.load8x8_s(p0 + o);
      const v1 = v128.load8x8_s(p1 + o);
      const v2 = v128.load8x8_s(p2 + o);
      const v3 = v128.load8x8_s(p3 + o);
      const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
      const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
      const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
      v128.store(dd, i64x2.shuffle(t0, t1, 0, 2), 0);
      v128.store(dd, i64x2.shuffle(t0, t1, 1, 3), 16);
      v128.store(dd, i64x2.shuffle(t2, t3, 0, 2), 32);
      v128.store(dd, i64x2.shuffle(t2, t3, 1, 3), 48);
      dd += 64;
      o += 8;
    }
    // the next segment's pairs overwrite any pairs written past this one's
    d += <usize>segPairs << 4;
    o = <usize>(ky + 1) * rowBytes;
  }
}

function convT<M>(
  inp: usize, rowBytes: i32, ch: i32, kH: i32, segPairs: i32, sH: i32, sW: i32, outH: i32, outW: i32,
  b: usize, n: i32, params: usize, mode: i32, out: usize, ldc: i32, pack: usize, trash: usize,
): void {
  const pixels = outH * outW;
  const pairs = kH * segPairs;
  const zo = v128.load(params, 0);
  const qlo = v128.load(params, 16);
  const qhi = v128.load(params, 32);
  const flo = v128.load(params, 48);
  const fhi = v128.load(params, 64);
  const magic = v128.load(params, 80);
  const magicZ = v128.load(params, 96);
  const stepX = <usize>(sW * ch);
  const stepY = <usize>(sH * rowBytes);
  // (oy, ox) of the next pixel, and its window's top-left byte
  let ox = 0;
  let rowBase = inp;
  let r = 0;
  while (r < pixels) {
    const q0 = rowBase + <usize>ox * stepX;
    const c0 = out + <usize>(r * ldc);
    let q1 = q0;
    let q2 = q0;
    let q3 = q0;
    let c1 = trash;
    let c2 = trash;
    let c3 = trash;
    // advance pixel by pixel (the last block repeats its last pixel into the trash row)
    if (++ox == outW) {
      ox = 0;
      rowBase += stepY;
    }
    if (r + 1 < pixels) {
      q1 = rowBase + <usize>ox * stepX;
      c1 = c0 + <usize>ldc;
      if (++ox == outW) {
        ox = 0;
        rowBase += stepY;
      }
    } else q1 = q0;
    if (r + 2 < pixels) {
      q2 = rowBase + <usize>ox * stepX;
      c2 = c0 + <usize>(2 * ldc);
      if (++ox == outW) {
        ox = 0;
        rowBase += stepY;
      }
    } else q2 = q1;
    if (r + 3 < pixels) {
      q3 = rowBase + <usize>ox * stepX;
      c3 = c0 + <usize>(3 * ldc);
      if (++ox == outW) {
        ox = 0;
        rowBase += stepY;
      }
    } else q3 = q2;
    packSegments4(q0, q1, q2, q3, <usize>rowBytes, kH, segPairs, pack);
    tile4<M>(pack, pairs, b, n, params, mode, c0, c1, c2, c3, zo, qlo, qhi, flo, fhi, magic, magicZ);
    r += 4;
  }
}

/**
 * `inp`: the (padded) input, `rowBytes` per input row; segPairs = ceil(kW·C / 2); `pack`:
 * kH·segPairs·16 + 48 bytes; `trash`: n bytes.
 */
export function conv_s8(
  inp: usize, rowBytes: i32, ch: i32, kH: i32, segPairs: i32, sH: i32, sW: i32, outH: i32, outW: i32,
  b: usize, n: i32, params: usize, mode: i32, out: usize, ldc: i32, pack: usize, trash: usize,
): void {
  if (mode == MODE_XNNPACK) convT<f32>(inp, rowBytes, ch, kH, segPairs, sH, sW, outH, outW, b, n, params, mode, out, ldc, pack, trash);
  else if (mode == MODE_DOUBLE) convT<u8>(inp, rowBytes, ch, kH, segPairs, sH, sW, outH, outW, b, n, params, mode, out, ldc, pack, trash);
  else if (mode == MODE_SINGLE) convT<u16>(inp, rowBytes, ch, kH, segPairs, sH, sW, outH, outW, b, n, params, mode, out, ldc, pack, trash);
  else convT<u64>(inp, rowBytes, ch, kH, segPairs, sH, sW, outH, outW, b, n, params, mode, out, ldc, pack, trash);
}

/**
 * Copies one NHWC image into a `hp`×`wp` buffer at (padT, padL), everything else the zero
 * point: the padding of a convolution made explicit.
 */
export function pad_s8(inp: usize, inH: i32, inW: i32, ch: i32, padT: i32, padL: i32, hp: i32, wp: i32, zIn: i32, out: usize): void {
  const rowIn = <usize>(inW * ch);
  const rowOut = <usize>(wp * ch);
  const left = <usize>(padL * ch);
  const bottom = hp - padT - inH;
  memory.fill(out, <u8>zIn, <usize>padT * rowOut);
  let d = out + <usize>padT * rowOut;
  let s = inp;
  for (let y = 0; y < inH; y++) {
    memory.fill(d, <u8>zIn, left);
    memory.copy(d + left, s, rowIn);
    memory.fill(d + left + rowIn, <u8>zIn, rowOut - left - rowIn);
    d += rowOut;
    s += rowIn;
  }
  if (bottom > 0) memory.fill(d, <u8>zIn, <usize>bottom * rowOut);
}
