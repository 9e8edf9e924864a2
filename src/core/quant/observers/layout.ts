/**
 * What every observer does first with a tensor: check its shape, split it into channels along
 * the axis, and find each channel's min and max in one pass that also counts NaN/±Infinity.
 *
 * A tensor of shape [d0 … d(r−1)] observed per channel along `axis` is walked as
 * outer × channels × inner, element (o, c, i) at ((o·channels + c)·inner + i), with
 * channels = d(axis), outer = Π d(<axis), inner = Π d(>axis). Per tensor is the same walk with
 * outer = 1, channels = 1, inner = length.
 */
import { UserError } from '../../errors';
import type { FloatArray } from './types';

export interface ChannelLayout {
  outer: number;
  channels: number;
  inner: number;
}

/**
 * Checks data against shape (and the channel count fixed by earlier calls, if any) and returns
 * the channel walk. Throws a RangeError with a sentence naming the bad value.
 */
export function channelLayout(data: FloatArray, shape: readonly number[], axis: number | undefined, channels: number | undefined): ChannelLayout {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`The shape [${shape.join(', ')}] has the dimension ${d}; dimensions must be non-negative integers.`);
    size *= d;
  }
  if (size !== data.length) {
    throw new RangeError(`The shape [${shape.join(', ')}] holds ${size} values but ${data.length} were given.`);
  }
  if (axis === undefined) return { outer: 1, channels: 1, inner: size };
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(`Channel axis ${axis} does not exist in the shape [${shape.join(', ')}] (rank ${rank}).`);
  }
  const a = axis < 0 ? axis + rank : axis;
  const c = shape[a];
  if (channels !== undefined && c !== channels) {
    throw new RangeError(`The shape [${shape.join(', ')}] has ${c} channels along axis ${axis}, but earlier observations had ${channels}.`);
  }
  let outer = 1;
  for (let i = 0; i < a; i++) outer *= shape[i];
  let inner = 1;
  for (let i = a + 1; i < rank; i++) inner *= shape[i];
  return { outer, channels: c, inner };
}

/**
 * Per-channel min and max of one tensor into batchMin/batchMax (reset here to +∞/−∞; a
 * channel with no values keeps them). Throws a RangeError naming the count of NaN/±∞ values
 * before anything else is touched, so a failed observe() leaves the observer unchanged.
 */
export function scanMinMax(data: FloatArray, layout: ChannelLayout, batchMin: Float64Array, batchMax: Float64Array): void {
  const { outer, channels, inner } = layout;
  batchMin.fill(Infinity, 0, channels);
  batchMax.fill(-Infinity, 0, channels);
  let bad = 0;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let mn = batchMin[c];
      let mx = batchMax[c];
      const end = i + inner;
      for (; i < end; i++) {
        const x = data[i];
        if (x < mn) mn = x;
        if (x > mx) mx = x;
        // x − x is NaN for NaN and ±Infinity, 0 otherwise.
        if (x - x !== 0) bad++;
      }
      batchMin[c] = mn;
      batchMax[c] = mx;
    }
  }
  if (bad > 0) throw nonFiniteError(data, bad);
}

function nonFiniteError(data: FloatArray, bad: number): RangeError {
  let nan = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x !== 0) {
      if (first < 0) first = i;
      if (Number.isNaN(x)) nan++;
    }
  }
  const inf = bad - nan;
  const kinds = [nan > 0 ? `${nan} NaN` : '', inf > 0 ? `${inf} infinite` : ''].filter(Boolean).join(', ');
  return new RangeError(
    `${bad} of ${data.length} values are not finite (${kinds}; the first at flat index ${first}: ${data[first]}); calibration needs finite values.`,
  );
}

/** The error range() throws before any value was seen. */
export function nothingObserved(count: number): UserError {
  return new UserError(
    'bad-input',
    count === 0
      ? 'No calibration data was observed, so there is no range to choose: the calibration set is empty.'
      : `The ${count} observed tensors were all empty, so there is no range to choose.`,
  );
}

/** [lo, hi] widened to contain 0, and made symmetric (−m, m) on symmetric grids. */
export function gridRange(lo: number, hi: number, symmetric: boolean): [number, number] {
  if (symmetric) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return [m === 0 ? 0 : -m, m];
  }
  // `|| 0` turns −0 into 0.
  return [Math.min(lo, 0) || 0, Math.max(hi, 0) || 0];
}
