/**
 * MSE-optimal clipping: the range minimizing the expected squared error of quantize-dequantize
 * over everything observed, from the streaming histogram (histogram.ts) with per-bin Σx and Σx².
 *
 * For a clip range [lo, hi] with step s = (hi − lo)/(qmax − qmin) (symmetric: s = t/qmax for
 * [−t, t]) the expected error of the observed values is
 *
 *   E = (s²/12) · #(nonzero values inside)  +  Σ_{x<lo} (x − lo)²  +  Σ_{x>hi} (x − hi)²
 *
 * rounding noise s²/12 per value inside the range (uniform rounding error), exact values 0
 * excluded because 0 is on every grid (ReLU outputs and padding are mostly exact zeros, which
 * would otherwise push the clip down), and the clipping error outside. Candidate clip points
 * are bin edges, where every bin is wholly inside or outside, so with per-bin Σn, Σx, Σx² the
 * clipping term Σ(x − t)² = Σx² − 2tΣx + t²n is exact, not a bin-centre estimate; plus the
 * observed extremes themselves (no clipping).
 *
 * Symmetric grids: |x| histogram, every edge t = k/inv, O(bins) with suffix sums.
 * Asymmetric grids: signed histogram, left edge at or below 0 and right edge at or above 0,
 * O(1) per pair from prefix sums; pairs are scanned on a grid of at most ~256 × 256 edges, then
 * every pair within one grid step of the best one.
 */
import { HistogramObserver, prefixSums, type ChannelHistogram } from './histogram';
import type { ObserverOptions } from './types';

export class MseObserver extends HistogramObserver {
  constructor(options: ObserverOptions) {
    super(options, true);
  }

  protected choose(h: ChannelHistogram): [number, number] {
    return h.abs ? this.chooseSymmetric(h) : this.chooseAsymmetric(h);
  }

  private chooseSymmetric(h: ChannelHistogram): [number, number] {
    const counts = h.counts;
    const sums = h.sums!;
    const squares = h.squares!;
    const maxAbs = Math.max(-h.min, h.max);
    const n = h.lastSlot + 1;
    const q = this.grid.qmax;
    // No clipping: t = max|x|.
    let bestT = maxAbs;
    let best = (maxAbs / q) ** 2 / 12 * (h.total - h.zeros);
    // Walk k from the top down, accumulating the slots ≥ k (all of them ≥ t = k/inv).
    let outN = 0;
    let outS = 0;
    let outQ = 0;
    for (let k = n - 1; k >= 1; k--) {
      outN += counts[k];
      outS += sums[k];
      outQ += squares[k];
      const t = k / h.inv;
      if (t >= maxAbs) continue;
      const s = t / q;
      const clip = Math.max(0, outQ - 2 * t * outS + t * t * outN);
      const e = (s * s) / 12 * (h.total - outN - h.zeros) + clip;
      if (e < best) {
        best = e;
        bestT = t;
      }
    }
    return [-bestT, bestT];
  }

  private chooseAsymmetric(h: ChannelHistogram): [number, number] {
    const first = h.firstSlot;
    const n = h.lastSlot + 1;
    const zero = -h.base; // slot of the bin [0, 1/inv)
    const pn = prefixSums(h.counts, n);
    const ps = prefixSums(h.sums!, n);
    const pq = prefixSums(h.squares!, n);
    const lo0 = Math.min(h.min, 0);
    const hi0 = Math.max(h.max, 0);
    const levels = this.grid.qmax - this.grid.qmin;
    const inv = h.inv;
    const base = h.base;
    // Left edge slot a ∈ [first, zero]: clip at lo = (base + a)/inv (a = first: the true min).
    // Right edge slot b ∈ [zero, n]: clip at hi = (base + b)/inv (b = n: the true max).
    const error = (a: number, b: number): number => {
      const lo = a === first ? lo0 : (base + a) / inv;
      const hi = b === n ? hi0 : (base + b) / inv;
      if (!(hi > lo)) return Infinity;
      const s = (hi - lo) / levels;
      const inside = pn[b] - pn[a] - (b > zero ? h.zeros : 0);
      const left = a === first ? 0 : pq[a] - 2 * lo * ps[a] + lo * lo * pn[a];
      const right = b === n ? 0 : pq[n] - pq[b] - 2 * hi * (ps[n] - ps[b]) + hi * hi * (pn[n] - pn[b]);
      return (s * s) / 12 * inside + Math.max(0, left) + Math.max(0, right);
    };
    let best = Infinity;
    let bestA = first;
    let bestB = n;
    const scan = (a0: number, a1: number, b0: number, b1: number, step: number): void => {
      for (let a = a0; ; a = Math.min(a + step, a1)) {
        for (let b = b1; ; b = Math.max(b - step, b0)) {
          const e = error(a, b);
          if (e < best) {
            best = e;
            bestA = a;
            bestB = b;
          }
          if (b === b0) break;
        }
        if (a === a1) break;
      }
    };
    const step = Math.max(1, Math.ceil(Math.max(zero - first, n - zero) / 256));
    scan(first, zero, zero, n, step);
    if (step > 1) {
      const a0 = bestA;
      const b0 = bestB;
      scan(Math.max(first, a0 - step), Math.min(zero, a0 + step), Math.max(zero, b0 - step), Math.min(n, b0 + step), 1);
    }
    return [bestA === first ? lo0 : (base + bestA) / inv, bestB === n ? hi0 : (base + bestB) / inv];
  }
}
