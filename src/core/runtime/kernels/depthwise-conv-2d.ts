/**
 * DEPTHWISE_CONV_2D. Input NHWC [N, H, W, inC], filter [1, kH, kW, inC·M], bias [inC·M].
 * Output channel oc = ic·M + m reads only input channel ic:
 *
 *   out[n, oy, ox, oc] = act(bias[oc] + Σ_{ky,kx} in[n, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, oc / M] · w[0, ky, kx, oc])
 */
import { UnsupportedError } from '../../errors';
import type { ActivationRange } from '../activation';
import { activationRange, clampRange } from '../activation';
import { defineKernel } from '../kernel';
import { allFloat32, biasAsFloat64, f32, requireInput, requireRank } from '../kernel-util';
import { convOutputSize, paddingBefore, tapEnd, tapStart } from '../padding';
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
        range: activationRange(o.fusedActivationFunction, label),
      },
    };
  },
  run({ inputs, outputs }, s) {
    if (s.dynamicWeights) s.weights.set(f32(inputs[1]!.data));
    if (s.dynamicBias) s.bias.set(f32(inputs[2]!.data));
    const y = f32(outputs[0].data);
    if (s.multiplier === 1) depthwiseFloat(f32(inputs[0]!.data), y, s);
    else depthwiseMultiplierFloat(f32(inputs[0]!.data), y, s);
    clampRange(y, 0, y.length, s.range);
  },
});


/**
 * Multiplier 1: channels in blocks of 4 with scalar accumulators over the valid taps
 * (two loads per multiply-add, no accumulator traffic through memory).
 */
function depthwiseFloat(x: Float32Array, y: Float32Array, s: DepthwiseConv2dFloatState): void {
  const { batches, inH, inW, outH, outW, outC: C, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = s;
  const w = s.weights;
  const bias = s.bias;
  const c4 = C - (C % 4);
  for (let n = 0; n < batches; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      const kyStart = tapStart(iy0, dilationH);
      const kyEnd = tapEnd(iy0, kH, dilationH, inH);
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        const kxStart = tapStart(ix0, dilationW);
        const kxEnd = tapEnd(ix0, kW, dilationW, inW);
        const yOff = ((n * outH + oy) * outW + ox) * C;
        let c = 0;
        for (; c < c4; c += 4) {
          let a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
          for (let ky = kyStart; ky < kyEnd; ky++) {
            const xRow = (n * inH + iy0 + ky * dilationH) * inW;
            const wRow = ky * kW;
            for (let kx = kxStart; kx < kxEnd; kx++) {
              const xb = (xRow + ix0 + kx * dilationW) * C + c;
              const wb = (wRow + kx) * C + c;
              a0 += x[xb] * w[wb];
              a1 += x[xb + 1] * w[wb + 1];
              a2 += x[xb + 2] * w[wb + 2];
              a3 += x[xb + 3] * w[wb + 3];
            }
          }
          y[yOff + c] = a0; y[yOff + c + 1] = a1; y[yOff + c + 2] = a2; y[yOff + c + 3] = a3;
        }
        for (; c < C; c++) {
          let a = bias[c];
          for (let ky = kyStart; ky < kyEnd; ky++) {
            const xRow = (n * inH + iy0 + ky * dilationH) * inW;
            for (let kx = kxStart; kx < kxEnd; kx++) a += x[(xRow + ix0 + kx * dilationW) * C + c] * w[(ky * kW + kx) * C + c];
          }
          y[yOff + c] = a;
        }
      }
    }
  }
}

/** Multiplier > 1: output channel ic·M + m reads input channel ic. */
function depthwiseMultiplierFloat(x: Float32Array, y: Float32Array, s: DepthwiseConv2dFloatState): void {
  const { batches, inH, inW, inC, outH, outW, outC, multiplier: M, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = s;
  const w = s.weights;
  const bias = s.bias;
  for (let n = 0; n < batches; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      const kyStart = tapStart(iy0, dilationH);
      const kyEnd = tapEnd(iy0, kH, dilationH, inH);
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        const kxStart = tapStart(ix0, dilationW);
        const kxEnd = tapEnd(ix0, kW, dilationW, inW);
        const yOff = ((n * outH + oy) * outW + ox) * outC;
        for (let ic = 0; ic < inC; ic++) {
          for (let m = 0; m < M; m++) {
            const oc = ic * M + m;
            let a = bias[oc];
            for (let ky = kyStart; ky < kyEnd; ky++) {
              const xRow = (n * inH + iy0 + ky * dilationH) * inW;
              for (let kx = kxStart; kx < kxEnd; kx++) a += x[(xRow + ix0 + kx * dilationW) * inC + ic] * w[(ky * kW + kx) * outC + oc];
            }
            y[yOff + oc] = a;
          }
        }
      }
    }
  }
}
