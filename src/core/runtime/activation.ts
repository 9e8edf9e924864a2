/**
 * Fused activations of float kernels, as clamp bounds applied to the float32 result.
 * TFLite's float kernels support NONE, RELU, RELU_N1_TO_1 and RELU6 fused; TANH and SIGN_BIT
 * exist in the schema but no builtin float kernel accepts them.
 */
import { UnsupportedError } from '../errors';
import type { FusedActivation } from '../ir/types';

export interface ActivationRange {
  min: number;
  max: number;
}

export function activationRange(act: FusedActivation, label: string): ActivationRange {
  switch (act) {
    case 'NONE':
      return { min: -Infinity, max: Infinity };
    case 'RELU':
      return { min: 0, max: Infinity };
    case 'RELU_N1_TO_1':
      return { min: -1, max: 1 };
    case 'RELU6':
      return { min: 0, max: 6 };
    default:
      throw new UnsupportedError(
        `${label} has fused activation '${act}', which the QuantLab runtime does not implement (TFLite's float kernels accept NONE, RELU, RELU_N1_TO_1 and RELU6).`,
      );
  }
}

/**
 * Clamps `out[start .. start+length)` in place. Written without data-dependent branches
 * (a mispredicted branch per element costs more than the arithmetic): RELU as (v + |v|) / 2,
 * which is exact, and other ranges with Math.min/Math.max.
 */
export function clampRange(out: Float32Array, start: number, length: number, range: ActivationRange): void {
  const lo = +range.min;
  const hi = +range.max;
  const end = start + length;
  if (lo === -Infinity && hi === Infinity) return;
  if (lo === 0 && hi === Infinity) {
    for (let i = start; i < end; i++) {
      const v = out[i];
      out[i] = (v + Math.abs(v)) * 0.5;
    }
    return;
  }
  for (let i = start; i < end; i++) out[i] = Math.min(Math.max(out[i], lo), hi);
}
