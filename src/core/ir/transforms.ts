/**
 * Graph transforms. Each returns a new graph and leaves its argument untouched (constant
 * data is shared only when a transform does not change it).
 */

import { UnsupportedError } from '../errors';
import { float16ArrayToFloat32 } from './float16';
import { consumers, describeOp, formatShape, producers, tensorIndexByName, topologicalOpOrder } from './graph';
import { inferShapes } from './shape-inference';
import type { BuiltinOp, FusedActivation, Graph, Model, Op, QuantParams, Tensor, TensorData } from './types';

// ---- copying ---------------------------------------------------------------------------------

function cloneQuant(q: QuantParams): QuantParams {
  const out: QuantParams = { scale: [...q.scale], zeroPoint: [...q.zeroPoint] };
  if (q.axis !== undefined) out.axis = q.axis;
  if (q.min) out.min = [...q.min];
  if (q.max) out.max = [...q.max];
  return out;
}

function cloneTensor(t: Tensor, copyData: boolean): Tensor {
  const out: Tensor = { name: t.name, dtype: t.dtype, shape: [...t.shape] };
  if (t.data) out.data = copyData ? (t.data.slice() as TensorData) : t.data;
  if (t.quant) out.quant = cloneQuant(t.quant);
  if (t.isVariable) out.isVariable = true;
  return out;
}

function cloneOp(op: Op): Op {
  const out = { ...op, inputs: [...op.inputs], outputs: [...op.outputs] } as Op;
  if ('options' in op) {
    const options = { ...op.options } as Record<string, unknown>;
    for (const [k, v] of Object.entries(options)) if (Array.isArray(v)) options[k] = [...v];
    (out as BuiltinOp).options = options as BuiltinOp['options'];
  }
  if ((op.type === 'CUSTOM' || op.type === 'UNKNOWN_BUILTIN') && op.customOptions && (out.type === 'CUSTOM' || out.type === 'UNKNOWN_BUILTIN')) {
    out.customOptions = op.customOptions.slice();
  }
  return out;
}

/** A deep copy: nothing in the result (arrays, options, constant data) is shared with `graph`. */
export function cloneGraph(graph: Graph): Graph {
  return {
    name: graph.name,
    tensors: graph.tensors.map((t) => cloneTensor(t, true)),
    ops: graph.ops.map(cloneOp),
    inputs: [...graph.inputs],
    outputs: [...graph.outputs],
  };
}

/** Copies the structure but shares constant data (cheap; for transforms that replace data). */
function shallowCloneGraph(graph: Graph): Graph {
  return {
    name: graph.name,
    tensors: graph.tensors.map((t) => cloneTensor(t, false)),
    ops: graph.ops.map(cloneOp),
    inputs: [...graph.inputs],
    outputs: [...graph.outputs],
  };
}

/** A deep copy of a whole model. */
export function cloneModel(model: Model): Model {
  const out: Model = { ...model, subgraphs: model.subgraphs.map(cloneGraph) };
  if (model.metadata) out.metadata = model.metadata.map((m) => ({ name: m.name, data: m.data.slice() }));
  if (model.signatures) {
    out.signatures = model.signatures.map((s) => ({
      key: s.key,
      subgraph: s.subgraph,
      inputs: s.inputs.map((e) => ({ ...e })),
      outputs: s.outputs.map((e) => ({ ...e })),
    }));
  }
  return out;
}

// ---- order and clean-up ----------------------------------------------------------------------

/** The graph with its ops in dependency order (stable). Throws UnsupportedError on a cycle. */
export function sortTopologically(graph: Graph): Graph {
  const { order, cycle } = topologicalOpOrder(graph);
  if (cycle !== undefined) throw new UnsupportedError(`Graph '${graph.name}' has a cycle through ${describeOp(graph, cycle)}.`);
  const out = shallowCloneGraph(graph);
  out.ops = order.map((i) => out.ops[i]);
  return out;
}

/** Drops tensors no op and no graph input/output refers to, renumbering the rest. */
export function removeUnusedTensors(graph: Graph): Graph {
  const used = new Array<boolean>(graph.tensors.length).fill(false);
  for (const t of graph.inputs) used[t] = true;
  for (const t of graph.outputs) used[t] = true;
  for (const op of graph.ops) for (const t of [...op.inputs, ...op.outputs]) if (t >= 0) used[t] = true;
  const remap = new Array<number>(graph.tensors.length).fill(-1);
  const tensors: Tensor[] = [];
  graph.tensors.forEach((t, i) => {
    if (used[i]) {
      remap[i] = tensors.length;
      tensors.push(t);
    }
  });
  const map = (t: number) => (t < 0 ? t : remap[t]);
  return {
    name: graph.name,
    tensors,
    ops: graph.ops.map((op) => ({ ...op, inputs: op.inputs.map(map), outputs: op.outputs.map(map) }) as Op),
    inputs: graph.inputs.map(map),
    outputs: graph.outputs.map(map),
  };
}

// ---- float16 weights -------------------------------------------------------------------------

/**
 * Replaces every DEQUANTIZE of a constant float16 tensor by a float32 constant holding the same
 * values (exact), removing the op and, when nothing else reads it, the float16 tensor.
 */
export function foldFloat16Dequantize(graph: Graph): Graph {
  const out = shallowCloneGraph(graph);
  const isGraphOutput = new Set(out.outputs);
  const keep: Op[] = [];
  for (const op of out.ops) {
    const src = op.type === 'DEQUANTIZE' ? out.tensors[op.inputs[0]] : undefined;
    const dst = op.type === 'DEQUANTIZE' ? out.tensors[op.outputs[0]] : undefined;
    if (src && dst && src.dtype === 'float16' && src.data instanceof Uint16Array && dst.dtype === 'float32' && !isGraphOutput.has(op.outputs[0])) {
      dst.data = float16ArrayToFloat32(src.data);
      dst.shape = [...src.shape];
      delete dst.quant;
      continue;
    }
    keep.push(op);
  }
  out.ops = keep;
  return removeUnusedTensors(out);
}

// ---- fixed shapes ----------------------------------------------------------------------------

function reinfer(graph: Graph, overrides: Map<number, number[]>): Graph {
  const shapes = inferShapes(graph, overrides);
  const out = shallowCloneGraph(graph);
  out.tensors.forEach((t, i) => {
    if (!t.data) t.shape = shapes[i];
  });
  return out;
}

/**
 * Fixes the shape of the graph input called `name` (e.g. `[1, 224, 224, 3]` instead of
 * `[-1, 224, 224, 3]`) and re-infers every activation shape. Throws UnsupportedError when the
 * name is not a graph input, the rank differs, a known dimension would change incompatibly
 * with the graph, or shapes no longer fit.
 */
export function setInputShape(graph: Graph, name: string, shape: number[]): Graph {
  const index = tensorIndexByName(graph, name);
  if (index < 0 || !graph.inputs.includes(index)) {
    const inputs = graph.inputs.map((i) => `'${graph.tensors[i].name}'`).join(', ');
    throw new UnsupportedError(`Graph '${graph.name}' has no input called '${name}' (its inputs are ${inputs || 'none'}).`);
  }
  const current = graph.tensors[index].shape;
  if (current.length !== shape.length) {
    throw new UnsupportedError(`Input '${name}' has shape ${formatShape(current)}; the new shape ${formatShape(shape)} has a different rank.`);
  }
  if (shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new UnsupportedError(`The new shape ${formatShape(shape)} for input '${name}' has an invalid dimension.`);
  }
  return reinfer(graph, new Map([[index, [...shape]]]));
}

/** Sets dimension 0 of every graph input to `batch` and re-infers the shapes. */
export function setBatchSize(graph: Graph, batch: number): Graph {
  if (!Number.isInteger(batch) || batch < 1) throw new UnsupportedError(`Batch size ${batch} is not a positive whole number.`);
  const overrides = new Map<number, number[]>();
  for (const i of graph.inputs) {
    const s = graph.tensors[i].shape;
    if (s.length > 0) overrides.set(i, [batch, ...s.slice(1)]);
  }
  return reinfer(graph, overrides);
}

/** Re-infers all activation shapes from the current inputs and constants. */
export function reinferShapes(graph: Graph): Graph {
  return reinfer(graph, new Map());
}

// ---- batch norm folding ----------------------------------------------------------------------

/** Per-channel values of a float32 constant that broadcasts along the last axis only. */
function channelValues(t: Tensor | undefined, channels: number): Float64Array | undefined {
  if (!t || !(t.data instanceof Float32Array) || t.dtype !== 'float32' || t.quant) return undefined;
  const nonUnit = t.shape.filter((d) => d !== 1);
  const isScalar = t.data.length === 1;
  const isChannel = t.data.length === channels && t.shape.length > 0 && t.shape[t.shape.length - 1] === channels && nonUnit.length <= 1;
  if (!isScalar && !isChannel) return undefined;
  const out = new Float64Array(channels);
  for (let c = 0; c < channels; c++) out[c] = t.data[isScalar ? 0 : c];
  return out;
}

type LinearOp = Extract<BuiltinOp, { type: 'CONV_2D' | 'DEPTHWISE_CONV_2D' | 'FULLY_CONNECTED' }>;

function isLinear(op: Op): op is LinearOp {
  return op.type === 'CONV_2D' || op.type === 'DEPTHWISE_CONV_2D' || op.type === 'FULLY_CONNECTED';
}

/**
 * Folds a per-channel affine step expressed as MUL by a constant and/or ADD of a constant,
 * following a float32 CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED (no fused activation),
 * into that op's weights and bias — the shape a batch norm takes after conversion:
 *   y = (W·x + b)·s + t  →  y = (W·s)·x + (b·s + t)
 * The scale applies to output channels: axis 0 of CONV_2D / FULLY_CONNECTED weights, the last
 * axis of DEPTHWISE_CONV_2D weights. The fused activation of the last folded op moves onto the
 * linear op. Patterns that do not match exactly (shared intermediate tensors, non-constant or
 * non-float operands, quantized tensors) are left alone. Returns the new graph and the count.
 */
export function foldBatchNorm(graph: Graph): { graph: Graph; folded: number } {
  let g = shallowCloneGraph(graph);
  let folded = 0;
  for (;;) {
    const step = foldOne(g);
    if (!step) break;
    g = step;
    folded++;
  }
  return { graph: folded ? removeUnusedTensors(g) : g, folded };
}

function foldOne(graph: Graph): Graph | undefined {
  const users = consumers(graph);
  const producer = producers(graph);
  const isGraphOutput = new Set(graph.outputs);
  const soleUser = (t: number): number | undefined => (users[t].length === 1 && !isGraphOutput.has(t) ? users[t][0] : undefined);

  for (let i = 0; i < graph.ops.length; i++) {
    const op = graph.ops[i];
    if (!isLinear(op) || op.options.fusedActivationFunction !== 'NONE') continue;
    const weights = graph.tensors[op.inputs[1]];
    if (!weights || weights.dtype !== 'float32' || !(weights.data instanceof Float32Array) || weights.quant) continue;
    const biasIndex = op.inputs[2] ?? -1;
    const bias = biasIndex >= 0 ? graph.tensors[biasIndex] : undefined;
    if (bias && (bias.dtype !== 'float32' || !(bias.data instanceof Float32Array) || bias.quant)) continue;
    const out = graph.tensors[op.outputs[0]];
    if (out.dtype !== 'float32' || out.quant) continue;
    const channels = op.type === 'DEPTHWISE_CONV_2D' ? weights.shape[weights.shape.length - 1] : weights.shape[0];
    if (!(channels > 0)) continue;

    // Walk MUL? then ADD? after the op, each the sole reader of the previous tensor.
    let current = op.outputs[0];
    const scale = new Float64Array(channels).fill(1);
    const shift = new Float64Array(channels);
    const removed: number[] = [];
    let activation: FusedActivation = 'NONE';
    for (const kind of ['MUL', 'ADD'] as const) {
      if (activation !== 'NONE') break;
      const next = soleUser(current);
      if (next === undefined) break;
      const nop = graph.ops[next];
      if (nop.type !== kind || nop.inputs.length !== 2) break;
      const other = nop.inputs[0] === current ? nop.inputs[1] : nop.inputs[0];
      if (other === current || producer[other] >= 0) break;
      const values = channelValues(graph.tensors[other], channels);
      const result = graph.tensors[nop.outputs[0]];
      // The step must not change the shape (a [1,1,1,C] constant would turn an FC's [N,C] into rank 4).
      const sameShape = result.shape.length === out.shape.length && result.shape.every((d, k) => d === out.shape[k]);
      if (!values || result.dtype !== 'float32' || result.quant || !sameShape) break;
      if (kind === 'MUL') {
        for (let c = 0; c < channels; c++) scale[c] *= values[c];
      } else {
        for (let c = 0; c < channels; c++) shift[c] += values[c];
      }
      activation = nop.options.fusedActivationFunction;
      removed.push(next);
      current = nop.outputs[0];
    }
    if (removed.length === 0) continue;

    // New weights: scale every output channel.
    const w = weights.data;
    const newWeights = new Float32Array(w.length);
    if (op.type === 'DEPTHWISE_CONV_2D') {
      for (let k = 0; k < w.length; k++) newWeights[k] = w[k] * scale[k % channels];
    } else {
      const per = w.length / channels;
      for (let k = 0; k < w.length; k++) newWeights[k] = w[k] * scale[Math.floor(k / per)];
    }
    const newBias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) newBias[c] = (bias ? (bias.data as Float32Array)[c] : 0) * scale[c] + shift[c];

    const g = shallowCloneGraph(graph);
    const wIndex = g.tensors.length;
    g.tensors.push({ name: `${weights.name}/bn_folded`, dtype: 'float32', shape: [...weights.shape], data: newWeights });
    const bIndex = g.tensors.length;
    g.tensors.push({ name: bias ? `${bias.name}/bn_folded` : `${out.name}/bn_folded_bias`, dtype: 'float32', shape: [channels], data: newBias });
    const linear = g.ops[i] as LinearOp;
    linear.inputs = [linear.inputs[0], wIndex, bIndex, ...linear.inputs.slice(3)];
    linear.outputs = [current, ...linear.outputs.slice(1)];
    linear.options = { ...linear.options, fusedActivationFunction: activation };
    const drop = new Set(removed);
    g.ops = g.ops.filter((_, k) => !drop.has(k));
    return g;
  }
  return undefined;
}

// ---- activation fusion -----------------------------------------------------------------------

const FUSABLE_INTO: ReadonlySet<Op['type']> = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'TRANSPOSE_CONV', 'ADD', 'SUB', 'MUL', 'CONCATENATION', 'AVERAGE_POOL_2D', 'MAX_POOL_2D']);
const FUSABLE_ACTIVATION: Partial<Record<Op['type'], FusedActivation>> = { RELU: 'RELU', RELU6: 'RELU6' };

/**
 * Folds a standalone RELU / RELU6 into the op before it when that op has no fused activation yet
 * and the activation is the only reader of its output (and the output is no graph output), as
 * TFLite's converter does. Exact in float; in integer models it lets the producer's output range
 * start at 0 instead of wasting half the grid on values the activation discards.
 * CONCATENATION is only fused where TFLite would run it (it accepts NONE only), so it is skipped.
 */
export function fuseActivations(graph: Graph): { graph: Graph; fused: number } {
  const users = consumers(graph);
  const producer = producers(graph);
  const outputs = new Set(graph.outputs);
  const drop = new Set<number>();
  const ops = graph.ops.map((op) => ({ ...op }) as Op);
  let fused = 0;
  ops.forEach((act, i) => {
    const kind = FUSABLE_ACTIVATION[act.type];
    if (!kind) return;
    const src = act.inputs[0];
    const p = producer[src];
    if (p < 0 || users[src].length !== 1 || outputs.has(src) || drop.has(p)) return;
    const prev = ops[p];
    if (!FUSABLE_INTO.has(prev.type) || prev.type === 'CONCATENATION' || !('options' in prev)) return;
    const options = prev.options as { fusedActivationFunction?: FusedActivation };
    if (options.fusedActivationFunction !== 'NONE') return;
    const t = graph.tensors[src];
    if (t.quant || graph.tensors[act.outputs[0]].quant) return;
    (prev as { options: object }).options = { ...options, fusedActivationFunction: kind };
    prev.outputs = [act.outputs[0], ...prev.outputs.slice(1)];
    drop.add(i);
    fused++;
  });
  if (fused === 0) return { graph, fused };
  return { graph: removeUnusedTensors({ ...graph, ops: ops.filter((_, i) => !drop.has(i)) }), fused };
}
