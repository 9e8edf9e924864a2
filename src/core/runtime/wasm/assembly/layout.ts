/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * Memory layout shared with the TypeScript side (`../layout.ts` mirrors these numbers and the
 * loader checks them against these exported globals when it instantiates the module).
 *
 * A requantization parameter area ("params") is one 128-byte header followed by one 128-byte
 * block per group of 4 output channels:
 *
 *   header +0   output zero point        i32x4 (splat)
 *          +16  qmin                     i32x4
 *          +32  qmax                     i32x4
 *          +48  qmin − zOut              f32x4   (xnnpack clamp, before rounding)
 *          +64  qmax − zOut              f32x4
 *          +80  1.5·2^23                 f32x4   (adding it rounds |v| < 2^22 half to even)
 *          +96  0x4B400000 − zOut        i32x4   (its bit pattern, minus the zero point)
 *          +112 (unused)
 *
 *   block  +0   bias' = bias − zA·Σ_k w    i32x4   (zero-point trick folded in at pack time)
 *          +16  M0 (fixed-point multiplier) i32x4, or the float32 scale (xnnpack)
 *   double rounding: +32 2^(31−rs) (0 where rs = 0)   +48 mask: rs = 0
 *                    +64 2^rs − 1                      +80 (2^rs − 1) >> 1
 *   single rounding: +32 2^(31−t) (0 where t = 0)      +48 mask: t = 0
 *                    +64 2^(t−1) (0 where t = 0)       +80/+96 nudge as two i64x2 (2^30 where t = 0)
 *   scalar modes:    +32 shift as given (M = M0 · 2^(shift−31))
 * with rs = t = −shift (the SIMD modes need shift ≤ 0).
 */

export const LAYOUT_VERSION: i32 = 3;
export const PARAM_HEADER_BYTES: i32 = 128;
export const PARAM_BLOCK_BYTES: i32 = 128;

/** Requantization variants: the three rounding modes on their SIMD path, and exact scalar paths. */
export const MODE_DOUBLE: i32 = 0;
export const MODE_SINGLE: i32 = 1;
export const MODE_XNNPACK: i32 = 2;
export const MODE_DOUBLE_SCALAR: i32 = 3;
export const MODE_SINGLE_SCALAR: i32 = 4;
