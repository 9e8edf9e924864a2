/**
 * The kernel contract. Every op file in `kernels/` exports one config object per numeric
 * flavour (the float32 twin today; int8 beside it later) and `register-all.ts` lists them.
 *
 * Life cycle: the interpreter calls `prepare` once per op while planning (shapes are static by
 * then, constant inputs carry their data, activations do not); whatever `prepare` returns as
 * `state` is handed back to every `run`. `run` reads and writes the views bound in its context
 * and must not allocate.
 */
import type { BuiltinOp, BuiltinOpType, DType, OpaqueOp, QuantParams, TensorData } from '../ir/types';
import type { Int8Engine } from './wasm/engine';

/** The op kinds a kernel can be registered for: a builtin, or CUSTOM (with a custom code). */
export type KernelOpType = BuiltinOpType | 'CUSTOM';

/** The op type narrowed to its typed options. */
export type OpOf<T extends KernelOpType> = T extends BuiltinOpType ? Extract<BuiltinOp, { type: T }> : OpaqueOp;

/**
 * How the imitated TFLite build rounds when it maps reals to integers (notes/int8.md):
 * - 'double-rounding': TFLite's reference kernels (gemmlowp doubling high multiply, then a
 *   rounding divide by a power of two; TfLiteRound, i.e. half away from zero, in QUANTIZE);
 * - 'single-rounding': TFLite's optimized kernels built with TFLITE_SINGLE_ROUNDING;
 * - 'xnnpack': XNNPACK's float requantization, round half to even (QUANTIZE multiplies by the
 *   float32 reciprocal of the scale).
 * Results must say which one they used.
 */
export type RoundingMode = 'double-rounding' | 'single-rounding' | 'xnnpack';

/** A tensor as the kernel sees it while preparing: static shape, data only for constants. */
export interface PreparedTensor {
  readonly index: number;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly quant?: QuantParams;
  /** Constant contents (weights, folded constants); undefined for activations. */
  readonly data?: TensorData;
}

/** A tensor with its bound storage, as `run` sees it. */
export interface BoundTensor extends PreparedTensor {
  readonly data: TensorData;
}

export interface PrepareContext<T extends KernelOpType = KernelOpType> {
  readonly op: OpOf<T>;
  readonly opIndex: number;
  /** A readable label for messages: "Op 7 'conv1' (CONV_2D)". */
  readonly label: string;
  /** One entry per op input; null where the optional input is absent (-1). */
  readonly inputs: readonly (PreparedTensor | null)[];
  /** Output tensors with the dtypes the graph declares; their shapes are the graph's (may hold -1). */
  readonly outputs: readonly PreparedTensor[];
  /** The rounding behaviour integer-producing kernels must reproduce. */
  readonly rounding: RoundingMode;
  /**
   * The interpreter's int8 engine (WebAssembly SIMD128, wasm/kernel-bridge.ts), created on the
   * first call; null when int8 kernels must run their TypeScript bodies. Absent outside the
   * interpreter.
   */
  readonly int8Engine?: () => Int8Engine | null;
}

export interface RunContext<T extends KernelOpType = KernelOpType> {
  readonly op: OpOf<T>;
  readonly inputs: readonly (BoundTensor | null)[];
  readonly outputs: readonly BoundTensor[];
}

export interface PrepareResult<S> {
  /** The static shape of every output, in output order. */
  outputShapes: number[][];
  /** Precomputed parameters, packed weights, scratch buffers: passed back to `run`. */
  state: S;
}

/** Input/output dtypes of an op, used to pick the kernel flavour. */
export interface OpSignature {
  inputs: readonly (DType | null)[];
  outputs: readonly DType[];
}

export interface KernelConfig<T extends KernelOpType = KernelOpType, S = unknown> {
  readonly opType: T;
  /** For CUSTOM kernels: the custom code they implement. */
  readonly customCode?: string;
  /** Short flavour name shown in reports ('float32', 'int8', ...). */
  readonly flavour: string;
  /**
   * Output 0 may share input 0's bytes (the op only relabels the shape: RESHAPE, SQUEEZE).
   * The memory plan then aliases them and `run` must tolerate identical storage.
   */
  readonly inPlace?: boolean;
  /** Whether this flavour handles an op with these dtypes. */
  accepts(signature: OpSignature): boolean;
  /**
   * Checks the op (throwing UnsupportedError / ModelFormatError with a sentence), computes
   * output shapes and precomputes `run`'s state. When absent, the single output takes the
   * shape of input 0 and the state is undefined.
   */
  prepare?(ctx: PrepareContext<T>): PrepareResult<S>;
  run(ctx: RunContext<T>, state: S): void;
}

/** A kernel config with its type parameters erased, as held by the registry. */
export type AnyKernelConfig = KernelConfig<KernelOpType, unknown>;

/** Identity helper that type-checks a kernel config against its op type. */
export function defineKernel<T extends KernelOpType, S>(config: KernelConfig<T, S>): AnyKernelConfig {
  return config as unknown as AnyKernelConfig;
}
