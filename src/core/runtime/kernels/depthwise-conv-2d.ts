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
import type { Epilogue, QuantData } from '../quantized-util';
import { biasValues, channelScales, convEpilogue, finish, tensorQuant } from '../quantized-util';
import { shapeToString } from '../tensor-utils';
import type { DepthwiseConv2dPlan } from '../wasm/engine';
import type { EnginePath } from '../wasm/kernel-bridge';
import { allZero, engineRequantization, inHeap, int32Bias, tryPrepare } from '../wasm/kernel-bridge';

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

// ---- integer flavour ---------------------------------------------------------------------

/**
 * DEPTHWISE_CONV_2D on quantized tensors: int8 activations with int8 weights (symmetric, per
 * channel along axis 3) and int32 bias, or the uint8 scheme (per tensor, any zero points).
 *
 *   acc[oc] = bias[oc] + Σ_{ky,kx} (x[.., oc / M] − Z_x)·(w[0, ky, kx, oc] − Z_w[oc])
 *   y = clamp(Z_y + M[oc]·acc, act)                   M[oc] = S_x·S_w[oc] / S_y
 *
 * TFLite's builtin depthwise kernel does not go through ruy: in the default build it rounds
 * twice (gemmlowp), unlike CONV_2D and FULLY_CONNECTED.
 *
 * int8 × int8 with constant weights and bias, depth multiplier 1 and no dilation runs on the
 * interpreter's int8 engine when it has one (identical codes: wasm/kernel-bridge.ts); the loop
 * below is the TypeScript body for everything else.
 */
export interface DepthwiseConv2dQuantState {
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
  inputZp: number;
  /** w − Z_w, [kH·kW, outC]. */
  weights: Int32Array;
  weightZps: Int32Array;
  bias: Float64Array;
  dynamicWeights: boolean;
  dynamicBias: boolean;
  epilogue: Epilogue;
  /** The engine plan (weights packed in its heap), or null: the TypeScript body runs. */
  wasm: EnginePath<DepthwiseConv2dPlan> | null;
}

export const depthwiseConv2dQuantized = defineKernel<'DEPTHWISE_CONV_2D', DepthwiseConv2dQuantState>({
  opType: 'DEPTHWISE_CONV_2D',
  flavour: 'int8',
  accepts: (sig) =>
    (sig.inputs[0] === 'int8' && sig.inputs[1] === 'int8' && (sig.inputs[2] ?? 'int32') === 'int32' && sig.outputs[0] === 'int8') ||
    (sig.inputs[0] === 'uint8' && sig.inputs[1] === 'uint8' && (sig.inputs[2] ?? 'int32') === 'int32' && sig.outputs[0] === 'uint8') ||
    (sig.inputs[0] === 'int16' && sig.inputs[1] === 'int8' && (sig.inputs[2] ?? 'int64') === 'int64' && sig.outputs[0] === 'int16'),
  prepare({ op, label, inputs, outputs, rounding, int8Engine }) {
    const input = requireInput(label, inputs, 0, 'data');
    const filter = requireInput(label, inputs, 1, 'filter');
    const bias = inputs[2] ?? null;
    requireRank(label, input, 4, 'input');
    requireRank(label, filter, 4, 'filter');
    const [batches, inH, inW, inC] = input.shape;
    const [one, kH, kW, outC] = filter.shape;
    const o = op.options;
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
    if (bias && bias.shape.reduce((a, b) => a * b, 1) !== outC) {
      throw new UnsupportedError(`${label} has bias ${shapeToString(bias.shape)} for ${outC} output channels.`);
    }
    const outH = convOutputSize(o.padding, inH, kH, o.strideH, o.dilationHFactor);
    const outW = convOutputSize(o.padding, inW, kW, o.strideW, o.dilationWFactor);
    if (outH <= 0 || outW <= 0) {
      throw new UnsupportedError(`${label} produces an empty output from input ${shapeToString(input.shape)} with a ${kH}×${kW} filter.`);
    }
    const uint8 = input.dtype === 'uint8';
    const w = channelScales(label, filter, outC, 3, 'filter');
    const delegated = input.dtype !== 'int16' && filter.data !== undefined && (bias === null || bias.data !== undefined);
    const state: DepthwiseConv2dQuantState = {
      batches, inH, inW, inC, outH, outW, outC, multiplier, kH, kW,
      strideH: o.strideH,
      strideW: o.strideW,
      dilationH: o.dilationHFactor,
      dilationW: o.dilationWFactor,
      padTop: paddingBefore(inH, kH, o.strideH, o.dilationHFactor, outH),
      padLeft: paddingBefore(inW, kW, o.strideW, o.dilationWFactor, outW),
      inputZp: tensorQuant(label, input, 'input').zeroPoint,
      weights: new Int32Array(kH * kW * outC),
      weightZps: w.zeroPoints,
      bias: biasValues(label, bias, outC),
      dynamicWeights: !filter.data,
      dynamicBias: bias !== null && !bias.data,
      epilogue: convEpilogue(label, rounding, delegated, 'double-rounding', input, w.scales, outputs[0], o.fusedActivationFunction, uint8),
      wasm: null,
    };
    if (filter.data) offsetDepthwiseWeights(filter.data as QuantData, state.weights, w.zeroPoints);
    const requant = engineRequantization(state.epilogue);
    const plain = multiplier === 1 && state.dilationH === 1 && state.dilationW === 1;
    if (input.dtype === 'int8' && plain && filter.data && (bias === null || bias.data) && allZero(w.zeroPoints) && requant && int8Engine) {
      const s = state;
      state.wasm = tryPrepare(int8Engine(), (e) => e.prepareDepthwiseConv2d({
        inH, inW, channels: inC, kernelH: kH, kernelW: kW, strideH: s.strideH, strideW: s.strideW, padTop: s.padTop, padLeft: s.padLeft,
        outH, outW, weights: filter.data as Int8Array, bias: int32Bias(bias?.data), inputZeroPoint: s.inputZp, requant,
      }, label));
    }
    return { outputShapes: [[batches, outH, outW, outC]], state };
  },
  run({ inputs, outputs }, s) {
    const wasm = s.wasm;
    if (wasm && inHeap(wasm.engine, inputs[0]!.data, outputs[0].data)) {
      wasm.engine.depthwiseConv2d(wasm.plan, inputs[0]!.data as Int8Array, outputs[0].data as Int8Array, s.batches);
      return;
    }
    if (s.dynamicWeights) offsetDepthwiseWeights(inputs[1]!.data as QuantData, s.weights, s.weightZps);
    if (s.dynamicBias) {
      const b = inputs[2]!.data;
      for (let c = 0; c < s.outC; c++) s.bias[c] = Number(b[c]);
    }
    depthwiseQuantized(inputs[0]!.data as QuantData, outputs[0].data as QuantData, s);
  },
});

/** w − Z_w[channel] for weights whose channel is the innermost dimension. */
function offsetDepthwiseWeights(src: QuantData, dst: Int32Array, zeroPoints: Int32Array): void {
  const C = zeroPoints.length;
  for (let i = 0; i < dst.length; i++) dst[i] = src[i] - zeroPoints[i % C];
}

function depthwiseQuantized(x: QuantData, y: QuantData, s: DepthwiseConv2dQuantState): void {
  const { batches, inH, inW, inC, outH, outW, outC, multiplier: M, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputZp, weights: w, bias, epilogue } = s;
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
        for (let oc = 0; oc < outC; oc++) {
          const ic = (oc / M) | 0;
          let acc = 0;
          for (let ky = kyStart; ky < kyEnd; ky++) {
            const xRow = (n * inH + iy0 + ky * dilationH) * inW;
            for (let kx = kxStart; kx < kxEnd; kx++) {
              acc += (x[(xRow + ix0 + kx * dilationW) * inC + ic] - inputZp) * w[(ky * kW + kx) * outC + oc];
            }
          }
          y[yOff + oc] = finish(acc + bias[oc], epilogue, oc);
        }
      }
    }
  }
}
