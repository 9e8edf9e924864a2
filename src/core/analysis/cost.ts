/**
 * Per-layer cost model: multiply-accumulates, parameters, memory traffic and arithmetic
 * intensity, from a graph and the static shapes of its tensors.
 *
 * Formulas (N batch, outputs [N, oH, oW, oC], weights as TFLite stores them):
 *
 *   CONV_2D            MACs = N·oH·oW·oC · kH·kW·(inC/groups)      weights [oC, kH, kW, inC/groups]
 *   DEPTHWISE_CONV_2D  MACs = N·oH·oW·oC · kH·kW                   weights [1, kH, kW, oC], oC = inC·multiplier
 *   FULLY_CONNECTED    MACs = rows·units · depth                    weights [units, depth]
 *   TRANSPOSE_CONV     MACs = N·H·W·inC · kH·kW·oC                  every input pixel scatters a kH×kW×oC window
 *   (and MediaPipe's CUSTOM Convolution2DTransposeBias, the same with its input first)
 *
 * Other ops do no MACs; `elementOps` counts their arithmetic instead: one per output element for
 * element-wise ops and activations (ADD, MUL, RELU, LOGISTIC, QUANTIZE, RESIZE_*, …), the window
 * size per output element for pooling, one per input element for MEAN, none for ops that only
 * move data (RESHAPE, CONCATENATION, PAD, …). Ops the model does not know (custom ops other than
 * the one above, builtins QuantLab has no options for) have unknown MACs (null).
 *
 * Memory access cost = bytes read (parameters + activation inputs) + bytes written (outputs),
 * each tensor counted once per op at the dtype the op reads it in; caches and in-place ops are not
 * modelled. Arithmetic intensity = MACs / memory access bytes.
 *
 * Parameters are the elements of constant operands, except operands that only configure an op
 * (RESHAPE's shape, PAD's paddings, MEAN's axes, RESIZE_*'s size, TRANSPOSE_CONV's output shape).
 * Ops whose inputs are all constant (DEQUANTIZE of float16 weights) run once when the model is
 * loaded: they are listed with `foldedAtLoad` and cost nothing per inference, and the layer that
 * reads their output counts those values as its parameters (in the dtype it reads, e.g. float32).
 * The model's parameter count and bytes are over distinct stored constants (as in the file).
 */
import { dtypeSizeBytes, elementCount, isOpaqueOp, topologicalOpOrder } from '../ir/graph';
import type { Graph, Op } from '../ir/types';

export interface LayerCost {
  opIndex: number;
  /** The builtin name ('CONV_2D'), the custom code of a custom op, or an unknown builtin's name. */
  op: string;
  kind: 'builtin' | 'custom' | 'unknown-builtin';
  name: string;
  outputShapes: number[][];
  /** Evaluated once when the model loads (all inputs constant): no per-inference cost. */
  foldedAtLoad: boolean;
  /** Elements of the constant operands this op reads (shape-like operands excluded). */
  paramCount: number;
  /** Bytes of those operands in the dtype this op reads them. */
  paramBytes: number;
  /** Multiply-accumulates per inference; null when unknown (unknown op, unknown shapes). */
  macs: number | null;
  /** Non-MAC arithmetic per inference (see the file comment); null when unknown. */
  elementOps: number | null;
  /** Bytes of the non-constant inputs. */
  activationBytesRead: number | null;
  /** Parameter bytes + activation bytes read. */
  bytesRead: number | null;
  bytesWritten: number | null;
  /** bytesRead + bytesWritten. */
  memoryAccessBytes: number | null;
  /** MACs per byte of memory access; null when either is unknown or no byte moves. */
  arithmeticIntensity: number | null;
}

export interface ModelCost {
  layers: LayerCost[];
  /** Σ MACs over the layers whose MACs are known. */
  totalMacs: number;
  totalElementOps: number;
  totalMemoryAccessBytes: number;
  /** Ops whose MACs are unknown (indices into graph.ops): the totals leave them out. */
  unknownCostOps: number[];
  /** Elements of the distinct constant tensors that are parameters. */
  parameterCount: number;
  /** Their bytes as stored (float16 weights count 2 bytes each). */
  parameterBytes: number;
  /** Indices of those tensors. */
  parameterTensors: number[];
}

/** Input slots that configure an op (shapes, axes, sizes) rather than hold parameters. */
const CONFIG_OPERANDS: Readonly<Partial<Record<string, readonly number[]>>> = {
  RESHAPE: [1],
  PAD: [1],
  MEAN: [1],
  RESIZE_BILINEAR: [1],
  RESIZE_NEAREST_NEIGHBOR: [1],
  TRANSPOSE_CONV: [0],
};

export const MEDIAPIPE_TRANSPOSE_CONV_BIAS = 'Convolution2DTransposeBias';

const ONE_PER_OUTPUT = new Set([
  'ADD', 'SUB', 'MUL', 'RELU', 'RELU6', 'LEAKY_RELU', 'PRELU', 'HARD_SWISH', 'LOGISTIC', 'TANH', 'SOFTMAX',
  'QUANTIZE', 'DEQUANTIZE', 'RESIZE_BILINEAR', 'RESIZE_NEAREST_NEIGHBOR',
]);
const DATA_MOVEMENT = new Set(['RESHAPE', 'SQUEEZE', 'CONCATENATION', 'PAD', 'DEPTH_TO_SPACE', 'SPACE_TO_DEPTH']);

function opName(graph: Graph, op: Op, index: number): string {
  return op.name ?? graph.tensors[op.outputs[0]]?.name ?? `#${index}`;
}

function isConfigOperand(op: Op, slot: number): boolean {
  return !isOpaqueOp(op) && (CONFIG_OPERANDS[op.type]?.includes(slot) ?? false);
}

/** Product of a shape, or null when a dimension is unknown (or the shape is missing). */
function elems(shape: readonly number[] | undefined): number | null {
  if (!shape) return null;
  const n = elementCount(shape);
  return Number.isNaN(n) ? null : n;
}

const mul = (...xs: (number | null | undefined)[]): number | null => {
  let p = 1;
  for (const x of xs) {
    if (x === null || x === undefined || x < 0 || Number.isNaN(x)) return null;
    p *= x;
  }
  return p;
};

/** MACs of one op, 0 for ops that do none, null when unknown. */
export function opMacs(op: Op, shapes: readonly (readonly number[])[]): number | null {
  const s = (slot: number): readonly number[] | undefined => {
    const t = op.inputs[slot];
    return t === undefined || t < 0 ? undefined : shapes[t];
  };
  const out = shapes[op.outputs[0]];
  switch (op.type) {
    case 'CONV_2D': {
      const w = s(1);
      if (!w || w.length !== 4 || !out || out.length !== 4) return null;
      return mul(out[0], out[1], out[2], out[3], w[1], w[2], w[3]);
    }
    case 'DEPTHWISE_CONV_2D': {
      const w = s(1);
      if (!w || w.length !== 4 || !out || out.length !== 4) return null;
      return mul(out[0], out[1], out[2], out[3], w[1], w[2]);
    }
    case 'FULLY_CONNECTED': {
      const w = s(1);
      if (!w || w.length !== 2) return null;
      return mul(elems(out), w[1]);
    }
    case 'TRANSPOSE_CONV': {
      const x = s(2);
      const w = s(1);
      if (!x || x.length !== 4 || !w || w.length !== 4) return null;
      return mul(x[0], x[1], x[2], x[3], w[1], w[2], w[0]);
    }
    case 'CUSTOM': {
      if (op.code !== MEDIAPIPE_TRANSPOSE_CONV_BIAS) return null;
      const x = s(0);
      const w = s(1);
      if (!x || x.length !== 4 || !w || w.length !== 4) return null;
      return mul(x[0], x[1], x[2], x[3], w[1], w[2], w[0]);
    }
    case 'UNKNOWN_BUILTIN':
      return null;
    default:
      return 0;
  }
}

/** Non-MAC arithmetic of one op (see the file comment), null when unknown. */
export function opElementOps(op: Op, shapes: readonly (readonly number[])[]): number | null {
  const out = elems(shapes[op.outputs[0]]);
  if (isOpaqueOp(op)) return op.type === 'CUSTOM' && op.code === MEDIAPIPE_TRANSPOSE_CONV_BIAS ? 0 : null;
  if (ONE_PER_OUTPUT.has(op.type)) return out;
  if (DATA_MOVEMENT.has(op.type)) return 0;
  switch (op.type) {
    case 'MAX_POOL_2D':
    case 'AVERAGE_POOL_2D':
      return mul(out, op.options.filterHeight, op.options.filterWidth);
    case 'MEAN':
      return elems(shapes[op.inputs[0]]);
    default:
      return 0; // the MAC ops
  }
}

/**
 * For each tensor, whether its value is known before any input arrives: a constant, or the
 * output of an op whose inputs are all such (the ops a runtime folds when it loads the model).
 */
export function constantTensors(graph: Graph): boolean[] {
  const known = graph.tensors.map((t) => t.data !== undefined);
  const { order } = topologicalOpOrder(graph);
  for (const i of order) {
    const op = graph.ops[i];
    const present = op.inputs.filter((t) => t >= 0);
    if (present.length > 0 && present.every((t) => known[t])) for (const t of op.outputs) if (t >= 0) known[t] = true;
  }
  return known;
}

/**
 * The cost of every op (in graph order) and the model totals. `shapes` are the static shapes of
 * all tensors (e.g. from the runtime's plan or shape inference); the stored shapes by default.
 */
export function analyzeCost(graph: Graph, shapes: readonly (readonly number[])[] = graph.tensors.map((t) => t.shape)): ModelCost {
  const constant = constantTensors(graph);
  const folded = graph.ops.map((op) => {
    const present = op.inputs.filter((t) => t >= 0);
    return present.length > 0 && present.every((t) => constant[t]);
  });
  const bytesOf = (t: number): number | null => {
    const n = elems(shapes[t]);
    return n === null ? null : n * dtypeSizeBytes(graph.tensors[t].dtype);
  };
  const sum = (xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : (xs as number[]).reduce((a, b) => a + b, 0));

  // Which stored constants are parameters: walk back from every parameter operand of a runtime
  // op through the folded ops that compute it.
  const producer = new Array<number>(graph.tensors.length).fill(-1);
  graph.ops.forEach((op, i) => op.outputs.forEach((t) => t >= 0 && producer[t] < 0 && (producer[t] = i)));
  const isParameter = new Array<boolean>(graph.tensors.length).fill(false);
  const markBack = (t: number): void => {
    if (isParameter[t]) return;
    isParameter[t] = true;
    const p = producer[t];
    if (p >= 0 && folded[p]) for (const u of graph.ops[p].inputs) if (u >= 0) markBack(u);
  };

  const layers: LayerCost[] = graph.ops.map((op, i) => {
    const kind: LayerCost['kind'] = op.type === 'CUSTOM' ? 'custom' : op.type === 'UNKNOWN_BUILTIN' ? 'unknown-builtin' : 'builtin';
    const base = {
      opIndex: i,
      op: isOpaqueOp(op) ? op.code : op.type,
      kind,
      name: opName(graph, op, i),
      outputShapes: op.outputs.map((t) => [...(shapes[t] ?? [])]),
      foldedAtLoad: folded[i],
    };
    if (folded[i]) {
      return { ...base, paramCount: 0, paramBytes: 0, macs: 0, elementOps: 0, activationBytesRead: 0, bytesRead: 0, bytesWritten: 0, memoryAccessBytes: 0, arithmeticIntensity: null };
    }
    let paramCount = 0;
    let paramBytes = 0;
    const activationIn: (number | null)[] = [];
    op.inputs.forEach((t, slot) => {
      if (t < 0) return;
      if (!constant[t]) {
        activationIn.push(bytesOf(t));
        return;
      }
      if (isConfigOperand(op, slot)) return;
      markBack(t);
      paramCount += elems(shapes[t]) ?? 0;
      paramBytes += bytesOf(t) ?? 0;
    });
    const activationBytesRead = sum(activationIn);
    const bytesRead = activationBytesRead === null ? null : activationBytesRead + paramBytes;
    const bytesWritten = sum(op.outputs.filter((t) => t >= 0).map(bytesOf));
    const memoryAccessBytes = bytesRead === null || bytesWritten === null ? null : bytesRead + bytesWritten;
    const macs = opMacs(op, shapes);
    const arithmeticIntensity = macs === null || !memoryAccessBytes ? null : macs / memoryAccessBytes;
    return { ...base, paramCount, paramBytes, macs, elementOps: opElementOps(op, shapes), activationBytesRead, bytesRead, bytesWritten, memoryAccessBytes, arithmeticIntensity };
  });

  const parameterTensors: number[] = [];
  let parameterCount = 0;
  let parameterBytes = 0;
  graph.tensors.forEach((t, i) => {
    if (!isParameter[i] || !t.data) return;
    parameterTensors.push(i);
    parameterCount += t.data.length;
    parameterBytes += t.data.byteLength;
  });
  const live = layers.filter((l) => !l.foldedAtLoad);
  return {
    layers,
    totalMacs: live.reduce((a, l) => a + (l.macs ?? 0), 0),
    totalElementOps: live.reduce((a, l) => a + (l.elementOps ?? 0), 0),
    totalMemoryAccessBytes: live.reduce((a, l) => a + (l.memoryAccessBytes ?? 0), 0),
    unknownCostOps: live.filter((l) => l.macs === null).map((l) => l.opIndex),
    parameterCount,
    parameterBytes,
    parameterTensors,
  };
}
