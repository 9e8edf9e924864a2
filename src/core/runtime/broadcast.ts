/**
 * Broadcasting iteration plan for binary elementwise ops (ADD, SUB, MUL, PRELU).
 * Dimensions are coalesced where both operands walk them contiguously (or both repeat them),
 * so the common cases (same shape, per-channel vector, scalar) become one or two loops.
 */
import { UnsupportedError } from '../errors';
import { broadcastShapes, broadcastStrides, shapeToString } from './tensor-utils';

export interface BroadcastPlan {
  outShape: number[];
  /** Coalesced loop extents, outermost first; the last one is the inner loop. */
  dims: number[];
  stridesA: number[];
  stridesB: number[];
  /** Odometer scratch (one counter per coalesced dim). */
  counter: Int32Array;
}

export function planBroadcast(label: string, shapeA: readonly number[], shapeB: readonly number[]): BroadcastPlan {
  const outShape = broadcastShapes(shapeA, shapeB);
  if (!outShape) {
    throw new UnsupportedError(`${label} cannot broadcast ${shapeToString(shapeA)} with ${shapeToString(shapeB)}.`);
  }
  const sa = broadcastStrides(shapeA, outShape);
  const sb = broadcastStrides(shapeB, outShape);
  const dims: number[] = [];
  const stridesA: number[] = [];
  const stridesB: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const d = outShape[i];
    if (d === 1) continue; // a length-1 dimension never moves either pointer
    const last = dims.length - 1;
    if (last >= 0) {
      // Merge dimension i into the previous one when, for each operand, stepping the outer
      // dim equals stepping the inner one d times.
      const okA = stridesA[last] === sa[i] * d;
      const okB = stridesB[last] === sb[i] * d;
      if (okA && okB) {
        dims[last] *= d;
        stridesA[last] = sa[i];
        stridesB[last] = sb[i];
        continue;
      }
    }
    dims.push(d);
    stridesA.push(sa[i]);
    stridesB.push(sb[i]);
  }
  if (dims.length === 0) {
    dims.push(1);
    stridesA.push(0);
    stridesB.push(0);
  }
  return { outShape, dims, stridesA, stridesB, counter: new Int32Array(dims.length) };
}

export type BinaryFn = 'add' | 'sub' | 'mul';

/**
 * out = a ∘ b with broadcasting (the caller applies any activation afterwards). JS computes
 * in double; the store to float32 rounds once, which equals IEEE float32 arithmetic for
 * +, − and ×.
 */
export function runBinaryFloat(fn: BinaryFn, a: Float32Array, b: Float32Array, out: Float32Array, plan: BroadcastPlan): void {
  const { dims, stridesA, stridesB, counter } = plan;
  const rank = dims.length;
  const inner = dims[rank - 1];
  const ia = stridesA[rank - 1];
  const ib = stridesB[rank - 1];
  const total = out.length;
  counter.fill(0);
  let offA = 0;
  let offB = 0;
  for (let o = 0; o < total; o += inner) {
    let pa = offA;
    let pb = offB;
    if (fn === 'add') {
      for (let i = 0; i < inner; i++, pa += ia, pb += ib) {
        out[o + i] = a[pa] + b[pb];
      }
    } else if (fn === 'sub') {
      for (let i = 0; i < inner; i++, pa += ia, pb += ib) {
        out[o + i] = a[pa] - b[pb];
      }
    } else {
      for (let i = 0; i < inner; i++, pa += ia, pb += ib) {
        out[o + i] = a[pa] * b[pb];
      }
    }
    // advance the odometer over the outer dims
    for (let d = rank - 2; d >= 0; d--) {
      counter[d]++;
      offA += stridesA[d];
      offB += stridesB[d];
      if (counter[d] < dims[d]) break;
      offA -= stridesA[d] * dims[d];
      offB -= stridesB[d] * dims[d];
      counter[d] = 0;
    }
  }
}
