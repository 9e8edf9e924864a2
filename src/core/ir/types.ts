/**
 * The format-neutral graph IR. NHWC layout, TFLite-like op set.
 *
 * Conventions:
 * - A tensor is identified by its index in `Graph.tensors`; op inputs/outputs hold indices,
 *   with -1 meaning "optional input not given" (as in TFLite).
 * - Shapes use -1 for a dimension unknown until run time (TFLite's shape_signature).
 * - Constant data is kept as a typed array of the tensor's dtype (float16 as raw Uint16Array,
 *   int64 as BigInt64Array), always little-endian and densely packed in row-major order.
 */

export type DType = 'float32' | 'float16' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'bool';

export type TensorData =
  | Float32Array
  | Uint16Array // float16 bits
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | BigInt64Array;

/**
 * Affine quantization `r = scale · (q − zeroPoint)`.
 * Per tensor when `scale.length === 1`; per axis (`axis` set) otherwise, one entry per slice.
 */
export interface QuantParams {
  scale: number[];
  zeroPoint: number[];
  /** Quantized dimension for per-axis parameters. */
  axis?: number;
  /** Observed float range, when known (calibration, QAT, or stored in the file). */
  min?: number[];
  max?: number[];
}

export interface Tensor {
  name: string;
  dtype: DType;
  /** Static shape; -1 marks a dimension unknown until run time. */
  shape: number[];
  /** Constant contents (weights, biases, shape operands); absent for activations. */
  data?: TensorData;
  quant?: QuantParams;
  /** True for variable tensors (stateful ops); kept for round-tripping. */
  isVariable?: boolean;
}

export type FusedActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';
export type Padding = 'SAME' | 'VALID';

/** Options of each builtin op. Field names follow the TFLite schema, camelCased. */
export interface OpOptionsMap {
  CONV_2D: { padding: Padding; strideW: number; strideH: number; dilationWFactor: number; dilationHFactor: number; fusedActivationFunction: FusedActivation };
  DEPTHWISE_CONV_2D: { padding: Padding; strideW: number; strideH: number; depthMultiplier: number; dilationWFactor: number; dilationHFactor: number; fusedActivationFunction: FusedActivation };
  FULLY_CONNECTED: { fusedActivationFunction: FusedActivation; keepNumDims: boolean; weightsFormat: 'DEFAULT' | 'SHUFFLED4x16INT8'; asymmetricQuantizeInputs: boolean };
  TRANSPOSE_CONV: { padding: Padding; strideW: number; strideH: number; fusedActivationFunction: FusedActivation };
  ADD: { fusedActivationFunction: FusedActivation; potScaleInt16: boolean };
  SUB: { fusedActivationFunction: FusedActivation; potScaleInt16: boolean };
  MUL: { fusedActivationFunction: FusedActivation };
  AVERAGE_POOL_2D: { padding: Padding; strideW: number; strideH: number; filterWidth: number; filterHeight: number; fusedActivationFunction: FusedActivation };
  MAX_POOL_2D: { padding: Padding; strideW: number; strideH: number; filterWidth: number; filterHeight: number; fusedActivationFunction: FusedActivation };
  MEAN: { keepDims: boolean };
  RESHAPE: { newShape: number[] };
  SQUEEZE: { squeezeDims: number[] };
  CONCATENATION: { axis: number; fusedActivationFunction: FusedActivation };
  PAD: Record<string, never>;
  RELU: Record<string, never>;
  RELU6: Record<string, never>;
  LEAKY_RELU: { alpha: number };
  PRELU: Record<string, never>;
  HARD_SWISH: Record<string, never>;
  LOGISTIC: Record<string, never>;
  TANH: Record<string, never>;
  SOFTMAX: { beta: number };
  RESIZE_BILINEAR: { alignCorners: boolean; halfPixelCenters: boolean };
  RESIZE_NEAREST_NEIGHBOR: { alignCorners: boolean; halfPixelCenters: boolean };
  DEPTH_TO_SPACE: { blockSize: number };
  SPACE_TO_DEPTH: { blockSize: number };
  DEQUANTIZE: Record<string, never>;
  QUANTIZE: Record<string, never>;
}

export type BuiltinOpType = keyof OpOptionsMap;

/** A builtin op with its typed options. */
export type BuiltinOp = {
  [K in BuiltinOpType]: OpBase & { type: K; options: OpOptionsMap[K] };
}[BuiltinOpType];

interface OpBase {
  inputs: number[];
  outputs: number[];
  /** Op version as written in (or to be written to) a .tflite file. */
  version?: number;
  /** A readable label (e.g. the Keras layer name); defaults to the first output's name. */
  name?: string;
}

/**
 * Any op the reader met that QuantLab has no typed options for: custom ops (kept opaque, with
 * their custom code and options bytes) and builtins outside the supported set (kept so the file
 * round-trips and so the runtime can name them in its "unsupported op" error).
 */
export interface OpaqueOp extends OpBase {
  type: 'CUSTOM' | 'UNKNOWN_BUILTIN';
  /** Custom code (CUSTOM) or the builtin's schema name (UNKNOWN_BUILTIN, e.g. 'GATHER'). */
  code: string;
  /** Builtin code number (UNKNOWN_BUILTIN) */
  builtinCode?: number;
  customOptions?: Uint8Array;
  /** Raw builtin options table bytes are not kept; an UNKNOWN_BUILTIN is written back without options. */
}

export type Op = BuiltinOp | OpaqueOp;

export interface Graph {
  name: string;
  tensors: Tensor[];
  ops: Op[];
  inputs: number[];
  outputs: number[];
}

export type ModelFormat = 'tflite' | 'tfjs-layers' | 'keras' | 'onnx';

/** A named blob stored with the model (TFLite metadata such as 'min_runtime_version'), kept for round-tripping. */
export interface ModelMetadata {
  name: string;
  data: Uint8Array;
}

/** A named entry point (TFLite SignatureDef): aliases for some of a subgraph's tensors. */
export interface Signature {
  key: string;
  /** Index into `Model.subgraphs`. */
  subgraph: number;
  inputs: { name: string; tensor: number }[];
  outputs: { name: string; tensor: number }[];
}

export interface Model {
  format: ModelFormat;
  /** Subgraph 0 is the main graph. */
  subgraphs: Graph[];
  description?: string;
  /** Free-form facts the reader found (producer, version, …), shown by `inspect`. */
  producer?: string;
  /** Metadata blobs stored in the file (TFLite `Model.metadata`), written back unchanged. */
  metadata?: ModelMetadata[];
  /** Named entry points (TFLite signature defs). */
  signatures?: Signature[];
}
