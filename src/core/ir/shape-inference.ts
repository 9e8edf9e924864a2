/**
 * Output shapes of every op QuantLab models, from input shapes, constant operands and options.
 *
 * -1 marks a dimension unknown until run time; it propagates (an unknown input height gives
 * an unknown output height) and never trips a check. Shapes that cannot work raise
 * UnsupportedError naming the graph, the op and the shapes.
 */

import { UnsupportedError } from '../errors';
import { describeOp, formatShape, topologicalOpOrder } from './graph';
import type { Graph, Op, Padding, Tensor } from './types';

class ShapeError extends Error {}

function fail(message: string): never {
  throw new ShapeError(message);
}

function tensorAt(graph: Graph, shapes: number[][], index: number | undefined): { shape: number[]; tensor: Tensor } | undefined {
  if (index === undefined || index < 0 || index >= graph.tensors.length) return undefined;
  return { shape: shapes[index], tensor: graph.tensors[index] };
}

function need(graph: Graph, shapes: number[][], op: Op, k: number, rank?: number): number[] {
  const t = tensorAt(graph, shapes, op.inputs[k]);
  if (!t) fail(`input ${k} is missing`);
  if (rank !== undefined && t.shape.length !== rank) fail(`input ${k} has shape ${formatShape(t.shape)}; expected ${rank} dimensions`);
  return t.shape;
}

/** Integer contents of a constant int32/int64 operand, or undefined when it is not constant. */
function constInts(graph: Graph, op: Op, k: number): number[] | undefined {
  const i = op.inputs[k];
  if (i === undefined || i < 0 || i >= graph.tensors.length) return undefined;
  const data = graph.tensors[i].data;
  if (!data) return undefined;
  if (data instanceof BigInt64Array) return Array.from(data, (v) => Number(v));
  if (data instanceof Int32Array || data instanceof Int16Array || data instanceof Int8Array || data instanceof Uint8Array) {
    return Array.from(data);
  }
  fail(`input ${k} must hold integers`);
}

/** Output size of a sliding window along one dimension (TFLite's rule). */
export function windowOutputSize(inSize: number, filter: number, stride: number, dilation: number, padding: Padding): number {
  if (inSize < 0) return -1;
  const effective = (filter - 1) * dilation + 1;
  if (padding === 'SAME') return Math.ceil(inSize / stride);
  const out = Math.floor((inSize - effective + stride) / stride);
  if (out <= 0) fail(`a ${effective}-wide window (VALID padding) does not fit a dimension of size ${inSize}`);
  return out;
}

/** Broadcast of two shapes (numpy rules); -1 meets k>1 as k. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y) out[i] = x;
    else if (x === 1) out[i] = y;
    else if (y === 1) out[i] = x;
    else if (x === -1) out[i] = y;
    else if (y === -1) out[i] = x;
    else fail(`shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together`);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} is outside a ${rank}-dimensional shape`);
  return a;
}

function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) {
    if (d < 0) return -1;
    p *= d;
  }
  return p;
}

/** TFLite reshape: at most one -1 in the target, filled from the input's element count. */
export function reshapeTarget(inputShape: readonly number[], target: readonly number[]): number[] {
  const out = [...target];
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1) fail(`new shape ${formatShape(target)} has more than one -1`);
  if (out.some((d) => d < -1)) fail(`new shape ${formatShape(target)} has a negative dimension`);
  const total = product(inputShape);
  const known = out.reduce((p, d) => (d >= 0 ? p * d : p), 1);
  if (unknown === 1) {
    const k = out.indexOf(-1);
    if (total < 0) out[k] = -1;
    else {
      if (known === 0 || total % known !== 0) fail(`cannot reshape ${formatShape(inputShape)} to ${formatShape(target)}`);
      out[k] = total / known;
    }
  } else if (total >= 0 && total !== known) {
    fail(`cannot reshape ${formatShape(inputShape)} (${total} elements) to ${formatShape(target)} (${known})`);
  }
  return out;
}

/**
 * Output shapes of one op given the current shapes of all tensors (indexed like
 * `graph.tensors`). Returns undefined for ops whose shapes QuantLab cannot derive (custom and
 * unknown builtins, or operands that are not constant where they need to be).
 */
function opOutputShapes(graph: Graph, shapes: number[][], op: Op): number[][] | undefined {
  switch (op.type) {
    case 'CONV_2D': {
      const [n, h, w] = need(graph, shapes, op, 0, 4);
      const [o, kh, kw] = need(graph, shapes, op, 1, 4);
      const x = op.options;
      return [[n, windowOutputSize(h, kh, x.strideH, x.dilationHFactor, x.padding), windowOutputSize(w, kw, x.strideW, x.dilationWFactor, x.padding), o]];
    }
    case 'DEPTHWISE_CONV_2D': {
      const [n, h, w, c] = need(graph, shapes, op, 0, 4);
      const [, kh, kw, oc] = need(graph, shapes, op, 1, 4);
      const x = op.options;
      if (c > 0 && oc > 0 && oc % c !== 0) fail(`filter channels ${oc} are not a multiple of input channels ${c}`);
      return [[n, windowOutputSize(h, kh, x.strideH, x.dilationHFactor, x.padding), windowOutputSize(w, kw, x.strideW, x.dilationWFactor, x.padding), oc]];
    }
    case 'FULLY_CONNECTED': {
      const input = need(graph, shapes, op, 0);
      const weights = need(graph, shapes, op, 1, 2);
      const [units, depth] = weights;
      if (input.length === 0) fail('input 0 is a scalar');
      if (op.options.keepNumDims) {
        const last = input[input.length - 1];
        if (last >= 0 && depth >= 0 && last !== depth) fail(`input depth ${last} does not match weights ${formatShape(weights)}`);
        return [[...input.slice(0, -1), units]];
      }
      const total = product(input);
      if (total >= 0 && depth > 0 && total % depth !== 0) fail(`input ${formatShape(input)} does not divide into rows of ${depth}`);
      return [[total >= 0 && depth > 0 ? total / depth : -1, units]];
    }
    case 'TRANSPOSE_CONV': {
      // Inputs: output shape (int32 [4]), filter [O, KH, KW, I], input [N, H, W, I], optional bias.
      const given = constInts(graph, op, 0);
      if (given) {
        if (given.length !== 4) fail(`output shape operand ${formatShape(given)} must have 4 entries`);
        return [given];
      }
      const [o, kh, kw] = need(graph, shapes, op, 1, 4);
      const [n, h, w] = need(graph, shapes, op, 2, 4);
      const x = op.options;
      const up = (size: number, k: number, s: number) => (size < 0 ? -1 : x.padding === 'SAME' ? size * s : (size - 1) * s + k);
      return [[n, up(h, kh, x.strideH), up(w, kw, x.strideW), o]];
    }
    case 'ADD':
    case 'SUB':
    case 'MUL':
      return [broadcastShapes(need(graph, shapes, op, 0), need(graph, shapes, op, 1))];
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const [n, h, w, c] = need(graph, shapes, op, 0, 4);
      const x = op.options;
      return [[n, windowOutputSize(h, x.filterHeight, x.strideH, 1, x.padding), windowOutputSize(w, x.filterWidth, x.strideW, 1, x.padding), c]];
    }
    case 'MEAN': {
      const input = need(graph, shapes, op, 0);
      const axes = constInts(graph, op, 1);
      if (!axes) return undefined;
      const reduced = new Set(axes.map((a) => normAxis(a, input.length)));
      if (op.options.keepDims) return [input.map((d, i) => (reduced.has(i) ? 1 : d))];
      return [input.filter((_, i) => !reduced.has(i))];
    }
    case 'RESHAPE': {
      const input = need(graph, shapes, op, 0);
      let target: number[] | undefined;
      if (op.inputs.length >= 2 && op.inputs[1] >= 0) {
        target = constInts(graph, op, 1);
        if (!target) return undefined; // shape computed at run time
      } else {
        target = op.options.newShape;
      }
      return [reshapeTarget(input, target)];
    }
    case 'SQUEEZE': {
      const input = need(graph, shapes, op, 0);
      const dims = op.options.squeezeDims;
      if (dims.length === 0) {
        if (input.includes(-1)) return undefined;
        return [input.filter((d) => d !== 1)];
      }
      const drop = new Set(dims.map((a) => normAxis(a, input.length)));
      for (const a of drop) if (input[a] !== 1 && input[a] !== -1) fail(`cannot squeeze dimension ${a} of size ${input[a]}`);
      return [input.filter((_, i) => !drop.has(i))];
    }
    case 'CONCATENATION': {
      const parts = op.inputs.map((_, k) => need(graph, shapes, op, k));
      if (parts.length === 0) fail('it has no inputs');
      const rank = parts[0].length;
      const axis = normAxis(op.options.axis, rank);
      const out = [...parts[0]];
      for (const p of parts.slice(1)) {
        if (p.length !== rank) fail(`inputs ${formatShape(parts[0])} and ${formatShape(p)} differ in rank`);
        for (let i = 0; i < rank; i++) {
          if (i === axis) out[i] = out[i] < 0 || p[i] < 0 ? -1 : out[i] + p[i];
          else if (out[i] === -1) out[i] = p[i];
          else if (p[i] !== -1 && p[i] !== out[i]) fail(`inputs ${formatShape(parts[0])} and ${formatShape(p)} differ outside axis ${axis}`);
        }
      }
      return [out];
    }
    case 'PAD': {
      const input = need(graph, shapes, op, 0);
      const pads = constInts(graph, op, 1);
      if (!pads) return undefined;
      if (pads.length !== 2 * input.length) fail(`paddings hold ${pads.length} values for a ${input.length}-dimensional input`);
      return [input.map((d, i) => (d < 0 ? -1 : d + pads[2 * i] + pads[2 * i + 1]))];
    }
    case 'RESIZE_BILINEAR':
    case 'RESIZE_NEAREST_NEIGHBOR': {
      const [n, , , c] = need(graph, shapes, op, 0, 4);
      const size = constInts(graph, op, 1);
      if (size && size.length !== 2) fail(`size operand has ${size.length} values; expected 2`);
      return [[n, size ? size[0] : -1, size ? size[1] : -1, c]];
    }
    case 'DEPTH_TO_SPACE': {
      const [n, h, w, c] = need(graph, shapes, op, 0, 4);
      const b = op.options.blockSize;
      if (c >= 0 && c % (b * b) !== 0) fail(`depth ${c} is not a multiple of block size² (${b * b})`);
      return [[n, h < 0 ? -1 : h * b, w < 0 ? -1 : w * b, c < 0 ? -1 : c / (b * b)]];
    }
    case 'SPACE_TO_DEPTH': {
      const [n, h, w, c] = need(graph, shapes, op, 0, 4);
      const b = op.options.blockSize;
      if ((h >= 0 && h % b !== 0) || (w >= 0 && w % b !== 0)) fail(`height ${h} and width ${w} must be multiples of block size ${b}`);
      return [[n, h < 0 ? -1 : h / b, w < 0 ? -1 : w / b, c < 0 ? -1 : c * b * b]];
    }
    case 'RELU':
    case 'RELU6':
    case 'LEAKY_RELU':
    case 'PRELU':
    case 'HARD_SWISH':
    case 'LOGISTIC':
    case 'TANH':
    case 'SOFTMAX':
    case 'DEQUANTIZE':
    case 'QUANTIZE':
      return [[...need(graph, shapes, op, 0)]];
    case 'CUSTOM':
    case 'UNKNOWN_BUILTIN':
      return undefined;
  }
}

/**
 * Output shapes of the op at `opIndex` from the tensors' current shapes, or undefined when they
 * cannot be derived. Throws UnsupportedError for impossible shapes.
 */
export function inferOpOutputShapes(graph: Graph, opIndex: number, shapes?: number[][]): number[][] | undefined {
  const current = shapes ?? graph.tensors.map((t) => t.shape);
  try {
    const out = opOutputShapes(graph, current, graph.ops[opIndex]);
    if (out && out.length > graph.ops[opIndex].outputs.length) return out.slice(0, graph.ops[opIndex].outputs.length);
    return out;
  } catch (e) {
    if (e instanceof ShapeError) {
      throw new UnsupportedError(`Graph '${graph.name}': ${describeOp(graph, opIndex)} has impossible shapes: ${e.message}.`, { cause: e });
    }
    throw e;
  }
}

/**
 * Shapes of all tensors (indexed like `graph.tensors`), propagated in topological order from
 * the graph inputs and constants. `overrides` replaces the shapes of some tensors first (e.g.
 * a fixed input shape). Outputs of ops whose shapes cannot be derived keep their stored shape.
 */
export function inferShapes(graph: Graph, overrides: ReadonlyMap<number, number[]> = new Map()): number[][] {
  const shapes = graph.tensors.map((t, i) => [...(overrides.get(i) ?? t.shape)]);
  const { order, cycle } = topologicalOpOrder(graph);
  if (cycle !== undefined) throw new UnsupportedError(`Graph '${graph.name}' has a cycle through ${describeOp(graph, cycle)}.`);
  for (const i of order) {
    const out = inferOpOutputShapes(graph, i, shapes);
    if (!out) continue;
    graph.ops[i].outputs.forEach((t, k) => {
      if (t >= 0 && t < shapes.length && out[k] && !overrides.has(t)) shapes[t] = out[k];
    });
  }
  return shapes;
}
