/**
 * What TFLite's NNAPI delegate takes, per op, by Android API level.
 *
 * Written from the public facts, not copied:
 * - TFLite's NNAPI delegate op validation (tensorflow/lite/delegates/nnapi/nnapi_delegate.cc,
 *   NNAPIDelegateKernel::Validate): the highest op version per op, the minimum NNAPI level per
 *   op and per data type, and the option checks (dilation, keep_num_dims, align_corners /
 *   half_pixel_centers, constant shape operands, concatenation without activation, …).
 * - The NNAPI levels: NNAPI 1.0 = API 27, 1.1 = 28, 1.2 = 29, 1.3 = 30 (Android NDK
 *   NeuralNetworks.h). NNAPI 1.2 added per-channel symmetric int8 weights
 *   (TENSOR_QUANT8_SYMM_PER_CHANNEL); NNAPI 1.3 added signed asymmetric int8
 *   (TENSOR_QUANT8_ASYMM_SIGNED). The fused activations NNAPI knows are its FuseCode values:
 *   NONE, RELU, RELU1, RELU6 — not TANH or SIGN_BIT.
 * - Signed int8 below API 30: the delegate rewrites int8 activations as uint8 (zero point + 128)
 *   for the ops that allow it, so an int8 op runs below NNAPI 1.3 when its rule says so; CONV_2D,
 *   DEPTHWISE_CONV_2D and FULLY_CONNECTED take only float32 or uint8 before NNAPI 1.2 (API 29).
 *   QUANTIZE can only produce uint8 before API 30; DEQUANTIZE reads int8 from API 29.
 * - Float16 weights (a DEQUANTIZE of a constant float16 tensor) are folded into the op that
 *   reads them; the DEQUANTIZE goes with its readers (preflight.ts handles that, not this table).
 *
 * Not modelled: per-device driver support (a driver may still refuse an op the delegate accepts;
 * from API 29 the delegate asks the driver, and without a real accelerator it delegates nothing
 * unless the nnapi-reference CPU is chosen), and the accelerator-specific relaxations.
 */
import type { FusedActivation } from '../../ir/types';
import { isConstTensor, isPerChannel, optionsOf, type DelegateOpEntry, type OpProblem, type OpView } from './types';

export const NNAPI_1_0 = 27;
export const NNAPI_1_1 = 28;
export const NNAPI_1_2 = 29;
export const NNAPI_1_3 = 30;

/** The NNAPI version name of an API level, for sentences. */
export function nnapiName(api: number): string {
  if (api >= 31) return `NNAPI feature level ${api >= 35 ? 8 : api >= 34 ? 7 : api >= 33 ? 6 : 5}`;
  return `NNAPI 1.${Math.max(0, api - 27)}`;
}

export function needs(api: number): string {
  return `${nnapiName(api)} (Android API ${api})`;
}

/** float32, uint8 from NNAPI 1.0; int8 through the delegate's uint8 rewrite. */
const FLOAT_QUANT = { float32: NNAPI_1_0, uint8: NNAPI_1_0, int8: NNAPI_1_0 } as const;
/** Convolutions and fully connected: int8 only from NNAPI 1.2. */
const FLOAT_QUANT_29 = { float32: NNAPI_1_0, uint8: NNAPI_1_0, int8: NNAPI_1_2 } as const;

const NNAPI_ACTIVATIONS: ReadonlySet<FusedActivation> = new Set(['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6']);

function activation(v: OpView): OpProblem[] {
  const act = optionsOf(v.op)?.fusedActivationFunction as FusedActivation | undefined;
  if (act && !NNAPI_ACTIVATIONS.has(act)) {
    return [{ kind: 'options-not-supported', reason: `its fused activation ${act} has no NNAPI FuseCode (NNAPI fuses only RELU, RELU1 and RELU6)` }];
  }
  return [];
}

function atLeast(v: OpView, api: number, kind: OpProblem['kind'], what: string): OpProblem[] {
  return v.androidApi >= api ? [] : [{ kind, reason: `${what} needs ${needs(api)}` }];
}

function rankOf(v: OpView, t: number | undefined): number {
  return t !== undefined && t >= 0 ? (v.shapes[t]?.length ?? 0) : 0;
}

function hybrid(v: OpView): boolean {
  const w = v.op.inputs[1];
  const wt = w !== undefined && w >= 0 ? v.graph.tensors[w].dtype : undefined;
  return v.dtype === 'float32' && (wt === 'int8' || wt === 'uint8');
}

function conv(v: OpView): OpProblem[] {
  const o = optionsOf(v.op) ?? {};
  const out = activation(v);
  if (v.op.inputs.length < 3 || v.op.inputs[2] < 0) out.push({ kind: 'options-not-supported', reason: 'it has no bias operand, which the NNAPI delegate requires' });
  if ((o.dilationWFactor ?? 1) !== 1 || (o.dilationHFactor ?? 1) !== 1) out.push(...atLeast(v, NNAPI_1_2, 'android-api-too-low', 'dilation'));
  if (isPerChannel(v.graph, v.op.inputs[1])) out.push(...atLeast(v, NNAPI_1_2, 'android-api-too-low', 'per-channel int8 weights'));
  if (hybrid(v)) out.push(...atLeast(v, NNAPI_1_2, 'android-api-too-low', 'a hybrid op (float input, int8 weights)'));
  return out;
}

function depthwise(v: OpView): OpProblem[] {
  const o = optionsOf(v.op) ?? {};
  const out = activation(v);
  if ((o.dilationWFactor ?? 1) !== 1 || (o.dilationHFactor ?? 1) !== 1) out.push(...atLeast(v, NNAPI_1_2, 'android-api-too-low', 'dilation'));
  if (isPerChannel(v.graph, v.op.inputs[1])) out.push(...atLeast(v, NNAPI_1_2, 'android-api-too-low', 'per-channel int8 weights'));
  return out;
}

function fullyConnected(v: OpView): OpProblem[] {
  const out = activation(v);
  const y = v.op.outputs[0];
  if (y >= 0 && v.graph.tensors[y].dtype === 'int16') out.push({ kind: 'dtype-not-supported', reason: 'its output is int16' });
  if (optionsOf(v.op)?.keepNumDims) out.push(...atLeast(v, NNAPI_1_3, 'android-api-too-low', 'keep_num_dims'));
  if (hybrid(v)) out.push(...atLeast(v, NNAPI_1_2, 'android-api-too-low', 'a hybrid op (float input, int8 weights)'));
  if (isPerChannel(v.graph, v.op.inputs[1])) out.push(...atLeast(v, NNAPI_1_2, 'android-api-too-low', 'per-channel int8 weights'));
  return out;
}

function addMul(v: OpView): OpProblem[] {
  const out = activation(v);
  if (v.dtype === 'int32' && optionsOf(v.op)?.fusedActivationFunction !== 'NONE') out.push({ kind: 'options-not-supported', reason: 'int32 inputs take no fused activation' });
  return out;
}

function constOperand(index: number, what: string) {
  return (v: OpView): OpProblem[] => {
    const t = v.op.inputs[index];
    if (t === undefined || t < 0) return [];
    return isConstTensor(v.graph, t) ? [] : [{ kind: 'options-not-supported', reason: `its ${what} is not a constant (the delegate needs static sizes)` }];
  };
}

function resize(v: OpView): OpProblem[] {
  const o = optionsOf(v.op) ?? {};
  const out = constOperand(1, 'size operand')(v);
  if (rankOf(v, v.op.inputs[0]) !== 4) out.push({ kind: 'options-not-supported', reason: 'its input is not 4-D' });
  if (v.androidApi <= NNAPI_1_2 && (o.alignCorners || o.halfPixelCenters)) {
    out.push({ kind: 'android-api-too-low', reason: `${o.alignCorners ? 'align_corners' : 'half_pixel_centers'} needs ${needs(NNAPI_1_3)}` });
  }
  if (v.op.type === 'RESIZE_BILINEAR' && v.androidApi < NNAPI_1_2) {
    const y = v.shapes[v.op.outputs[0]] ?? [];
    if (y.length === 4 && y[1] !== y[2]) out.push({ kind: 'android-api-too-low', reason: `an output that is not square (${y[1]}×${y[2]}) needs ${needs(NNAPI_1_2)}` });
  }
  return out;
}

function softmax(v: OpView): OpProblem[] {
  const r = rankOf(v, v.op.inputs[0]);
  if (r > 4) return [{ kind: 'options-not-supported', reason: `its input has rank ${r} (at most 4)` }];
  if (v.androidApi < NNAPI_1_2 && r !== 2 && r !== 4) return [{ kind: 'android-api-too-low', reason: `a rank-${r} input needs ${needs(NNAPI_1_2)} (before, only 2-D and 4-D)` }];
  return [];
}

function concatenation(v: OpView): OpProblem[] {
  const out: OpProblem[] = [];
  if (optionsOf(v.op)?.fusedActivationFunction !== 'NONE') out.push({ kind: 'options-not-supported', reason: 'it has a fused activation' });
  if (rankOf(v, v.op.inputs[0]) > 4) out.push({ kind: 'options-not-supported', reason: 'its inputs have rank above 4' });
  return out;
}

function dequantize(v: OpView): OpProblem[] {
  if (v.dtype === 'float16') {
    return isConstTensor(v.graph, v.op.inputs[0]) ? [] : atLeast(v, NNAPI_1_3, 'android-api-too-low', 'a float16 → float32 DEQUANTIZE of an activation');
  }
  return [];
}

function quantize(v: OpView): OpProblem[] {
  const y = v.op.outputs[0];
  const dt = y >= 0 ? v.graph.tensors[y].dtype : undefined;
  if (dt === 'int8') return atLeast(v, NNAPI_1_3, 'android-api-too-low', 'an int8 output');
  if (dt !== 'uint8') return [{ kind: 'dtype-not-supported', reason: `its output is ${dt ?? 'unknown'} (NNAPI quantizes to uint8, and int8 from API 30)` }];
  return [];
}

function squeeze(v: OpView): OpProblem[] {
  const dims = optionsOf(v.op)?.squeezeDims as number[] | undefined;
  if (v.androidApi === NNAPI_1_1 && (!dims || dims.length === 0)) return [{ kind: 'options-not-supported', reason: 'NNAPI 1.1 mishandles SQUEEZE without squeeze_dims' }];
  return [];
}

function mean(v: OpView): OpProblem[] {
  const y = v.op.outputs[0];
  const out: OpProblem[] = [];
  if (rankOf(v, y) === 0) out.push({ kind: 'options-not-supported', reason: 'its output is a scalar' });
  const qi = v.graph.tensors[v.op.inputs[0]]?.quant;
  const qo = y >= 0 ? v.graph.tensors[y].quant : undefined;
  if (qi && qo && (qi.scale[0] !== qo.scale[0] || (qi.zeroPoint[0] ?? 0) !== (qo.zeroPoint[0] ?? 0))) {
    out.push({ kind: 'options-not-supported', reason: 'its input and output quantization differ (NNAPI needs them equal)' });
  }
  return out;
}

function averagePool(v: OpView): OpProblem[] {
  const o = optionsOf(v.op) ?? {};
  const out = activation(v);
  const area = Number(o.filterWidth ?? 1) * Number(o.filterHeight ?? 1);
  if ((v.dtype === 'int8' || v.dtype === 'uint8') && area > 256) {
    out.push({ kind: 'options-not-supported', reason: `a quantized ${o.filterWidth}×${o.filterHeight} window (over 256 values) is refused unless an accelerator is named` });
  }
  return out;
}

function transposeConv(v: OpView): OpProblem[] {
  const out: OpProblem[] = [];
  if (!isConstTensor(v.graph, v.op.inputs[0])) out.push({ kind: 'options-not-supported', reason: 'its output shape is not a constant' });
  if (!isConstTensor(v.graph, v.op.inputs[1])) out.push({ kind: 'options-not-supported', reason: 'its weights are not a constant' });
  return out;
}

function sub(v: OpView): OpProblem[] {
  const out = addMul(v);
  if (rankOf(v, v.op.inputs[0]) > 4 || rankOf(v, v.op.inputs[1]) > 4) out.push({ kind: 'options-not-supported', reason: 'an input has rank above 4' });
  return out;
}

export const NNAPI_OPS: Readonly<Record<string, DelegateOpEntry>> = {
  ADD: { maxVersion: 2, dtypes: { ...FLOAT_QUANT, int32: NNAPI_1_3 }, check: addMul },
  MUL: { maxVersion: 2, dtypes: { ...FLOAT_QUANT, int32: NNAPI_1_3 }, check: addMul, note: 'MUL version 3 only with a named accelerator' },
  SUB: { maxVersion: 3, minApi: NNAPI_1_1, dtypes: { float32: NNAPI_1_1, uint8: NNAPI_1_2, int8: NNAPI_1_2, int32: NNAPI_1_3 }, check: sub },
  AVERAGE_POOL_2D: { maxVersion: 2, dtypes: FLOAT_QUANT, check: averagePool },
  MAX_POOL_2D: { maxVersion: 2, dtypes: FLOAT_QUANT, check: activation },
  CONV_2D: { maxVersion: 3, dtypes: FLOAT_QUANT_29, check: conv },
  DEPTHWISE_CONV_2D: { maxVersion: 3, dtypes: FLOAT_QUANT_29, check: depthwise },
  FULLY_CONNECTED: { maxVersion: 5, dtypes: FLOAT_QUANT_29, check: fullyConnected },
  TRANSPOSE_CONV: { maxVersion: 3, minApi: NNAPI_1_2, dtypes: FLOAT_QUANT_29, check: transposeConv },
  HARD_SWISH: { dtypes: FLOAT_QUANT, note: 'split into basic NNAPI ops before API 29' },
  SOFTMAX: { maxVersion: 2, dtypes: FLOAT_QUANT, check: softmax },
  RESHAPE: { maxVersion: 1, dtypes: FLOAT_QUANT, check: constOperand(1, 'shape operand') },
  RESIZE_BILINEAR: { maxVersion: 3, dtypes: { float32: NNAPI_1_0, uint8: NNAPI_1_2, int8: NNAPI_1_2 }, check: resize },
  RESIZE_NEAREST_NEIGHBOR: { maxVersion: 3, minApi: NNAPI_1_2, dtypes: FLOAT_QUANT, check: resize },
  SQUEEZE: { maxVersion: 1, minApi: NNAPI_1_1, check: squeeze },
  CONCATENATION: { maxVersion: 2, dtypes: { ...FLOAT_QUANT, float16: NNAPI_1_0 }, check: concatenation },
  DEQUANTIZE: { maxVersion: 2, dtypes: { uint8: NNAPI_1_0, int8: NNAPI_1_2, float16: NNAPI_1_0 }, check: dequantize },
  QUANTIZE: { maxVersion: 2, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2, uint8: NNAPI_1_2, int8: NNAPI_1_2 }, check: quantize },
  RELU: { maxVersion: 2, dtypes: FLOAT_QUANT },
  RELU6: { maxVersion: 2, dtypes: FLOAT_QUANT },
  RELU_N1_TO_1: { maxVersion: 2, dtypes: FLOAT_QUANT },
  LOGISTIC: { maxVersion: 2, dtypes: FLOAT_QUANT },
  TANH: { maxVersion: 2, dtypes: { float32: NNAPI_1_0, uint8: NNAPI_1_2, int8: NNAPI_1_2 } },
  LEAKY_RELU: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: FLOAT_QUANT },
  PRELU: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: FLOAT_QUANT },
  PAD: { maxVersion: 2, minApi: NNAPI_1_1, dtypes: { float32: NNAPI_1_1, uint8: NNAPI_1_2, int8: NNAPI_1_2 } },
  MEAN: { maxVersion: 2, minApi: NNAPI_1_1, dtypes: { float32: NNAPI_1_1, uint8: NNAPI_1_2, int8: NNAPI_1_2 }, check: mean },
  DEPTH_TO_SPACE: { dtypes: FLOAT_QUANT },
  SPACE_TO_DEPTH: { maxVersion: 2, dtypes: FLOAT_QUANT },
  // Builtins QuantLab keeps opaque (no typed options): type, version and level only.
  DIV: { maxVersion: 1, minApi: NNAPI_1_1, dtypes: { float32: NNAPI_1_1 } },
  FLOOR: { maxVersion: 1, dtypes: { float32: NNAPI_1_0 } },
  L2_NORMALIZATION: { maxVersion: 2, dtypes: { float32: NNAPI_1_0, uint8: NNAPI_1_2, int8: NNAPI_1_2 } },
  TRANSPOSE: { maxVersion: 2, minApi: NNAPI_1_1, check: constOperand(1, 'permutation') },
  STRIDED_SLICE: { maxVersion: 2, minApi: NNAPI_1_1 },
  SPACE_TO_BATCH_ND: { maxVersion: 2, minApi: NNAPI_1_1 },
  BATCH_TO_SPACE_ND: { maxVersion: 2, minApi: NNAPI_1_1 },
  SLICE: { maxVersion: 2, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2, int32: NNAPI_1_2, uint8: NNAPI_1_2, int8: NNAPI_1_2 } },
  GATHER: { maxVersion: 2, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2, float16: NNAPI_1_2, int32: NNAPI_1_2, uint8: NNAPI_1_2, int8: NNAPI_1_2 } },
  MAXIMUM: { maxVersion: 3, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2, uint8: NNAPI_1_2, int8: NNAPI_1_2, int32: NNAPI_1_2 } },
  MINIMUM: { maxVersion: 3, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2, uint8: NNAPI_1_2, int8: NNAPI_1_2, int32: NNAPI_1_2 } },
  ABS: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  EXP: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  LOG: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  RSQRT: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  SQRT: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  SIN: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  POW: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  CAST: { maxVersion: 1, minApi: NNAPI_1_2 },
  SPLIT: { maxVersion: 3, minApi: NNAPI_1_2 },
  TILE: { maxVersion: 1, minApi: NNAPI_1_2 },
  EXPAND_DIMS: { maxVersion: 1, minApi: NNAPI_1_2 },
  ARG_MAX: { maxVersion: 2, minApi: NNAPI_1_2 },
  ARG_MIN: { maxVersion: 2, minApi: NNAPI_1_2 },
  REDUCE_MAX: { maxVersion: 2, minApi: NNAPI_1_2 },
  REDUCE_MIN: { maxVersion: 2, minApi: NNAPI_1_2 },
  SUM: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  LOG_SOFTMAX: { maxVersion: 1, minApi: NNAPI_1_2, dtypes: { float32: NNAPI_1_2 } },
  ELU: { maxVersion: 1, minApi: NNAPI_1_3, dtypes: { float32: NNAPI_1_3 } },
};

/** What to say about a custom op NNAPI cannot run (no custom op runs on NNAPI). */
export const NNAPI_CUSTOM_NOTES: Readonly<Record<string, string>> = {
  Convolution2DTransposeBias:
    "MediaPipe's transpose convolution; 'quantlab convert --legalize' rewrites it as the builtin TRANSPOSE_CONV (NNAPI from API 29), and 'preflight --fix transpose-conv' as CONV_2D + DEPTH_TO_SPACE; the GPU delegate runs it as it is",
};

/** The NNAPI delegate's default limit on delegated partitions (StatefulNnApiDelegate::Options). */
export const NNAPI_MAX_PARTITIONS = 3;
