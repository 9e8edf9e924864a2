/**
 * CONV_2D. Input NHWC, filter OHWI [outC, kH, kW, inC], optional bias [outC].
 *
 *   out[n, oy, ox, oc] = act(bias[oc] + Σ_{ky,kx,ic} in[n, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, ic] · w[oc, ky, kx, ic])
 *
 * Taps that fall in the padding contribute nothing. The float kernel repacks the filter once
 * into [kH, kW, inC, outC] so the innermost loop walks output channels contiguously, and
 * accumulates in float64 (JS arithmetic is double anyway) before rounding to float32.
 */
import { UnsupportedError } from '../../errors';
import type { ActivationRange } from '../activation';
import { activationRange } from '../activation';
import { defineKernel } from '../kernel';
import { allFloat32, biasAsFloat64, f32, requireInput, requireRank } from '../kernel-util';
import { convOutputSize, paddingBefore } from '../padding';
import { shapeToString } from '../tensor-utils';

export interface Conv2dFloatState {
  batches: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  /** Filter repacked to [kH, kW, inC, outC]. */
  packedWeights: Float64Array;
  bias: Float64Array;
  /** Filter / bias computed at run time: repacked on every run. */
  dynamicWeights: boolean;
  dynamicBias: boolean;
  /** Accumulators for one output pixel. */
  acc: Float64Array;
  range: ActivationRange;
}

/** Repacks an OHWI float filter to HWIO (output channel innermost), in float64. */
export function packOhwiToHwio(
  w: Float32Array,
  outC: number,
  kH: number,
  kW: number,
  inC: number,
  packed: Float64Array = new Float64Array(outC * kH * kW * inC),
): Float64Array {
  for (let oc = 0; oc < outC; oc++) {
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const src = ((oc * kH + ky) * kW + kx) * inC;
        const dst = (ky * kW + kx) * inC * outC + oc;
        for (let ic = 0; ic < inC; ic++) packed[dst + ic * outC] = w[src + ic];
      }
    }
  }
  return packed;
}

export const conv2dFloat32 = defineKernel<'CONV_2D', Conv2dFloatState>({
  opType: 'CONV_2D',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const filter = requireInput(label, inputs, 1, 'filter');
    const bias = inputs[2] ?? null;
    requireRank(label, input, 4, 'input');
    requireRank(label, filter, 4, 'filter');
    const [batches, inH, inW, inC] = input.shape;
    const [outC, kH, kW, filterInC] = filter.shape;
    if (filterInC !== inC) {
      throw new UnsupportedError(
        `${label} has filter ${shapeToString(filter.shape)} for input ${shapeToString(input.shape)}; grouped convolution (filter depth ≠ input depth) is not implemented.`,
      );
    }
    if (bias && bias.shape.reduce((a, b) => a * b, 1) !== outC) {
      throw new UnsupportedError(`${label} has bias ${shapeToString(bias.shape)} for ${outC} output channels.`);
    }
    const o = op.options;
    const outH = convOutputSize(o.padding, inH, kH, o.strideH, o.dilationHFactor);
    const outW = convOutputSize(o.padding, inW, kW, o.strideW, o.dilationWFactor);
    if (outH <= 0 || outW <= 0) {
      throw new UnsupportedError(`${label} produces an empty output from input ${shapeToString(input.shape)} with a ${kH}×${kW} filter.`);
    }
    const dynamicWeights = !filter.data;
    const dynamicBias = bias !== null && !bias.data;
    return {
      outputShapes: [[batches, outH, outW, outC]],
      state: {
        batches, inH, inW, inC, outH, outW, outC, kH, kW,
        strideH: o.strideH,
        strideW: o.strideW,
        dilationH: o.dilationHFactor,
        dilationW: o.dilationWFactor,
        padTop: paddingBefore(inH, kH, o.strideH, o.dilationHFactor, outH),
        padLeft: paddingBefore(inW, kW, o.strideW, o.dilationWFactor, outW),
        packedWeights: filter.data ? packOhwiToHwio(f32(filter.data), outC, kH, kW, inC) : new Float64Array(outC * kH * kW * inC),
        bias: biasAsFloat64(bias?.data, outC),
        dynamicWeights,
        dynamicBias,
        acc: new Float64Array(outC),
        range: activationRange(o.fusedActivationFunction, label),
      },
    };
  },
  run({ inputs, outputs }, s) {
    if (s.dynamicWeights) packOhwiToHwio(f32(inputs[1]!.data), s.outC, s.kH, s.kW, s.inC, s.packedWeights);
    if (s.dynamicBias) s.bias.set(f32(inputs[2]!.data));
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    convFloat(x, y, s);
  },
});

function convFloat(x: Float32Array, y: Float32Array, s: Conv2dFloatState): void {
  const { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = s;
  const w = s.packedWeights;
  const acc = s.acc;
  const bias = s.bias;
  const lo = s.range.min;
  const hi = s.range.max;
  const tapStride = inC * outC;
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
            let wOff = (ky * kW + kx) * tapStride;
            for (let ic = 0; ic < inC; ic++, wOff += outC) {
              const v = x[xBase + ic];
              if (v === 0) continue;
              for (let oc = 0; oc < outC; oc++) acc[oc] += v * w[wOff + oc];
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
}
