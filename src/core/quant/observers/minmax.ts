/**
 * Min/max calibration: the range is the smallest interval holding every value ever observed
 * (widened to contain 0; ±max|x| on symmetric grids). Exact, O(n) per observe, no clipping:
 * right for weights and for activations without outliers, hurt by a single outlier.
 */
import type { IntegerGrid } from '../params';
import { channelLayout, gridRange, nothingObserved, scanMinMax } from './layout';
import type { FloatArray, Observer, ObserverOptions } from './types';

export class MinMaxObserver implements Observer {
  private readonly grid: IntegerGrid;
  private readonly axis: number | undefined;
  private channels: number | undefined;
  private min = new Float64Array(0);
  private max = new Float64Array(0);
  private batchMin = new Float64Array(0);
  private batchMax = new Float64Array(0);
  private calls = 0;

  constructor(options: ObserverOptions) {
    this.grid = options.grid;
    this.axis = options.axis;
  }

  get count(): number {
    return this.calls;
  }

  observe(data: FloatArray, shape: readonly number[]): void {
    const layout = channelLayout(data, shape, this.axis, this.channels);
    if (this.channels === undefined) {
      const c = layout.channels;
      this.channels = c;
      this.min = new Float64Array(c).fill(Infinity);
      this.max = new Float64Array(c).fill(-Infinity);
      this.batchMin = new Float64Array(c);
      this.batchMax = new Float64Array(c);
    }
    scanMinMax(data, layout, this.batchMin, this.batchMax);
    for (let c = 0; c < layout.channels; c++) {
      if (this.batchMin[c] < this.min[c]) this.min[c] = this.batchMin[c];
      if (this.batchMax[c] > this.max[c]) this.max[c] = this.batchMax[c];
    }
    this.calls++;
  }

  range(): { min: number[]; max: number[] } {
    const n = this.channels ?? 0;
    if (n === 0 || !(this.min[0] <= this.max[0])) throw nothingObserved(this.calls);
    const min: number[] = [];
    const max: number[] = [];
    for (let c = 0; c < n; c++) {
      const [lo, hi] = gridRange(this.min[c], this.max[c], this.grid.symmetric);
      min.push(lo);
      max.push(hi);
    }
    return { min, max };
  }
}
