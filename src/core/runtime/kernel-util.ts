/** Checks and accessors shared by kernels. Messages name the op and the value at fault. */
import { ModelFormatError, UnsupportedError } from '../errors';
import type { DType, TensorData } from '../ir/types';
import type { OpSignature, PreparedTensor } from './kernel';
import { shapeToString } from './tensor-utils';

/** `accepts` for float kernels: every present input and every output is float32. */
export function allFloat32(sig: OpSignature): boolean {
  return sig.inputs.every((d) => d === null || d === 'float32') && sig.outputs.every((d) => d === 'float32');
}

/** `accepts` for float kernels that also take int32/int64 operands at the given input slots. */
export function float32WithIntOperands(intSlots: readonly number[]) {
  return (sig: OpSignature): boolean =>
    sig.outputs.every((d) => d === 'float32') &&
    sig.inputs.every((d, i) => d === null || (intSlots.includes(i) ? d === 'int32' || d === 'int64' : d === 'float32'));
}

export function requireInput(label: string, inputs: readonly (PreparedTensor | null)[], slot: number, what: string): PreparedTensor {
  const t = inputs[slot];
  if (!t) throw new ModelFormatError(`${label} is missing its ${what} input (input ${slot}).`);
  return t;
}

export function requireRank(label: string, t: PreparedTensor, rank: number, what: string): void {
  if (t.shape.length !== rank) {
    throw new UnsupportedError(
      `${label} needs a rank-${rank} ${what}, but '${t.name}' has shape ${shapeToString(t.shape)}.`,
    );
  }
}

export function requireConstant(label: string, t: PreparedTensor, what: string): TensorData {
  if (!t.data) {
    throw new UnsupportedError(
      `${label} needs its ${what} '${t.name}' to be a constant; the QuantLab runtime does not compute it at run time.`,
    );
  }
  return t.data;
}

export function requireDtype(label: string, t: PreparedTensor, dtypes: readonly DType[], what: string): void {
  if (!dtypes.includes(t.dtype)) {
    throw new UnsupportedError(`${label} has ${what} '${t.name}' of type ${t.dtype}; expected ${dtypes.join(' or ')}.`);
  }
}

export function f32(data: TensorData): Float32Array {
  return data as Float32Array;
}

/** Copies a float32 bias (or zeros) into a float64 array of `length`. */
export function biasAsFloat64(bias: TensorData | undefined, length: number): Float64Array {
  const out = new Float64Array(length);
  if (bias) for (let i = 0; i < length; i++) out[i] = Number(bias[i]);
  return out;
}

/** True when two views alias the same bytes (so a copy is a no-op). */
export function sameStorage(a: TensorData, b: TensorData): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}
