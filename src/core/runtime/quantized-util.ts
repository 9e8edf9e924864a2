/**
 * Helpers shared by the integer kernels: quantization parameters, multipliers computed once at
 * prepare time, requantization in the arithmetic of the imitated target, and the clamp bounds
 * of fused activations.
 *
 * Which arithmetic a kernel uses (RoundingMode, kernel.ts):
 * - 'double-rounding': TFLite's reference kernels everywhere;
 * - 'single-rounding': a TFLite build with TFLITE_SINGLE_ROUNDING, every requantization single;
 * - 'xnnpack': TFLite with the XNNPACK delegate as the default build ships it (the wasm build in
 *   @tensorflow/tfjs-tflite is the judge): XNNPACK's float32 arithmetic for the ops the delegate
 *   takes, and for the ops it declines TFLite's builtin kernels, which in that build round once
 *   where they go through ruy (CONV_2D, FULLY_CONNECTED) and twice (gemmlowp) elsewhere.
 *   Each kernel decides at prepare time whether the delegate would take its op.
 */
import { ModelFormatError, UnsupportedError } from '../errors';
import type { DType, FusedActivation } from '../ir/types';
import type { QuantizedMultiplier } from '../quant/fixed-point';
import {
  multiplyByQuantizedMultiplierDouble,
  multiplyByQuantizedMultiplierInt64,
  multiplyByQuantizedMultiplierSingle,
  quantizeMultiplier,
  roundHalfAwayFromZero,
  roundHalfToEven,
  xnnpackRequantize,
} from '../quant/fixed-point';
import type { OpSignature, PreparedTensor, RoundingMode } from './kernel';

/**
 * The arithmetic one kernel instance runs (see the file comment); 'int16x8' is TFLite's one
 * form for int16 activations with int8 weights and int64 accumulators (the delegate takes no
 * int16 op), whatever the rounding mode.
 */
export type Arithmetic = 'double-rounding' | 'single-rounding' | 'xnnpack' | 'int16x8';

/** Builtin-kernel rounding of the default TFLite build for an op the delegate declined. */
export type BuiltinRounding = 'double-rounding' | 'single-rounding';

export function arithmeticFor(mode: RoundingMode, delegated: boolean, builtin: BuiltinRounding): Arithmetic {
  if (mode !== 'xnnpack') return mode;
  return delegated ? 'xnnpack' : builtin;
}

export const QUANT_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
};

/**
 * Float values → the codes of an integer tensor with one (scale, zero point): x / S divided in
 * float32, rounded half away from zero, plus Z, clamped to the type's range. That is TFLite's
 * reference QUANTIZE (and the interpreter's in the two TFLite roundings), and how QuantLab feeds
 * float samples to a model whose input is an integer tensor: eval, quantize's evaluation, bias
 * correction, layer error and explain all use this one function.
 */
export function quantizeToCodes(x: ArrayLike<number>, dtype: DType, scale: number, zeroPoint: number, out?: Int8Array | Uint8Array | Int16Array): Int8Array | Uint8Array | Int16Array {
  const range = QUANT_RANGES[dtype];
  if (!range) throw new UnsupportedError(`Values cannot be quantized to ${dtype}; the integer types are int8, uint8 and int16.`);
  const [qmin, qmax] = range;
  const s = Math.fround(scale);
  const dst = out ?? (dtype === 'int8' ? new Int8Array(x.length) : dtype === 'uint8' ? new Uint8Array(x.length) : new Int16Array(x.length));
  for (let k = 0; k < x.length; k++) {
    const r = Math.fround(x[k] / s);
    const rounded = r >= 0 ? Math.floor(r + 0.5) : -Math.floor(-r + 0.5);
    dst[k] = Math.min(qmax, Math.max(qmin, rounded + zeroPoint));
  }
  return dst;
}

export function quantRange(label: string, t: PreparedTensor): readonly [number, number] {
  const r = QUANT_RANGES[t.dtype];
  if (!r) throw new UnsupportedError(`${label} has '${t.name}' of type ${t.dtype}, which is not a quantized type.`);
  return r;
}

/** Per-tensor affine parameters; the scale as the float32 the file stores. */
export interface TensorQuant {
  scale: number;
  zeroPoint: number;
}

export function tensorQuant(label: string, t: PreparedTensor, what: string): TensorQuant {
  const q = t.quant;
  if (!q || q.scale.length === 0) {
    throw new ModelFormatError(`${label} has ${what} '${t.name}' of type ${t.dtype} without quantization parameters.`);
  }
  if (q.scale.length !== 1) {
    throw new UnsupportedError(`${label} needs ${what} '${t.name}' quantized per tensor; it has ${q.scale.length} scales.`);
  }
  return { scale: Math.fround(q.scale[0]), zeroPoint: q.zeroPoint[0] ?? 0 };
}

/**
 * Scales of a weight tensor for `channels` output channels along `axis`: per channel when the
 * tensor carries one scale per channel, else the single scale repeated. Float32 values.
 */
export function channelScales(label: string, t: PreparedTensor, channels: number, axis: number, what: string): { scales: Float64Array; zeroPoints: Int32Array; perChannel: boolean } {
  const q = t.quant;
  if (!q || q.scale.length === 0) {
    throw new ModelFormatError(`${label} has ${what} '${t.name}' of type ${t.dtype} without quantization parameters.`);
  }
  if (q.scale.length !== 1 && q.scale.length !== channels) {
    throw new ModelFormatError(`${label} has ${what} '${t.name}' with ${q.scale.length} scales for ${channels} channels.`);
  }
  if (q.scale.length > 1 && (q.axis ?? 0) !== axis) {
    throw new UnsupportedError(`${label} has ${what} '${t.name}' quantized along axis ${q.axis ?? 0}; expected axis ${axis}.`);
  }
  const perChannel = q.scale.length > 1;
  const scales = new Float64Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    scales[c] = Math.fround(perChannel ? q.scale[c] : q.scale[0]);
    zeroPoints[c] = (perChannel ? q.zeroPoint[c] : q.zeroPoint[0]) ?? 0;
  }
  return { scales, zeroPoints, perChannel };
}

/**
 * Requantization parameters for `channels` channels: TFLite's (m0, shift) from a real multiplier
 * in double, and XNNPACK's float32 scale. Computed once at prepare time.
 */
export interface Requantizer {
  /** Brand, so `Interpreter.requantization()` can find requantizers in any kernel's state. */
  readonly kind: 'requantizer';
  readonly arithmetic: Arithmetic;
  /** The real multiplier M per channel (double), from which M0 and shift are derived. */
  readonly real: Float64Array;
  readonly m0: Int32Array;
  readonly shift: Int32Array;
  readonly scale: Float32Array;
}

/**
 * @param real    the double multiplier per channel as TFLite's Prepare computes it
 * @param xnnpack the float32 scale per channel as XNNPACK computes it (ignored unless used)
 */
export function makeRequantizer(arithmetic: Arithmetic, real: ArrayLike<number>, xnnpack: ArrayLike<number>): Requantizer {
  const n = real.length;
  const m0 = new Int32Array(n);
  const shift = new Int32Array(n);
  const scale = new Float32Array(n);
  const realCopy = Float64Array.from(real);
  for (let c = 0; c < n; c++) {
    const q: QuantizedMultiplier = quantizeMultiplier(real[c]);
    m0[c] = q.m0;
    shift[c] = q.shift;
    scale[c] = xnnpack[c];
  }
  return { kind: 'requantizer', arithmetic, real: realCopy, m0, shift, scale };
}

export function isRequantizer(v: unknown): v is Requantizer {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'requantizer';
}

/** acc → M·acc for channel c, before the output zero point. */
export function requantize(acc: number, r: Requantizer, c: number): number {
  switch (r.arithmetic) {
    case 'double-rounding':
      return multiplyByQuantizedMultiplierDouble(acc, r.m0[c], r.shift[c]);
    case 'single-rounding':
      return multiplyByQuantizedMultiplierSingle(acc, r.m0[c], r.shift[c]);
    case 'xnnpack':
      return xnnpackRequantize(acc, r.scale[c]);
    case 'int16x8':
      return multiplyByQuantizedMultiplierInt64(acc, r.m0[c], r.shift[c]);
  }
}

/** Integer clamp bounds [min, max] of a fused activation in the output's quantized domain. */
export interface QuantizedRange {
  min: number;
  max: number;
}

/**
 * TFLite (CalculateActivationRangeQuantized): zp + round_half_away(fl(f / S)) intersected with
 * the type's range. XNNPACK: lrintf(clamp(fl(fl(f / S) + zp), qmin, qmax)), i.e. ties to even.
 */
export function quantizedActivationRange(
  label: string,
  act: FusedActivation,
  out: TensorQuant,
  dtype: DType,
  arithmetic: Arithmetic,
): QuantizedRange {
  const range = QUANT_RANGES[dtype];
  if (!range) throw new UnsupportedError(`${label} writes type ${dtype}, which is not a quantized type.`);
  const [qmin, qmax] = range;
  let lo: number;
  let hi: number;
  switch (act) {
    case 'NONE':
      return { min: qmin, max: qmax };
    case 'RELU':
      lo = 0;
      hi = Infinity;
      break;
    case 'RELU6':
      lo = 0;
      hi = 6;
      break;
    case 'RELU_N1_TO_1':
      lo = -1;
      hi = 1;
      break;
    default:
      throw new UnsupportedError(
        `${label} has fused activation '${act}', which the QuantLab integer kernels do not implement (NONE, RELU, RELU_N1_TO_1 and RELU6 are).`,
      );
  }
  const f = Math.fround;
  const q =
    arithmetic === 'xnnpack'
      ? (v: number) => roundHalfToEven(Math.min(Math.max(f(f(v / out.scale) + out.zeroPoint), qmin), qmax))
      : (v: number) => out.zeroPoint + roundHalfAwayFromZero(f(v / out.scale));
  return { min: Math.max(qmin, q(lo)), max: hi === Infinity ? qmax : Math.min(qmax, q(hi)) };
}

/**
 * The XNNPACK delegate declines an op whose fused activation collapses to an empty quantized
 * range in its own rounding (min ≥ max, e.g. RELU6 with a scale of 12, RELU with zero point
 * 127): TFLite's builtin kernel then runs it. Measured on the interpreter, for every op with a
 * fused activation.
 */
export function xnnpackRangeUsable(label: string, act: FusedActivation, out: TensorQuant, dtype: DType): boolean {
  if (act === 'NONE') return true;
  const r = quantizedActivationRange(label, act, out, dtype, 'xnnpack');
  return r.min < r.max;
}

/** `accepts` for integer kernels: every present input in `inputs` and the output in `outputs` (by slot). */
export function signatureIs(inputs: readonly (readonly DType[] | null)[], output: readonly DType[]) {
  return (sig: OpSignature): boolean =>
    sig.outputs.length === 1 &&
    output.includes(sig.outputs[0]) &&
    sig.inputs.every((d, i) => {
      const allowed = inputs[Math.min(i, inputs.length - 1)];
      return d === null ? true : allowed !== null && allowed.includes(d);
    });
}

/** Views of quantized data as plain indexable numbers. */
export type QuantData = Int8Array | Uint8Array | Int16Array;

/** The int32 bias as numbers (int32 or int64 data), zeros when absent. */
export function biasValues(label: string, bias: PreparedTensor | null, channels: number): Float64Array {
  const out = new Float64Array(channels);
  if (!bias) return out;
  if (bias.dtype !== 'int32' && bias.dtype !== 'int64') {
    throw new UnsupportedError(`${label} has bias '${bias.name}' of type ${bias.dtype}; integer kernels take int32 (or int64 for int16 activations).`);
  }
  if (bias.data) for (let c = 0; c < channels; c++) out[c] = Number(bias.data[c]);
  return out;
}

/** Requantization and clamp after the accumulation: acc (int32) → output value. */
export interface Epilogue {
  readonly rq: Requantizer;
  readonly outZp: number;
  /** Clamp bounds (type range ∩ fused activation). */
  readonly min: number;
  readonly max: number;
}

/**
 * Wraps acc to int32 like TFLite's accumulator (int16x8 kernels accumulate in int64: no wrap),
 * requantizes for channel c, adds the zero point and clamps.
 */
export function finish(acc: number, e: Epilogue, c: number): number {
  const v = requantize(e.rq.arithmetic === 'int16x8' ? acc : acc | 0, e.rq, c) + e.outZp;
  return v < e.min ? e.min : v > e.max ? e.max : v;
}

/**
 * The epilogue of a convolution-like op (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
 * TRANSPOSE_CONV): M[c] = S_in·S_w[c] / S_out. `delegated`: the XNNPACK delegate's structural
 * conditions hold (the activation range is checked here); `builtin`: the rounding of TFLite's
 * builtin kernel for the op in the default build.
 * - TFLite computes M in double, from the float32 product S_in·S_w when `floatProduct` (its
 *   GetQuantizedConvolutionMultipler: per-tensor FULLY_CONNECTED and the uint8 scheme), else
 *   from the double product (PopulateConvolutionQuantizationParams);
 * - XNNPACK computes fl(fl(S_in·S_w[c]) / S_out) in float32.
 */
export function convEpilogue(
  label: string,
  mode: RoundingMode,
  delegated: boolean,
  builtin: BuiltinRounding,
  input: PreparedTensor,
  weightScales: Float64Array,
  output: PreparedTensor,
  act: FusedActivation,
  floatProduct: boolean,
): Epilogue {
  const inQ = tensorQuant(label, input, 'input');
  const outQ = tensorQuant(label, output, 'output');
  const arithmetic: Arithmetic =
    input.dtype === 'int16' ? 'int16x8' : arithmeticFor(mode, delegated && xnnpackRangeUsable(label, act, outQ, output.dtype), builtin);
  const f = Math.fround;
  const real = new Float64Array(weightScales.length);
  const xnn = new Float64Array(weightScales.length);
  for (let c = 0; c < weightScales.length; c++) {
    real[c] = (floatProduct ? f(inQ.scale * weightScales[c]) : inQ.scale * weightScales[c]) / outQ.scale;
    xnn[c] = f(f(inQ.scale * weightScales[c]) / outQ.scale);
  }
  const range = quantizedActivationRange(label, act, outQ, output.dtype, arithmetic);
  return { rq: makeRequantizer(arithmetic, real, xnn), outZp: outQ.zeroPoint, min: range.min, max: range.max };
}

/**
 * Ops that only move or select values (pools, RESHAPE, PAD, CONCATENATION, ...) need the same
 * scale and zero point on both sides; TFLite refuses the op otherwise.
 */
export function requireSameQuant(label: string, input: PreparedTensor, output: PreparedTensor): TensorQuant {
  const qi = tensorQuant(label, input, 'input');
  const qo = tensorQuant(label, output, 'output');
  if (qi.scale !== qo.scale || qi.zeroPoint !== qo.zeroPoint) {
    throw new UnsupportedError(
      `${label} reads '${input.name}' (scale ${qi.scale}, zero point ${qi.zeroPoint}) and writes '${output.name}' (scale ${qo.scale}, zero point ${qo.zeroPoint}); a quantized ${label.includes('(') ? label.slice(label.lastIndexOf('(') + 1, -1) : 'op'} needs them equal (insert a QUANTIZE to requantize).`,
    );
  }
  return qo;
}

/** `accepts` for ops whose input 0 and output 0 share one quantized dtype. */
export function sameQuantizedType(dtypes: readonly DType[] = ['int8', 'uint8', 'int16']) {
  return (sig: OpSignature): boolean => sig.inputs[0] !== null && dtypes.includes(sig.inputs[0]) && sig.outputs.length === 1 && sig.outputs[0] === sig.inputs[0];
}
