/** IEEE 754 binary16 → number, exact (every half is representable in float32). */

const table = new Float32Array(65536);
let tableReady = false;

export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A 64k-entry lookup table, built on first use (256 KiB). */
export function float16Table(): Float32Array {
  if (!tableReady) {
    for (let h = 0; h < 65536; h++) table[h] = float16BitsToNumber(h);
    tableReady = true;
  }
  return table;
}
