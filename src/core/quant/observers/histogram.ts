/**
 * The streaming histogram behind the percentile, KL and MSE observers, and their shared
 * observe()/range() skeleton.
 *
 * One histogram per channel, `bins` slots (default 2048). Bins are anchored at 0: absolute bin k
 * holds the x with floor(x·inv) = k, i.e. [k/inv, (k+1)/inv); slot j of the array is bin
 * base + j. Symmetric grids histogram |x| (base 0, the |x| distribution TensorRT uses);
 * asymmetric grids histogram signed x over a span that always contains 0 (their range must).
 *
 * Range growth: the first values fix inv so that their extent fills the slots
 * (inv = (bins − 1)/extent). When a later batch reaches beyond the slots, inv is halved until the
 * whole extent fits (and the window slides for signed data); old bins merge in pairs
 * (k → floor(k/2)). Because inv only ever changes by powers of two, x·(inv/2^d) = (x·inv)/2^d
 * exactly and floor(floor(y)/2^d) = floor(y/2^d): the merged histogram is exactly the histogram
 * all the data would have had at the new width. Nothing is interpolated; the price is that after
 * growth a channel uses between bins/2 and bins slots across its extent, so the resolution is
 * extent/(bins − 1) for one batch and no coarser than 2·extent/bins in general.
 *
 * Cost: one min/max pass and one binning pass per observe (O(n), no allocation); memory
 * bins × channels float64 counts (three times that with moments, for MSE).
 */
import type { IntegerGrid } from '../params';
import { channelLayout, gridRange, nothingObserved, scanMinMax, type ChannelLayout } from './layout';
import type { FloatArray, Observer, ObserverOptions } from './types';

export const DEFAULT_BINS = 2048;

/** One channel's histogram as the range searches read it. Slot j is bin base + j: [(base + j)/inv, (base + j + 1)/inv). */
export interface ChannelHistogram {
  readonly counts: Float64Array;
  /** Σ x per slot (Σ |x| for |x| histograms); only with moments. */
  readonly sums: Float64Array | undefined;
  /** Σ x² per slot; only with moments. */
  readonly squares: Float64Array | undefined;
  readonly inv: number;
  readonly base: number;
  /** Number of values exactly 0 (they quantize exactly on every grid). */
  readonly zeros: number;
  readonly total: number;
  /** The true extremes of x (signed, not widened). */
  readonly min: number;
  readonly max: number;
  /** true: the histogram holds |x|. */
  readonly abs: boolean;
  /** Slots holding the extent: [lo, hi] with lo = min(min, 0) (0 for |x|), hi = max(max, 0) (max|x| for |x|). */
  readonly firstSlot: number;
  readonly lastSlot: number;
}

export class ChannelHistograms {
  readonly channels: number;
  readonly bins: number;
  readonly abs: boolean;
  readonly counts: Float64Array;
  readonly sums: Float64Array | undefined;
  readonly squares: Float64Array | undefined;
  /** Bins per unit of x; 0 while every value seen was exactly 0 (they are then only counted). */
  readonly inv: Float64Array;
  readonly base: Float64Array;
  readonly zeros: Float64Array;
  readonly total: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly batchMin: Float64Array;
  readonly batchMax: Float64Array;
  private readonly scratch: Float64Array;

  constructor(channels: number, bins: number, abs: boolean, moments: boolean) {
    this.channels = channels;
    this.bins = bins;
    this.abs = abs;
    this.counts = new Float64Array(channels * bins);
    this.sums = moments ? new Float64Array(channels * bins) : undefined;
    this.squares = moments ? new Float64Array(channels * bins) : undefined;
    this.inv = new Float64Array(channels);
    this.base = new Float64Array(channels);
    this.zeros = new Float64Array(channels);
    this.total = new Float64Array(channels);
    this.min = new Float64Array(channels).fill(Infinity);
    this.max = new Float64Array(channels).fill(-Infinity);
    this.batchMin = new Float64Array(channels);
    this.batchMax = new Float64Array(channels);
    this.scratch = new Float64Array(bins);
  }

  /** The extent the slots must hold for channel c: [lo, hi], 0 inside. */
  private extent(c: number): [number, number] {
    if (this.abs) return [0, Math.max(-this.min[c], this.max[c])];
    return [Math.min(this.min[c], 0), Math.max(this.max[c], 0)];
  }

  /** Adds one tensor whose per-channel extremes are already in batchMin/batchMax (scanMinMax). */
  add(data: FloatArray, layout: ChannelLayout): void {
    const { outer, channels, inner } = layout;
    for (let c = 0; c < channels; c++) {
      if (!(this.batchMin[c] <= this.batchMax[c])) continue; // no values in this channel
      if (this.batchMin[c] < this.min[c]) this.min[c] = this.batchMin[c];
      if (this.batchMax[c] > this.max[c]) this.max[c] = this.batchMax[c];
      const [lo, hi] = this.extent(c);
      if (hi > lo) this.cover(c, lo, hi);
    }
    const B = this.bins;
    const counts = this.counts;
    const sums = this.sums;
    const squares = this.squares;
    let i = 0;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const end = i + inner;
        const inv = this.inv[c];
        this.total[c] += inner;
        if (inv === 0) {
          // Every value of this channel so far is exactly 0: count them; cover() bins them later.
          this.zeros[c] += inner;
          i = end;
          continue;
        }
        // slot = off + floor(x·inv); cover() made every slot of this batch land in [c·B, c·B + B).
        const off = c * B - this.base[c];
        let z = 0;
        if (sums !== undefined && squares !== undefined) {
          if (this.abs) {
            for (; i < end; i++) {
              const x = Math.abs(data[i]);
              const s = off + Math.floor(x * inv);
              counts[s]++;
              sums[s] += x;
              squares[s] += x * x;
              if (x === 0) z++;
            }
          } else {
            for (; i < end; i++) {
              const x = data[i];
              const s = off + Math.floor(x * inv);
              counts[s]++;
              sums[s] += x;
              squares[s] += x * x;
              if (x === 0) z++;
            }
          }
        } else if (this.abs) {
          for (; i < end; i++) {
            const x = Math.abs(data[i]);
            counts[off + Math.floor(x * inv)]++;
            if (x === 0) z++;
          }
        } else {
          for (; i < end; i++) {
            const x = data[i];
            counts[off + Math.floor(x * inv)]++;
            if (x === 0) z++;
          }
        }
        this.zeros[c] += z;
      }
    }
  }

  /** Makes the slots of channel c hold bins floor(lo·inv) … floor(hi·inv): start, slide or merge. */
  private cover(c: number, lo: number, hi: number): void {
    const B = this.bins;
    let inv = this.inv[c];
    if (inv === 0) {
      inv = (B - 1) / (hi - lo);
      if (!(inv <= 2 ** 1000)) inv = 2 ** 1000; // a subnormal extent: everything lands in a few bins
      while (Math.floor(hi * inv) - Math.floor(lo * inv) + 1 > B) inv /= 2;
      const base = this.abs ? 0 : Math.floor(lo * inv);
      this.inv[c] = inv;
      this.base[c] = base;
      // The zeros counted before the histogram started go to the bin of 0 (their sums are 0).
      this.counts[c * B - base] += this.total[c];
      return;
    }
    const base = this.base[c];
    const kLo = Math.floor(lo * inv);
    const kHi = Math.floor(hi * inv);
    if (kLo >= base && kHi < base + B) return;
    let f = 1;
    while (Math.floor(kHi / f) - Math.floor(kLo / f) + 1 > B) f *= 2;
    const newBase = this.abs ? 0 : Math.floor(kLo / f);
    for (const arr of [this.counts, this.sums, this.squares]) {
      if (arr === undefined) continue;
      const view = arr.subarray(c * B, c * B + B);
      const scratch = this.scratch;
      scratch.fill(0);
      for (let j = 0; j < B; j++) {
        const v = view[j];
        if (v !== 0) scratch[Math.floor((base + j) / f) - newBase] += v;
      }
      view.set(scratch);
    }
    this.inv[c] = inv / f;
    this.base[c] = newBase;
  }

  view(c: number): ChannelHistogram {
    const B = this.bins;
    const inv = this.inv[c];
    const base = this.base[c];
    const [lo, hi] = this.extent(c);
    return {
      counts: this.counts.subarray(c * B, c * B + B),
      sums: this.sums?.subarray(c * B, c * B + B),
      squares: this.squares?.subarray(c * B, c * B + B),
      inv,
      base,
      zeros: this.zeros[c],
      total: this.total[c],
      min: this.min[c],
      max: this.max[c],
      abs: this.abs,
      firstSlot: Math.floor(lo * inv) - base,
      lastSlot: Math.floor(hi * inv) - base,
    };
  }
}

/**
 * observe() and range() for the histogram observers: subclasses only choose one channel's
 * range from its histogram. A channel whose values were all exactly 0 gets [0, 0].
 */
export abstract class HistogramObserver implements Observer {
  protected readonly grid: IntegerGrid;
  private readonly axis: number | undefined;
  private readonly bins: number;
  private readonly moments: boolean;
  private hist: ChannelHistograms | undefined;
  private calls = 0;

  constructor(options: ObserverOptions, moments: boolean, defaultBins: number = DEFAULT_BINS) {
    const bins = options.bins ?? defaultBins;
    if (!Number.isInteger(bins) || bins < 16 || bins > 1 << 20) {
      throw new RangeError(`A histogram needs between 16 and ${1 << 20} bins, not ${bins}.`);
    }
    this.grid = options.grid;
    this.axis = options.axis;
    this.bins = bins;
    this.moments = moments;
  }

  get count(): number {
    return this.calls;
  }

  observe(data: FloatArray, shape: readonly number[]): void {
    const layout = channelLayout(data, shape, this.axis, this.hist?.channels);
    const hist = (this.hist ??= new ChannelHistograms(layout.channels, this.bins, this.grid.symmetric, this.moments));
    scanMinMax(data, layout, hist.batchMin, hist.batchMax);
    hist.add(data, layout);
    this.calls++;
  }

  range(): { min: number[]; max: number[] } {
    const hist = this.hist;
    if (hist === undefined || hist.channels === 0 || hist.total[0] === 0) throw nothingObserved(this.calls);
    const min: number[] = [];
    const max: number[] = [];
    for (let c = 0; c < hist.channels; c++) {
      const [lo, hi] = hist.inv[c] === 0 ? [0, 0] : this.choose(hist.view(c));
      const [a, b] = gridRange(lo, hi, this.grid.symmetric);
      min.push(a);
      max.push(b);
    }
    return { min, max };
  }

  /** The range for one channel (made grid-shaped by the caller). */
  protected abstract choose(h: ChannelHistogram): [number, number];
}

/** Prefix sums over slots [0, n): p[k] = Σ_{j<k} a[j]. */
export function prefixSums(a: Float64Array, n: number): Float64Array {
  const p = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) p[j + 1] = p[j] + a[j];
  return p;
}
