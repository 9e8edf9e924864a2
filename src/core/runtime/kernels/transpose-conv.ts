/**
 * TRANSPOSE_CONV. TFLite's input order: [output_shape (int32 [4]), weights OHWI
 * [outC, kH, kW, inC], input NHWC, optional bias [outC]].
 *
 * Every input pixel scatters its dot products into a kH×kW window of the output:
 *
 *   out[n, iy·sh − pt + ky, ix·sw − pl + kx, oc] += in[n, iy, ix, ic] · w[oc, ky, kx, ic]
 *
 * The padding is the one a forward convolution from the output size back to the input would
 * use: pt = floor(max((ceil-or-valid(outH) − 1)·sh + kH − outH, 0) / 2) (see padding.ts).
 */
import { UnsupportedError } from '../../errors';
import type { ActivationRange } from '../activation';
import { activationRange, clampRange } from '../activation';
import { defineKernel } from '../kernel';
import type { PreparedTensor } from '../kernel';
import { biasAsFloat64, f32, requireInput, requireRank } from '../kernel-util';
import { convOutputSize, paddingBefore } from '../padding';
import type { Epilogue, QuantData } from '../quantized-util';
import { biasValues, channelScales, convEpilogue, finish, tensorQuant } from '../quantized-util';
import { numElements, shapeToString, toIntArray } from '../tensor-utils';

export interface TransposeConvFloatState {
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
  padTop: number;
  padLeft: number;
  /** Weights as float64 in their OHWI layout. */
  weights: Float64Array;
  bias: Float64Array;
  /** Weights / bias computed at run time: repacked on every run. */
  dynamicWeights: boolean;
  dynamicBias: boolean;
  /** float64 accumulators for the whole output. */
  acc: Float64Array;
  range: ActivationRange;
}

export interface TransposeConvGeometry {
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/** Validates weights/bias/input and builds the scatter state shared with Convolution2DTransposeBias. */
export function prepareTransposeConvFloat(
  label: string,
  input: PreparedTensor,
  weights: PreparedTensor,
  bias: PreparedTensor | null,
  geometry: TransposeConvGeometry,
  range: ActivationRange,
): TransposeConvFloatState {
  requireRank(label, input, 4, 'input');
  requireRank(label, weights, 4, 'weights tensor');
  const [batches, inH, inW, inC] = input.shape;
  const [outC, kH, kW, wInC] = weights.shape;
  if (wInC !== inC) {
    throw new UnsupportedError(`${label} has weights ${shapeToString(weights.shape)} for input ${shapeToString(input.shape)}; their depths differ.`);
  }
  if (bias && numElements(bias.shape) !== outC) {
    throw new UnsupportedError(`${label} has bias ${shapeToString(bias.shape)} for ${outC} output channels.`);
  }
  const { outH, outW } = geometry;
  return {
    batches, inH, inW, inC, outC, kH, kW, ...geometry,
    weights: weights.data ? Float64Array.from(f32(weights.data)) : new Float64Array(outC * kH * kW * inC),
    bias: biasAsFloat64(bias?.data, outC),
    dynamicWeights: !weights.data,
    dynamicBias: bias !== null && !bias.data,
    acc: new Float64Array(batches * outH * outW * outC),
    range,
  };
}

/** Runs the scatter; `liveWeights` / `liveBias` are the live operands, read only when dynamic. */
export function runTransposeConvFloat(
  x: Float32Array,
  y: Float32Array,
  s: TransposeConvFloatState,
  liveWeights: Float32Array,
  liveBias: Float32Array | null,
): void {
  if (s.dynamicWeights) s.weights.set(liveWeights);
  if (s.dynamicBias && liveBias) s.bias.set(liveBias);
  const { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, padTop, padLeft } = s;
  const acc = s.acc;
  const w = s.weights;
  const bias = s.bias;
  const pixels = batches * outH * outW;
  for (let p = 0, o = 0; p < pixels; p++) for (let oc = 0; oc < outC; oc++) acc[o++] = bias[oc];
  const filterSize = kH * kW * inC;
  for (let n = 0; n < batches; n++) {
    for (let iy = 0; iy < inH; iy++) {
      const oy0 = iy * strideH - padTop;
      for (let ix = 0; ix < inW; ix++) {
        const ox0 = ix * strideW - padLeft;
        const xb = ((n * inH + iy) * inW + ix) * inC;
        for (let ky = 0; ky < kH; ky++) {
          const oy = oy0 + ky;
          if (oy < 0 || oy >= outH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ox = ox0 + kx;
            if (ox < 0 || ox >= outW) continue;
            const aBase = ((n * outH + oy) * outW + ox) * outC;
            // each tap adds a dot product over input channels (contiguous in OHWI)
            let wb = (ky * kW + kx) * inC;
            for (let oc = 0; oc < outC; oc++, wb += filterSize) {
              let d = 0;
              for (let ic = 0; ic < inC; ic++) d += x[xb + ic] * w[wb + ic];
              acc[aBase + oc] += d;
            }
          }
        }
      }
    }
  }
  const total = pixels * outC;
  for (let i = 0; i < total; i++) y[i] = acc[i];
  clampRange(y, 0, total, s.range);
}

export const transposeConvFloat32 = defineKernel<'TRANSPOSE_CONV', TransposeConvFloatState>({
  opType: 'TRANSPOSE_CONV',
  flavour: 'float32',
  accepts: (sig) =>
    (sig.inputs[0] === 'int32' || sig.inputs[0] === 'int64') &&
    sig.inputs.slice(1).every((d) => d === null || d === 'float32') &&
    sig.outputs.every((d) => d === 'float32'),
  prepare({ op, label, inputs, outputs }) {
    const outputShapeT = requireInput(label, inputs, 0, 'output shape');
    const weights = requireInput(label, inputs, 1, 'weights');
    const input = requireInput(label, inputs, 2, 'data');
    const bias = inputs[3] ?? null;
    let outShape: number[];
    if (outputShapeT.data) outShape = toIntArray(outputShapeT.data);
    else if (outputs[0].shape.length === 4 && outputs[0].shape.every((d) => d > 0)) outShape = [...outputs[0].shape];
    else throw new UnsupportedError(`${label} computes its output shape at run time ('${outputShapeT.name}'); the QuantLab runtime needs it constant.`);
    if (outShape.length !== 4) {
      throw new UnsupportedError(`${label} has output shape ${shapeToString(outShape)}; expected 4 dimensions.`);
    }
    if (outShape[0] !== input.shape[0] || outShape[3] !== weights.shape[0]) {
      throw new UnsupportedError(
        `${label} asks for output shape ${shapeToString(outShape)} from input ${shapeToString(input.shape)} and weights ${shapeToString(weights.shape)}; batch and channel counts do not match.`,
      );
    }
    const o = op.options;
    const [, outH, outW] = outShape;
    const kH = weights.shape[1];
    const kW = weights.shape[2];
    const geometry: TransposeConvGeometry = {
      outH,
      outW,
      strideH: o.strideH,
      strideW: o.strideW,
      padTop: paddingBefore(outH, kH, o.strideH, 1, convOutputSize(o.padding, outH, kH, o.strideH, 1)),
      padLeft: paddingBefore(outW, kW, o.strideW, 1, convOutputSize(o.padding, outW, kW, o.strideW, 1)),
    };
    const act = o.fusedActivationFunction ?? 'NONE';
    const state = prepareTransposeConvFloat(label, input, weights, bias, geometry, activationRange(act, label));
    return { outputShapes: [outShape], state };
  },
  run({ inputs, outputs }, s) {
    runTransposeConvFloat(f32(inputs[2]!.data), f32(outputs[0].data), s, f32(inputs[1]!.data), inputs[3] ? f32(inputs[3].data) : null);
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * TRANSPOSE_CONV on int8 (int8 weights per tensor or per output channel, int32 bias):
 *
 *   acc[n, oy, ox, oc] = bias[oc] + Σ (x − Z_x)·w[oc, ky, kx, ic]   over the taps that scatter there
 *   y = clamp(Z_y + M[oc]·acc, act)                                 M[oc] = S_x·S_w[oc] / S_y
 *
 * The XNNPACK delegate takes constant per-tensor weights (not per-channel) when the geometry is
 * one it supports (VALID: the kernel fits the output; SAME: the input is ceil(out / stride) and
 * the kernel is at least the stride); TFLite's builtin kernel rounds twice in the default build.
 */
export interface TransposeConvQuantState {
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
  padTop: number;
  padLeft: number;
  inputZp: number;
  weights: Int32Array;
  bias: Float64Array;
  dynamicWeights: boolean;
  dynamicBias: boolean;
  acc: Float64Array;
  epilogue: Epilogue;
}

export const transposeConvQuantized = defineKernel<'TRANSPOSE_CONV', TransposeConvQuantState>({
  opType: 'TRANSPOSE_CONV',
  flavour: 'int8',
  accepts: (sig) =>
    (sig.inputs[0] === 'int32' || sig.inputs[0] === 'int64') &&
    sig.inputs[1] === 'int8' &&
    sig.inputs[2] === 'int8' &&
    (sig.inputs[3] ?? 'int32') === 'int32' &&
    sig.outputs[0] === 'int8',
  prepare({ op, label, inputs, outputs, rounding }) {
    const outputShapeT = requireInput(label, inputs, 0, 'output shape');
    const weights = requireInput(label, inputs, 1, 'weights');
    const input = requireInput(label, inputs, 2, 'data');
    const bias = inputs[3] ?? null;
    requireRank(label, input, 4, 'input');
    requireRank(label, weights, 4, 'weights tensor');
    let outShape: number[];
    if (outputShapeT.data) outShape = toIntArray(outputShapeT.data);
    else if (outputs[0].shape.length === 4 && outputs[0].shape.every((d) => d > 0)) outShape = [...outputs[0].shape];
    else throw new UnsupportedError(`${label} computes its output shape at run time ('${outputShapeT.name}'); the QuantLab runtime needs it constant.`);
    const [batches, inH, inW, inC] = input.shape;
    const [outC, kH, kW, wInC] = weights.shape;
    if (outShape.length !== 4 || outShape[0] !== batches || outShape[3] !== outC || wInC !== inC) {
      throw new UnsupportedError(
        `${label} asks for output shape ${shapeToString(outShape)} from input ${shapeToString(input.shape)} and weights ${shapeToString(weights.shape)}; batch and channel counts do not match.`,
      );
    }
    if (bias && numElements(bias.shape) !== outC) {
      throw new UnsupportedError(`${label} has bias ${shapeToString(bias.shape)} for ${outC} output channels.`);
    }
    const o = op.options;
    const [, outH, outW] = outShape;
    const w = channelScales(label, weights, outC, 0, 'weights');
    const act = o.fusedActivationFunction ?? 'NONE';
    const geometryOk =
      o.padding === 'VALID'
        ? kH <= outH && kW <= outW
        : Math.ceil(outH / o.strideH) === inH && Math.ceil(outW / o.strideW) === inW && kH >= o.strideH && kW >= o.strideW;
    const delegated = weights.data !== undefined && !w.perChannel && (bias === null || bias.data !== undefined) && act === 'NONE' && geometryOk;
    const state: TransposeConvQuantState = {
      batches, inH, inW, inC, outH, outW, outC, kH, kW,
      strideH: o.strideH,
      strideW: o.strideW,
      padTop: paddingBefore(outH, kH, o.strideH, 1, convOutputSize(o.padding, outH, kH, o.strideH, 1)),
      padLeft: paddingBefore(outW, kW, o.strideW, 1, convOutputSize(o.padding, outW, kW, o.strideW, 1)),
      inputZp: tensorQuant(label, input, 'input').zeroPoint,
      weights: weights.data ? Int32Array.from(weights.data as Int8Array) : new Int32Array(outC * kH * kW * inC),
      bias: biasValues(label, bias, outC),
      dynamicWeights: !weights.data,
      dynamicBias: bias !== null && !bias.data,
      acc: new Float64Array(batches * outH * outW * outC),
      epilogue: convEpilogue(label, rounding, delegated, 'double-rounding', input, w.scales, outputs[0], act, false),
    };
    return { outputShapes: [outShape], state };
  },
  run({ inputs, outputs }, s) {
    if (s.dynamicWeights) s.weights.set(inputs[1]!.data as Int8Array);
    if (s.dynamicBias) {
      const b = inputs[3]!.data;
      for (let c = 0; c < s.outC; c++) s.bias[c] = Number(b[c]);
    }
    const x = inputs[2]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    const { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, padTop, padLeft, inputZp, weights: w, acc, epilogue } = s;
    acc.fill(0);
    const filterSize = kH * kW * inC;
    for (let n = 0; n < batches; n++) {
      for (let iy = 0; iy < inH; iy++) {
        for (let ix = 0; ix < inW; ix++) {
          const xb = ((n * inH + iy) * inW + ix) * inC;
          for (let ky = 0; ky < kH; ky++) {
            const oy = iy * strideH - padTop + ky;
            if (oy < 0 || oy >= outH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const ox = ix * strideW - padLeft + kx;
              if (ox < 0 || ox >= outW) continue;
              const aBase = ((n * outH + oy) * outW + ox) * outC;
              let wb = (ky * kW + kx) * inC;
              for (let oc = 0; oc < outC; oc++, wb += filterSize) {
                let d = 0;
                for (let ic = 0; ic < inC; ic++) d += (x[xb + ic] - inputZp) * w[wb + ic];
                acc[aBase + oc] += d;
              }
            }
          }
        }
      }
    }
    for (let i = 0, oc = 0; i < acc.length; i++) {
      y[i] = finish(acc[i] + s.bias[oc], epilogue, oc);
      if (++oc === outC) oc = 0;
    }
  },
});
