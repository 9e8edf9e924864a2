/**
 * Builds the integer graph from a float graph, the per-op decisions and the calibrated ranges.
 *
 * Every float activation lives in one of two domains: produced by a quantized op (it becomes an
 * integer tensor) or produced by a float op / given as a float graph input (it stays float).
 * A consumer in the other domain gets a twin made on first use by QUANTIZE or DEQUANTIZE,
 * inserted just before it, so the op order stays topological. Graph inputs and outputs take the
 * domain the user chose (`io`); when a twin is needed there, the twin gets the original name
 * (what users look tensors up by) and the inner tensor a `_int8`/`_int16` suffix.
 *
 * Tensors whose parameters must agree (an op that keeps its input's parameters, all inputs of a
 * CONCATENATION) are merged into one group; the group's range is the union of its members'
 * ranges, or its parameters are fixed (LOGISTIC, SOFTMAX, TANH outputs).
 */
import { UserError } from '../../errors';
import type { DType, Graph, Op, QuantParams, Tensor, TensorData } from '../../ir/types';
import { removeUnusedTensors } from '../../ir/transforms';
import type { IntegerGrid, QuantRange, ScaleZeroPoint } from '../params';
import { chooseParams } from '../params';
import { TensorGroups } from './groups';
import type { OpDecision } from './plan';
import { FIXED_OUTPUT, LINEAR_OPS, SAME_PARAMS_OPS } from './plan';

export interface BuildOptions {
  act: 'int8' | 'int16';
  grid: IntegerGrid;
  weightGrid: IntegerGrid;
  perChannel: boolean;
  io: 'float' | 'int8';
}

export interface LinearInfo {
  /** Op index in the built graph. */
  opIndex: number;
  /** Op index in the float graph. */
  floatOpIndex: number;
  /** Output tensor index (same in both graphs). */
  output: number;
  /** Bias tensor index in the built graph. */
  bias: number;
  channels: number;
}

export interface BuiltGraph {
  graph: Graph;
  /** Parameters chosen for each quantized activation (original tensor index). */
  params: Map<number, ScaleZeroPoint>;
  linear: LinearInfo[];
  /** Float graph tensor index → tensor index in the built graph holding it in the integer domain. */
  quantIndex: Map<number, number>;
}

function isFloatActivation(graph: Graph, t: number): boolean {
  const tensor = graph.tensors[t];
  return t >= 0 && tensor !== undefined && tensor.dtype === 'float32' && tensor.data === undefined;
}

/** The activations whose ranges calibration must observe. */
export function tensorsToObserve(graph: Graph, decisions: readonly OpDecision[], io: 'float' | 'int8'): number[] {
  const set = new Set<number>();
  graph.ops.forEach((op, i) => {
    if (!decisions[i].quantized) return;
    for (const t of [...op.inputs, ...op.outputs]) if (isFloatActivation(graph, t)) set.add(t);
  });
  if (io === 'int8') for (const t of [...graph.inputs, ...graph.outputs]) if (isFloatActivation(graph, t)) set.add(t);
  return [...set].sort((a, b) => a - b);
}

function rangeOfData(data: Float32Array): QuantRange {
  let min = 0;
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

function checkFinite(tensor: Tensor, what: string): void {
  const d = tensor.data;
  if (!(d instanceof Float32Array)) return;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new UserError('bad-model', `${what} '${tensor.name}' holds ${d[i]} at element ${i}; a model with NaN/Inf weights cannot be quantized.`);
    }
  }
}

function roundHalfAway(x: number): number {
  return x >= 0 ? Math.floor(x + 0.5) : -Math.floor(-x + 0.5);
}

function quantizeConstant(data: Float32Array, p: ScaleZeroPoint, grid: IntegerGrid, dtype: 'int8' | 'int16'): TensorData {
  const out = dtype === 'int8' ? new Int8Array(data.length) : new Int16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const q = roundHalfAway(data[i] / p.scale) + p.zeroPoint;
    out[i] = Math.min(grid.qmax, Math.max(grid.qmin, q));
  }
  return out;
}

/** Symmetric int8 weights, per channel along `axis` or per tensor. */
export function quantizeWeights(w: Tensor, axis: number, perChannel: boolean, grid: IntegerGrid): { data: Int8Array; quant: QuantParams } {
  const data = w.data as Float32Array;
  const shape = w.shape;
  const channels = perChannel ? shape[axis] : 1;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number): number => (perChannel ? Math.floor(i / inner) % channels : 0);
  const absMax = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    const a = Math.abs(data[i]);
    if (a > absMax[c]) absMax[c] = a;
  }
  const scale = Array.from(absMax, (a) => chooseParams({ min: -a, max: a }, grid).scale);
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    q[i] = Math.min(grid.qmax, Math.max(grid.qmin, roundHalfAway(data[i] / scale[c])));
  }
  // No min/max for weights: TFLite does not need them, and per channel they would add 8 bytes a channel.
  const quant: QuantParams = { scale, zeroPoint: new Array<number>(channels).fill(0) };
  if (perChannel) quant.axis = axis;
  return { data: q, quant };
}

export function buildQuantizedGraph(
  graph: Graph,
  decisions: readonly OpDecision[],
  ranges: ReadonlyMap<number, QuantRange>,
  options: BuildOptions,
): BuiltGraph {
  const { act, grid } = options;
  const suffix = `_${act}`;

  // 1. Groups of tensors that must share parameters, and fixed parameters.
  const groups = new TensorGroups();
  const fixed = new Map<number, [number, number]>();
  graph.ops.forEach((op, i) => {
    if (!decisions[i].quantized) return;
    if (SAME_PARAMS_OPS.has(op.type)) {
      const ins = op.type === 'CONCATENATION' ? op.inputs.filter((t) => t >= 0 && graph.tensors[t].dtype === 'float32') : [op.inputs[0]];
      for (const t of ins) groups.union(op.outputs[0], t);
    }
  });
  graph.ops.forEach((op, i) => {
    const f = FIXED_OUTPUT[op.type]?.[act];
    if (!decisions[i].quantized || !f) return;
    const root = groups.find(op.outputs[0]);
    const prior = fixed.get(root);
    if (prior && (prior[0] !== f[0] || prior[1] !== f[1])) {
      throw new UserError('unsupported', `Tensor '${graph.tensors[op.outputs[0]].name}' would need two different fixed quantizations; keep one of its ops float.`);
    }
    fixed.set(root, f);
  });

  // 2. Group ranges (union of members' observed ranges; constants in a group count too).
  const groupRange = new Map<number, QuantRange>();
  const widen = (t: number, r: QuantRange): void => {
    const root = groups.find(t);
    const g = groupRange.get(root);
    groupRange.set(root, g ? { min: Math.min(g.min, r.min), max: Math.max(g.max, r.max) } : { ...r });
  };
  for (const [t, r] of ranges) widen(t, r);
  graph.ops.forEach((op, i) => {
    if (!decisions[i].quantized || op.type !== 'CONCATENATION') return;
    for (const t of op.inputs) {
      const tensor = graph.tensors[t];
      if (t >= 0 && tensor.dtype === 'float32' && tensor.data instanceof Float32Array) widen(t, rangeOfData(tensor.data));
    }
  });
  const paramsCache = new Map<number, ScaleZeroPoint>();
  const paramsOf = (t: number): ScaleZeroPoint => {
    const root = groups.find(t);
    const cached = paramsCache.get(root);
    if (cached) return cached;
    let p: ScaleZeroPoint;
    const f = fixed.get(root);
    if (f) p = { scale: f[0], zeroPoint: f[1] };
    else {
      const r = groupRange.get(root);
      if (!r) throw new Error(`internal: no calibrated range for tensor ${t} '${graph.tensors[t].name}'`);
      p = chooseParams(r, grid);
    }
    paramsCache.set(root, p);
    return p;
  };
  const quantParamsOf = (t: number): QuantParams => {
    const p = paramsOf(t);
    const r = groupRange.get(groups.find(t));
    const q: QuantParams = { scale: [p.scale], zeroPoint: [p.zeroPoint] };
    if (r) {
      q.min = [r.min];
      q.max = [r.max];
    }
    return q;
  };

  // 3. Domains.
  const producerQuantized = new Map<number, boolean>();
  graph.ops.forEach((op, i) => {
    for (const t of op.outputs) producerQuantized.set(t, decisions[i].quantized);
  });
  const inputSet = new Set(graph.inputs);
  const isQuantDomain = (t: number): boolean => (inputSet.has(t) ? options.io === 'int8' : producerQuantized.get(t) === true);

  const tensors: Tensor[] = graph.tensors.map((t, i) => {
    if (isFloatActivation(graph, i) && isQuantDomain(i)) return { ...t, dtype: act, quant: quantParamsOf(i) };
    return t;
  });
  const ops: Op[] = [];
  const quantTwin = new Map<number, number>();
  const floatTwin = new Map<number, number>();
  const addTensor = (t: Tensor): number => {
    tensors.push(t);
    return tensors.length - 1;
  };
  const inQuant = (t: number): number => {
    if (isQuantDomain(t)) return t;
    const have = quantTwin.get(t);
    if (have !== undefined) return have;
    const src = graph.tensors[t];
    const twin = addTensor({ name: `${src.name}${suffix}`, dtype: act, shape: [...src.shape], quant: quantParamsOf(t) });
    ops.push({ type: 'QUANTIZE', inputs: [t], outputs: [twin], options: {} });
    quantTwin.set(t, twin);
    return twin;
  };
  const inFloat = (t: number): number => {
    if (!isQuantDomain(t)) return t;
    const have = floatTwin.get(t);
    if (have !== undefined) return have;
    const src = graph.tensors[t];
    const twin = addTensor({ name: `${src.name}_float`, dtype: 'float32', shape: [...src.shape] });
    ops.push({ type: 'DEQUANTIZE', inputs: [t], outputs: [twin], options: {} });
    floatTwin.set(t, twin);
    return twin;
  };

  // Constants: quantized weights (shared by index), other float constants per group / own range.
  const weightCache = new Map<string, number>();
  const constCache = new Map<number, number>();
  const quantizedConstant = (t: number, inGroup: boolean): number => {
    const have = constCache.get(t);
    if (have !== undefined) return have;
    const src = graph.tensors[t];
    checkFinite(src, 'Constant');
    const data = src.data as Float32Array;
    const p = inGroup ? paramsOf(t) : chooseParams(rangeOfData(data), grid);
    const r = rangeOfData(data);
    const idx = addTensor({
      name: `${src.name}${suffix}`,
      dtype: act,
      shape: [...src.shape],
      data: quantizeConstant(data, p, grid, act),
      quant: { scale: [p.scale], zeroPoint: [p.zeroPoint], min: [r.min], max: [r.max] },
    });
    constCache.set(t, idx);
    return idx;
  };

  const linear: LinearInfo[] = [];
  const { order } = topological(graph);
  for (const i of order) {
    const op = graph.ops[i];
    if (!decisions[i].quantized) {
      const inputs = op.inputs.map((t) => (isFloatActivation(graph, t) ? inFloat(t) : t));
      ops.push({ ...op, inputs } as Op);
      continue;
    }
    const role = LINEAR_OPS[op.type];
    const inGroup = op.type === 'CONCATENATION';
    const inputs = op.inputs.map((t, slot) => {
      if (t < 0) return t;
      const tensor = graph.tensors[t];
      if (role && (slot === role.weight || slot === role.bias)) return t; // replaced below
      if (tensor.dtype !== 'float32') return t;
      if (tensor.data !== undefined) return quantizedConstant(t, inGroup);
      return inQuant(t);
    });
    if (role) {
      const wIndex = op.inputs[role.weight];
      const w = graph.tensors[wIndex];
      checkFinite(w, `Weights of op ${i}`);
      const key = `${wIndex}`;
      let qw = weightCache.get(key);
      if (qw === undefined) {
        const { data, quant } = quantizeWeights(w, role.axis, options.perChannel, options.weightGrid);
        qw = addTensor({ name: `${w.name}${options.perChannel ? '_int8_pc' : '_int8'}`, dtype: 'int8', shape: [...w.shape], data, quant });
        weightCache.set(key, qw);
      }
      inputs[role.weight] = qw;
      const wScale = tensors[qw].quant?.scale ?? [1];
      const sIn = paramsOf(op.inputs[role.act]).scale;
      const channels = w.shape[role.axis];
      const bIndex = role.bias < op.inputs.length ? op.inputs[role.bias] : -1;
      const b = bIndex >= 0 ? graph.tensors[bIndex] : undefined;
      if (b) checkFinite(b, `Bias of op ${i}`);
      const bData = b?.data instanceof Float32Array ? b.data : new Float32Array(channels);
      const scales = Array.from({ length: channels }, (_, c) => Math.fround(sIn * wScale[options.perChannel ? c : 0]));
      const biasDtype: DType = act === 'int16' ? 'int64' : 'int32';
      let biasData: TensorData;
      if (biasDtype === 'int64') {
        const arr = new BigInt64Array(channels);
        for (let c = 0; c < channels; c++) arr[c] = BigInt(roundHalfAway(bData[c] / scales[c]));
        biasData = arr;
      } else {
        const arr = new Int32Array(channels);
        for (let c = 0; c < channels; c++) arr[c] = Math.max(-2147483647, Math.min(2147483647, roundHalfAway(bData[c] / scales[c])));
        biasData = arr;
      }
      const bq: QuantParams = { scale: options.perChannel ? scales : [scales[0]], zeroPoint: new Array<number>(options.perChannel ? channels : 1).fill(0) };
      if (options.perChannel) bq.axis = 0;
      const newBias = addTensor({ name: `${b?.name ?? `${graph.tensors[op.outputs[0]].name}/bias`}${act === 'int16' ? '_int64' : '_int32'}`, dtype: biasDtype, shape: [channels], data: biasData, quant: bq });
      while (inputs.length <= role.bias) inputs.push(-1);
      inputs[role.bias] = newBias;
      linear.push({ opIndex: -1, floatOpIndex: i, output: op.outputs[0], bias: newBias, channels });
    }
    ops.push({ ...op, inputs } as Op);
    if (role) linear[linear.length - 1].opIndex = ops.length - 1;
  }

  // 4. Graph inputs/outputs in the chosen domain; the boundary tensor keeps the original name.
  const wantQuant = options.io === 'int8';
  const outputs = graph.outputs.map((t) => {
    if (!isFloatActivation(graph, t) || isQuantDomain(t) === wantQuant) return t;
    const twin = wantQuant ? inQuant(t) : inFloat(t);
    swapNames(tensors, t, twin, suffix);
    return twin;
  });
  // Graph inputs keep their names already: a float input's integer twin was made as `name_int8`.

  const quantIndex = new Map<number, number>();
  for (let t = 0; t < graph.tensors.length; t++) {
    if (!isFloatActivation(graph, t)) continue;
    if (isQuantDomain(t)) quantIndex.set(t, t);
    else if (quantTwin.has(t)) quantIndex.set(t, quantTwin.get(t) as number);
  }
  const params = new Map<number, ScaleZeroPoint>();
  for (const t of quantIndex.keys()) params.set(t, paramsOf(t));

  const built: Graph = { ...graph, tensors, ops, inputs: [...graph.inputs], outputs };
  // Unused float weights go; indices of kept tensors shift, so map what we report.
  const pruned = removeUnusedTensorsWithMap(built);
  const remap = (t: number): number => pruned.map.get(t) ?? -1;
  return {
    graph: pruned.graph,
    params,
    linear: linear.map((l) => ({ ...l, output: remap(l.output), bias: remap(l.bias) })),
    quantIndex: new Map([...quantIndex].map(([f, q]) => [f, remap(q)])),
  };
}

/** The float tensor keeps its name when it is the graph boundary: `twin` gets `name`, `t` gets `name+suffix`. */
function swapNames(tensors: Tensor[], inner: number, boundary: number, suffix: string): void {
  const name = tensors[inner].name;
  tensors[boundary] = { ...tensors[boundary], name };
  tensors[inner] = { ...tensors[inner], name: `${name}${tensors[inner].dtype === 'float32' ? '_float' : suffix}` };
}

function topological(graph: Graph): { order: number[] } {
  const produced = new Map<number, number>();
  graph.ops.forEach((op, i) => op.outputs.forEach((t) => produced.set(t, i)));
  const done = new Set<number>();
  const order: number[] = [];
  const visit = (i: number, depth: number): void => {
    if (done.has(i)) return;
    if (depth > graph.ops.length) throw new UserError('bad-model', `Graph '${graph.name}' has a cycle through op ${i}.`);
    for (const t of graph.ops[i].inputs) {
      const p = produced.get(t);
      if (p !== undefined) visit(p, depth + 1);
    }
    done.add(i);
    order.push(i);
  };
  graph.ops.forEach((_, i) => visit(i, 0));
  return { order };
}

function removeUnusedTensorsWithMap(graph: Graph): { graph: Graph; map: Map<number, number> } {
  const pruned = removeUnusedTensors(graph);
  // removeUnusedTensors keeps tensor order; map kept tensors by identity.
  const position = new Map<Tensor, number>();
  pruned.tensors.forEach((t, i) => position.set(t, i));
  const map = new Map<number, number>();
  graph.tensors.forEach((t, i) => {
    const p = position.get(t);
    if (p !== undefined) map.set(i, p);
  });
  return { graph: pruned, map };
}
