/**
 * Wall-clock latency of a repeated call (an interpreter run, or anything else to compare it
 * with in the same process). Warm-up runs let the JIT settle and are not counted.
 */

export interface LatencyStats {
  runs: number;
  meanMs: number;
  medianMs: number;
  minMs: number;
  p90Ms: number;
}

export interface LatencyOptions {
  /** Uncounted runs first (default 3). */
  warmupRuns?: number;
  /** Counted runs (default 10). */
  runs?: number;
}

export function measureLatency(call: () => void, options: LatencyOptions = {}): LatencyStats {
  const warmup = options.warmupRuns ?? 3;
  const runs = Math.max(1, options.runs ?? 10);
  for (let i = 0; i < warmup; i++) call();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    call();
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    runs,
    meanMs: times.reduce((a, b) => a + b, 0) / runs,
    medianMs: sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2,
    minMs: sorted[0],
    p90Ms: at(0.9),
  };
}
