/**
 * QUANTIZE float32 → int8 / uint8 / int16. Per tensor or per axis.
 *
 * TFLite's reference and builtin kernels (rounding 'double-rounding' / 'single-rounding'):
 *   q = clamp(round_half_away_from_zero(x / S) + Z, qmin, qmax), x / S divided in float32.
 * XNNPACK (rounding 'xnnpack'; TFLite hands it float → int8/uint8 QUANTIZE ops):
 *   q = clamp(round_half_to_even(x · fl(1 / S)) + Z, qmin, qmax), the product in float32.
 * They differ on ties (x / S = k + ½) and, rarely, where x · fl(1/S) and x / S round apart.
 * (Requantizing an integer input is the integer kernels' job.)
 */
import { ModelFormatError } from '../../errors';
import type { DType } from '../../ir/types';
import { defineKernel } from '../kernel';
import { f32, requireInput } from '../kernel-util';
import { normaliseAxis, stridesOf } from '../tensor-utils';

export interface QuantizeState {
  scales: Float64Array;
  /** fl(1 / S): the float32 reciprocal XNNPACK multiplies by. */
  inverseScales: Float64Array;
  zeroPoints: Float64Array;
  innerSize: number;
  axisSize: number;
  qmin: number;
  qmax: number;
  /** XNNPACK behaviour: multiply by the float32 reciprocal, round half to even. */
  xnnpack: boolean;
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
  prepare({ label, inputs, outputs, rounding }) {
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
        inverseScales: Float64Array.from(q.scale.map((s) => Math.fround(1 / Math.fround(s)))),
        zeroPoints: Float64Array.from(q.scale.map((_, i) => q.zeroPoint[i] ?? q.zeroPoint[0] ?? 0)),
        innerSize,
        axisSize,
        qmin,
        qmax,
        xnnpack: rounding === 'xnnpack',
      },
    };
  },
  run({ inputs, outputs }, { scales, inverseScales, zeroPoints, innerSize, axisSize, qmin, qmax, xnnpack }) {
    const x = f32(inputs[0]!.data);
    const y = outputs[0].data as Int8Array;
    const fround = Math.fround;
    for (let i = 0; i < x.length; i++) {
      const c = axisSize === 1 ? 0 : Math.floor(i / innerSize) % axisSize;
      let rounded: number;
      if (xnnpack) {
        rounded = roundHalfEven(fround(x[i] * inverseScales[c]));
      } else {
        const r = fround(x[i] / scales[c]);
        rounded = r < 0 ? -Math.round(-r) : Math.round(r); // TfLiteRound = std::round
      }
      const v = rounded + zeroPoints[c];
      y[i] = v < qmin ? qmin : v > qmax ? qmax : v;
    }
  },
});

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
