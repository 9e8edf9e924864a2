/**
 * Calibration observers for post-training quantization: they watch float tensors (activations
 * sample by sample, or a weight tensor once) and choose the float range each is quantized over.
 *
 *   minmax      every value fits (minmax.ts)
 *   ema         moving average of per-call ranges, TF's MovingAvgQuantize (ema.ts)
 *   percentile  clip the tails at a percentile, from a streaming histogram (percentile.ts)
 *   kl          TensorRT's entropy calibration: the clip minimizing KL(P‖Q) (kl.ts)
 *   mse         the clip minimizing expected rounding + clipping squared error (mse.ts)
 *
 * Every observer works per tensor or per channel (options.axis) and on symmetric or asymmetric
 * grids (params.ts); range() returns ranges that contain 0 and are symmetric on symmetric grids.
 */
import { UserError } from '../../errors';
import { chooseParams, type IntegerGrid } from '../params';
import { DEFAULT_EMA_DECAY, EmaObserver } from './ema';
import { KlObserver } from './kl';
import { MinMaxObserver } from './minmax';
import { MseObserver } from './mse';
import { PercentileObserver } from './percentile';
import type { CalibrationMethod, Observer, ObserverOptions } from './types';

export type { CalibrationMethod, Observer, ObserverOptions } from './types';
export { MinMaxObserver } from './minmax';
export { EmaObserver, DEFAULT_EMA_DECAY } from './ema';
export { PercentileObserver } from './percentile';
export { KlObserver } from './kl';
export { MseObserver } from './mse';
export { DEFAULT_BINS } from './histogram';

export const DEFAULT_PERCENTILE = 99.99;

const ACCEPTED =
  `minmax, ema (decay ${DEFAULT_EMA_DECAY}), ema:DECAY with 0 < DECAY < 1 (e.g. ema:0.99), ` +
  `percentile (${DEFAULT_PERCENTILE}), percentile:P with 50 < P ≤ 100 (e.g. percentile:99.99), kl or mse`;

/** A plain decimal number (no hex, no Infinity, no trailing junk, which Number() would accept). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** 'minmax' | 'ema' | 'ema:0.99' | 'percentile:99.99' | 'kl' | 'mse' → method; UserError('bad-input', sentence naming the string and the accepted forms) otherwise. */
export function parseCalibration(text: string): CalibrationMethod {
  const bad = (why = '') => new UserError('bad-input', `Unknown calibration method '${text}'${why}; use ${ACCEPTED}.`);
  const s = text.trim().toLowerCase();
  const colon = s.indexOf(':');
  const name = colon < 0 ? s : s.slice(0, colon);
  const arg = colon < 0 ? undefined : s.slice(colon + 1).trim();
  const number = (): number => {
    if (arg === undefined || !DECIMAL.test(arg)) throw bad(arg === undefined || arg === '' ? ' (a number is missing after the colon)' : ` ('${arg}' is not a number)`);
    return Number(arg);
  };
  switch (name) {
    case 'minmax':
    case 'kl':
    case 'mse':
      if (arg !== undefined) throw bad(` ('${name}' takes no parameter)`);
      return { kind: name };
    case 'ema': {
      const decay = arg === undefined ? DEFAULT_EMA_DECAY : number();
      if (!(decay > 0 && decay < 1)) throw bad(` (the decay ${decay} is not between 0 and 1)`);
      return { kind: 'ema', decay };
    }
    case 'percentile': {
      const percentile = arg === undefined ? DEFAULT_PERCENTILE : number();
      if (!(percentile > 50 && percentile <= 100)) throw bad(` (the percentile ${percentile} is not in (50, 100])`);
      return { kind: 'percentile', percentile };
    }
    default:
      throw bad();
  }
}

/** The inverse of parseCalibration, always with the parameter spelled out ('ema:0.999'), so a stored string keeps its meaning if a default changes. */
export function formatCalibration(m: CalibrationMethod): string {
  switch (m.kind) {
    case 'ema':
      return `ema:${m.decay}`;
    case 'percentile':
      return `percentile:${m.percentile}`;
    default:
      return m.kind;
  }
}

export function createObserver(method: CalibrationMethod, options: ObserverOptions): Observer {
  switch (method.kind) {
    case 'minmax':
      return new MinMaxObserver(options);
    case 'ema':
      return new EmaObserver(options, method.decay);
    case 'percentile':
      return new PercentileObserver(options, method.percentile);
    case 'kl':
      return new KlObserver(options);
    case 'mse':
      return new MseObserver(options);
  }
}

/** Each channel's range through chooseParams (params.ts): TFLite scale and zero point per channel. */
export function rangeToParams(range: { min: readonly number[]; max: readonly number[] }, grid: IntegerGrid): { scale: number[]; zeroPoint: number[] } {
  if (range.min.length !== range.max.length) {
    throw new RangeError(`A range has ${range.min.length} minimums but ${range.max.length} maximums.`);
  }
  const scale: number[] = [];
  const zeroPoint: number[] = [];
  for (let c = 0; c < range.min.length; c++) {
    const p = chooseParams({ min: range.min[c], max: range.max[c] }, grid);
    scale.push(p.scale);
    zeroPoint.push(p.zeroPoint);
  }
  return { scale, zeroPoint };
}
