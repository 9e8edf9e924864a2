/**
 * DEPTHWISE_CONV_2D. Input NHWC [N, H, W, inC], filter [1, kH, kW, inC·M], bias [inC·M].
 * Output channel oc = ic·M + m reads only input channel ic:
 *
 *   out[n, oy, ox, oc] = act(bias[oc] + Σ_{ky,kx} in[n, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, oc / M] · w[0, ky, kx, oc])
 */
import { UnsupportedError } from '../../errors';
import type { ActivationRange } from '../activation';
import { activationRange } from '../activation';
import { defineKernel } from '../kernel';
import { allFloat32, biasAsFloat64, f32, requireInput, requireRank } from '../kernel-util';
import { convOutputSize, paddingBefore } from '../padding';
import { shapeToString } from '../tensor-utils';

export interface DepthwiseConv2dFloatState {
  batches: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  multiplier: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  weights: Float64Array;
  bias: Float64Array;
  /** Filter / bias computed at run time: copied on every run. */
  dynamicWeights: boolean;
  dynamicBias: boolean;
  acc: Float64Array;
  range: ActivationRange;
}

export const depthwiseConv2dFloat32 = defineKernel<'DEPTHWISE_CONV_2D', DepthwiseConv2dFloatState>({
  opType: 'DEPTHWISE_CONV_2D',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const filter = requireInput(label, inputs, 1, 'filter');
    const bias = inputs[2] ?? null;
    requireRank(label, input, 4, 'input');
    requireRank(label, filter, 4, 'filter');
    const [batches, inH, inW, inC] = input.shape;
    const [one, kH, kW, outC] = filter.shape;
    const o = op.options;
    // TFLite derives the multiplier from the shapes; the option is informative (and sometimes 0).
    if (one !== 1 || outC % inC !== 0) {
      throw new UnsupportedError(
        `${label} has filter ${shapeToString(filter.shape)} for input ${shapeToString(input.shape)}; expected [1, kH, kW, ${inC}·M].`,
      );
    }
    const multiplier = outC / inC;
    if (o.depthMultiplier > 0 && o.depthMultiplier !== multiplier) {
      throw new UnsupportedError(
        `${label} declares depth multiplier ${o.depthMultiplier}, but its filter ${shapeToString(filter.shape)} and input ${shapeToString(input.shape)} imply ${multiplier}.`,
      );
    }
    const outH = convOutputSize(o.padding, inH, kH, o.strideH, o.dilationHFactor);
    const outW = convOutputSize(o.padding, inW, kW, o.strideW, o.dilationWFactor);
    if (outH <= 0 || outW <= 0) {
      throw new UnsupportedError(`${label} produces an empty output from input ${shapeToString(input.shape)} with a ${kH}×${kW} filter.`);
    }
    return {
      outputShapes: [[batches, outH, outW, outC]],
      state: {
        batches, inH, inW, inC, outH, outW, outC, multiplier, kH, kW,
        strideH: o.strideH,
        strideW: o.strideW,
        dilationH: o.dilationHFactor,
        dilationW: o.dilationWFactor,
        padTop: paddingBefore(inH, kH, o.strideH, o.dilationHFactor, outH),
        padLeft: paddingBefore(inW, kW, o.strideW, o.dilationWFactor, outW),
        weights: filter.data ? Float64Array.from(f32(filter.data)) : new Float64Array(kH * kW * outC),
        bias: biasAsFloat64(bias?.data, outC),
        dynamicWeights: !filter.data,
        dynamicBias: bias !== null && !bias.data,
        acc: new Float64Array(outC),
        range: activationRange(o.fusedActivationFunction, label),
      },
    };
  },
  run({ inputs, outputs }, s) {
    if (s.dynamicWeights) s.weights.set(f32(inputs[1]!.data));
    if (s.dynamicBias) s.bias.set(f32(inputs[2]!.data));
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    const { batches, inH, inW, inC, outH, outW, outC, multiplier, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = s;
    const w = s.weights;
    const acc = s.acc;
    const bias = s.bias;
    const lo = s.range.min;
    const hi = s.range.max;
    let yOff = 0;
    for (let n = 0; n < batches; n++) {
      const xBatch = n * inH * inW * inC;
      for (let oy = 0; oy < outH; oy++) {
        const iy0 = oy * strideH - padTop;
        for (let ox = 0; ox < outW; ox++) {
          const ix0 = ox * strideW - padLeft;
          for (let oc = 0; oc < outC; oc++) acc[oc] = bias[oc];
          for (let ky = 0; ky < kH; ky++) {
            const iy = iy0 + ky * dilationH;
            if (iy < 0 || iy >= inH) continue;
            const xRow = xBatch + iy * inW * inC;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ix0 + kx * dilationW;
              if (ix < 0 || ix >= inW) continue;
              const xBase = xRow + ix * inC;
              const wBase = (ky * kW + kx) * outC;
              if (multiplier === 1) {
                for (let c = 0; c < outC; c++) acc[c] += x[xBase + c] * w[wBase + c];
              } else {
                let oc = 0;
                for (let ic = 0; ic < inC; ic++) {
                  const v = x[xBase + ic];
                  for (let m = 0; m < multiplier; m++, oc++) acc[oc] += v * w[wBase + oc];
                }
              }
            }
          }
          for (let oc = 0; oc < outC; oc++) {
            const v = acc[oc];
            y[yOff++] = v < lo ? lo : v > hi ? hi : v;
          }
        }
      }
    }
  },
});
