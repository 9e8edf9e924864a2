/**
 * The one seeded generator QuantLab uses wherever a result must repeat on every machine (random
 * datasets, synthetic images, explain's inputs, the error a pre-flight fix introduces, QAT's
 * shuffles): mulberry32, uniform numbers in [0, 1).
 */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The numbers 0 … count−1 in a seeded random order (Fisher–Yates over seededUniform). */
export function seededPermutation(count: number, seed: number): Int32Array {
  const rand = seededUniform(seed);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
