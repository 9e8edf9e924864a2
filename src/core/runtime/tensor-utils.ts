/**
 * Small helpers on shapes, dtypes and typed arrays shared by the interpreter, the memory plan
 * and the kernels.
 */
import { dataMatchesDType, dtypeSizeBytes } from '../ir/graph';
import type { DType, TensorData } from '../ir/types';

/** Bytes one element of `dtype` occupies in memory (bool is stored as one byte): the IR's table. */
export { dtypeSizeBytes };

export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides (in elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapeToString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A typed view of `length` elements of `dtype` over `buffer` at `byteOffset`. */
export function typedView(dtype: DType, buffer: ArrayBuffer, byteOffset: number, length: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, length);
    case 'float16':
      return new Uint16Array(buffer, byteOffset, length);
    case 'int8':
      return new Int8Array(buffer, byteOffset, length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, length);
    case 'int16':
      return new Int16Array(buffer, byteOffset, length);
    case 'int32':
      return new Int32Array(buffer, byteOffset, length);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, length);
  }
}

/** A fresh zeroed typed array of `length` elements of `dtype`. */
export function allocTyped(dtype: DType, length: number): TensorData {
  return typedView(dtype, new ArrayBuffer(Math.max(0, length) * dtypeSizeBytes(dtype)), 0, length);
}

/** True when `data` is the typed-array kind that stores `dtype` (the IR's rule). */
export function dataMatchesDtype(data: TensorData, dtype: DType): boolean {
  return dataMatchesDType(dtype, data);
}

/** The dtype name of a typed array (for messages). */
export function describeData(data: TensorData): string {
  return data.constructor.name;
}

/** Reads an integer-valued constant (int32 or int64) as plain numbers. */
export function toIntArray(data: TensorData): number[] {
  const out: number[] = [];
  if (data instanceof BigInt64Array) {
    for (const v of data) out.push(Number(v));
  } else {
    for (let i = 0; i < data.length; i++) out.push(Number(data[i]));
  }
  return out;
}

/** Normalises a possibly negative axis against `rank`; returns -1 when out of range. */
export function normaliseAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : -1;
}

/** Broadcast two shapes numpy-style; null when incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else return null;
  }
  return out;
}

/**
 * Strides (in elements) to read a tensor of `shape` as if broadcast to `outShape`:
 * 0 along broadcast dimensions, left-padded to `outShape.length`.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const own = stridesOf(shape);
  const out = new Array<number>(rank).fill(0);
  const lead = rank - shape.length;
  for (let i = 0; i < shape.length; i++) out[lead + i] = shape[i] === 1 ? 0 : own[i];
  return out;
}
