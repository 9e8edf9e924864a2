/**
 * Percentile calibration: clip the range at a percentile of the observed values (e.g. 99.99),
 * read from the streaming histogram (histogram.ts), so memory stays bins × channels whatever
 * the calibration set's size.
 *
 * - symmetric grids: t = the P-th percentile of |x|, range [−t, t];
 * - asymmetric grids: lo = the (100 − P)-th percentile of x, hi = the P-th, range [lo, hi]
 *   widened to contain 0 (each tail loses (100 − P)% of the values).
 *
 * The percentile at fraction f is the value of rank f·n: the bin where the cumulative count
 * reaches f·n, interpolated linearly inside it (values assumed uniform within a bin), clamped to
 * the observed extremes. The exact nearest-rank percentile lies in that same bin, so the error is
 * below one bin width: extent/(bins − 1) after one batch, at most 2·extent/bins after the range
 * grew (extent = max|x|, or max(x, 0) − min(x, 0)).
 */
import { HistogramObserver, type ChannelHistogram } from './histogram';
import type { ObserverOptions } from './types';

export class PercentileObserver extends HistogramObserver {
  private readonly fraction: number;

  constructor(options: ObserverOptions, percentile: number) {
    super(options, false);
    if (!(percentile > 50 && percentile <= 100)) throw new RangeError(`The percentile ${percentile} must be above 50 and at most 100.`);
    this.fraction = percentile / 100;
  }

  protected choose(h: ChannelHistogram): [number, number] {
    if (h.abs) {
      const t = Math.min(quantile(h, this.fraction), Math.max(-h.min, h.max));
      return [-t, t];
    }
    const lo = Math.max(quantile(h, 1 - this.fraction), h.min);
    const hi = Math.min(quantile(h, this.fraction), h.max);
    return [lo, hi];
  }
}

/** The value at cumulative fraction f of a channel's histogram (linear inside the bin). */
export function quantile(h: ChannelHistogram, f: number): number {
  const r = f * h.total;
  const { counts, base, inv } = h;
  let cum = 0;
  for (let j = h.firstSlot; j <= h.lastSlot; j++) {
    const n = counts[j];
    if (n > 0 && cum + n >= r) return (base + j + Math.max(0, r - cum) / n) / inv;
    cum += n;
  }
  return (base + h.lastSlot + 1) / inv;
}
