/** Output fidelity against numbers worked out by hand. */
import { describe, expect, it } from 'vitest';
import { fidelity, FidelityAccumulator } from '../../../../src/core/analysis/fidelity';

describe('fidelity', () => {
  it('matches a hand computation over two samples', () => {
    // ref [3, 4] and [0, 0]; x [3, 3] and [0, 1]:
    //   Σref² = 9 + 16 = 25, Σ(ref − x)² = 0 + 1 + 0 + 1 = 2 → SQNR = 10·log10(12.5) = 10.969100130080564 dB
    //   Σref·x = 9 + 12 = 21, Σx² = 9 + 9 + 1 = 19 → cosine = 21 / (5·√19) = 0.9635638..., max |e| = 1
    const acc = new FidelityAccumulator();
    acc.add([3, 4], [3, 3]);
    acc.add([0, 0], Float32Array.from([0, 1]));
    const f = acc.result();
    expect(f.sqnrDb).toBeCloseTo(10.969100130080564, 12);
    expect(f.cosine).toBeCloseTo(21 / (5 * Math.sqrt(19)), 12);
    expect(f.cosine).toBeCloseTo(0.963546, 6);
    expect(f.maxAbsError).toBe(1);
    expect(f.elements).toBe(4);
  });

  it('pools over all samples instead of averaging per-sample ratios', () => {
    // Sample 1: signal 100, noise 1 (20 dB); sample 2: signal 1, noise 1 (0 dB). Pooled: 10·log10(101/2).
    const acc = new FidelityAccumulator();
    acc.add([10], [9]);
    acc.add([1], [0]);
    expect(acc.result().sqnrDb).toBeCloseTo(10 * Math.log10(50.5), 12);
  });

  it('handles the edge cases', () => {
    expect(fidelity([1, 2], [1, 2])).toMatchObject({ sqnrDb: Infinity, cosine: 1, maxAbsError: 0 });
    expect(fidelity([0, 0], [0, 0])).toMatchObject({ sqnrDb: Infinity, cosine: 1 });
    expect(fidelity([0, 0], [1, 0])).toMatchObject({ sqnrDb: -Infinity, cosine: 0, maxAbsError: 1 });
    expect(fidelity([1, 0], [-1, 0])).toMatchObject({ cosine: -1, maxAbsError: 2 });
    expect(fidelity([1, 0], [-1, 0]).sqnrDb).toBeCloseTo(10 * Math.log10(1 / 4), 12);
    expect(() => fidelity([1], [1, 2])).toThrow(RangeError);
  });
});
