/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * int8 GEMM with a fused requantization epilogue:
 *
 *   C[i, j] = requant(Σ_k A[i, k] · B[j, k] + bias'[j]),   bias'[j] = bias[j] − zA · Σ_k B[j, k]
 *
 * which equals requant(Σ_k (A[i, k] − zA) · B[j, k] + bias[j]) in wrapping int32 arithmetic.
 *
 * A: `m` rows of int8 with a row stride of `lda` bytes (im2col rows or NHWC pixels). Each row is
 *    read in 8-byte slices up to `k8` (K rounded up to 8): up to 7 bytes past the end of a row
 *    (and of the last row) are read but meet zero weights.
 * B: weights packed once: for each group of 4 output channels, for each 8-deep slice of K,
 *    4 rows × 8 int8 (32 bytes), zero-padded to k8 and to a multiple of 4 channels.
 * C: `m` rows, stride `ldc` bytes; exactly `n` bytes of each row are written.
 *
 * Register tile 2 rows × 4 channels: 8 i32x4 accumulators of i32x4.dot_i16x8_s (int8 widened to
 * int16 on load), 2 A and 4 B vectors: 14 of the 15 usable xmm registers on x64.
 * Overflow: |a·b| ≤ 128·128, so int32 accumulators are exact for K < 131072.
 */
import { requant4 } from './requant';
import { PARAM_HEADER_BYTES, PARAM_BLOCK_BYTES } from './layout';

/** [Σ a, Σ b, Σ c, Σ d] of four i32x4 vectors. */
function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i64x2.shuffle(ab, cd, 0, 2), i64x2.shuffle(ab, cd, 1, 3));
}

/** Writes the first `cols` bytes of lanes [first, first + 4) of `v` to `dst` via the header scratch. */
function storePartial(dst: usize, v: v128, first: i32, cols: i32, hdr: usize): void {
  v128.store(hdr, v, 112);
  const src = hdr + 112 + <usize>first;
  for (let t = 0; t < cols; t++) store<u8>(dst + <usize>t, load<u8>(src + <usize>t));
}

export function gemm_s8(a: usize, lda: i32, m: i32, k8: i32, b: usize, n: i32, params: usize, mode: i32, c: usize, ldc: i32): void {
  const hdr = params;
  const blocks = (n + 3) >> 2;
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = a + <usize>(i * lda);
    const a1 = a0 + <usize>lda;
    const c0 = c + <usize>(i * ldc);
    const c1 = c0 + <usize>ldc;
    let bp = b;
    let pp = params + <usize>PARAM_HEADER_BYTES;
    for (let j = 0; j < blocks; j++) {
      let s00 = i32x4.splat(0);
      let s01 = s00;
      let s02 = s00;
      let s03 = s00;
      let s10 = s00;
      let s11 = s00;
      let s12 = s00;
      let s13 = s00;
      // Running pointers: no per-load address arithmetic. (A 2× unrolled body gets its loads
      // hoisted by the optimizers and spills: measured slower.)
      let p0 = a0;
      let p1 = a1;
      const end = a0 + <usize>k8;
      while (p0 < end) {
        const x0 = v128.load8x8_s(p0);
        const x1 = v128.load8x8_s(p1);
        const w0 = v128.load8x8_s(bp, 0);
        const w1 = v128.load8x8_s(bp, 8);
        const w2 = v128.load8x8_s(bp, 16);
        const w3 = v128.load8x8_s(bp, 24);
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, w0));
        s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, w1));
        s02 = i32x4.add(s02, i32x4.dot_i16x8_s(x0, w2));
        s03 = i32x4.add(s03, i32x4.dot_i16x8_s(x0, w3));
        s10 = i32x4.add(s10, i32x4.dot_i16x8_s(x1, w0));
        s11 = i32x4.add(s11, i32x4.dot_i16x8_s(x1, w1));
        s12 = i32x4.add(s12, i32x4.dot_i16x8_s(x1, w2));
        s13 = i32x4.add(s13, i32x4.dot_i16x8_s(x1, w3));
        p0 += 8;
        p1 += 8;
        bp += 32;
      }
      const bias = v128.load(pp);
      const r0 = requant4(i32x4.add(hsum4(s00, s01, s02, s03), bias), pp, hdr, mode);
      const r1 = requant4(i32x4.add(hsum4(s10, s11, s12, s13), bias), pp, hdr, mode);
      const out = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0);
      const col = j << 2;
      if (col + 4 <= n) {
        v128.store32_lane(c0 + <usize>col, out, 0);
        v128.store32_lane(c1 + <usize>col, out, 1);
      } else {
        storePartial(c0 + <usize>col, out, 0, n - col, hdr);
        storePartial(c1 + <usize>col, out, 4, n - col, hdr);
      }
      pp += <usize>PARAM_BLOCK_BYTES;
    }
  }
  if (i < m) {
    const a0 = a + <usize>(i * lda);
    const c0 = c + <usize>(i * ldc);
    let bp = b;
    let pp = params + <usize>PARAM_HEADER_BYTES;
    for (let j = 0; j < blocks; j++) {
      let s00 = i32x4.splat(0);
      let s01 = s00;
      let s02 = s00;
      let s03 = s00;
      for (let k = 0; k < k8; k += 8) {
        const x0 = v128.load8x8_s(a0 + <usize>k);
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, v128.load8x8_s(bp, 0)));
        s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, v128.load8x8_s(bp, 8)));
        s02 = i32x4.add(s02, i32x4.dot_i16x8_s(x0, v128.load8x8_s(bp, 16)));
        s03 = i32x4.add(s03, i32x4.dot_i16x8_s(x0, v128.load8x8_s(bp, 24)));
        bp += 32;
      }
      const r0 = requant4(i32x4.add(hsum4(s00, s01, s02, s03), v128.load(pp)), pp, hdr, mode);
      const out = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r0), r0);
      const col = j << 2;
      if (col + 4 <= n) v128.store32_lane(c0 + <usize>col, out, 0);
      else storePartial(c0 + <usize>col, out, 0, n - col, hdr);
      pp += <usize>PARAM_BLOCK_BYTES;
    }
  }
}
