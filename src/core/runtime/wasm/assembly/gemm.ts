/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * int8 GEMM with a fused requantization epilogue:
 *
 *   C[i, j] = requant(Σ_k A[i, k] · B[j, k] + bias'[j]),   bias'[j] = bias[j] − zA · Σ_k B[j, k]
 *
 * which equals requant(Σ_k (A[i, k] − zA) · B[j, k] + bias[j]) in wrapping int32 arithmetic.
 *
 * "Channels in lanes": each i32x4 accumulator holds 4 output channels of one row. The pair
 * (A[i, 2t], A[i, 2t+1]) is broadcast to every lane (load16_splat + sign extension) and
 * i32x4.dot_i16x8_s multiplies it with B packed as int16 pairs (B[j, 2t], B[j, 2t+1]) of 4
 * channels: 16 multiply-adds per instruction pair, no horizontal sums, and a channel group's
 * requantization parameters serve all rows of the tile.
 *
 * Register tile 4 rows × 8 channels: 8 accumulators, 2 B vectors, one splat. One pair per loop
 * iteration on purpose: an unrolled body is reordered by the optimizers (all B loads hoisted)
 * and spills.
 *
 * A: `m` rows, stride `lda` bytes, each read up to `kp` = K rounded up to even (1 byte past K
 *    when K is odd; it meets a zero weight).
 * B: per group of 8 output channels, per pair t < kp/2, 2 × i16x8 (channels 0–3, 4–7), zero
 *    padded (pack.ts: packGemmWeights).
 * C: `m` rows, stride `ldc` bytes; exactly `n` bytes of each row are written.
 * Overflow: |a·b| ≤ 128·128, int32 accumulators are exact for K < 2^17.
 */
import { requant4 } from './requant';
import { PARAM_HEADER_BYTES, PARAM_BLOCK_BYTES } from './layout';

/** Writes `cols` (≤ 8 … up to 8 used) bytes of v; partial stores go through the header scratch. */
// @inline
function storeCols(dst: usize, v: v128, cols: i32, hdr: usize): void {
  if (cols >= 8) {
    v128.store64_lane(dst, v, 0);
  } else if (cols == 4) {
    v128.store32_lane(dst, v, 0);
  } else {
    v128.store(hdr, v, 112);
    for (let t = 0; t < cols; t++) store<u8>(dst + <usize>t, load<u8>(hdr + 112 + <usize>t));
  }
}

/** Requantizes channels 0–3 and 4–7 of one row and packs them into bytes 0..7. */
// @inline
function finish8(acc0: v128, acc1: v128, bias0: v128, bias1: v128, pp: usize, hdr: usize, mode: i32): v128 {
  const r0 = requant4(i32x4.add(acc0, bias0), pp, hdr, mode);
  const r1 = requant4(i32x4.add(acc1, bias1), pp + <usize>PARAM_BLOCK_BYTES, hdr, mode);
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0);
}

// @inline
function finish4(acc0: v128, bias0: v128, pp: usize, hdr: usize, mode: i32): v128 {
  const r0 = requant4(i32x4.add(acc0, bias0), pp, hdr, mode);
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r0), r0);
}

// @inline
function pairOf(p: usize): v128 {
  return i16x8.extend_low_i8x16_s(v128.load16_splat(p));
}

export function gemm_s8(a: usize, lda: i32, m: i32, kp: i32, b: usize, n: i32, params: usize, mode: i32, c: usize, ldc: i32): void {
  const hdr = params;
  const groups = (n + 7) >> 3;
  const groupBytes = <usize>(kp << 4); // kp/2 pairs × 32 bytes
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>(i * lda);
    const a1 = a0 + <usize>lda;
    const a2 = a1 + <usize>lda;
    const a3 = a2 + <usize>lda;
    const c0 = c + <usize>(i * ldc);
    const c1 = c0 + <usize>ldc;
    const c2 = c1 + <usize>ldc;
    const c3 = c2 + <usize>ldc;
    let bp = b;
    let pp = params + <usize>PARAM_HEADER_BYTES;
    for (let g = 0; g < groups; g++) {
      const col = g << 3;
      const cols = n - col;
      let p0 = a0;
      let p1 = a1;
      let p2 = a2;
      let p3 = a3;
      const end = a0 + <usize>kp;
      let s00 = i32x4.splat(0);
      let s10 = s00;
      let s20 = s00;
      let s30 = s00;
      if (cols <= 4) {
        // last group with at most 4 channels: half the work
        while (p0 < end) {
          const w0 = v128.load(bp);
          s00 = i32x4.add(s00, i32x4.dot_i16x8_s(pairOf(p0), w0));
          s10 = i32x4.add(s10, i32x4.dot_i16x8_s(pairOf(p1), w0));
          s20 = i32x4.add(s20, i32x4.dot_i16x8_s(pairOf(p2), w0));
          s30 = i32x4.add(s30, i32x4.dot_i16x8_s(pairOf(p3), w0));
          p0 += 2;
          p1 += 2;
          p2 += 2;
          p3 += 2;
          bp += 32;
        }
        const bias0 = v128.load(pp);
        storeCols(c0 + <usize>col, finish4(s00, bias0, pp, hdr, mode), cols, hdr);
        storeCols(c1 + <usize>col, finish4(s10, bias0, pp, hdr, mode), cols, hdr);
        storeCols(c2 + <usize>col, finish4(s20, bias0, pp, hdr, mode), cols, hdr);
        storeCols(c3 + <usize>col, finish4(s30, bias0, pp, hdr, mode), cols, hdr);
        break;
      }
      let s01 = s00;
      let s11 = s00;
      let s21 = s00;
      let s31 = s00;
      while (p0 < end) {
        const w0 = v128.load(bp, 0);
        const w1 = v128.load(bp, 16);
        let s = pairOf(p0);
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(s, w0));
        s01 = i32x4.add(s01, i32x4.dot_i16x8_s(s, w1));
        s = pairOf(p1);
        s10 = i32x4.add(s10, i32x4.dot_i16x8_s(s, w0));
        s11 = i32x4.add(s11, i32x4.dot_i16x8_s(s, w1));
        s = pairOf(p2);
        s20 = i32x4.add(s20, i32x4.dot_i16x8_s(s, w0));
        s21 = i32x4.add(s21, i32x4.dot_i16x8_s(s, w1));
        s = pairOf(p3);
        s30 = i32x4.add(s30, i32x4.dot_i16x8_s(s, w0));
        s31 = i32x4.add(s31, i32x4.dot_i16x8_s(s, w1));
        p0 += 2;
        p1 += 2;
        p2 += 2;
        p3 += 2;
        bp += 32;
      }
      const bias0 = v128.load(pp);
      const bias1 = v128.load(pp, PARAM_BLOCK_BYTES);
      storeCols(c0 + <usize>col, finish8(s00, s01, bias0, bias1, pp, hdr, mode), cols, hdr);
      storeCols(c1 + <usize>col, finish8(s10, s11, bias0, bias1, pp, hdr, mode), cols, hdr);
      storeCols(c2 + <usize>col, finish8(s20, s21, bias0, bias1, pp, hdr, mode), cols, hdr);
      storeCols(c3 + <usize>col, finish8(s30, s31, bias0, bias1, pp, hdr, mode), cols, hdr);
      pp += <usize>(PARAM_BLOCK_BYTES << 1);
    }
  }
  // remaining rows (and M < 4) one at a time, 16 channels per pass where there are 16
  for (; i < m; i++) {
    const a0 = a + <usize>(i * lda);
    const c0 = c + <usize>(i * ldc);
    const end = a0 + <usize>kp;
    let bp = b;
    let pp = params + <usize>PARAM_HEADER_BYTES;
    let g = 0;
    for (; g + 2 <= groups; g += 2) {
      let s00 = i32x4.splat(0);
      let s01 = s00;
      let s02 = s00;
      let s03 = s00;
      const bq = bp + groupBytes;
      let p0 = a0;
      let o: usize = 0;
      while (p0 < end) {
        const s = pairOf(p0);
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(s, v128.load(bp + o, 0)));
        s01 = i32x4.add(s01, i32x4.dot_i16x8_s(s, v128.load(bp + o, 16)));
        s02 = i32x4.add(s02, i32x4.dot_i16x8_s(s, v128.load(bq + o, 0)));
        s03 = i32x4.add(s03, i32x4.dot_i16x8_s(s, v128.load(bq + o, 16)));
        p0 += 2;
        o += 32;
      }
      const col = g << 3;
      storeCols(c0 + <usize>col, finish8(s00, s01, v128.load(pp), v128.load(pp, PARAM_BLOCK_BYTES), pp, hdr, mode), n - col, hdr);
      const pq = pp + <usize>(PARAM_BLOCK_BYTES << 1);
      storeCols(c0 + <usize>(col + 8), finish8(s02, s03, v128.load(pq), v128.load(pq, PARAM_BLOCK_BYTES), pq, hdr, mode), n - col - 8, hdr);
      pp += <usize>(PARAM_BLOCK_BYTES << 2);
      bp += groupBytes << 1;
    }
    if (g < groups) {
      let s00 = i32x4.splat(0);
      let s01 = s00;
      let p0 = a0;
      while (p0 < end) {
        const s = pairOf(p0);
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(s, v128.load(bp, 0)));
        s01 = i32x4.add(s01, i32x4.dot_i16x8_s(s, v128.load(bp, 16)));
        p0 += 2;
        bp += 32;
      }
      const col = g << 3;
      storeCols(c0 + <usize>col, finish8(s00, s01, v128.load(pp), v128.load(pp, PARAM_BLOCK_BYTES), pp, hdr, mode), n - col, hdr);
    }
  }
}
