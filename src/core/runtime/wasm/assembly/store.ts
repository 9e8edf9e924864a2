/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source (compiled by tools/build-wasm.mjs, not by tsc) */
// @ts-nocheck
/** Partial vector stores. */

/** Writes the first n (0..16) bytes of v to dst: 8-, 4-, 2- and 1-byte lane stores. */
// @inline
export function storeBytes(dst: usize, v: v128, n: i32): void {
  if (n >= 16) {
    v128.store(dst, v);
    return;
  }
  let d = dst;
  let x = v;
  if (n & 8) {
    v128.store64_lane(d, x, 0);
    x = i64x2.shuffle(x, x, 1, 1);
    d += 8;
  }
  if (n & 4) {
    v128.store32_lane(d, x, 0);
    x = i32x4.shuffle(x, x, 1, 1, 1, 1);
    d += 4;
  }
  if (n & 2) {
    v128.store16_lane(d, x, 0);
    x = i16x8.shuffle(x, x, 1, 1, 1, 1, 1, 1, 1, 1);
    d += 2;
  }
  if (n & 1) v128.store8_lane(d, x, 0);
}
