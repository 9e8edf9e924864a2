/**
 * Structural checks of an IR graph, each finding a sentence that names the graph, op and
 * tensor at fault: dangling indices, cycles, tensors produced twice, reads of tensors nobody
 * provides, unknown op types, constants that do not fit their shape, quantization parameters
 * that do not fit their tensor, and stored shapes that contradict shape inference.
 */

import { UnsupportedError } from '../errors';
import { dataMatchesDType, describeOp, elementCount, formatShape, topologicalOpOrder } from './graph';
import { inferOpOutputShapes } from './shape-inference';
import type { BuiltinOpType, Graph, Model, OpOptionsMap } from './types';

export interface ValidationIssue {
  severity: 'error' | 'warning';
  message: string;
  /** Op index, when the finding is about an op. */
  op?: number;
  /** Tensor index, when the finding is about a tensor. */
  tensor?: number;
}

/** Every op type the IR models (kept in step with OpOptionsMap by the type below). */
const KNOWN_OP_TYPES: Record<BuiltinOpType, true> = {
  CONV_2D: true,
  DEPTHWISE_CONV_2D: true,
  FULLY_CONNECTED: true,
  TRANSPOSE_CONV: true,
  ADD: true,
  SUB: true,
  MUL: true,
  AVERAGE_POOL_2D: true,
  MAX_POOL_2D: true,
  MEAN: true,
  RESHAPE: true,
  SQUEEZE: true,
  CONCATENATION: true,
  PAD: true,
  RELU: true,
  RELU6: true,
  LEAKY_RELU: true,
  PRELU: true,
  HARD_SWISH: true,
  LOGISTIC: true,
  TANH: true,
  SOFTMAX: true,
  RESIZE_BILINEAR: true,
  RESIZE_NEAREST_NEIGHBOR: true,
  DEPTH_TO_SPACE: true,
  SPACE_TO_DEPTH: true,
  DEQUANTIZE: true,
  QUANTIZE: true,
};

export function isKnownOpType(type: string): type is BuiltinOpType {
  return Object.prototype.hasOwnProperty.call(KNOWN_OP_TYPES, type);
}

function sameKnownShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i] || d === -1 || b[i] === -1);
}

/** All findings for one graph; an empty list means the graph is sound. */
export function validateGraph(graph: Graph): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const g = `Graph '${graph.name}'`;
  const n = graph.tensors.length;
  const error = (message: string, where: { op?: number; tensor?: number } = {}) => issues.push({ severity: 'error', message, ...where });
  const warn = (message: string, where: { op?: number; tensor?: number } = {}) => issues.push({ severity: 'warning', message, ...where });
  const tname = (i: number) => `tensor '${graph.tensors[i].name}' (index ${i})`;

  // Tensors: data and quantization that fit.
  graph.tensors.forEach((t, i) => {
    if (t.shape.some((d) => !Number.isInteger(d) || d < -1)) error(`${g}: ${tname(i)} has an invalid shape ${JSON.stringify(t.shape)}.`, { tensor: i });
    if (t.data) {
      if (!dataMatchesDType(t.dtype, t.data)) error(`${g}: ${tname(i)} is ${t.dtype} but its data is a ${t.data.constructor.name}.`, { tensor: i });
      const count = elementCount(t.shape);
      if (t.data.length !== count) {
        error(`${g}: ${tname(i)} has shape ${formatShape(t.shape)} but holds ${t.data.length} values.`, { tensor: i });
      }
    }
    const q = t.quant;
    if (q) {
      if (q.scale.length === 0 || q.scale.length !== q.zeroPoint.length) {
        error(`${g}: ${tname(i)} has ${q.scale.length} quantization scales and ${q.zeroPoint.length} zero points.`, { tensor: i });
      } else if (q.scale.length > 1) {
        if (q.axis === undefined || q.axis < 0 || q.axis >= t.shape.length) {
          error(`${g}: ${tname(i)} has per-axis quantization without a valid axis (axis ${q.axis}, shape ${formatShape(t.shape)}).`, { tensor: i });
        } else if (t.shape[q.axis] >= 0 && t.shape[q.axis] !== q.scale.length) {
          error(`${g}: ${tname(i)} has ${q.scale.length} scales along dimension ${q.axis} of size ${t.shape[q.axis]}.`, { tensor: i });
        }
      }
      if (q.scale.some((s) => !Number.isFinite(s) || s < 0)) error(`${g}: ${tname(i)} has a quantization scale that is negative or not finite.`, { tensor: i });
    }
  });

  // Indices.
  let dangling = false;
  const inRange = (t: number) => Number.isInteger(t) && t >= 0 && t < n;
  graph.inputs.forEach((t, k) => {
    if (!inRange(t)) {
      dangling = true;
      error(`${g}: input ${k} refers to tensor ${t}, but the graph has ${n} tensors.`);
    }
  });
  graph.outputs.forEach((t, k) => {
    if (!inRange(t)) {
      dangling = true;
      error(`${g}: output ${k} refers to tensor ${t}, but the graph has ${n} tensors.`);
    }
  });
  graph.ops.forEach((op, i) => {
    if (op.type !== 'CUSTOM' && op.type !== 'UNKNOWN_BUILTIN' && !isKnownOpType(op.type)) {
      error(`${g}: op ${i} has unknown type '${String(op.type)}'.`, { op: i });
    }
    op.inputs.forEach((t, k) => {
      if (t !== -1 && !inRange(t)) {
        dangling = true;
        error(`${g}: op ${i} (${op.type}) input ${k} refers to tensor ${t}, but the graph has ${n} tensors.`, { op: i });
      }
    });
    op.outputs.forEach((t, k) => {
      if (!inRange(t)) {
        dangling = true;
        error(`${g}: op ${i} (${op.type}) output ${k} refers to tensor ${t}, but the graph has ${n} tensors.`, { op: i });
      }
    });
  });
  if (dangling) return issues;

  graph.ops.forEach((op, i) => {
    if (op.type === 'UNKNOWN_BUILTIN') warn(`${g}: ${describeOp(graph, i)} is a TFLite builtin QuantLab cannot run or quantize.`, { op: i });
    if (op.type === 'CUSTOM') warn(`${g}: ${describeOp(graph, i)} is a custom op; QuantLab runs it only if it has a kernel for '${op.code}'.`, { op: i });
  });

  // Producers: each tensor written once, never a constant or a graph input.
  const producer = new Array<number>(n).fill(-1);
  const isInput = new Set(graph.inputs);
  graph.ops.forEach((op, i) => {
    for (const t of op.outputs) {
      if (producer[t] >= 0 && producer[t] !== i) {
        error(`${g}: ${tname(t)} is produced twice, by ${describeOp(graph, producer[t])} and by ${describeOp(graph, i)}.`, { op: i, tensor: t });
      } else if (producer[t] === i) {
        error(`${g}: ${describeOp(graph, i)} lists ${tname(t)} twice among its outputs.`, { op: i, tensor: t });
      } else {
        producer[t] = i;
      }
      if (graph.tensors[t].data) error(`${g}: ${describeOp(graph, i)} writes ${tname(t)}, which is a constant.`, { op: i, tensor: t });
      if (isInput.has(t)) error(`${g}: ${describeOp(graph, i)} writes ${tname(t)}, which is a graph input.`, { op: i, tensor: t });
    }
  });

  // Reads: every operand is produced, constant, a graph input or a variable.
  const provided = (t: number) => producer[t] >= 0 || isInput.has(t) || !!graph.tensors[t].data || !!graph.tensors[t].isVariable;
  graph.ops.forEach((op, i) => {
    for (const t of op.inputs) {
      if (t >= 0 && !provided(t)) {
        error(`${g}: ${describeOp(graph, i)} reads ${tname(t)}, which no op produces and which is neither a constant nor a graph input.`, { op: i, tensor: t });
      }
    }
  });
  graph.outputs.forEach((t) => {
    if (!provided(t)) error(`${g}: output ${tname(t)} is never produced.`, { tensor: t });
  });
  graph.inputs.forEach((t) => {
    if (graph.tensors[t].data) warn(`${g}: input ${tname(t)} also holds constant data.`, { tensor: t });
  });

  // Order.
  const { cycle } = topologicalOpOrder(graph);
  if (cycle !== undefined) {
    error(`${g} has a cycle through ${describeOp(graph, cycle)}.`, { op: cycle });
    return issues;
  }

  // Options and shapes.
  graph.ops.forEach((op, i) => {
    const o = 'options' in op ? (op.options as Partial<OpOptionsMap['CONV_2D'] & OpOptionsMap['MAX_POOL_2D'] & OpOptionsMap['DEPTH_TO_SPACE']>) : {};
    for (const key of ['strideW', 'strideH', 'dilationWFactor', 'dilationHFactor', 'filterWidth', 'filterHeight', 'blockSize'] as const) {
      const v = o[key];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) error(`${g}: ${describeOp(graph, i)} has ${key} ${v}; it must be a whole number of at least 1.`, { op: i });
    }
    let inferred: number[][] | undefined;
    try {
      inferred = inferOpOutputShapes(graph, i);
    } catch (e) {
      if (e instanceof UnsupportedError) error(e.message, { op: i });
      else throw e;
      return;
    }
    inferred?.forEach((shape, k) => {
      const t = op.outputs[k];
      if (t === undefined) return;
      const stored = graph.tensors[t].shape;
      if (!sameKnownShape(stored, shape)) {
        error(`${g}: ${describeOp(graph, i)} produces shape ${formatShape(shape)} but ${tname(t)} is declared ${formatShape(stored)}.`, { op: i, tensor: t });
      }
    });
  });
  return issues;
}

/** Findings for every subgraph, plus signature references. */
export function validateModel(model: Model): ValidationIssue[] {
  const issues = model.subgraphs.flatMap((g) => validateGraph(g));
  if (model.subgraphs.length === 0) issues.push({ severity: 'error', message: 'The model has no graphs.' });
  for (const s of model.signatures ?? []) {
    const g = model.subgraphs[s.subgraph];
    if (!g) {
      issues.push({ severity: 'error', message: `Signature '${s.key}' refers to graph ${s.subgraph}, which does not exist.` });
      continue;
    }
    for (const e of [...s.inputs, ...s.outputs]) {
      if (e.tensor < 0 || e.tensor >= g.tensors.length) {
        issues.push({ severity: 'error', message: `Signature '${s.key}' maps '${e.name}' to tensor ${e.tensor}, which graph '${g.name}' does not have.` });
      }
    }
  }
  return issues;
}

/** Throws UnsupportedError listing the errors (up to 5) when the model has any. */
export function assertValidModel(model: Model): void {
  const errors = validateModel(model).filter((i) => i.severity === 'error');
  if (errors.length === 0) return;
  const shown = errors.slice(0, 5).map((e) => e.message);
  const more = errors.length > 5 ? ` (and ${errors.length - 5} more problems)` : '';
  throw new UnsupportedError(`${shown.join(' ')}${more}`);
}
