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
