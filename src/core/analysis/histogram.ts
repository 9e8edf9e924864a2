/**
 * A compact fixed-range histogram of float values, drawn against a quantization grid.
 *
 * The bins cover the representable (clipping) range of the tensor's integer grid,
 * [S·(qmin − Z), S·(qmax − Z)], split into `bins` equal bins (64 by default: 4 int8 levels per
 * bin). Values outside that range are not binned: they are counted in `below` / `above`, and the
 * extremes seen are kept in `min` / `max`, so a chart shows the clipping range exactly and the
 * clipped tails as two numbers. `min`/`max` start at +Infinity/−Infinity (JSON null) before any
 * value is added.
 */

export interface HistogramData {
  /** Left edge of the first bin (the clipping range's low end). */
  lo: number;
  /** Right edge of the last bin (the clipping range's high end). */
  hi: number;
  counts: number[];
  /** Values < lo (clipped low). */
  below: number;
  /** Values > hi (clipped high). */
  above: number;
  min: number;
  max: number;
  total: number;
}

export class Histogram {
  private readonly counts: Float64Array;
  private below = 0;
  private above = 0;
  private min = Infinity;
  private max = -Infinity;
  private total = 0;
  private readonly width: number;

  constructor(
    readonly lo: number,
    readonly hi: number,
    readonly bins = 64,
  ) {
    if (!(hi >= lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`A histogram needs a finite range lo ≤ hi; got [${lo}, ${hi}].`);
    this.counts = new Float64Array(bins);
    this.width = (hi - lo) / bins;
  }

  add(values: ArrayLike<number>): void {
    const { lo, hi, bins, width } = this;
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (Number.isNaN(v)) continue;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      this.total++;
      if (v < lo) this.below++;
      else if (v > hi) this.above++;
      else {
        // A zero-width range (all-zero tensor) puts everything in bin 0; hi itself in the last bin.
        const b = width > 0 ? Math.min(bins - 1, Math.floor((v - lo) / width)) : 0;
        this.counts[b]++;
      }
    }
  }

  /** Fraction of the values seen that fall outside [lo, hi]. */
  clippedFraction(): number {
    return this.total === 0 ? 0 : (this.below + this.above) / this.total;
  }

  toJSON(): HistogramData {
    return { lo: this.lo, hi: this.hi, counts: Array.from(this.counts), below: this.below, above: this.above, min: this.min, max: this.max, total: this.total };
  }
}
