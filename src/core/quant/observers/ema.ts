/**
 * Moving-average min/max, as TensorFlow's MovingAvgQuantize collects activation ranges: each
 * observe() call is one step. The call's own range (per channel when an axis is given) is first
 * put in the grid's shape — widened to contain 0 on asymmetric grids, ±max|x| on symmetric
 * ones — and then
 *
 *   min ← decay·min + (1 − decay)·batchMin,   max ← decay·max + (1 − decay)·batchMax
 *
 * except that the first call (with any values) initialises min and max to its range instead of
 * averaging against a made-up starting value. Empty tensors count as calls but change nothing.
 */
import type { IntegerGrid } from '../params';
import { channelLayout, gridRange, nothingObserved, scanMinMax } from './layout';
import type { FloatArray, Observer, ObserverOptions } from './types';

export const DEFAULT_EMA_DECAY = 0.999;

export class EmaObserver implements Observer {
  private readonly grid: IntegerGrid;
  private readonly axis: number | undefined;
  private readonly decay: number;
  private channels: number | undefined;
  private initialised = false;
  private min = new Float64Array(0);
  private max = new Float64Array(0);
  private batchMin = new Float64Array(0);
  private batchMax = new Float64Array(0);
  private calls = 0;

  constructor(options: ObserverOptions, decay: number = DEFAULT_EMA_DECAY) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`The moving-average decay ${decay} must lie strictly between 0 and 1.`);
    this.grid = options.grid;
    this.axis = options.axis;
    this.decay = decay;
  }

  get count(): number {
    return this.calls;
  }

  observe(data: FloatArray, shape: readonly number[]): void {
    const layout = channelLayout(data, shape, this.axis, this.channels);
    if (this.channels === undefined) {
      const c = layout.channels;
      this.channels = c;
      this.min = new Float64Array(c);
      this.max = new Float64Array(c);
      this.batchMin = new Float64Array(c);
      this.batchMax = new Float64Array(c);
    }
    scanMinMax(data, layout, this.batchMin, this.batchMax);
    this.calls++;
    if (layout.outer * layout.inner === 0) return;
    const d = this.decay;
    for (let c = 0; c < layout.channels; c++) {
      const [lo, hi] = gridRange(this.batchMin[c], this.batchMax[c], this.grid.symmetric);
      if (this.initialised) {
        this.min[c] = d * this.min[c] + (1 - d) * lo;
        this.max[c] = d * this.max[c] + (1 - d) * hi;
      } else {
        this.min[c] = lo;
        this.max[c] = hi;
      }
    }
    this.initialised = true;
  }

  range(): { min: number[]; max: number[] } {
    if (!this.initialised) throw nothingObserved(this.calls);
    return { min: Array.from(this.min), max: Array.from(this.max) };
  }
}
