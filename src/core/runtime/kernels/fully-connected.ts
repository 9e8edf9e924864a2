/**
 * FULLY_CONNECTED. Weights [outD, inD]; the input is read as [B, inD] with B = numel / inD.
 *
 *   out[b, o] = act(bias[o] + Σ_i in[b, i] · w[o, i])
 *
 * Output shape: [B, outD], or with keep_num_dims the input's shape with its last dimension
 * replaced by outD.
 */
import { UnsupportedError } from '../../errors';
import type { ActivationRange } from '../activation';
import { activationRange, clampRange } from '../activation';
import { defineKernel } from '../kernel';
import { allFloat32, biasAsFloat64, f32, requireInput, requireRank } from '../kernel-util';
import { numElements, shapeToString } from '../tensor-utils';

export interface FullyConnectedFloatState {
  batches: number;
  inD: number;
  outD: number;
  weights: Float64Array;
  bias: Float64Array;
  /** Weights / bias computed at run time: copied on every run. */
  dynamicWeights: boolean;
  dynamicBias: boolean;
  range: ActivationRange;
}

export const fullyConnectedFloat32 = defineKernel<'FULLY_CONNECTED', FullyConnectedFloatState>({
  opType: 'FULLY_CONNECTED',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const weights = requireInput(label, inputs, 1, 'weights');
    const bias = inputs[2] ?? null;
    requireRank(label, weights, 2, 'weights tensor');
    const [outD, inD] = weights.shape;
    const total = numElements(input.shape);
    if (input.shape.length === 0 || total % inD !== 0) {
      throw new UnsupportedError(`${label} cannot read input ${shapeToString(input.shape)} as rows of ${inD} for weights ${shapeToString(weights.shape)}.`);
    }
    if (op.options.keepNumDims && input.shape[input.shape.length - 1] !== inD) {
      throw new UnsupportedError(`${label} keeps the input's dimensions, but the input's last dimension (${shapeToString(input.shape)}) is not ${inD}.`);
    }
    if (bias && numElements(bias.shape) !== outD) {
      throw new UnsupportedError(`${label} has bias ${shapeToString(bias.shape)} for ${outD} outputs.`);
    }
    const batches = total / inD;
    const outShape = op.options.keepNumDims ? [...input.shape.slice(0, -1), outD] : [batches, outD];
    return {
      outputShapes: [outShape],
      state: {
        batches,
        inD,
        outD,
        weights: weights.data ? Float64Array.from(f32(weights.data)) : new Float64Array(outD * inD),
        bias: biasAsFloat64(bias?.data, outD),
        dynamicWeights: !weights.data,
        dynamicBias: bias !== null && !bias.data,
        range: activationRange(op.options.fusedActivationFunction, label),
      },
    };
  },
  run({ inputs, outputs }, s) {
    if (s.dynamicWeights) s.weights.set(f32(inputs[1]!.data));
    if (s.dynamicBias) s.bias.set(f32(inputs[2]!.data));
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    const { batches, inD, outD, weights: w, bias } = s;
    for (let b = 0; b < batches; b++) {
      const xOff = b * inD;
      const yOff = b * outD;
      for (let o = 0; o < outD; o++) {
        const wOff = o * inD;
        let acc = bias[o];
        for (let i = 0; i < inD; i++) acc += x[xOff + i] * w[wOff + i];
        y[yOff + o] = acc;
      }
    }
    clampRange(y, 0, y.length, s.range);
  },
});
