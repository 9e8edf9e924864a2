/**
 * QUANTIZE float32 → int8 / uint8 / int16, as TFLite's reference AffineQuantize:
 *   q = clamp(round_half_away_from_zero(x / S) + Z, qmin, qmax)
 * with x / S divided in float32 (S is the float32 scale). Per tensor or per axis.
 * (Requantizing an integer input is the integer kernels' job.)
 */
import { ModelFormatError } from '../../errors';
import type { DType } from '../../ir/types';
import { defineKernel } from '../kernel';
import { f32, requireInput } from '../kernel-util';
import { normaliseAxis, stridesOf } from '../tensor-utils';

export interface QuantizeState {
  scales: Float64Array;
  zeroPoints: Float64Array;
  innerSize: number;
  axisSize: number;
  qmin: number;
  qmax: number;
}

const RANGES: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
};

export const quantizeFloat32 = defineKernel<'QUANTIZE', QuantizeState>({
  opType: 'QUANTIZE',
  flavour: 'float32',
  accepts: (sig) => sig.inputs[0] === 'float32' && sig.outputs.length === 1 && RANGES[sig.outputs[0]] !== undefined,
  prepare({ label, inputs, outputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const out = outputs[0];
    const q = out.quant;
    if (!q || q.scale.length === 0) {
      throw new ModelFormatError(`${label} quantizes into '${out.name}' (${out.dtype}), which has no quantization parameters.`);
    }
    const shape = [...input.shape];
    let axisSize = 1;
    let innerSize = 1;
    if (q.scale.length > 1) {
      const axis = normaliseAxis(q.axis ?? 0, shape.length);
      if (axis < 0 || shape[axis] !== q.scale.length) {
        throw new ModelFormatError(
          `${label} quantizes into '${out.name}' with ${q.scale.length} scales along axis ${q.axis ?? 0}, which does not match shape [${shape.join(', ')}].`,
        );
      }
      axisSize = shape[axis];
      innerSize = stridesOf(shape)[axis];
    }
    const [qmin, qmax] = RANGES[out.dtype]!;
    return {
      outputShapes: [shape],
      state: {
        scales: Float64Array.from(q.scale.map((s) => Math.fround(s))),
        zeroPoints: Float64Array.from(q.scale.map((_, i) => q.zeroPoint[i] ?? q.zeroPoint[0] ?? 0)),
        innerSize,
        axisSize,
        qmin,
        qmax,
      },
    };
  },
  run({ inputs, outputs }, { scales, zeroPoints, innerSize, axisSize, qmin, qmax }) {
    const x = f32(inputs[0]!.data);
    const y = outputs[0].data as Int8Array;
    const fround = Math.fround;
    for (let i = 0; i < x.length; i++) {
      const c = axisSize === 1 ? 0 : Math.floor(i / innerSize) % axisSize;
      const r = fround(x[i] / scales[c]);
      // round half away from zero (TfLiteRound = std::round)
      const rounded = r < 0 ? -Math.round(-r) : Math.round(r);
      const v = rounded + zeroPoints[c];
      y[i] = v < qmin ? qmin : v > qmax ? qmax : v;
    }
  },
});
