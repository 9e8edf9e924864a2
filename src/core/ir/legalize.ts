/**
 * Legalization: rewrites custom ops into builtins where an exact equivalent exists, so a model
 * loads in a stock TFLite interpreter (and in delegates) without the custom op registered.
 *
 * Today: MediaPipe's CUSTOM 'Convolution2DTransposeBias' (selfie segmentation and other
 * MediaPipe models) → builtin TRANSPOSE_CONV with a constant output shape and the bias as its
 * fourth operand (TRANSPOSE_CONV version 3), or TRANSPOSE_CONV + ADD of the bias.
 *
 * Why that is exact. MediaPipe derives its output size from the input (per spatial dimension,
 * input n, kernel k, stride s; see runtime/kernels/convolution-2d-transpose-bias.ts):
 *
 *   SAME : p = max(0, k − (n − 1) mod s − 1)     VALID: p = 0
 *   out = s·(n − 1) + k − p,  padding before = floor(p / 2)
 *
 * TFLite's TRANSPOSE_CONV takes `out` as an operand and derives its padding as a forward
 * convolution from `out` back to the input would: n' = ceil(out / s) (SAME) or
 * floor((out − k + s) / s) (VALID), total = max((n' − 1)·s + k − out, 0), before = floor(total / 2).
 * With r = (n − 1) mod s:
 *   SAME, k > r: out = s·(n − 1) + r + 1, so n' = n − 1 + ceil((r + 1)/s) = n and total = k − r − 1 = p;
 *   SAME, k ≤ r: p = 0, out = s·(n − 1) + k, n' = n − 1 + ceil(k/s) = n, total = 0;
 *   VALID:       out = s·(n − 1) + k, n' = n, total = 0.
 * So the same output size gives the same padding, hence the same scatter, in every case — even
 * where MediaPipe's size differs from TensorFlow's SAME transpose convolution (out = n·s), e.g.
 * k = 1 or k = 3 with s = 2 and odd n. No VALID-plus-slice fallback is needed; the rewrite still
 * checks the equality per op and leaves the op alone (with the reason) if it ever failed.
 *
 * The output shape must be static (batch included) because it becomes a constant: fix unknown
 * input dimensions first (setInputShapes / --input-shape / --batch).
 */
import { ModelFormatError, UnsupportedError } from '../errors';
import {
  CONVOLUTION_2D_TRANSPOSE_BIAS,
  parseTransposeConvBiasOptions,
  transposeConvBiasGeometry,
} from '../runtime/kernels/convolution-2d-transpose-bias';
import { describeOp, formatShape, isStaticShape, topologicalOpOrder } from './graph';
import { inferOpOutputShapes } from './shape-inference';
import type { Graph, Model, Op, OpaqueOp, Padding, Tensor } from './types';

export interface LegalizedOp {
  subgraph: number;
  /** Index of the custom op in the graph given to legalize. */
  opIndex: number;
  name: string;
  from: string;
  /** The builtins that replace it, in order. */
  to: string[];
}

export interface RemainingCustomOp {
  subgraph: number;
  opIndex: number;
  name: string;
  code: string;
  /** Why it was not rewritten, as a sentence. */
  reason: string;
}

export interface LegalizeOptions {
  /**
   * How the bias of Convolution2DTransposeBias is carried: as TRANSPOSE_CONV's own bias operand
   * (default; TRANSPOSE_CONV version 3, TFLite ≥ 2.6) or as a separate ADD (any TFLite version).
   */
  transposeConvBias?: 'operand' | 'add';
  /** Static shapes of the graph's tensors (default: inferred with `inferShapesWithCustomOps`). */
  shapes?: readonly (readonly number[])[];
}

export interface LegalizeResult {
  graph: Graph;
  legalized: LegalizedOp[];
  remaining: RemainingCustomOp[];
}

/** The custom codes legalize knows how to rewrite. */
export const LEGALIZABLE_CUSTOM_OPS: readonly string[] = [CONVOLUTION_2D_TRANSPOSE_BIAS];

// ---- shapes -----------------------------------------------------------------------------------

/** Output shape of a custom op QuantLab knows the rule of, or undefined. */
function customOpOutputShapes(graph: Graph, op: OpaqueOp, shapes: readonly (readonly number[])[]): number[][] | undefined {
  if (op.type !== 'CUSTOM' || op.code !== CONVOLUTION_2D_TRANSPOSE_BIAS || op.inputs.length < 2 || op.inputs[0] < 0 || op.inputs[1] < 0) return undefined;
  const x = shapes[op.inputs[0]];
  const w = shapes[op.inputs[1]];
  if (x.length !== 4 || w.length !== 4 || w[1] < 0 || w[2] < 0) return undefined;
  let params;
  try {
    params = parseTransposeConvBiasOptions(op.customOptions, describeOp(graph, graph.ops.indexOf(op)));
  } catch {
    return undefined;
  }
  const dim = (n: number, k: number, s: number) => (n < 0 ? -1 : transposeConvBiasGeometry(n, k, s, params.padding).outSize);
  return [[x[0], dim(x[1], w[1], params.strideH), dim(x[2], w[2], params.strideW), w[0]]];
}

/**
 * Shapes of all tensors, like ir/shape-inference's inferShapes, but also through the custom ops
 * whose shape rule QuantLab knows (Convolution2DTransposeBias). Outputs of other custom ops keep
 * their stored shapes. `overrides` replaces some tensors' shapes first (e.g. fixed inputs).
 */
export function inferShapesWithCustomOps(graph: Graph, overrides: ReadonlyMap<number, readonly number[]> = new Map()): number[][] {
  const shapes = graph.tensors.map((t, i) => [...(overrides.get(i) ?? t.shape)]);
  const { order, cycle } = topologicalOpOrder(graph);
  if (cycle !== undefined) throw new UnsupportedError(`Graph '${graph.name}' has a cycle through ${describeOp(graph, cycle)}.`);
  for (const i of order) {
    const op = graph.ops[i];
    const out = op.type === 'CUSTOM' ? customOpOutputShapes(graph, op, shapes) : inferOpOutputShapes(graph, i, shapes);
    if (!out) continue;
    op.outputs.forEach((t, k) => {
      if (t >= 0 && t < shapes.length && out[k] && !overrides.has(t)) shapes[t] = out[k];
    });
  }
  return shapes;
}

/**
 * A copy of the graph whose graph inputs take the given shapes (-1 keeps a dimension unknown) and whose every activation shape
 * is re-inferred (custom ops included where their rule is known). Constants and ops are shared
 * with the argument. `unknown` lists the tensors whose shapes are still not static.
 */
export function withInputShapes(graph: Graph, inputShapes: ReadonlyMap<number, readonly number[]>): { graph: Graph; unknown: number[] } {
  for (const [t, shape] of inputShapes) {
    if (!graph.inputs.includes(t)) throw new UnsupportedError(`Tensor ${t} '${graph.tensors[t]?.name}' is not an input of graph '${graph.name}'.`);
    const declared = graph.tensors[t].shape;
    if (declared.length !== shape.length) {
      throw new UnsupportedError(`Input '${graph.tensors[t].name}' has shape ${formatShape(declared)}; the shape ${formatShape(shape)} given for it has a different rank.`);
    }
    if (shape.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1))) {
      throw new UnsupportedError(`The shape ${formatShape(shape)} given for input '${graph.tensors[t].name}' has a dimension that is neither a positive whole number nor unknown.`);
    }
  }
  const shapes = inferShapesWithCustomOps(graph, inputShapes);
  const tensors: Tensor[] = graph.tensors.map((t, i) => (t.data ? t : { ...t, shape: shapes[i] }));
  const unknown = tensors.map((t, i) => (isStaticShape(t.shape) ? -1 : i)).filter((i) => i >= 0);
  return { graph: { ...graph, tensors, ops: [...graph.ops], inputs: [...graph.inputs], outputs: [...graph.outputs] }, unknown };
}

// ---- TFLite's TRANSPOSE_CONV geometry ---------------------------------------------------------

/**
 * What TFLite's TRANSPOSE_CONV does along one dimension for an output of size `out`: the input
 * size its padding rule assumes and the padding before (tensorflow/lite/kernels/transpose_conv.cc
 * via padding.h's ComputePaddingHeightWidth).
 */
export function tfliteTransposeConvGeometry(out: number, kernel: number, stride: number, padding: Padding): { inSize: number; padBefore: number } {
  const inSize = padding === 'SAME' ? Math.floor((out + stride - 1) / stride) : Math.floor((out - kernel + stride) / stride);
  const total = Math.max((inSize - 1) * stride + kernel - out, 0);
  return { inSize, padBefore: Math.floor(total / 2) };
}

// ---- the rewrite ------------------------------------------------------------------------------

type Rewrite = { ops: Op[]; tensors: Tensor[]; to: string[] } | { reason: string };

function rewriteTransposeConvBias(
  graph: Graph,
  opIndex: number,
  op: OpaqueOp,
  shapes: readonly (readonly number[])[],
  firstNewTensor: number,
  biasMode: 'operand' | 'add',
): Rewrite {
  const label = describeOp(graph, opIndex);
  if (op.inputs.length !== 3 || op.inputs.some((t) => t < 0) || op.outputs.length !== 1) {
    return { reason: `${label} has ${op.inputs.length} inputs and ${op.outputs.length} outputs; Convolution2DTransposeBias takes 3 (input, weights, bias) and gives 1.` };
  }
  let params;
  try {
    params = parseTransposeConvBiasOptions(op.customOptions, label);
  } catch (e) {
    if (e instanceof ModelFormatError) return { reason: e.message };
    throw e;
  }
  const [xT, wT, bT] = op.inputs;
  const yT = op.outputs[0];
  for (const t of [xT, wT, bT, yT]) {
    if (graph.tensors[t].dtype !== 'float32') {
      return { reason: `${label} has ${graph.tensors[t].dtype} tensor '${graph.tensors[t].name}'; MediaPipe's op (and this rewrite) is float32 only.` };
    }
  }
  const x = shapes[xT];
  const w = shapes[wT];
  const b = shapes[bT];
  if (x.length !== 4 || !isStaticShape(x)) {
    return { reason: `${label} reads input '${graph.tensors[xT].name}' of shape ${formatShape(x)}; TRANSPOSE_CONV needs its output shape as a constant, so fix the input's unknown dimensions first (--input-shape or --batch).` };
  }
  if (w.length !== 4 || !isStaticShape(w)) return { reason: `${label} has weights of shape ${formatShape(w)}; expected [out channels, kH, kW, in channels].` };
  if (w[3] !== x[3]) return { reason: `${label} has weights ${formatShape(w)} for input ${formatShape(x)}; their channel counts differ.` };
  if (b.length !== 1 || b[0] !== w[0]) return { reason: `${label} has bias of shape ${formatShape(b)} for ${w[0]} output channels.` };

  const h = transposeConvBiasGeometry(x[1], w[1], params.strideH, params.padding);
  const wd = transposeConvBiasGeometry(x[2], w[2], params.strideW, params.padding);
  const tfH = tfliteTransposeConvGeometry(h.outSize, w[1], params.strideH, params.padding);
  const tfW = tfliteTransposeConvGeometry(wd.outSize, w[2], params.strideW, params.padding);
  if (tfH.inSize !== x[1] || tfW.inSize !== x[2] || tfH.padBefore !== h.padBefore || tfW.padBefore !== wd.padBefore) {
    // Unreachable by the argument in the file comment; kept so a wrong rewrite is never written.
    return { reason: `${label}: TFLite's TRANSPOSE_CONV with ${params.padding} padding would pad differently from MediaPipe for input ${formatShape(x)} and kernel ${formatShape(w)}.` };
  }
  const outShape = [x[0], h.outSize, wd.outSize, w[0]];
  const y = graph.tensors[yT];
  const declared = y.shape;
  if (declared.length !== 4 || declared.some((d, k) => d >= 0 && d !== outShape[k])) {
    return { reason: `${label} declares output ${formatShape(declared)} but MediaPipe's rule gives ${formatShape(outShape)}.` };
  }
  const name = op.name ?? y.name;
  const tensors: Tensor[] = [{ name: `${name}/output_shape`, dtype: 'int32', shape: [4], data: Int32Array.from(outShape) }];
  const options = { padding: params.padding, strideH: params.strideH, strideW: params.strideW, fusedActivationFunction: 'NONE' as const };
  const shapeT = firstNewTensor;
  if (biasMode === 'operand') {
    const tconv: Op = { type: 'TRANSPOSE_CONV', options, inputs: [shapeT, wT, xT, bT], outputs: [yT], name };
    return { ops: [tconv], tensors, to: ['TRANSPOSE_CONV'] };
  }
  const tmpT = firstNewTensor + 1;
  tensors.push({ name: `${name}/without_bias`, dtype: 'float32', shape: outShape });
  const tconv: Op = { type: 'TRANSPOSE_CONV', options, inputs: [shapeT, wT, xT], outputs: [tmpT], name };
  const add: Op = { type: 'ADD', options: { fusedActivationFunction: 'NONE', potScaleInt16: false }, inputs: [tmpT, bT], outputs: [yT], name: `${name}/bias_add` };
  return { ops: [tconv, add], tensors, to: ['TRANSPOSE_CONV', 'ADD'] };
}

/**
 * Rewrites every custom op of the graph that has an exact builtin equivalent. Returns a new
 * graph (constants shared with the argument; new tensors appended, so existing tensor indices
 * and signatures stay valid), what was rewritten and which custom ops remain, with the reason.
 */
export function legalizeGraph(graph: Graph, options: LegalizeOptions = {}, subgraph = 0): LegalizeResult {
  const shapes = options.shapes ?? inferShapesWithCustomOps(graph);
  const tensors: Tensor[] = graph.tensors.map((t, i) => (t.data || isStaticShape(t.shape) || !isStaticShape(shapes[i]) ? t : { ...t, shape: [...shapes[i]] }));
  const ops: Op[] = [];
  const legalized: LegalizedOp[] = [];
  const remaining: RemainingCustomOp[] = [];
  graph.ops.forEach((op, i) => {
    if (op.type !== 'CUSTOM') {
      ops.push(op);
      return;
    }
    const name = op.name ?? graph.tensors[op.outputs[0]]?.name ?? `#${i}`;
    if (op.code !== CONVOLUTION_2D_TRANSPOSE_BIAS) {
      remaining.push({ subgraph, opIndex: i, name, code: op.code, reason: `QuantLab knows no builtin equivalent of the custom op '${op.code}'.` });
      ops.push(op);
      return;
    }
    const r = rewriteTransposeConvBias(graph, i, op, shapes, tensors.length, options.transposeConvBias ?? 'operand');
    if ('reason' in r) {
      remaining.push({ subgraph, opIndex: i, name, code: op.code, reason: r.reason });
      ops.push(op);
      return;
    }
    tensors.push(...r.tensors);
    const y = op.outputs[0];
    if (!isStaticShape(tensors[y].shape)) tensors[y] = { ...tensors[y], shape: [...(r.tensors[0].data as Int32Array)] };
    ops.push(...r.ops);
    legalized.push({ subgraph, opIndex: i, name, from: `CUSTOM '${op.code}'`, to: r.to });
  });
  return { graph: { ...graph, tensors, ops, inputs: [...graph.inputs], outputs: [...graph.outputs] }, legalized, remaining };
}

/** legalizeGraph over every subgraph of a model. `shapes` in the options applies to subgraph 0. */
export function legalizeModel(model: Model, options: LegalizeOptions = {}): { model: Model; legalized: LegalizedOp[]; remaining: RemainingCustomOp[] } {
  const legalized: LegalizedOp[] = [];
  const remaining: RemainingCustomOp[] = [];
  const subgraphs = model.subgraphs.map((g, s) => {
    const r = legalizeGraph(g, s === 0 ? options : { ...options, shapes: undefined }, s);
    legalized.push(...r.legalized);
    remaining.push(...r.remaining);
    return r.graph;
  });
  return { model: { ...model, subgraphs }, legalized, remaining };
}
