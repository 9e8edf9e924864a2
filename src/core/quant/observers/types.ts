/**
 * The observer contract shared by every calibration method (re-exported from ./index).
 *
 * Ranges returned by range() are already in the shape the grid will quantize: they contain 0
 * (TFLite requires 0 to be exactly representable), and on symmetric grids min = −max. So
 * chooseParams(range) never has to widen them, and what an observer reports is what is used.
 */
import type { IntegerGrid } from '../params';

export type CalibrationMethod =
  | { kind: 'minmax' }
  | { kind: 'ema'; decay: number }
  | { kind: 'percentile'; percentile: number }
  | { kind: 'kl' }
  | { kind: 'mse' };

export interface ObserverOptions {
  grid: IntegerGrid;
  /** per-channel along this axis of the observed shape (negative counts from the end) */
  axis?: number;
  /**
   * Histogram observers (percentile, kl, mse): bins per channel, default 2048. After a later
   * batch widens the range the bin width doubles (pairs merge exactly), so a histogram always
   * keeps between bins/2 and bins bins across the observed extent.
   */
  bins?: number;
}

export interface Observer {
  /** Feed one tensor value (a calibration sample's activation, or the whole weight tensor). NaN/Inf → throws a RangeError naming the count of bad values (callers add the tensor name). */
  observe(data: Float32Array | Float64Array, shape: readonly number[]): void;
  /** Number of observe() calls. */
  readonly count: number;
  /** The chosen float range(s): one per channel when axis was given, else length 1. Throws if nothing was observed. */
  range(): { min: number[]; max: number[] };
}

export type FloatArray = Float32Array | Float64Array;
