/**
 * CONV_2D. Input NHWC, filter OHWI [outC, kH, kW, inC], optional bias [outC].
 *
 *   out[n, oy, ox, oc] = act(bias[oc] + Σ_{ky,kx,ic} in[n, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, ic] · w[oc, ky, kx, ic])
 *
 * Taps that fall in the padding contribute nothing. The float kernel accumulates in float64
 * (JS arithmetic is double anyway) and rounds once to float32.
 *
 * Speed: for output pixels whose whole window lies inside the input ("interior"), a register
 * tile of 4 output pixels × 2 output channels keeps 8 scalar accumulators and walks the
 * filter row (kW·inC contiguous values when dilation is 1) once for all of them. Border pixels
 * take a plain per-pixel loop over the valid taps. The fused activation is a separate
 * branch-free pass.
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
import type { Conv2dPlan } from '../wasm/engine';
import type { EnginePath } from '../wasm/kernel-bridge';
import { allZero, engineRequantization, inHeap, int32Bias, tryPrepare } from '../wasm/kernel-bridge';

export interface ConvGeometry {
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
}

export interface Conv2dFloatState extends ConvGeometry {
  /** Filter as float64 in its OHWI layout. */
  weights: Float64Array;
  bias: Float64Array;
  /** Filter / bias computed at run time: copied on every run. */
  dynamicWeights: boolean;
  dynamicBias: boolean;
  range: ActivationRange;
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
        weights: filter.data ? Float64Array.from(f32(filter.data)) : new Float64Array(outC * kH * kW * inC),
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
    convFloat(f32(inputs[0]!.data), y, s.weights, s.bias, s);
    clampRange(y, 0, y.length, s.range);
  },
});


/** The float convolution (no activation). `w` is OHWI float64, `bias` float64 [outC]. */
export function convFloat(x: Float32Array, y: Float32Array, w: Float64Array, bias: Float64Array, g: ConvGeometry): void {
  const { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const filterSize = kH * kW * inC; // weights per output channel
  // Contiguous segments of one filter row: one segment of kW·inC when dilation is 1.
  const segLen = dilationW === 1 ? kW * inC : inC;
  const segCount = dilationW === 1 ? 1 : kW;
  const segStepX = dilationW * inC;
  const pixStep = strideW * inC; // input offset between horizontally adjacent output pixels
  // Interior columns: every tap inside the input.
  const oxLo = Math.min(outW, Math.ceil(padLeft / strideW));
  const oxHi = Math.max(oxLo, Math.min(outW, Math.floor((inW - 1 - (kW - 1) * dilationW + padLeft) / strideW) + 1));
  for (let n = 0; n < batches; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      const kyStart = tapStart(iy0, dilationH);
      const kyEnd = tapEnd(iy0, kH, dilationH, inH);
      const rowOut = ((n * outH + oy) * outW) * outC;
      let ox = oxLo;
      // ---- interior: 4 pixels × 2 channels ----
      for (; ox + 4 <= oxHi; ox += 4) {
        const ix0 = ox * strideW - padLeft;
        const o0 = rowOut + ox * outC;
        let oc = 0;
        for (; oc + 2 <= outC; oc += 2) {
          let a0 = bias[oc], a1 = a0, a2 = a0, a3 = a0;
          let b0 = bias[oc + 1], b1 = b0, b2 = b0, b3 = b0;
          for (let ky = kyStart; ky < kyEnd; ky++) {
            const xRow = ((n * inH + iy0 + ky * dilationH) * inW + ix0) * inC;
            const wRow = oc * filterSize + ky * kW * inC;
            for (let sg = 0; sg < segCount; sg++) {
              const xb = xRow + sg * segStepX;
              const wa = wRow + sg * inC;
              const wb = wa + filterSize;
              for (let j = 0; j < segLen; j++) {
                const x0 = x[xb + j];
                const x1 = x[xb + pixStep + j];
                const x2 = x[xb + 2 * pixStep + j];
                const x3 = x[xb + 3 * pixStep + j];
                const u = w[wa + j];
                const v = w[wb + j];
                a0 += x0 * u; a1 += x1 * u; a2 += x2 * u; a3 += x3 * u;
                b0 += x0 * v; b1 += x1 * v; b2 += x2 * v; b3 += x3 * v;
              }
            }
          }
          y[o0 + oc] = a0; y[o0 + outC + oc] = a1; y[o0 + 2 * outC + oc] = a2; y[o0 + 3 * outC + oc] = a3;
          y[o0 + oc + 1] = b0; y[o0 + outC + oc + 1] = b1; y[o0 + 2 * outC + oc + 1] = b2; y[o0 + 3 * outC + oc + 1] = b3;
        }
        for (; oc < outC; oc++) {
          let a0 = bias[oc], a1 = a0, a2 = a0, a3 = a0;
          for (let ky = kyStart; ky < kyEnd; ky++) {
            const xRow = ((n * inH + iy0 + ky * dilationH) * inW + ix0) * inC;
            const wRow = oc * filterSize + ky * kW * inC;
            for (let sg = 0; sg < segCount; sg++) {
              const xb = xRow + sg * segStepX;
              const wa = wRow + sg * inC;
              for (let j = 0; j < segLen; j++) {
                const u = w[wa + j];
                a0 += x[xb + j] * u; a1 += x[xb + pixStep + j] * u; a2 += x[xb + 2 * pixStep + j] * u; a3 += x[xb + 3 * pixStep + j] * u;
              }
            }
          }
          y[o0 + oc] = a0; y[o0 + outC + oc] = a1; y[o0 + 2 * outC + oc] = a2; y[o0 + 3 * outC + oc] = a3;
        }
      }
      // ---- the rest of the interior, then the borders: one pixel at a time ----
      for (; ox < oxHi; ox++) convPixel(x, y, w, bias, g, n, iy0, kyStart, kyEnd, ox, rowOut + ox * outC);
      for (let bx = 0; bx < oxLo; bx++) convPixel(x, y, w, bias, g, n, iy0, kyStart, kyEnd, bx, rowOut + bx * outC);
      for (let bx = oxHi; bx < outW; bx++) convPixel(x, y, w, bias, g, n, iy0, kyStart, kyEnd, bx, rowOut + bx * outC);
    }
  }
}

function convPixel(
  x: Float32Array, y: Float32Array, w: Float64Array, bias: Float64Array, g: ConvGeometry,
  n: number, iy0: number, kyStart: number, kyEnd: number, ox: number, yOff: number,
): void {
  const { inH, inW, inC, outC, kH, kW, strideW, dilationH, dilationW, padLeft } = g;
  const filterSize = kH * kW * inC;
  const ix0 = ox * strideW - padLeft;
  const kxStart = tapStart(ix0, dilationW);
  const kxEnd = tapEnd(ix0, kW, dilationW, inW);
  for (let oc = 0; oc < outC; oc++) {
    let acc = bias[oc];
    for (let ky = kyStart; ky < kyEnd; ky++) {
      const xRow = (n * inH + iy0 + ky * dilationH) * inW;
      const wRow = oc * filterSize + ky * kW * inC;
      for (let kx = kxStart; kx < kxEnd; kx++) {
        const xb = (xRow + ix0 + kx * dilationW) * inC;
        const wb = wRow + kx * inC;
        for (let ic = 0; ic < inC; ic++) acc += x[xb + ic] * w[wb + ic];
      }
    }
    y[yOff + oc] = acc;
  }
}

// ---- integer flavour ---------------------------------------------------------------------

/**
 * CONV_2D on quantized tensors: int8 activations with int8 weights (symmetric, per channel
 * along axis 0) and int32 bias (TFLite's int8 scheme), or the older uint8 scheme (uint8
 * activations and weights, per tensor, any zero points).
 *
 *   acc[oc] = bias[oc] + Σ (x − Z_x)·(w − Z_w[oc])     (int32; padding taps add nothing, as if
 *                                                       they held Z_x)
 *   y = clamp(Z_y + M[oc]·acc, act)                   M[oc] = S_x·S_w[oc] / S_y
 *
 * |acc| ≤ kH·kW·inC·255·255 + |bias|: int32 suffices for any realistic filter; the sum is
 * wrapped to int32 like TFLite's accumulator. Which requantization runs is the interpreter's
 * rounding option (quantized-util.ts): XNNPACK takes constant-weight convolutions that have a
 * constant bias (int8 and uint8); TFLite's builtin int8 convolution goes through ruy and rounds
 * once, its uint8 convolution through gemmlowp's output stage and rounds twice (measured).
 *
 * int8 × int8 with constant weights and bias runs on the interpreter's int8 engine when it has
 * one (WebAssembly SIMD128, identical codes: wasm/kernel-bridge.ts); the loop below is the
 * TypeScript body for everything else (uint8, int16×8, weights computed at run time).
 */
export interface Conv2dQuantState extends ConvGeometry {
  inputZp: number;
  /** w − Z_w, OHWI. */
  weights: Int32Array;
  weightZps: Int32Array;
  bias: Float64Array;
  dynamicWeights: boolean;
  dynamicBias: boolean;
  epilogue: Epilogue;
  /** The engine plan (weights packed in its heap), or null: the TypeScript body runs. */
  wasm: EnginePath<Conv2dPlan> | null;
}

export const conv2dQuantized = defineKernel<'CONV_2D', Conv2dQuantState>({
  opType: 'CONV_2D',
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
    const uint8 = input.dtype === 'uint8';
    const w = channelScales(label, filter, outC, 0, 'filter');
    // The XNNPACK delegate takes a convolution with a constant filter and a constant bias (a
    // missing bias is the zero constant QuantLab's writer adds).
    const delegated = input.dtype !== 'int16' && filter.data !== undefined && (bias === null || bias.data !== undefined);
    const state: Conv2dQuantState = {
      batches, inH, inW, inC, outH, outW, outC, kH, kW,
      strideH: o.strideH,
      strideW: o.strideW,
      dilationH: o.dilationHFactor,
      dilationW: o.dilationWFactor,
      padTop: paddingBefore(inH, kH, o.strideH, o.dilationHFactor, outH),
      padLeft: paddingBefore(inW, kW, o.strideW, o.dilationWFactor, outW),
      inputZp: tensorQuant(label, input, 'input').zeroPoint,
      weights: new Int32Array(outC * kH * kW * inC),
      weightZps: w.zeroPoints,
      bias: biasValues(label, bias, outC),
      dynamicWeights: !filter.data,
      dynamicBias: bias !== null && !bias.data,
      epilogue: convEpilogue(label, rounding, delegated, uint8 ? 'double-rounding' : 'single-rounding', input, w.scales, outputs[0], o.fusedActivationFunction, uint8),
      wasm: null,
    };
    if (filter.data) offsetWeights(filter.data as QuantData, state.weights, w.zeroPoints, kH * kW * inC);
    const requant = engineRequantization(state.epilogue);
    if (input.dtype === 'int8' && filter.data && (bias === null || bias.data) && allZero(w.zeroPoints) && requant && int8Engine) {
      const s = state;
      state.wasm = tryPrepare(int8Engine(), (e) => e.prepareConv2d({
        inH, inW, inC, outC, kernelH: kH, kernelW: kW, strideH: s.strideH, strideW: s.strideW, padTop: s.padTop, padLeft: s.padLeft,
        outH, outW, dilationH: s.dilationH, dilationW: s.dilationW, weights: filter.data as Int8Array, bias: int32Bias(bias?.data), inputZeroPoint: s.inputZp, requant,
      }, label));
    }
    return { outputShapes: [[batches, outH, outW, outC]], state };
  },
  run({ inputs, outputs }, s) {
    const wasm = s.wasm;
    if (wasm && inHeap(wasm.engine, inputs[0]!.data, outputs[0].data)) {
      wasm.engine.conv2d(wasm.plan, inputs[0]!.data as Int8Array, outputs[0].data as Int8Array, s.batches);
      return;
    }
    if (s.dynamicWeights) offsetWeights(inputs[1]!.data as QuantData, s.weights, s.weightZps, s.kH * s.kW * s.inC);
    if (s.dynamicBias) {
      const b = inputs[2]!.data;
      for (let c = 0; c < s.outC; c++) s.bias[c] = Number(b[c]);
    }
    convQuantized(inputs[0]!.data as QuantData, outputs[0].data as QuantData, s);
  },
});

/** w − Z_w[channel] for weights laid out as `channels` runs of `inner` values. */
function offsetWeights(src: QuantData, dst: Int32Array, zeroPoints: Int32Array, inner: number): void {
  for (let i = 0; i < dst.length; i++) dst[i] = src[i] - zeroPoints[Math.floor(i / inner)];
}

function convQuantized(x: QuantData, y: QuantData, s: Conv2dQuantState): void {
  const { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputZp, weights: w, bias, epilogue } = s;
  const filterSize = kH * kW * inC;
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
          let acc = 0;
          for (let ky = kyStart; ky < kyEnd; ky++) {
            const xRow = (n * inH + iy0 + ky * dilationH) * inW;
            const wRow = oc * filterSize + ky * kW * inC;
            for (let kx = kxStart; kx < kxEnd; kx++) {
              const xb = (xRow + ix0 + kx * dilationW) * inC;
              const wb = wRow + kx * inC;
              for (let ic = 0; ic < inC; ic++) acc += (x[xb + ic] - inputZp) * w[wb + ic];
            }
          }
          y[yOff + oc] = finish(acc + bias[oc], epilogue, oc);
        }
      }
    }
  }
}
