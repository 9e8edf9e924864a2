/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/**
 * float32 ↔ int8 conversion, per tensor, as the interpreter's QUANTIZE / DEQUANTIZE define it:
 *   TFLite kernels ('double-rounding', 'single-rounding'):
 *       q = clamp(round_half_away_from_zero(x / S) + Z, qmin, qmax), x / S in float32
 *   XNNPACK ('xnnpack'):
 *       q = clamp(round_half_to_even(x · fl(1/S)) + Z, qmin, qmax), the product in float32
 *   dequantize: x = (q − Z) · S in float32.
 * NaN maps to Z. `factor` is S (divide) or fl(1/S) (multiply, xnnpack).
 */

// @inline
function round4(v: v128, xnn: bool): v128 {
  const n = f32x4.nearest(v);
  if (xnn) return n;
  // ties (|v − trunc v| = ½ exactly) go away from zero: trunc v + copysign(1, v)
  const t = f32x4.trunc(v);
  const tie = f32x4.eq(f32x4.abs(f32x4.sub(v, t)), f32x4.splat(0.5));
  const away = f32x4.add(t, v128.or(v128.and(v, i32x4.splat(0x80000000)), f32x4.splat(1.0)));
  return v128.bitselect(away, n, tie);
}

/**
 * XNNPACK's conversion without a float→int instruction: NaN → 0 (so it lands on Z), clamp to
 * [qmin − Z, qmax − Z], then adding 1.5·2^23 rounds half to even and leaves the integer in the
 * low mantissa bits; subtracting the bit pattern of 1.5·2^23 − Z as an integer yields q.
 */
// @inline
function quant4Magic(x: v128, factor: v128, lo: v128, hi: v128, magic: v128, magicZ: v128): v128 {
  let v = f32x4.mul(x, factor);
  v = v128.and(v, f32x4.eq(v, v));
  v = f32x4.pmin(f32x4.pmax(v, lo), hi);
  return i32x4.sub(f32x4.add(v, magic), magicZ);
}

// @inline
function quant4(x: v128, factor: v128, xnn: bool, lo: v128, hi: v128, zp: v128): v128 {
  const v = xnn ? f32x4.mul(x, factor) : f32x4.div(x, factor);
  let r = round4(v, xnn);
  r = f32x4.pmin(f32x4.pmax(r, lo), hi); // NaN stays NaN, and trunc_sat makes it 0
  return i32x4.add(i32x4.trunc_sat_f32x4_s(r), zp);
}

export function quantize_f32_s8(inp: usize, n: i32, factor: f32, zp: i32, qmin: i32, qmax: i32, xnn: i32, out: usize): void {
  const vf = f32x4.splat(factor);
  const lo = f32x4.splat(<f32>(qmin - zp));
  const hi = f32x4.splat(<f32>(qmax - zp));
  const vz = i32x4.splat(zp);
  const x = xnn != 0;
  let i = 0;
  if (x) {
    const magic = f32x4.splat(12582912.0);
    const magicZ = i32x4.splat(0x4b400000 - zp);
    for (; i + 16 <= n; i += 16) {
      const p = inp + (<usize>i << 2);
      const q0 = quant4Magic(v128.load(p, 0), vf, lo, hi, magic, magicZ);
      const q1 = quant4Magic(v128.load(p, 16), vf, lo, hi, magic, magicZ);
      const q2 = quant4Magic(v128.load(p, 32), vf, lo, hi, magic, magicZ);
      const q3 = quant4Magic(v128.load(p, 48), vf, lo, hi, magic, magicZ);
      v128.store(out + <usize>i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
  }
  for (; i + 16 <= n; i += 16) {
    const p = inp + (<usize>i << 2);
    const q0 = quant4(v128.load(p, 0), vf, x, lo, hi, vz);
    const q1 = quant4(v128.load(p, 16), vf, x, lo, hi, vz);
    const q2 = quant4(v128.load(p, 32), vf, x, lo, hi, vz);
    const q3 = quant4(v128.load(p, 48), vf, x, lo, hi, vz);
    v128.store(out + <usize>i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
  }
  for (; i < n; i++) {
    const q = quant4(f32x4.splat(load<f32>(inp + (<usize>i << 2))), vf, x, lo, hi, vz);
    store<i8>(out + <usize>i, <i8>i32x4.extract_lane(q, 0));
  }
}

export function dequantize_s8_f32(inp: usize, n: i32, scale: f32, zp: i32, out: usize): void {
  const vs = f32x4.splat(scale);
  const vz = i32x4.splat(zp);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const w = v128.load8x8_s(inp + <usize>i);
    const p = out + (<usize>i << 2);
    v128.store(p, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_s(w), vz)), vs), 0);
    v128.store(p, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_s(w), vz)), vs), 16);
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(<i32>load<i8>(inp + <usize>i) - zp) * scale);
}
