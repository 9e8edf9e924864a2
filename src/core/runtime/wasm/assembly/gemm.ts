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
 * (A[i, 2t], A[i, 2t+1]) is broadcast to every lane and i32x4.dot_i16x8_s multiplies it with B
 * packed as int16 pairs (B[j, 2t], B[j, 2t+1]) of 4 channels: no horizontal sums, and a channel
 * group's requantization parameters serve all rows of the tile.
 *
 * Register tile 4 rows × 8 channels: 8 accumulators, 2 B vectors, the A pairs, one splat. Each
 * block of 4 rows is first packed (`scratch`) as int16 pairs interleaved by row, (r0 pair t,
 * r1 pair t, r2 pair t, r3 pair t) per 16 bytes, so a pair step is one load and four pshufd for
 * all channel groups (a 4×4 transpose of 32-bit lanes per 8 columns). One pair per loop
 * iteration on purpose: an unrolled body is reordered by the optimizers and spills.
 *
 * A: `m` rows, stride `lda` bytes. Blocks of 4 rows are read in 8-byte slices up to K rounded
 *    up to 8 (up to 7 bytes past each row; they meet zero weights); remaining rows up to `kp`
 *    = K rounded up to even.
 * scratch: 8·K8 bytes (K8 = K rounded up to 8), 16-byte aligned.
 * B: per group of 8 output channels, per pair t < kp/2, 2 × i16x8 (channels 0–3, 4–7), zero
 *    padded (pack.ts: packGemmWeights).
 * C: `m` rows, stride `ldc` bytes; exactly `n` bytes of each row are written.
 * Overflow: |a·b| ≤ 128·128, int32 accumulators are exact for K < 2^17.
 */
import { requant4c, requant4s } from './requant';

import { storeBytes } from './store';
import { MODE_DOUBLE, MODE_SINGLE, MODE_XNNPACK, PARAM_HEADER_BYTES, PARAM_BLOCK_BYTES } from './layout';

/** Writes min(cols, 8) bytes of v. */
// @inline
function storeCols(dst: usize, v: v128, cols: i32): void {
  if (cols >= 8) v128.store64_lane(dst, v, 0);
  else storeBytes(dst, v, cols);
}

/** Requantizes channels 0–3 and 4–7 of one row and packs them into bytes 0..7. */
// @inline
function finish8<M>(acc0: v128, acc1: v128, bias0: v128, bias1: v128, pp: usize, hdr: usize, mode: i32, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): v128 {
  const r0 = requant4c<M>(i32x4.add(acc0, bias0), pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
  const r1 = requant4c<M>(i32x4.add(acc1, bias1), pp + <usize>PARAM_BLOCK_BYTES, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0);
}

// @inline
function finish4<M>(acc0: v128, bias0: v128, pp: usize, hdr: usize, mode: i32, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): v128 {
  const r0 = requant4c<M>(i32x4.add(acc0, bias0), pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r0), r0);
}

/** The pair at p broadcast to every 32-bit lane as sign-extended int16 (remaining rows). */
// @inline
function pairOf(p: usize): v128 {
  return i16x8.extend_low_i8x16_s(v128.load16_splat(p));
}

export function gemm_s8(a: usize, lda: i32, m: i32, kp: i32, b: usize, n: i32, params: usize, mode: i32, c: usize, ldc: i32, scratch: usize): void {
  if (mode == MODE_XNNPACK) gemmT<f32>(a, lda, m, kp, b, n, params, mode, c, ldc, scratch);
  else if (mode == MODE_DOUBLE) gemmT<u8>(a, lda, m, kp, b, n, params, mode, c, ldc, scratch);
  else if (mode == MODE_SINGLE) gemmT<u16>(a, lda, m, kp, b, n, params, mode, c, ldc, scratch);
  else gemmT<u64>(a, lda, m, kp, b, n, params, mode, c, ldc, scratch);
}

/** Rows a0..a3 → int16 pairs interleaved by row, 16 bytes per pair, k8 / 2 pairs. */
// @inline
function packRows4(a0: usize, lda: usize, k8: i32, dst: usize): void {
  const a1 = a0 + lda;
  const a2 = a1 + lda;
  const a3 = a2 + lda;
  let d = dst;
  for (let k = 0; k < k8; k += 8) {
    const o = <usize>k;
    const v0 = v128.load8x8_s(a0 + o);
    const v1 = v128.load8x8_s(a1 + o);
    const v2 = v128.load8x8_s(a2 + o);
    const v3 = v128.load8x8_s(a3 + o);
    const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
    const t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
    const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
    v128.store(d, i64x2.shuffle(t0, t1, 0, 2), 0);
    v128.store(d, i64x2.shuffle(t0, t1, 1, 3), 16);
    v128.store(d, i64x2.shuffle(t2, t3, 0, 2), 32);
    v128.store(d, i64x2.shuffle(t2, t3, 1, 3), 48);
    d += 64;
  }
}

/**
 * All channel groups for one block of 4 packed rows (`pack`, `pairs` pairs): C rows c0..c3
 * (a row pointer may point at a trash row when the block is padded).
 */
// @inline
export function tile4<M>(pack: usize, pairs: i32, b: usize, n: i32, params: usize, mode: i32, c0: usize, c1: usize, c2: usize, c3: usize, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): void {
  const hdr = params;
  const groups = (n + 7) >> 3;
  const packEnd = pack + (<usize>pairs << 4);
  let bp = b;
  let pp = params + <usize>PARAM_HEADER_BYTES;
  for (let g = 0; g < groups; g++) {
    const col = g << 3;
    const cols = n - col;
    let pk = pack;
    let s00 = i32x4.splat(0);
    let s10 = s00;
    let s20 = s00;
    let s30 = s00;
    if (cols <= 4) {
      // last group with at most 4 channels: half the work
      while (pk < packEnd) {
        const x = v128.load(pk);
        const w0 = v128.load(bp);
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(i32x4.shuffle(x, x, 0, 0, 0, 0), w0));
        s10 = i32x4.add(s10, i32x4.dot_i16x8_s(i32x4.shuffle(x, x, 1, 1, 1, 1), w0));
        s20 = i32x4.add(s20, i32x4.dot_i16x8_s(i32x4.shuffle(x, x, 2, 2, 2, 2), w0));
        s30 = i32x4.add(s30, i32x4.dot_i16x8_s(i32x4.shuffle(x, x, 3, 3, 3, 3), w0));
        pk += 16;
        bp += 32;
      }
      const bias0 = v128.load(pp);
      storeCols(c0 + <usize>col, finish4<M>(s00, bias0, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
      storeCols(c1 + <usize>col, finish4<M>(s10, bias0, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
      storeCols(c2 + <usize>col, finish4<M>(s20, bias0, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
      storeCols(c3 + <usize>col, finish4<M>(s30, bias0, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
      return;
    }
    // the bias is the accumulators' starting value
    s00 = v128.load(pp);
    s10 = s00;
    s20 = s00;
    s30 = s00;
    let s01 = v128.load(pp, PARAM_BLOCK_BYTES);
    let s11 = s01;
    let s21 = s01;
    let s31 = s01;
    while (pk < packEnd) {
      const x = v128.load(pk);
      const w0 = v128.load(bp, 0);
      const w1 = v128.load(bp, 16);
      let s = i32x4.shuffle(x, x, 0, 0, 0, 0);
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(s, w0));
      s01 = i32x4.add(s01, i32x4.dot_i16x8_s(s, w1));
      s = i32x4.shuffle(x, x, 1, 1, 1, 1);
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(s, w0));
      s11 = i32x4.add(s11, i32x4.dot_i16x8_s(s, w1));
      s = i32x4.shuffle(x, x, 2, 2, 2, 2);
      s20 = i32x4.add(s20, i32x4.dot_i16x8_s(s, w0));
      s21 = i32x4.add(s21, i32x4.dot_i16x8_s(s, w1));
      s = i32x4.shuffle(x, x, 3, 3, 3, 3);
      s30 = i32x4.add(s30, i32x4.dot_i16x8_s(s, w0));
      s31 = i32x4.add(s31, i32x4.dot_i16x8_s(s, w1));
      pk += 16;
      bp += 32;
    }
    const pq = pp + <usize>PARAM_BLOCK_BYTES;
    if (cols >= 8) {
      // rows in pairs: one narrow to bytes for two rows, stored as the vector's two halves
      const zero = i32x4.splat(0);
      const sc0 = isFloat<M>() ? v128.load(pp, 16) : zero;
      const sc1 = isFloat<M>() ? v128.load(pq, 16) : zero;
      let r = i8x16.narrow_i16x8_s(
        i16x8.narrow_i32x4_s(requant4s<M>(s00, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc0), requant4s<M>(s01, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc1)),
        i16x8.narrow_i32x4_s(requant4s<M>(s10, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc0), requant4s<M>(s11, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc1)),
      );
      v128.store64_lane(c0 + <usize>col, r, 0);
      v128.store64_lane(c1 + <usize>col, r, 1);
      r = i8x16.narrow_i16x8_s(
        i16x8.narrow_i32x4_s(requant4s<M>(s20, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc0), requant4s<M>(s21, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc1)),
        i16x8.narrow_i32x4_s(requant4s<M>(s30, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc0), requant4s<M>(s31, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ, sc1)),
      );
      v128.store64_lane(c2 + <usize>col, r, 0);
      v128.store64_lane(c3 + <usize>col, r, 1);
    } else {
      const zero = i32x4.splat(0);
      storeCols(c0 + <usize>col, finish8<M>(s00, s01, zero, zero, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
      storeCols(c1 + <usize>col, finish8<M>(s10, s11, zero, zero, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
      storeCols(c2 + <usize>col, finish8<M>(s20, s21, zero, zero, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
      storeCols(c3 + <usize>col, finish8<M>(s30, s31, zero, zero, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), cols);
    }
    pp += <usize>(PARAM_BLOCK_BYTES << 1);
  }
}

/** The kernel for one requantization variant M (see requant4). */
function gemmT<M>(a: usize, lda: i32, m: i32, kp: i32, b: usize, n: i32, params: usize, mode: i32, c: usize, ldc: i32, scratch: usize): void {
  const hdr = params;
  const zo = v128.load(params, 0);
  const qlo = v128.load(params, 16);
  const qhi = v128.load(params, 32);
  const flo = v128.load(params, 48);
  const fhi = v128.load(params, 64);
  const magic = v128.load(params, 80);
  const magicZ = v128.load(params, 96);
  const groups = (n + 7) >> 3;
  const groupBytes = <usize>(kp << 4); // kp/2 pairs × 32 bytes
  const k8 = (kp + 7) & ~7;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>(i * lda);
    packRows4(a0, <usize>lda, k8, scratch);
    const c0 = c + <usize>(i * ldc);
    tile4<M>(scratch, kp >> 1, b, n, params, mode, c0, c0 + <usize>ldc, c0 + <usize>(2 * ldc), c0 + <usize>(3 * ldc), zo, qlo, qhi, flo, fhi, magic, magicZ);
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
      storeCols(c0 + <usize>col, finish8<M>(s00, s01, v128.load(pp), v128.load(pp, PARAM_BLOCK_BYTES), pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), n - col);
      const pq = pp + <usize>(PARAM_BLOCK_BYTES << 1);
      storeCols(c0 + <usize>(col + 8), finish8<M>(s02, s03, v128.load(pq), v128.load(pq, PARAM_BLOCK_BYTES), pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), n - col - 8);
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
      storeCols(c0 + <usize>col, finish8<M>(s00, s01, v128.load(pp), v128.load(pp, PARAM_BLOCK_BYTES), pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ), n - col);
    }
  }
}
