/**
 * Entropy (KL-divergence) calibration as in TensorRT's INT8 calibrator ("8-bit Inference with
 * TensorRT", Migacz 2017), on the streaming histogram (histogram.ts, 2048 bins by default).
 *
 * Symmetric grids (the TensorRT case): the histogram of |x|, L = qmax + 1 quantized levels
 * (128 for int8 weights' [−127, 127]). For every candidate i = L … N (N = bins holding max|x|):
 *   P = bins 0 … i−1, with all the mass beyond (the clipped outliers) added to bin i−1;
 *   Q = bins 0 … i−1 *without* the outliers merged into L levels, bin j into level
 *       floor(j·L/i) (levels of ⌊i/L⌋ or ⌈i/L⌉ bins), each level's mass spread evenly over the
 *       bins where P is nonzero (P = 0 bins get Q = 0);
 *   both normalised; the threshold is the upper edge i/inv of the i that minimizes KL(P‖Q).
 * This is the reference algorithm (TensorRT's description, MXNet's code) with two differences.
 * MXNet merges floor(i/L) bins per level and lumps the whole remainder (up to L − 1 bins) into
 * the last level, which flattens the top of every window a little wider than L bins and
 * distorts the search there; spreading the bins evenly is what L equal levels over the window
 * mean. And there is no ε-smoothing:
 * a candidate where Q puts no mass on a bin that P has (all of the last group empty but
 * outliers beyond) is infinitely divergent and skipped; smoothing would only make it very large.
 * KL is evaluated in O(L) per candidate from prefix sums of n, n·ln n and of nonzero bins:
 *   KL = Σp ln p / T − ln T + ln T_in + Σ_g P_g (ln nz_g − ln M_g) / T
 * (T all values, T_in the unclipped ones, M_g a group's mass without and P_g with the outliers,
 * nz_g its nonzero bins), about 45 ns per level: ~1,900 candidates × 128 levels take ~10 ms
 * for a full 2048-bin channel (measured, Node 20 on the shared 2-core machine), ~20 ms for the
 * asymmetric 4096-bin path × 256 levels. Per-channel KL on a large weight tensor therefore
 * costs ~10 ms per output channel. If N ≤ L there is nothing to search: the grid is finer than the
 * histogram (int16), and the range is ±max|x|.
 *
 * Asymmetric grids (documented choice; TensorRT has no asymmetric mode): the histogram of
 * signed x with 4096 bins by default (the same 16 bins per level at full extent as TensorRT's
 * 2048 for 128; with 2048 the narrowest candidate window would be 1/8 of the extent),
 * L = qmax − qmin + 1 levels (256), windows [a, b) of bins with 0 inside, the outliers
 * of each side added to that side's edge bin. Searching all (a, b) pairs is quadratic, so the
 * windows follow one path: starting from the full extent, repeatedly drop the edge bin of the
 * side whose tail mass (beyond the new edge) is smaller — ties drop the side reaching farther
 * from 0 — until the window has L bins or neither edge can move without excluding 0; every
 * window on the path is a candidate. For one-signed data (ReLU outputs) only one edge moves and
 * this is exactly the symmetric search on [0, max] with 256 levels; for two-sided data it trims
 * the two tails in step, like the percentile method but choosing the depth by KL.
 */
import { DEFAULT_BINS, HistogramObserver, prefixSums, type ChannelHistogram } from './histogram';
import type { ObserverOptions } from './types';

export class KlObserver extends HistogramObserver {
  constructor(options: ObserverOptions) {
    // 16 bins per quantization level over the full extent, as TensorRT's 2048 bins for 128 levels.
    super(options, false, options.grid.symmetric ? DEFAULT_BINS : 2 * DEFAULT_BINS);
  }

  protected choose(h: ChannelHistogram): [number, number] {
    return h.abs ? this.chooseSymmetric(withoutZeros(h)) : this.chooseAsymmetric(withoutZeros(h));
  }

  private chooseSymmetric(h: ChannelHistogram): [number, number] {
    const maxAbs = Math.max(-h.min, h.max);
    const n = h.lastSlot + 1; // base is 0 for |x|
    const levels = this.grid.qmax + 1;
    if (n <= levels) return [-maxAbs, maxAbs];
    const kl = new KlSearch(h.counts, n, levels);
    let best = Infinity;
    let bestI = n;
    for (let i = levels; i <= n; i++) {
      const d = kl.divergence(0, i, 0, h.total - kl.mass[i]);
      if (d < best) {
        best = d;
        bestI = i;
      }
    }
    const t = Math.min(bestI / h.inv, maxAbs);
    return [-t, t];
  }

  private chooseAsymmetric(h: ChannelHistogram): [number, number] {
    const lo = Math.min(h.min, 0);
    const hi = Math.max(h.max, 0);
    const levels = this.grid.qmax - this.grid.qmin + 1;
    const first = h.firstSlot;
    const n = h.lastSlot + 1;
    if (n - first <= levels) return [lo, hi];
    const kl = new KlSearch(h.counts, n, levels);
    const mass = kl.mass;
    const zero = -h.base; // slot of the bin [0, 1/inv)
    let a = first;
    let b = n;
    let best = Infinity;
    let bestA = a;
    let bestB = b;
    for (;;) {
      const d = kl.divergence(a, b, mass[a], h.total - mass[b]);
      if (d < best) {
        best = d;
        bestA = a;
        bestB = b;
      }
      if (b - a <= levels) break;
      // The new left edge (base + a + 1)/inv must stay ≤ 0, the new right edge (base + b − 1)/inv ≥ 0.
      const canLeft = h.base + a + 1 <= 0;
      const canRight = h.base + b - 1 >= 0;
      if (!canLeft && !canRight) break;
      const leftTail = mass[a + 1];
      const rightTail = h.total - mass[b - 1];
      const dropLeft = !canRight || (canLeft && (leftTail < rightTail || (leftTail === rightTail && a - zero <= zero - b)));
      if (dropLeft) a++;
      else b--;
    }
    return [bestA === first ? lo : (h.base + bestA) / h.inv, bestB === n ? hi : (h.base + bestB) / h.inv];
  }
}

/**
 * The histogram without its exact zeros. Every grid holds 0 exactly, so zeros cost nothing
 * whatever the clip; left in, the spike a ReLU puts at 0 (60% of the values of the MNIST demo's
 * first convolution) dominates P, and the search clips the real values to an eighth of their range.
 */
function withoutZeros(h: ChannelHistogram): ChannelHistogram {
  if (h.zeros === 0 || h.zeros >= h.total) return h;
  const counts = h.counts.slice();
  const slot = h.abs ? 0 : -h.base;
  counts[slot] = Math.max(0, counts[slot] - h.zeros);
  return { ...h, counts, total: h.total - h.zeros, zeros: 0 };
}

/** Prefix tables for O(L) divergences of windows of one histogram. */
class KlSearch {
  readonly mass: Float64Array;
  private readonly counts: Float64Array;
  private readonly nLogN: Float64Array;
  private readonly nonzero: Float64Array;
  private readonly logInt: Float64Array;
  private readonly levels: number;

  constructor(counts: Float64Array, n: number, levels: number) {
    this.counts = counts;
    this.levels = levels;
    this.mass = prefixSums(counts, n);
    const nLogN = new Float64Array(n + 1);
    const nonzero = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      const c = counts[j];
      nLogN[j + 1] = nLogN[j] + xLogX(c);
      nonzero[j + 1] = nonzero[j] + (c > 0 ? 1 : 0);
    }
    this.nLogN = nLogN;
    this.nonzero = nonzero;
    this.logInt = new Float64Array(n + 1);
    for (let k = 1; k <= n; k++) this.logInt[k] = Math.log(k);
  }

  /**
   * KL(P‖Q) for the window of slots [a, b) with `left`/`right` outlier counts added to its edge
   * bins (P), quantized into `levels` groups (Q, from the window without outliers).
   */
  divergence(a: number, b: number, left: number, right: number): number {
    const { counts, mass, nonzero, logInt } = this;
    const levels = this.levels;
    const total = mass[b] - mass[a] + left + right;
    const inside = mass[b] - mass[a];
    if (!(inside > 0)) return Infinity;
    const first = counts[a];
    const last = counts[b - 1];
    let pLogP = this.nLogN[b] - this.nLogN[a];
    if (left > 0) pLogP += xLogX(first + left) - xLogX(first);
    if (right > 0) pLogP += xLogX(last + right) - xLogX(last);
    const n = b - a;
    let cross = 0; // Σ_g P_g (ln nz_g − ln M_g)
    // Bin a + j is in level floor(j·L/n): level g holds j ∈ [ceil(g·n/L), ceil((g+1)·n/L)).
    let e = a;
    for (let g = 0; g < levels; g++) {
      const s = e;
      e = a + Math.floor(((g + 1) * n + levels - 1) / levels);
      const m = mass[e] - mass[s];
      let p = m;
      let nz = nonzero[e] - nonzero[s];
      if (g === 0 && left > 0) {
        p += left;
        if (first === 0) nz++;
      }
      if (g === levels - 1 && right > 0) {
        p += right;
        if (last === 0) nz++;
      }
      if (p === 0) continue;
      if (m === 0) return Infinity;
      cross += p * (logInt[nz] - Math.log(m));
    }
    return pLogP / total - Math.log(total) + Math.log(inside) + cross / total;
  }
}

function xLogX(x: number): number {
  return x > 0 ? x * Math.log(x) : 0;
}
