import { describe, expect, it } from 'vitest';
import { measureLatency } from '../../../../src/core/runtime/benchmark';

describe('measureLatency', () => {
  it('counts warm-up and timed runs separately and orders its statistics', () => {
    let calls = 0;
    const stats = measureLatency(() => {
      calls++;
      let s = 0;
      for (let i = 0; i < 1000; i++) s += Math.sqrt(i);
      if (s < 0) throw new Error('unreachable');
    }, { warmupRuns: 2, runs: 7 });
    expect(calls).toBe(9);
    expect(stats.runs).toBe(7);
    expect(stats.minMs).toBeLessThanOrEqual(stats.medianMs);
    expect(stats.medianMs).toBeLessThanOrEqual(stats.p90Ms);
    expect(stats.meanMs).toBeGreaterThanOrEqual(stats.minMs);
  });
});
