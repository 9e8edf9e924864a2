/**
 * Packing and parameter layout for the WebAssembly kernels. The numbers mirror
 * `assembly/layout.ts` (the loader checks LAYOUT_VERSION and the sizes against the module's
 * exported globals); see that file for the byte map of a parameter area.
 */
import type { ChannelParams } from './spec';

export const LAYOUT_VERSION = 3;
export const PARAM_HEADER_BYTES = 128;
export const PARAM_BLOCK_BYTES = 128;

export const MODE_DOUBLE = 0;
export const MODE_SINGLE = 1;
export const MODE_XNNPACK = 2;
export const MODE_DOUBLE_SCALAR = 3;
export const MODE_SINGLE_SCALAR = 4;

/** The kernel variant for these parameters: the SIMD epilogues need every shift ≤ 0 (M < 1). */
export function requantMode(p: ChannelParams): number {
  if (p.rounding === 'xnnpack') return MODE_XNNPACK;
  const positive = p.shift.some((s) => s > 0);
  if (p.rounding === 'double-rounding') return positive ? MODE_DOUBLE_SCALAR : MODE_DOUBLE;
  return positive ? MODE_SINGLE_SCALAR : MODE_SINGLE;
}

export function isScalarMode(mode: number): boolean {
  return mode === MODE_DOUBLE_SCALAR || mode === MODE_SINGLE_SCALAR;
}

export function paramAreaBytes(blocks: number): number {
  return PARAM_HEADER_BYTES + blocks * PARAM_BLOCK_BYTES;
}

export const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * Writes a parameter area at byte `ptr` of `buffer`: header, then `blocks` groups of 4
 * channels (channels past `p.multiplier.length` are zero padding, computed but never stored).
 * `bias` is the effective bias (zero-point correction folded in).
 */
export function writeParams(buffer: ArrayBuffer, ptr: number, p: ChannelParams, bias: Int32Array, blocks: number, mode: number): void {
  const words = paramAreaBytes(blocks) / 4;
  const i32 = new Int32Array(buffer, ptr, words);
  const f32 = new Float32Array(buffer, ptr, words);
  i32.fill(0);
  const zp = p.zeroPoint;
  for (let l = 0; l < 4; l++) {
    i32[l] = zp;
    i32[4 + l] = p.min;
    i32[8 + l] = p.max;
    f32[12 + l] = p.min - zp;
    f32[16 + l] = p.max - zp;
    f32[20 + l] = 12582912; // 1.5 · 2^23
    i32[24 + l] = 0x4b400000 - zp;
  }
  const channels = bias.length;
  for (let c = 0; c < channels; c++) {
    const base = (PARAM_HEADER_BYTES + (c >> 2) * PARAM_BLOCK_BYTES) / 4;
    const l = c & 3;
    i32[base + l] = bias[c];
    if (mode === MODE_XNNPACK) {
      f32[base + 4 + l] = p.scale[c];
      continue;
    }
    i32[base + 4 + l] = p.multiplier[c];
    if (isScalarMode(mode)) {
      i32[base + 8 + l] = p.shift[c];
      continue;
    }
    const e = -p.shift[c]; // rs (double) or t (single), in [0, 31]
    i32[base + 8 + l] = e === 0 ? 0 : 2 ** (31 - e);
    i32[base + 12 + l] = e === 0 ? -1 : 0;
    if (mode === MODE_DOUBLE) {
      const mask = (2 ** e - 1) | 0;
      i32[base + 16 + l] = mask;
      i32[base + 20 + l] = mask >> 1;
    } else {
      i32[base + 16 + l] = e === 0 ? 0 : 2 ** (e - 1);
      // nudge as i64 lanes: channels 0,1 at +80, 2,3 at +96 (low word first, little-endian)
      i32[base + 20 + 2 * l] = e === 0 ? 2 ** 30 : 0;
      i32[base + 21 + 2 * l] = 0;
    }
  }
}

/** Bytes of packed GEMM weights: per group of 8 channels, K rounded up to 2 → pairs × 32 bytes. */
export function gemmPackedBytes(n: number, k: number): number {
  return Math.ceil(n / 8) * roundUp(k, 2) * 16;
}

/**
 * GEMM weights [n][k] → the "channels in lanes" layout of assembly/gemm.ts: per group of 8
 * output channels, per pair t (k = 2t, 2t+1), two i16x8 holding (w[c][2t], w[c][2t+1]) for
 * channels 0–3 and 4–7 of the group; zero padded. Returns Σ_k w per channel.
 */
export function packGemmWeights(weights: Int8Array, n: number, k: number, dst: Int16Array): Int32Array {
  const pairs = roundUp(k, 2) / 2;
  dst.fill(0, 0, gemmPackedBytes(n, k) / 2);
  const sums = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const base = (j >> 3) * pairs * 16 + ((j >> 2) & 1) * 8 + (j & 3) * 2;
    let sum = 0;
    for (let kk = 0; kk < k; kk++) {
      const w = weights[j * k + kk];
      sum += w;
      dst[base + (kk >> 1) * 16 + (kk & 1)] = w;
    }
    sums[j] = sum;
  }
  return sums;
}

/** Depthwise weights [taps][C] → int16 [taps][C8], zero-padded channels. */
export function packDepthwiseWeights(weights: Int8Array, taps: number, channels: number, dst: Int16Array): void {
  const c8 = roundUp(channels, 8);
  dst.fill(0, 0, taps * c8);
  for (let t = 0; t < taps; t++) for (let c = 0; c < channels; c++) dst[t * c8 + c] = weights[t * channels + c];
}

/** bias − zA · Σw, in wrapping int32 arithmetic (the zero-point trick). */
export function foldZeroPoint(bias: Int32Array, sums: Int32Array, zeroPoint: number): Int32Array {
  const out = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) out[c] = (bias[c] - Math.imul(zeroPoint, sums[c])) | 0;
  return out;
}

/**
 * Bytes of the 3×3 interior packing per group of 8 channels: 5 tap pairs × 2 halves × i16x8
 * (one output pixel at a time), then 3 columns × (rows 0–1, row 2) × 2 halves × i16x8 (two
 * output pixels at a time).
 */
export const DW3X3_PAIR_BYTES = 160;
export const DW3X3_COLUMN_BYTES = 192;
/** Per group of 8 channels: 3 rows × 4 weight pairs (WA, WB, WC, WD) × 2 halves × i16x8 (four output pixels at a time). */
export const DW3X3_ROW_BYTES = 384;
/** All three 3×3 packings, per group of 8 channels. */
export const DW3X3_GROUP_BYTES = DW3X3_PAIR_BYTES + DW3X3_COLUMN_BYTES + DW3X3_ROW_BYTES;

/**
 * 3×3 depthwise weights [9][C] → three packings, one after the other (groups of 8 channels):
 *  1. per group, tap pairs (0,1) (2,3) (4,5) (6,7) (8,–) × channel halves, each 8 int16
 *     interleaved as (w_t[c], w_t+1[c]) for 4 channels (DW3X3_PAIR_BYTES per group);
 *  2. per group, per column kx: rows (0, 1) interleaved as (w[0][kx][c], w[1][kx][c]) for
 *     channels 0–3 and 4–7, then row 2 paired with zeros (w[2][kx][c], 0), same halves
 *     (DW3X3_COLUMN_BYTES per group);
 *  3. per group, per row ky: WA = (w[ky][0], w[ky][1]), WB = (w[ky][2], 0), WC = (0, w[ky][0]),
 *     WD = (w[ky][1], w[ky][2]), each interleaved for channels 0–3, then 4–7
 *     (DW3X3_ROW_BYTES per group).
 * `dst` holds groups · DW3X3_GROUP_BYTES / 2 int16.
 */
export function packDepthwise3x3Pairs(weights: Int8Array, channels: number, dst: Int16Array): void {
  const groups = roundUp(channels, 8) / 8;
  dst.fill(0, 0, groups * (DW3X3_GROUP_BYTES / 2));
  const w = (tap: number, c: number) => weights[tap * channels + c];
  const columns = groups * (DW3X3_PAIR_BYTES / 2);
  const rows = columns + groups * (DW3X3_COLUMN_BYTES / 2);
  for (let g = 0; g < groups; g++) {
    for (let h = 0; h < 2; h++) {
      for (let j = 0; j < 4; j++) {
        const c = g * 8 + h * 4 + j;
        if (c >= channels) continue;
        for (let p = 0; p < 5; p++) {
          const at = g * 80 + p * 16 + h * 8 + 2 * j;
          dst[at] = w(2 * p, c);
          if (2 * p + 1 < 9) dst[at + 1] = w(2 * p + 1, c);
        }
        for (let kx = 0; kx < 3; kx++) {
          const at = columns + g * 96 + kx * 32 + h * 8 + 2 * j;
          dst[at] = w(kx, c);
          dst[at + 1] = w(3 + kx, c);
          dst[at + 16] = w(6 + kx, c);
        }
        for (let ky = 0; ky < 3; ky++) {
          const at = rows + g * (DW3X3_ROW_BYTES / 2) + ky * 64 + h * 8 + 2 * j;
          dst[at] = w(3 * ky, c); // WA
          dst[at + 1] = w(3 * ky + 1, c);
          dst[at + 16] = w(3 * ky + 2, c); // WB = (w2, 0)
          dst[at + 33] = w(3 * ky, c); // WC = (0, w0)
          dst[at + 48] = w(3 * ky + 1, c); // WD
          dst[at + 49] = w(3 * ky + 2, c);
        }
      }
    }
  }
}

/** bias − zIn · Σ_taps w[t][c] (wrapping int32), padded to C8 with zeros. */
export function depthwiseInteriorBias(weights: Int8Array, taps: number, channels: number, bias: Int32Array, zeroPoint: number, dst: Int32Array): void {
  dst.fill(0, 0, roundUp(channels, 8));
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let t = 0; t < taps; t++) sum += weights[t * channels + c];
    dst[c] = (bias[c] - Math.imul(zeroPoint, sum)) | 0;
  }
}
