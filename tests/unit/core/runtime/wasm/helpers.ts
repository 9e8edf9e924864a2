/**
 * Seeded data and independent oracles for the int8 engine tests: BigInt transcriptions of
 * gemmlowp / TFLite's C code and XNNPACK's float path, written apart from `reference.ts`.
 */
import type { RoundingMode } from '../../../../../src/core/runtime/kernel';
import type { Requantization } from '../../../../../src/core/runtime/wasm/spec';

import { expect } from 'vitest';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randomInt8(r: () => number, n: number, lo = -128, hi = 127): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = randInt(r, lo, hi);
  return out;
}

// gemmlowp: SaturatingRoundingDoublingHighMul, with int64 arithmetic as in the C++.
export function srdhmBig(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number(BigInt.asIntN(32, (ab + nudge) / (1n << 31n))); // C++ division truncates, as BigInt's
}

// gemmlowp: RoundingDivideByPOT.
export function rdivpotBig(x: number, exponent: number): number {
  const mask = (1n << BigInt(exponent)) - 1n;
  const bx = BigInt(x);
  const remainder = bx & mask;
  const threshold = (mask >> 1n) + (x < 0 ? 1n : 0n);
  return Number((bx >> BigInt(exponent)) + (remainder > threshold ? 1n : 0n));
}

// TFLite MultiplyByQuantizedMultiplier, reference (double rounding).
export function doubleRoundingBig(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const xs = Number(BigInt.asIntN(32, BigInt(x) * (1n << BigInt(left))));
  return rdivpotBig(srdhmBig(xs, m), right);
}

// TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING.
export function singleRoundingBig(x: number, m: number, shift: number): number {
  const total = BigInt(31 - shift);
  const round = 1n << (total - 1n);
  return Number(BigInt.asIntN(32, (BigInt(x) * BigInt(m) + round) >> total));
}

const f32 = new Float32Array(1);

// XNNPACK fp32 requantization: lrintf((float)acc * scale), + zero point, clamp.
export function xnnpackOracle(acc: number, scale: number, zp: number, qmin: number, qmax: number): number {
  f32[0] = acc;
  f32[0] = f32[0] * Math.fround(scale);
  const v = f32[0];
  const fl = Math.floor(v);
  const d = v - fl;
  const r = d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
  const q = r + zp;
  return Math.min(qmax, Math.max(qmin, q));
}

export function oracleRequantize(acc: number, rq: Requantization, c: number): number {
  const pick = (v: ArrayLike<number>) => v[v.length === 1 ? 0 : c];
  if (rq.rounding === 'xnnpack') return xnnpackOracle(acc, pick(rq.scale), rq.outputZeroPoint, rq.outputMin, rq.outputMax);
  const m = pick(rq.multiplier);
  const s = pick(rq.shift);
  const v = rq.rounding === 'double-rounding' ? doubleRoundingBig(acc, m, s) : singleRoundingBig(acc, m, s);
  const q = (v + rq.outputZeroPoint) | 0;
  return Math.min(rq.outputMax, Math.max(rq.outputMin, q));
}

export const MODES: readonly RoundingMode[] = ['double-rounding', 'single-rounding', 'xnnpack'];

/** TFLite QuantizeMultiplier: real multiplier → (M0, shift). */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0) return { multiplier: 0, shift: 0 };
  let shift = Math.floor(Math.log2(real)) + 1;
  let q = Math.round(real * 2 ** (31 - shift));
  // frexp: real = f · 2^shift with f in [0.5, 1); log2 may be off by one at powers of two.
  if (q < 2 ** 30) {
    shift -= 1;
    q = Math.round(real * 2 ** (31 - shift));
  }
  if (q === 2 ** 31) {
    q /= 2;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: q, shift };
}

/**
 * Per-channel requantization of the given mode, from real multipliers. A third of the channels
 * get exact powers of two (M0 = 2^30), where the modes disagree on ties.
 */
export function randomRequant(r: () => number, mode: RoundingMode, channels: number, opts: { allowPositiveShift?: boolean; relu?: boolean } = {}): Requantization {
  const zp = randInt(r, -128, 127);
  const outputMin = opts.relu ? zp : randInt(r, -128, -100);
  const outputMax = opts.relu ? 127 : randInt(r, 100, 127);
  const reals: number[] = [];
  for (let c = 0; c < channels; c++) {
    const pot = r() < 0.34;
    const maxExp = opts.allowPositiveShift ? 3 : -1;
    const e = randInt(r, -14, maxExp);
    reals.push(pot ? 2 ** e : (0.5 + 0.5 * r()) * 2 ** e);
  }
  const common = { outputZeroPoint: zp, outputMin, outputMax };
  if (mode === 'xnnpack') return { rounding: 'xnnpack', scale: reals.map((x) => Math.fround(x)), ...common };
  const q = reals.map(quantizeMultiplier);
  return { rounding: mode, multiplier: q.map((x) => x.multiplier), shift: q.map((x) => x.shift), ...common };
}

/** Collects disagreements (one expect at the end keeps big sweeps fast). */
export class Mismatches {
  count = 0;
  checked = 0;
  readonly first: string[] = [];

  check(what: string, got: number, want: number): void {
    this.checked++;
    if (got !== want) {
      this.count++;
      if (this.first.length < 8) this.first.push(`${what}: got ${got}, want ${want}`);
    }
  }

  /** No mismatch, and at least `minChecked` comparisons made. */
  expectNone(minChecked = 1): void {
    expect(this.first, `${this.count} mismatches of ${this.checked}`).toEqual([]);
    expect(this.count).toBe(0);
    expect(this.checked).toBeGreaterThanOrEqual(minChecked);
  }
}
