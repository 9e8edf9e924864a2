/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * Depthwise convolution (depth multiplier 1, dilation 1), NHWC, one image:
 *
 *   out[oy, ox, c] = requant(bias[c] + Σ_{ky,kx valid} (in[iy, ix, c] − zIn) · w[ky, kx, c])
 *
 * with iy = oy·sH − padT + ky, ix = ox·sW − padL + kx; taps in the padding contribute nothing.
 *
 * General path (any window, border pixels): weights int16 [kH·kW][C8] (C8 = C rounded up to 8,
 * zero padded); a tap of 8 channels is one load8x8_s, one i16 subtraction of the zero point
 * (|in − zIn| ≤ 255 fits int16) and two extending multiplies into int32.
 *
 * 3×3 interior path (the whole window inside the input): the zero point is folded into the
 * bias (`ibias` = bias − zIn·Σ_taps w[c]), and taps go in pairs through i32x4.dot_i16x8_s:
 * interleaving the int16 inputs of taps t and t+1 gives (x_t[c], x_t+1[c]) for 4 channels, and
 * weights packed the same way (`pairs`: per group of 8 channels, 5 pairs × 2 halves of i16x8,
 * tap 8 paired with zeros) make one dot 2 taps × 4 channels. Both halves of a group (channels
 * 0–3 and 4–7) are summed in one pass, so each input is loaded once.
 *
 * Interior pixels go four at a time where four fit (stripFour: taps paired along the row, so
 * a row's loads and interleaves serve four pixels), then two (interiorTwo), then one.
 *
 * Channels are read in groups of 8: up to 7 bytes past a pixel's channels are read (they meet
 * zero weights), so the input needs 8 bytes of slack after its end. Exactly C bytes per output
 * pixel are written.
 */
import { requant4c } from './requant';
import { storeBytes } from './store';
import { MODE_DOUBLE, MODE_SINGLE, MODE_XNNPACK, PARAM_HEADER_BYTES, PARAM_BLOCK_BYTES } from './layout';

// @inline
function storeGroup(dst: usize, v: v128, count: i32): void {
  if (count >= 8) v128.store64_lane(dst, v, 0);
  else storeBytes(dst, v, count);
}

/** Interleaves the int16 lanes 0..3 of a and b: (a0, b0, a1, b1, …). */
// @inline
function lo16(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
}

// @inline
function hi16(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}

/**
 * Σ over the 9 taps for 8 channels in one pass: lanes 0–3 into `lo`, 4–7 into `hi` (the two
 * are returned through the caller's requantization, see interior3x3). Each tap pair is two
 * loads, two interleaves and two dots; tap 8 is paired with zeros.
 */
// @inline
function interior3x3<M>(base: usize, rowBytes: i32, ch: i32, c8: i32, pairs: usize, ibias: usize, params: usize, mode: i32, op: usize, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): void {
  const hdr = params;
  const c = <usize>ch;
  const c2 = c << 1;
  const zero = i32x4.splat(0);
  let pp = params + <usize>PARAM_HEADER_BYTES;
  let wp = pairs;
  for (let cg = 0; cg < c8; cg += 8) {
    const r0 = base + <usize>cg;
    const r1 = r0 + <usize>rowBytes;
    const r2 = r1 + <usize>rowBytes;
    const bp = ibias + (<usize>cg << 2);
    let x = v128.load8x8_s(r0);
    let y = v128.load8x8_s(r0 + c);
    let lo = i32x4.add(v128.load(bp, 0), i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 0)));
    let hi = i32x4.add(v128.load(bp, 16), i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 16)));
    x = v128.load8x8_s(r0 + c2);
    y = v128.load8x8_s(r1);
    lo = i32x4.add(lo, i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 32)));
    hi = i32x4.add(hi, i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 48)));
    x = v128.load8x8_s(r1 + c);
    y = v128.load8x8_s(r1 + c2);
    lo = i32x4.add(lo, i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 64)));
    hi = i32x4.add(hi, i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 80)));
    x = v128.load8x8_s(r2);
    y = v128.load8x8_s(r2 + c);
    lo = i32x4.add(lo, i32x4.dot_i16x8_s(lo16(x, y), v128.load(wp, 96)));
    hi = i32x4.add(hi, i32x4.dot_i16x8_s(hi16(x, y), v128.load(wp, 112)));
    x = v128.load8x8_s(r2 + c2);
    lo = i32x4.add(lo, i32x4.dot_i16x8_s(lo16(x, zero), v128.load(wp, 128)));
    hi = i32x4.add(hi, i32x4.dot_i16x8_s(hi16(x, zero), v128.load(wp, 144)));
    const q0 = requant4c<M>(lo, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    const q1 = requant4c<M>(hi, pp + <usize>PARAM_BLOCK_BYTES, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), q0), ch - cg);
    pp += <usize>(PARAM_BLOCK_BYTES << 1);
    wp += 160;
  }
}

/**
 * Two horizontally adjacent output pixels (A at `base`, B one stride to the right) of a 3×3
 * window wholly inside the input, all channel groups. Taps are paired by column: rows 0 and 1
 * of a column in one dot, row 2 with zeros in another, so a column's vectors serve both
 * pixels (stride 1: 4 columns for 2 pixels instead of 6; stride 2: 5). The columns are a
 * loop on purpose: each iteration is its own block, so the compilers cannot hoist every load
 * of the window to the top and spill them.
 * `cols`: the column packing (DW3X3_COLUMN_BYTES per group; per column kx, 64 bytes:
 * rows 0–1 lo, rows 0–1 hi, row 2 lo, row 2 hi).
 */
// @inline
function interiorTwo<M>(base: usize, rowBytes: i32, ch: i32, c8: i32, sW: i32, cols: usize, ibias: usize, params: usize, mode: i32, op: usize, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): void {
  const hdr = params;
  const c = <usize>ch;
  const zero = i32x4.splat(0);
  const span = 3 + sW; // columns read
  let pp = params + <usize>PARAM_HEADER_BYTES;
  let wp = cols;
  for (let cg = 0; cg < c8; cg += 8) {
    const bp = ibias + (<usize>cg << 2);
    let aL = v128.load(bp, 0);
    let aH = v128.load(bp, 16);
    let bL = aL;
    let bH = aH;
    let r0 = base + <usize>cg;
    for (let j = 0; j < span; j++) {
      const r1 = r0 + <usize>rowBytes;
      const x = v128.load8x8_s(r0);
      const y = v128.load8x8_s(r1);
      const z = v128.load8x8_s(r1 + <usize>rowBytes);
      const u = lo16(x, y);
      const v = hi16(x, y);
      const s = lo16(z, zero);
      const t = hi16(z, zero);
      if (j < 3) {
        const w = wp + (<usize>j << 6);
        aL = i32x4.add(aL, i32x4.add(i32x4.dot_i16x8_s(u, v128.load(w, 0)), i32x4.dot_i16x8_s(s, v128.load(w, 32))));
        aH = i32x4.add(aH, i32x4.add(i32x4.dot_i16x8_s(v, v128.load(w, 16)), i32x4.dot_i16x8_s(t, v128.load(w, 48))));
      }
      const k = j - sW;
      if (k >= 0) {
        const w = wp + (<usize>k << 6);
        bL = i32x4.add(bL, i32x4.add(i32x4.dot_i16x8_s(u, v128.load(w, 0)), i32x4.dot_i16x8_s(s, v128.load(w, 32))));
        bH = i32x4.add(bH, i32x4.add(i32x4.dot_i16x8_s(v, v128.load(w, 16)), i32x4.dot_i16x8_s(t, v128.load(w, 48))));
      }
      r0 += c;
    }
    const pq = pp + <usize>PARAM_BLOCK_BYTES;
    const qa0 = requant4c<M>(aL, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    const qa1 = requant4c<M>(aH, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(qa0, qa1), qa0), ch - cg);
    const qb0 = requant4c<M>(bL, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    const qb1 = requant4c<M>(bH, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + c + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(qb0, qb1), qb0), ch - cg);
    pp += <usize>(PARAM_BLOCK_BYTES << 1);
    wp += 192;
  }
}

/**
 * Four horizontally adjacent output pixels (A, B, C, D from `base`, one stride apart) of a 3×3
 * window wholly inside the input, all channel groups. Taps are paired along the row: input
 * columns (0, 1), (2, 3), … of the strip are interleaved once per row and every pixel takes
 * two dots from them, so each pixel's row costs two dots per channel half and the inputs and
 * interleaves serve up to four pixels. A pixel whose first column is even uses the row's
 * weights as (w0, w1) and (w2, 0) (`WA`, `WB`); one whose first column is odd (stride 1, B
 * and D) uses (0, w0) and (w1, w2) (`WC`, `WD`). The rows are a loop so that the compilers
 * do not hoist all three rows' loads together. V8 still issues a row's 14 loads first and
 * spills part of the accumulators; the ways around that tried so far (a loop per column pair,
 * a store fencing the loads, the channel halves in two passes) were slower (bench/RESULTS.md).
 * `rows`: the row packing, DW3X3_ROW_BYTES per group; per row ky, 128 bytes: WA, WB, WC, WD,
 * each as channels 0–3 then 4–7 (i16x8 pairs).
 */
// @inline
function stripFour<M>(base: usize, rowBytes: i32, ch: i32, c8: i32, sW: i32, rows: usize, ibias: usize, params: usize, mode: i32, op: usize, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): void {
  const hdr = params;
  const c = <usize>ch;
  const zero = i32x4.splat(0);
  let pp = params + <usize>PARAM_HEADER_BYTES;
  let wp = rows;
  for (let cg = 0; cg < c8; cg += 8) {
    const bp = ibias + (<usize>cg << 2);
    let aL = v128.load(bp, 0);
    let aH = v128.load(bp, 16);
    let bL = aL;
    let bH = aH;
    let cL = aL;
    let cH = aH;
    let dL = aL;
    let dH = aH;
    let r = base + <usize>cg;
    let w = wp;
    const end = wp + 384;
    if (sW == 1) {
      while (w < end) {
        // columns 0, 1: A (w0, w1), B (0, w0)
        let x = v128.load8x8_s(r);
        let y = v128.load8x8_s(r + c);
        let pL = lo16(x, y);
        let pH = hi16(x, y);
        aL = i32x4.add(aL, i32x4.dot_i16x8_s(pL, v128.load(w, 0)));
        aH = i32x4.add(aH, i32x4.dot_i16x8_s(pH, v128.load(w, 16)));
        bL = i32x4.add(bL, i32x4.dot_i16x8_s(pL, v128.load(w, 64)));
        bH = i32x4.add(bH, i32x4.dot_i16x8_s(pH, v128.load(w, 80)));
        // columns 2, 3: A (w2, 0), B (w1, w2), C (w0, w1), D (0, w0)
        x = v128.load8x8_s(r + (c << 1));
        y = v128.load8x8_s(r + c * 3);
        pL = lo16(x, y);
        pH = hi16(x, y);
        aL = i32x4.add(aL, i32x4.dot_i16x8_s(pL, v128.load(w, 32)));
        aH = i32x4.add(aH, i32x4.dot_i16x8_s(pH, v128.load(w, 48)));
        bL = i32x4.add(bL, i32x4.dot_i16x8_s(pL, v128.load(w, 96)));
        bH = i32x4.add(bH, i32x4.dot_i16x8_s(pH, v128.load(w, 112)));
        cL = i32x4.add(cL, i32x4.dot_i16x8_s(pL, v128.load(w, 0)));
        cH = i32x4.add(cH, i32x4.dot_i16x8_s(pH, v128.load(w, 16)));
        dL = i32x4.add(dL, i32x4.dot_i16x8_s(pL, v128.load(w, 64)));
        dH = i32x4.add(dH, i32x4.dot_i16x8_s(pH, v128.load(w, 80)));
        // columns 4, 5: C (w2, 0), D (w1, w2)
        x = v128.load8x8_s(r + (c << 2));
        y = v128.load8x8_s(r + c * 5);
        pL = lo16(x, y);
        pH = hi16(x, y);
        cL = i32x4.add(cL, i32x4.dot_i16x8_s(pL, v128.load(w, 32)));
        cH = i32x4.add(cH, i32x4.dot_i16x8_s(pH, v128.load(w, 48)));
        dL = i32x4.add(dL, i32x4.dot_i16x8_s(pL, v128.load(w, 96)));
        dH = i32x4.add(dH, i32x4.dot_i16x8_s(pH, v128.load(w, 112)));
        r += <usize>rowBytes;
        w += 128;
      }
    } else {
      // stride 2: pixels start at columns 0, 2, 4, 6; every pixel uses (w0, w1), (w2, 0)
      while (w < end) {
        let x = v128.load8x8_s(r);
        let y = v128.load8x8_s(r + c);
        let pL = lo16(x, y);
        let pH = hi16(x, y);
        aL = i32x4.add(aL, i32x4.dot_i16x8_s(pL, v128.load(w, 0)));
        aH = i32x4.add(aH, i32x4.dot_i16x8_s(pH, v128.load(w, 16)));
        x = v128.load8x8_s(r + (c << 1));
        y = v128.load8x8_s(r + c * 3);
        pL = lo16(x, y);
        pH = hi16(x, y);
        aL = i32x4.add(aL, i32x4.dot_i16x8_s(pL, v128.load(w, 32)));
        aH = i32x4.add(aH, i32x4.dot_i16x8_s(pH, v128.load(w, 48)));
        bL = i32x4.add(bL, i32x4.dot_i16x8_s(pL, v128.load(w, 0)));
        bH = i32x4.add(bH, i32x4.dot_i16x8_s(pH, v128.load(w, 16)));
        x = v128.load8x8_s(r + (c << 2));
        y = v128.load8x8_s(r + c * 5);
        pL = lo16(x, y);
        pH = hi16(x, y);
        bL = i32x4.add(bL, i32x4.dot_i16x8_s(pL, v128.load(w, 32)));
        bH = i32x4.add(bH, i32x4.dot_i16x8_s(pH, v128.load(w, 48)));
        cL = i32x4.add(cL, i32x4.dot_i16x8_s(pL, v128.load(w, 0)));
        cH = i32x4.add(cH, i32x4.dot_i16x8_s(pH, v128.load(w, 16)));
        x = v128.load8x8_s(r + c * 6);
        y = v128.load8x8_s(r + c * 7);
        pL = lo16(x, y);
        pH = hi16(x, y);
        cL = i32x4.add(cL, i32x4.dot_i16x8_s(pL, v128.load(w, 32)));
        cH = i32x4.add(cH, i32x4.dot_i16x8_s(pH, v128.load(w, 48)));
        dL = i32x4.add(dL, i32x4.dot_i16x8_s(pL, v128.load(w, 0)));
        dH = i32x4.add(dH, i32x4.dot_i16x8_s(pH, v128.load(w, 16)));
        x = v128.load8x8_s(r + (c << 3));
        dL = i32x4.add(dL, i32x4.dot_i16x8_s(lo16(x, zero), v128.load(w, 32)));
        dH = i32x4.add(dH, i32x4.dot_i16x8_s(hi16(x, zero), v128.load(w, 48)));
        r += <usize>rowBytes;
        w += 128;
      }
    }
    const pq = pp + <usize>PARAM_BLOCK_BYTES;
    let q0 = requant4c<M>(aL, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    let q1 = requant4c<M>(aH, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), q0), ch - cg);
    q0 = requant4c<M>(bL, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    q1 = requant4c<M>(bH, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + c + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), q0), ch - cg);
    q0 = requant4c<M>(cL, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    q1 = requant4c<M>(cH, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + (c << 1) + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), q0), ch - cg);
    q0 = requant4c<M>(dL, pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    q1 = requant4c<M>(dH, pq, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + c * 3 + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), q0), ch - cg);
    pp += <usize>(PARAM_BLOCK_BYTES << 1);
    wp += 384;
  }
}

/** Any window, only the valid taps, zero point subtracted explicitly. */
// @inline
function general<M>(base: usize, rowBytes: i32, ch: i32, c8: i32, kW: i32, kyA: i32, kyB: i32, kxA: i32, kxB: i32, w: usize, zv: v128, params: usize, mode: i32, op: usize, zo: v128, qlo: v128, qhi: v128, flo: v128, fhi: v128, magic: v128, magicZ: v128): void {
  const hdr = params;
  const tapBytes = c8 << 1;
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
    const r0 = requant4c<M>(i32x4.add(acc0, v128.load(pp)), pp, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    const pp1 = pp + <usize>PARAM_BLOCK_BYTES;
    const r1 = requant4c<M>(i32x4.add(acc1, v128.load(pp1)), pp1, hdr, mode, zo, qlo, qhi, flo, fhi, magic, magicZ);
    storeGroup(op + <usize>cg, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0), ch - cg);
    pp += <usize>(PARAM_BLOCK_BYTES << 1);
  }
}

function dwT<M>(
  inp: usize, inH: i32, inW: i32, ch: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, padT: i32, padL: i32, outH: i32, outW: i32,
  w: usize, params: usize, mode: i32, zIn: i32, out: usize, pairs: usize, ibias: usize,
): void {
  const c8 = (ch + 7) & ~7;
  const zv = i16x8.splat(<i16>zIn);
  const rowBytes = inW * ch;
  const zo = v128.load(params, 0);
  const qlo = v128.load(params, 16);
  const qhi = v128.load(params, 32);
  const flo = v128.load(params, 48);
  const fhi = v128.load(params, 64);
  const magic = v128.load(params, 80);
  const magicZ = v128.load(params, 96);
  // output rows / columns whose 3×3 window lies wholly inside the input
  const fast = pairs != 0;
  const oyA = (padT + sH - 1) / sH;
  const oyB = inH - 3 + padT >= 0 ? (inH - 3 + padT) / sH + 1 : 0;
  const oxA = (padL + sW - 1) / sW;
  const oxB = inW - 3 + padL >= 0 ? (inW - 3 + padL) / sW + 1 : 0;
  // two pixels at a time (strides 1 and 2): the column packing follows the tap pairs
  const two = fast && (sW == 1 || sW == 2);
  const cols = pairs + <usize>((c8 >> 3) * 160);
  const rows = cols + <usize>((c8 >> 3) * 192);
  let op = out;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sH - padT;
    const kyA = iy0 < 0 ? -iy0 : 0;
    const kyB = inH - iy0 < kH ? inH - iy0 : kH;
    const rowFast = fast && oy >= oyA && oy < oyB;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sW - padL;
      const base = inp + <usize>(iy0 * rowBytes + ix0 * ch);
      if (rowFast && two && ox >= oxA && ox + 3 < oxB) {
        stripFour<M>(base, rowBytes, ch, c8, sW, rows, ibias, params, mode, op, zo, qlo, qhi, flo, fhi, magic, magicZ);
        op += <usize>(3 * ch);
        ox += 3;
      } else if (rowFast && two && ox >= oxA && ox + 1 < oxB) {
        interiorTwo<M>(base, rowBytes, ch, c8, sW, cols, ibias, params, mode, op, zo, qlo, qhi, flo, fhi, magic, magicZ);
        op += <usize>ch;
        ox++;
      } else if (rowFast && ox >= oxA && ox < oxB) {
        interior3x3<M>(base, rowBytes, ch, c8, pairs, ibias, params, mode, op, zo, qlo, qhi, flo, fhi, magic, magicZ);
      } else {
        const kxA = ix0 < 0 ? -ix0 : 0;
        const kxB = inW - ix0 < kW ? inW - ix0 : kW;
        general<M>(base, rowBytes, ch, c8, kW, kyA, kyB, kxA, kxB, w, zv, params, mode, op, zo, qlo, qhi, flo, fhi, magic, magicZ);
      }
      op += <usize>ch;
    }
  }
}

/**
 * `pairs`/`ibias`: the 3×3 interior packing (0 when the window is not 3×3: every pixel then
 * takes the general path).
 */
export function dwconv_s8(
  inp: usize, inH: i32, inW: i32, ch: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, padT: i32, padL: i32, outH: i32, outW: i32,
  w: usize, params: usize, mode: i32, zIn: i32, out: usize, pairs: usize, ibias: usize,
): void {
  if (mode == MODE_XNNPACK) dwT<f32>(inp, inH, inW, ch, kH, kW, sH, sW, padT, padL, outH, outW, w, params, mode, zIn, out, pairs, ibias);
  else if (mode == MODE_DOUBLE) dwT<u8>(inp, inH, inW, ch, kH, kW, sH, sW, padT, padL, outH, outW, w, params, mode, zIn, out, pairs, ibias);
  else if (mode == MODE_SINGLE) dwT<u16>(inp, inH, inW, ch, kH, kW, sH, sW, padT, padL, outH, outW, w, params, mode, zIn, out, pairs, ibias);
  else dwT<u64>(inp, inH, inW, ch, kH, kW, sH, sW, padT, padL, outH, outW, w, params, mode, zIn, out, pairs, ibias);
}
