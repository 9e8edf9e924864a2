/**
 * What TFLite's GPU delegate (OpenCL / OpenGL ES) takes, per op.
 *
 * Written from the public facts, not copied:
 * - TFLite's GPU compatibility rules (tensorflow/lite/tools/versioning/gpu_compatibility.cc,
 *   CheckGpuDelegateCompatibility, which the delegate's model builder calls per node): the ops it
 *   knows and their option checks (no SIGN_BIT fused activation, depthwise multiplier only with
 *   one input channel, softmax beta 1, constant int32 axes for MEAN, 3×2 / 4×2 paddings, block
 *   size above 1 for DEPTH_TO_SPACE / SPACE_TO_DEPTH, default weights format for
 *   FULLY_CONNECTED, not align_corners together with half_pixel_centers, …). The recent rules
 *   check no op versions, so this table has none.
 * - The custom ops the stock delegate parses itself: MediaPipe's Convolution2DTransposeBias,
 *   MaxPoolingWithArgmax2D, MaxUnpooling2D, and Resampler (same file; the delegate's
 *   model_builder.cc has had the first three since 2019).
 * - Data types: the delegate computes in float32 / float16. Runtime tensors must be float; with
 *   the quantized-model flag (TFLITE_GPU_EXPERIMENTAL_FLAGS_ENABLE_QUANT, on by default in the
 *   delegate's V2 options since TF 2.3) int8 / uint8 quantized tensors are accepted too and
 *   dequantized on the GPU, so an int8 model runs in float there. int16, int32 and int64 data
 *   is refused except where an op reads indices or casts.
 * - A DEQUANTIZE of constant float16 weights goes with the op that reads it (preflight.ts).
 *
 * The GPU delegate does not depend on the Android API level the way NNAPI does (it needs
 * OpenCL or OpenGL ES 3.1 on the phone, a device fact), so no entry has a level.
 */
import type { FusedActivation } from '../../ir/types';
import { isConstTensor, optionsOf, type DelegateOpEntry, type OpProblem, type OpView } from './types';

function activation(v: OpView): OpProblem[] {
  const act = optionsOf(v.op)?.fusedActivationFunction as FusedActivation | undefined;
  return act === 'SIGN_BIT' ? [{ kind: 'options-not-supported', reason: 'its fused activation SIGN_BIT is not implemented on the GPU' }] : [];
}

function depthwise(v: OpView): OpProblem[] {
  const out = activation(v);
  const m = Number(optionsOf(v.op)?.depthMultiplier ?? 1);
  const inC = v.shapes[v.op.inputs[0]]?.at(-1) ?? -1;
  if (m !== 1 && inC !== 1) out.push({ kind: 'options-not-supported', reason: `depth multiplier ${m} with ${inC} input channels (the GPU takes a multiplier only with one input channel)` });
  return out;
}

function fullyConnected(v: OpView): OpProblem[] {
  const o = optionsOf(v.op) ?? {};
  const out = activation(v);
  if (o.weightsFormat !== undefined && o.weightsFormat !== 'DEFAULT') out.push({ kind: 'options-not-supported', reason: `its weights format ${String(o.weightsFormat)} is not the default` });
  if (isConstTensor(v.graph, v.op.inputs[0])) out.push({ kind: 'options-not-supported', reason: 'its input is a constant' });
  return out;
}

function softmax(v: OpView): OpProblem[] {
  const beta = Number(optionsOf(v.op)?.beta ?? 1);
  return beta === 1 ? [] : [{ kind: 'options-not-supported', reason: `beta ${beta} (the GPU takes only beta 1)` }];
}

function resizeBilinear(v: OpView): OpProblem[] {
  const o = optionsOf(v.op) ?? {};
  return o.alignCorners && o.halfPixelCenters ? [{ kind: 'options-not-supported', reason: 'align_corners together with half_pixel_centers' }] : [];
}

function constInt32Axes(v: OpView): OpProblem[] {
  const t = v.op.inputs[1];
  if (t === undefined || t < 0) return [];
  if (!isConstTensor(v.graph, t)) return [{ kind: 'options-not-supported', reason: 'its axes are not a constant' }];
  return v.graph.tensors[t].dtype === 'int32' ? [] : [{ kind: 'dtype-not-supported', reason: `its axes are ${v.graph.tensors[t].dtype}, not int32` }];
}

function pad(v: OpView): OpProblem[] {
  const s = v.shapes[v.op.inputs[1]] ?? [];
  return s.length === 2 && (s[0] === 3 || s[0] === 4) && s[1] === 2 ? [] : [{ kind: 'options-not-supported', reason: `its paddings have shape [${s.join(',')}] (the GPU takes 4×2 or 3×2)` }];
}

function blockSize(v: OpView): OpProblem[] {
  const b = Number(optionsOf(v.op)?.blockSize ?? 2);
  return b > 1 ? [] : [{ kind: 'options-not-supported', reason: `block size ${b}` }];
}

function dequantize(v: OpView): OpProblem[] {
  return v.dtype === 'int16' ? [{ kind: 'dtype-not-supported', reason: 'it dequantizes int16' }] : [];
}

export const GPU_OPS: Readonly<Record<string, DelegateOpEntry>> = {
  ADD: { check: activation },
  SUB: { check: activation },
  MUL: { check: activation },
  AVERAGE_POOL_2D: { check: activation },
  MAX_POOL_2D: { check: activation },
  CONCATENATION: {},
  CONV_2D: { check: activation },
  DEPTHWISE_CONV_2D: { check: depthwise },
  FULLY_CONNECTED: { check: fullyConnected },
  TRANSPOSE_CONV: {},
  DEPTH_TO_SPACE: { check: blockSize },
  SPACE_TO_DEPTH: { check: blockSize },
  DEQUANTIZE: { check: dequantize },
  QUANTIZE: {},
  HARD_SWISH: {},
  LOGISTIC: {},
  TANH: {},
  RELU: {},
  RELU6: {},
  RELU_N1_TO_1: {},
  LEAKY_RELU: {},
  PRELU: {},
  RESHAPE: {},
  RESIZE_BILINEAR: { check: resizeBilinear },
  RESIZE_NEAREST_NEIGHBOR: {},
  SOFTMAX: { check: softmax },
  MEAN: { check: constInt32Axes },
  PAD: { check: pad },
  // Builtins QuantLab keeps opaque: supported by name.
  ABS: {}, CEIL: {}, COS: {}, ELU: {}, EXP: {}, FLOOR: {}, GELU: {}, LOG: {}, NEG: {}, RSQRT: {}, SIGN: {}, SIN: {}, SQRT: {}, SQUARE: {},
  ATAN2: {}, DIV: {}, EQUAL: {}, FLOOR_DIV: {}, FLOOR_MOD: {}, GREATER: {}, GREATER_EQUAL: {}, LOGICAL_AND: {}, LESS: {}, LESS_EQUAL: {},
  MAXIMUM: {}, MINIMUM: {}, NOT_EQUAL: {}, POW: {}, SQUARED_DIFFERENCE: {},
  ADD_N: {}, BATCH_MATMUL: {}, CAST: {}, CUMSUM: {}, DENSIFY: {}, EMBEDDING_LOOKUP: {}, DYNAMIC_UPDATE_SLICE: {}, GATHER: {}, LSTM: {},
  MIRROR_PAD: {}, PADV2: {}, ONE_HOT: {}, PACK: {}, SELECT: {}, SELECT_V2: {}, SLICE: {}, SPLIT: {}, SPLIT_V: {}, STRIDED_SLICE: {},
  TILE: {}, TRANSPOSE: {}, REDUCE_MAX: { check: constInt32Axes }, REDUCE_MIN: { check: constInt32Axes }, REDUCE_PROD: { check: constInt32Axes }, SUM: { check: constInt32Axes },
  'CUSTOM:Convolution2DTransposeBias': { note: "the GPU delegate has its own kernel for MediaPipe's Convolution2DTransposeBias" },
  'CUSTOM:MaxPoolingWithArgmax2D': { note: "the GPU delegate has its own kernel for MediaPipe's MaxPoolingWithArgmax2D" },
  'CUSTOM:MaxUnpooling2D': { note: "the GPU delegate has its own kernel for MediaPipe's MaxUnpooling2D" },
  'CUSTOM:Resampler': { note: 'the GPU delegate has its own kernel for Resampler' },
};

/** Ops that read or write integer / boolean data on the GPU (indices, casts, comparisons). */
const INTEGER_OK: ReadonlySet<string> = new Set(['CAST', 'GATHER', 'ONE_HOT', 'SELECT', 'SELECT_V2', 'EMBEDDING_LOOKUP', 'DYNAMIC_UPDATE_SLICE', 'EQUAL', 'NOT_EQUAL', 'GREATER', 'GREATER_EQUAL', 'LESS', 'LESS_EQUAL', 'LOGICAL_AND', 'CUMSUM']);

/** Every runtime (non-constant) tensor must be float, or int8/uint8 with quantization. */
export function gpuTensorTypes(v: OpView, key: string): OpProblem[] {
  if (INTEGER_OK.has(key)) return [];
  const bad: string[] = [];
  const ts = [...v.op.inputs, ...v.op.outputs].filter((t) => t >= 0 && !isConstTensor(v.graph, t));
  // A DEQUANTIZE's input / a QUANTIZE's output is quantized by definition.
  for (const t of ts) {
    const x = v.graph.tensors[t];
    if (x.dtype === 'float32' || x.dtype === 'float16') continue;
    if ((x.dtype === 'int8' || x.dtype === 'uint8') && x.quant && x.quant.scale.length > 0) continue;
    if (key === 'DEQUANTIZE' && v.op.inputs[0] === t && x.dtype !== 'int16') continue;
    bad.push(`${x.dtype} tensor '${x.name}'`);
  }
  return bad.length ? [{ kind: 'dtype-not-supported', reason: `the GPU computes in float and takes quantized int8/uint8 only with quantization parameters; it has ${bad.slice(0, 2).join(', ')}` }] : [];
}

/** The GPU delegate's default limit on delegated partitions (TfLiteGpuDelegateOptionsV2Default). */
export const GPU_MAX_PARTITIONS = 1;
