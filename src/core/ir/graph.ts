/**
 * Small helpers over the IR: dtype facts, element counts, typed-array construction and
 * graph look-ups (tensor by name, producers, consumers).
 */

import type { BuiltinOp, DType, Graph, Op, OpaqueOp, Tensor, TensorData } from './types';

/** Bytes per element of each dtype (bool is one byte, as in TFLite). */
export const DTYPE_SIZE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  int8: 1,
  uint8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
};

export const ALL_DTYPES: readonly DType[] = ['float32', 'float16', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool'];

export function dtypeSizeBytes(dtype: DType): number {
  return DTYPE_SIZE_BYTES[dtype];
}

/** Number of elements of a fully known shape (1 for a scalar `[]`); NaN when any dim is -1. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (d < 0) return NaN;
    n *= d;
  }
  return n;
}

/** True when every dimension is known (no -1). */
export function isStaticShape(shape: readonly number[]): boolean {
  return shape.every((d) => d >= 0);
}

/** Shape as written in messages: `[1,224,224,3]`, with `?` for unknown dims. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d) => (d < 0 ? '?' : String(d))).join(',')}]`;
}

/** A zero-filled typed array of the dtype's kind (float16 as raw bits, bool as bytes). */
export function allocTensorData(dtype: DType, length: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float16':
      return new Uint16Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
  }
}

/**
 * A typed array of the dtype's kind over a copy of `bytes` (little-endian, densely packed).
 * `bytes.length` must be a multiple of the dtype size.
 */
export function tensorDataFromBytes(dtype: DType, bytes: Uint8Array): TensorData {
  const copy = bytes.slice();
  const n = copy.length / DTYPE_SIZE_BYTES[dtype];
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy.buffer, 0, n);
    case 'float16':
      return new Uint16Array(copy.buffer, 0, n);
    case 'int8':
      return new Int8Array(copy.buffer, 0, n);
    case 'uint8':
    case 'bool':
      return copy;
    case 'int16':
      return new Int16Array(copy.buffer, 0, n);
    case 'int32':
      return new Int32Array(copy.buffer, 0, n);
    case 'int64':
      return new BigInt64Array(copy.buffer, 0, n);
  }
}

/** The raw little-endian bytes of a typed array (a view, not a copy). */
export function tensorDataBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether a typed array is the kind the IR uses for `dtype`. */
export function dataMatchesDType(dtype: DType, data: TensorData): boolean {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'float16':
      return data instanceof Uint16Array;
    case 'int8':
      return data instanceof Int8Array;
    case 'uint8':
    case 'bool':
      return data instanceof Uint8Array;
    case 'int16':
      return data instanceof Int16Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'int64':
      return data instanceof BigInt64Array;
  }
}

/** Index of the tensor called `name`, or -1. */
export function tensorIndexByName(graph: Graph, name: string): number {
  return graph.tensors.findIndex((t) => t.name === name);
}

/** The tensor called `name`, or undefined. */
export function tensorByName(graph: Graph, name: string): Tensor | undefined {
  const i = tensorIndexByName(graph, name);
  return i < 0 ? undefined : graph.tensors[i];
}

/** A readable label for an op: its name, else its first output's name. */
export function opLabel(graph: Graph, op: Op): string {
  if (op.name) return op.name;
  const out = op.outputs[0];
  return out !== undefined && out >= 0 && out < graph.tensors.length ? graph.tensors[out].name : '';
}

/** `op 12 (ADD 'x')`: how messages name an op. */
export function describeOp(graph: Graph, opIndex: number): string {
  const op = graph.ops[opIndex];
  const type = op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN' ? `${op.type} ${op.code}` : op.type;
  const label = opLabel(graph, op);
  return label ? `op ${opIndex} (${type} '${label}')` : `op ${opIndex} (${type})`;
}

/** For each tensor, the index of the op that writes it, or -1 (graph input, constant, or unused). */
export function producers(graph: Graph): number[] {
  const result = new Array<number>(graph.tensors.length).fill(-1);
  graph.ops.forEach((op, i) => {
    for (const t of op.outputs) if (t >= 0 && t < result.length && result[t] < 0) result[t] = i;
  });
  return result;
}

/** For each tensor, the indices of the ops that read it (an op reading a tensor twice is listed once). */
export function consumers(graph: Graph): number[][] {
  const result: number[][] = graph.tensors.map(() => []);
  graph.ops.forEach((op, i) => {
    for (const t of op.inputs) {
      if (t < 0 || t >= result.length) continue;
      const list = result[t];
      if (list[list.length - 1] !== i) list.push(i);
    }
  });
  return result;
}

/** Whether the tensor holds constant data. */
export function isConstant(tensor: Tensor): boolean {
  return tensor.data !== undefined;
}

/**
 * Op indices in an order where every op comes after the ops producing its inputs (stable:
 * ops already in order keep their relative order). `cycle` names one op on a cycle when the
 * graph has one; `order` then holds only the ops that could be placed.
 */
export function topologicalOpOrder(graph: Graph): { order: number[]; cycle?: number } {
  const producer = producers(graph);
  const nOps = graph.ops.length;
  const pending = new Array<number>(nOps).fill(0);
  const dependents: number[][] = graph.ops.map(() => []);
  graph.ops.forEach((op, i) => {
    const seen = new Set<number>();
    for (const t of op.inputs) {
      const p = t >= 0 && t < producer.length ? producer[t] : -1;
      if (p >= 0 && !seen.has(p)) {
        seen.add(p);
        pending[i]++;
        dependents[p].push(i);
      }
    }
  });
  // Kahn's algorithm, always taking the lowest ready index so that a graph already in order
  // comes back unchanged.
  const heap = new MinHeap();
  for (let i = 0; i < nOps; i++) if (pending[i] === 0) heap.push(i);
  const order: number[] = [];
  while (heap.size > 0) {
    const next = heap.pop();
    order.push(next);
    for (const d of dependents[next]) if (--pending[d] === 0) heap.push(d);
  }
  if (order.length === nOps) return { order };
  // Some op is still waiting: walk back along unplaced producers until an op repeats.
  const placed = new Set(order);
  let op = graph.ops.findIndex((_, i) => !placed.has(i));
  const visited = new Set<number>();
  while (!visited.has(op)) {
    visited.add(op);
    const t = graph.ops[op].inputs.find((x) => x >= 0 && x < producer.length && producer[x] >= 0 && !placed.has(producer[x]));
    op = producer[t as number];
  }
  return { order, cycle: op };
}

class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as number;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/** Custom ops and builtins QuantLab has no typed options for. */
export function isOpaqueOp(op: Op): op is OpaqueOp {
  return op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN';
}

/** Ops with typed options. */
export function isBuiltinOp(op: Op): op is BuiltinOp {
  return !isOpaqueOp(op);
}
