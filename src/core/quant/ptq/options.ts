/**
 * What a post-training quantization run is asked to do, and the defaults a user gets when they
 * say nothing. Every field is saved with the result, so a run can be repeated exactly.
 */
import { UserError } from '../../errors';
import type { CalibrationMethod } from '../observers';

/**
 * - `int8`: int8 activations (asymmetric) × int8 weights (symmetric), int32 biases;
 * - `int16x8`: int16 activations (symmetric) × int8 weights, int64 biases, for the ops the
 *   runtime has 16×8 kernels for (the others stay float, with QUANTIZE/DEQUANTIZE around them);
 * - `fp16`: float16 weights dequantized at load time, float activations;
 * - `dynamic`: int8 weights dequantized at load time (weight compression), float activations.
 */
export type Recipe = 'int8' | 'int16x8' | 'fp16' | 'dynamic';
export const RECIPES: readonly Recipe[] = ['int8', 'int16x8', 'fp16', 'dynamic'];

export interface PtqOptions {
  recipe: Recipe;
  /** Model inputs/outputs stay float (QUANTIZE/DEQUANTIZE inside the model) or are integer. */
  io: 'float' | 'int8';
  /** Per-output-channel weight scales (default) or one scale per weight tensor. */
  perChannel: boolean;
  /** How activation ranges are chosen from the calibration samples. */
  calibration: CalibrationMethod;
  /** Calibration samples used (at most the dataset's count). */
  samples: number;
  /** Ops kept float, by op name, output tensor name or op type (e.g. 'SOFTMAX'). */
  keepFloat: string[];
  /** Fold MUL/ADD batch-norm steps into the preceding convolution / dense layer (default true). */
  foldBatchNorm: boolean;
  /** Cross-layer equalization of conv→(relu)→conv chains (default on: it narrows activation ranges too). */
  equalize: boolean;
  /**
   * Bias correction of CONV/DEPTHWISE/FULLY_CONNECTED outputs: 'analytic' (default: the weight
   * rounding error times the input means, one float pass), 'empirical' (float vs integer output
   * means, layer by layer: one run of the integer model per layer and sample), or 'none'.
   */
  biasCorrection: 'analytic' | 'empirical' | 'none';
  /** Calibration samples used by bias correction (default min(samples, 64)). */
  biasCorrectionSamples: number;
}

export function defaultPtqOptions(overrides: Partial<PtqOptions> = {}): PtqOptions {
  const perChannel = overrides.perChannel ?? true;
  const samples = overrides.samples ?? 500;
  return {
    recipe: 'int8',
    io: 'float',
    perChannel,
    calibration: { kind: 'minmax' },
    samples,
    keepFloat: [],
    foldBatchNorm: true,
    equalize: true,
    biasCorrection: 'analytic',
    biasCorrectionSamples: Math.min(samples, 64),
    ...overrides,
  };
}

export function parseRecipe(text: string): Recipe {
  if ((RECIPES as readonly string[]).includes(text)) return text as Recipe;
  throw new UserError('bad-input', `Recipe '${text}' is not known; use one of ${RECIPES.join(', ')}.`);
}
