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
import type { Epilogue, QuantData } from '../quantized-util';
import { biasValues, channelScales, convEpilogue, finish, tensorQuant } from '../quantized-util';
import { numElements, shapeToString } from '../tensor-utils';
import type { GemmPlan } from '../wasm/engine';
import type { EnginePath } from '../wasm/kernel-bridge';
import { allZero, engineRequantization, inHeap, int32Bias, tryPrepare } from '../wasm/kernel-bridge';

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

// ---- integer flavour ---------------------------------------------------------------------

/**
 * FULLY_CONNECTED on quantized tensors: int8 activations with int8 weights (symmetric, per
 * tensor or per output channel along axis 0) and int32 bias, or the uint8 scheme.
 *
 *   acc[b, o] = bias[o] + Σ_i (x[b, i] − Z_x)·(w[o, i] − Z_w)
 *   y = clamp(Z_y + M[o]·acc, act)          M[o] = S_x·S_w[o] / S_y
 *
 * TFLite computes a per-tensor M from the float32 product S_x·S_w (its
 * GetQuantizedConvolutionMultipler), a per-channel M in double. In the default build the
 * XNNPACK delegate takes constant per-tensor weights only; per-channel weights and weights
 * computed at run time go to TFLite's builtin kernel (int8: ruy, single rounding; uint8:
 * gemmlowp, double rounding — measured).
 *
 * int8 × int8 with constant weights and bias runs as one GEMM on the interpreter's int8 engine
 * when it has one (identical codes: wasm/kernel-bridge.ts); the loop below is the TypeScript
 * body for everything else.
 */
export interface FullyConnectedQuantState {
  batches: number;
  inD: number;
  outD: number;
  inputZp: number;
  /** w − Z_w, [outD, inD]. */
  weights: Int32Array;
  weightZps: Int32Array;
  bias: Float64Array;
  dynamicWeights: boolean;
  dynamicBias: boolean;
  epilogue: Epilogue;
  /** The engine plan (weights packed in its heap), or null: the TypeScript body runs. */
  wasm: EnginePath<GemmPlan> | null;
}

export const fullyConnectedQuantized = defineKernel<'FULLY_CONNECTED', FullyConnectedQuantState>({
  opType: 'FULLY_CONNECTED',
  flavour: 'int8',
  accepts: (sig) =>
    (sig.inputs[0] === 'int8' && sig.inputs[1] === 'int8' && (sig.inputs[2] ?? 'int32') === 'int32' && sig.outputs[0] === 'int8') ||
    (sig.inputs[0] === 'uint8' && sig.inputs[1] === 'uint8' && (sig.inputs[2] ?? 'int32') === 'int32' && sig.outputs[0] === 'uint8') ||
    (sig.inputs[0] === 'int16' && sig.inputs[1] === 'int8' && (sig.inputs[2] ?? 'int64') === 'int64' && sig.outputs[0] === 'int16'),
  prepare({ op, label, inputs, outputs, rounding, int8Engine }) {
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
    if (op.options.weightsFormat !== 'DEFAULT') {
      throw new UnsupportedError(`${label} has weights format ${op.options.weightsFormat}; the integer kernel reads the default layout only.`);
    }
    const batches = total / inD;
    const outShape = op.options.keepNumDims ? [...input.shape.slice(0, -1), outD] : [batches, outD];
    const uint8 = input.dtype === 'uint8';
    const w = channelScales(label, weights, outD, 0, 'weights');
    const delegated = input.dtype !== 'int16' && weights.data !== undefined && !w.perChannel && (bias === null || bias.data !== undefined);
    const state: FullyConnectedQuantState = {
      batches,
      inD,
      outD,
      inputZp: tensorQuant(label, input, 'input').zeroPoint,
      weights: new Int32Array(outD * inD),
      weightZps: w.zeroPoints,
      bias: biasValues(label, bias, outD),
      dynamicWeights: !weights.data,
      dynamicBias: bias !== null && !bias.data,
      epilogue: convEpilogue(label, rounding, delegated, uint8 ? 'double-rounding' : 'single-rounding', input, w.scales, outputs[0], op.options.fusedActivationFunction, !w.perChannel),
      wasm: null,
    };
    if (weights.data) offsetRows(weights.data as QuantData, state.weights, w.zeroPoints, inD);
    const requant = engineRequantization(state.epilogue);
    if (input.dtype === 'int8' && weights.data && (bias === null || bias.data) && allZero(w.zeroPoints) && requant && int8Engine) {
      const inputZeroPoint = state.inputZp;
      state.wasm = tryPrepare(int8Engine(), (e) => e.prepareGemm({ weights: weights.data as Int8Array, outputs: outD, depth: inD, bias: int32Bias(bias?.data), inputZeroPoint, requant }, label));
    }
    return { outputShapes: [outShape], state };
  },
  run({ inputs, outputs }, s) {
    const wasm = s.wasm;
    if (wasm && inHeap(wasm.engine, inputs[0]!.data, outputs[0].data)) {
      wasm.engine.gemm(wasm.plan, inputs[0]!.data as Int8Array, s.batches, s.inD, outputs[0].data as Int8Array, s.outD);
      return;
    }
    if (s.dynamicWeights) offsetRows(inputs[1]!.data as QuantData, s.weights, s.weightZps, s.inD);
    if (s.dynamicBias) {
      const b = inputs[2]!.data;
      for (let c = 0; c < s.outD; c++) s.bias[c] = Number(b[c]);
    }
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    const { batches, inD, outD, inputZp, weights: w, bias, epilogue } = s;
    for (let b = 0; b < batches; b++) {
      const xOff = b * inD;
      for (let o = 0; o < outD; o++) {
        const wOff = o * inD;
        let acc = 0;
        for (let i = 0; i < inD; i++) acc += (x[xOff + i] - inputZp) * w[wOff + i];
        y[b * outD + o] = finish(acc + bias[o], epilogue, o);
      }
    }
  },
});

function offsetRows(src: QuantData, dst: Int32Array, zeroPoints: Int32Array, inner: number): void {
  for (let i = 0; i < dst.length; i++) dst[i] = src[i] - zeroPoints[(i / inner) | 0];
}
