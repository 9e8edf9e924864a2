/**
 * The one place that says how each IR op type is spelled in a .tflite file: its builtin code
 * and the BuiltinOptions union member that carries its options.
 */

import type { BuiltinOpType, DType, FusedActivation, Padding } from '../../ir/types';
import * as fb from './generated/schema_generated';

export interface TfliteOpSpelling {
  code: fb.BuiltinOperator;
  /** Union member holding the options; NONE for ops without an options table. */
  options: fb.BuiltinOptions;
}

export const TFLITE_OPS: Readonly<Record<BuiltinOpType, TfliteOpSpelling>> = {
  CONV_2D: { code: fb.BuiltinOperator.CONV_2D, options: fb.BuiltinOptions.Conv2DOptions },
  DEPTHWISE_CONV_2D: { code: fb.BuiltinOperator.DEPTHWISE_CONV_2D, options: fb.BuiltinOptions.DepthwiseConv2DOptions },
  FULLY_CONNECTED: { code: fb.BuiltinOperator.FULLY_CONNECTED, options: fb.BuiltinOptions.FullyConnectedOptions },
  TRANSPOSE_CONV: { code: fb.BuiltinOperator.TRANSPOSE_CONV, options: fb.BuiltinOptions.TransposeConvOptions },
  ADD: { code: fb.BuiltinOperator.ADD, options: fb.BuiltinOptions.AddOptions },
  SUB: { code: fb.BuiltinOperator.SUB, options: fb.BuiltinOptions.SubOptions },
  MUL: { code: fb.BuiltinOperator.MUL, options: fb.BuiltinOptions.MulOptions },
  AVERAGE_POOL_2D: { code: fb.BuiltinOperator.AVERAGE_POOL_2D, options: fb.BuiltinOptions.Pool2DOptions },
  MAX_POOL_2D: { code: fb.BuiltinOperator.MAX_POOL_2D, options: fb.BuiltinOptions.Pool2DOptions },
  MEAN: { code: fb.BuiltinOperator.MEAN, options: fb.BuiltinOptions.ReducerOptions },
  RESHAPE: { code: fb.BuiltinOperator.RESHAPE, options: fb.BuiltinOptions.ReshapeOptions },
  SQUEEZE: { code: fb.BuiltinOperator.SQUEEZE, options: fb.BuiltinOptions.SqueezeOptions },
  CONCATENATION: { code: fb.BuiltinOperator.CONCATENATION, options: fb.BuiltinOptions.ConcatenationOptions },
  PAD: { code: fb.BuiltinOperator.PAD, options: fb.BuiltinOptions.PadOptions },
  RELU: { code: fb.BuiltinOperator.RELU, options: fb.BuiltinOptions.NONE },
  RELU6: { code: fb.BuiltinOperator.RELU6, options: fb.BuiltinOptions.NONE },
  LEAKY_RELU: { code: fb.BuiltinOperator.LEAKY_RELU, options: fb.BuiltinOptions.LeakyReluOptions },
  PRELU: { code: fb.BuiltinOperator.PRELU, options: fb.BuiltinOptions.NONE },
  HARD_SWISH: { code: fb.BuiltinOperator.HARD_SWISH, options: fb.BuiltinOptions.HardSwishOptions },
  LOGISTIC: { code: fb.BuiltinOperator.LOGISTIC, options: fb.BuiltinOptions.NONE },
  TANH: { code: fb.BuiltinOperator.TANH, options: fb.BuiltinOptions.NONE },
  SOFTMAX: { code: fb.BuiltinOperator.SOFTMAX, options: fb.BuiltinOptions.SoftmaxOptions },
  RESIZE_BILINEAR: { code: fb.BuiltinOperator.RESIZE_BILINEAR, options: fb.BuiltinOptions.ResizeBilinearOptions },
  RESIZE_NEAREST_NEIGHBOR: {
    code: fb.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR,
    options: fb.BuiltinOptions.ResizeNearestNeighborOptions,
  },
  DEPTH_TO_SPACE: { code: fb.BuiltinOperator.DEPTH_TO_SPACE, options: fb.BuiltinOptions.DepthToSpaceOptions },
  SPACE_TO_DEPTH: { code: fb.BuiltinOperator.SPACE_TO_DEPTH, options: fb.BuiltinOptions.SpaceToDepthOptions },
  DEQUANTIZE: { code: fb.BuiltinOperator.DEQUANTIZE, options: fb.BuiltinOptions.DequantizeOptions },
  QUANTIZE: { code: fb.BuiltinOperator.QUANTIZE, options: fb.BuiltinOptions.QuantizeOptions },
};

/** IR op type of a builtin code, when QuantLab models it. */
export const IR_OP_BY_CODE: ReadonlyMap<number, BuiltinOpType> = new Map(
  (Object.keys(TFLITE_OPS) as BuiltinOpType[]).map((t) => [TFLITE_OPS[t].code as number, t]),
);

/** The schema's name of a builtin code ('GATHER'), or `BUILTIN_<n>` for codes newer than the schema. */
export function builtinName(code: number): string {
  const name = (fb.BuiltinOperator as unknown as Record<number, string | undefined>)[code];
  return name ?? `BUILTIN_${code}`;
}

/** The builtin code of a schema name, if the schema knows it. */
export function builtinCodeByName(name: string): number | undefined {
  const code = (fb.BuiltinOperator as unknown as Record<string, number | undefined>)[name];
  if (typeof code === 'number') return code;
  const m = /^BUILTIN_(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The schema name of a BuiltinOptions union member ('Conv2DOptions'). */
export function optionsName(type: number): string {
  return (fb.BuiltinOptions as unknown as Record<number, string | undefined>)[type] ?? `options type ${type}`;
}

export const PADDING_BY_CODE: readonly Padding[] = ['SAME', 'VALID'];
export const PADDING_CODE: Readonly<Record<Padding, fb.Padding>> = { SAME: fb.Padding.SAME, VALID: fb.Padding.VALID };

export const ACTIVATION_BY_CODE: readonly FusedActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];
export const ACTIVATION_CODE: Readonly<Record<FusedActivation, fb.ActivationFunctionType>> = {
  NONE: fb.ActivationFunctionType.NONE,
  RELU: fb.ActivationFunctionType.RELU,
  RELU_N1_TO_1: fb.ActivationFunctionType.RELU_N1_TO_1,
  RELU6: fb.ActivationFunctionType.RELU6,
  TANH: fb.ActivationFunctionType.TANH,
  SIGN_BIT: fb.ActivationFunctionType.SIGN_BIT,
};

/** IR dtype of each TFLite tensor type QuantLab supports. */
export const DTYPE_BY_TENSOR_TYPE: ReadonlyMap<number, DType> = new Map<number, DType>([
  [fb.TensorType.FLOAT32, 'float32'],
  [fb.TensorType.FLOAT16, 'float16'],
  [fb.TensorType.INT32, 'int32'],
  [fb.TensorType.UINT8, 'uint8'],
  [fb.TensorType.INT64, 'int64'],
  [fb.TensorType.BOOL, 'bool'],
  [fb.TensorType.INT16, 'int16'],
  [fb.TensorType.INT8, 'int8'],
]);

export const TENSOR_TYPE_BY_DTYPE: Readonly<Record<DType, fb.TensorType>> = {
  float32: fb.TensorType.FLOAT32,
  float16: fb.TensorType.FLOAT16,
  int32: fb.TensorType.INT32,
  uint8: fb.TensorType.UINT8,
  int64: fb.TensorType.INT64,
  bool: fb.TensorType.BOOL,
  int16: fb.TensorType.INT16,
  int8: fb.TensorType.INT8,
};

/** The schema's name of a tensor type ('COMPLEX64'). */
export function tensorTypeName(type: number): string {
  return (fb.TensorType as unknown as Record<number, string | undefined>)[type] ?? `type ${type}`;
}
