/**
 * An IR graph as a trainable TensorFlow.js network with fake quantization wherever the integer
 * model will quantize.
 *
 * The graph is first put in the shape the integer model is built from (float16 weights expanded,
 * batch 1 where unknown, batch norms folded into the convolution before them, standalone
 * RELU/RELU6 fused), then planned with PTQ's `planOps` (every op must become an integer op).
 * Weights and biases of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED become variables, stored
 * with the output channel as the last axis ([kh, kw, I, O], [kh, kw, C·M], [I, O]: TF.js's own
 * layouts, no transposes per step) and fake-quantized per channel on every forward pass.
 *
 * Activations are fake-quantized where the integer model requantizes: the graph input and the
 * output of every op except those that keep their input's parameters (pools, reshapes, …,
 * CONCATENATION: their output is already on the grid). Tensors that must share parameters form
 * one group, exactly as ptq/build.ts groups them, and one range serves the whole group: a
 * moving average of the batch ranges after a calibration warm start ('ema'), a learned step size
 * and zero point ('lsq'), or the fixed parameters of SOFTMAX/LOGISTIC outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import type { FusedActivation, Graph, Op, Tensor } from '../ir/types';
import { foldBatchNorm, foldFloat16Dequantize, fuseActivations, setBatchSize, sortTopologically } from '../ir/transforms';
import { EmaObserver } from '../quant/observers';
import type { IntegerGrid, QuantRange, ScaleZeroPoint } from '../quant/params';
import { chooseParams, INT8_ACTIVATION } from '../quant/params';
import type { OpDecision } from '../quant/ptq/plan';
import { FIXED_OUTPUT, LINEAR_OPS, planOps, SAME_PARAMS_OPS } from '../quant/ptq/plan';
import { tensorsToObserve } from '../quant/ptq/build';
import { TensorGroups } from '../quant/ptq/groups';
import { opName } from '../runtime/interpreter';
import type { LearnedRange } from './fake-quant';
import { fakeQuant, fakeQuantLearned, fakeQuantWeights, learnedParams } from './fake-quant';

/** Op types QAT can train (everything the demo models and common mobile classifiers use). */
export const QAT_OPS: ReadonlySet<Op['type']> = new Set([
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'FULLY_CONNECTED',
  'MAX_POOL_2D',
  'AVERAGE_POOL_2D',
  'RESHAPE',
  'SQUEEZE',
  'ADD',
  'SUB',
  'MUL',
  'CONCATENATION',
  'MEAN',
  'RELU',
  'RELU6',
  'SOFTMAX',
  'LOGISTIC',
]);

export type RangeMode = 'ema' | 'lsq';

export interface QatNetworkOptions {
  /** Per-output-channel weight scales (default) or one per weight tensor. */
  perChannel: boolean;
  ranges: RangeMode;
  /** Moving-average decay of 'ema' ranges (0.999 default). */
  emaDecay: number;
}

interface Group {
  /** Observed tensors of the float graph in this group (all get the group's range at export). */
  members: number[];
  fixed?: ScaleZeroPoint;
  ema?: EmaObserver;
  learned?: LearnedRange;
  /** Parameters the forward pass uses now ('ema': from the moving average; fixed: fixed). */
  params: ScaleZeroPoint;
  /** Elements per sample at the group's fake-quant points (LSQ gradient scale). */
  perSample: number;
}

interface LinearParams {
  weight: tf.Variable;
  bias: tf.Variable | null;
  /** IR shape of the weights, to write them back. */
  irShape: number[];
}

export interface KeptState {
  tensors: tf.Tensor[];
  ema: (QuantRange | undefined)[];
}

export function disposeKept(k: KeptState): void {
  for (const t of k.tensors) t.dispose();
}

export interface ForwardResult {
  /** The graph's first output (fake-quantized as the integer model computes it). */
  output: tf.Tensor;
  /** What the loss reads: the input of a final SOFTMAX, else the output (logits). */
  logits: tf.Tensor;
  /** Batch [min, max] at each fake-quant point of an 'ema' group, in `emaPoints` order (when asked). */
  ranges: tf.Tensor | null;
}

const GRID: IntegerGrid = INT8_ACTIVATION;

function isFloatActivation(graph: Graph, t: number): boolean {
  const tensor = graph.tensors[t];
  return t >= 0 && tensor !== undefined && tensor.dtype === 'float32' && tensor.data === undefined;
}

function rangeOfData(data: Float32Array): QuantRange {
  let min = 0;
  let max = 0;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** The float graph the integer model is built from (as PTQ prepares it, without equalization). */
export function prepareQatGraph(graph: Graph): { graph: Graph; foldedBatchNorms: number } {
  let g = foldFloat16Dequantize(graph);
  if (g.inputs.some((t) => g.tensors[t].shape[0] === -1)) g = setBatchSize(g, 1);
  if (g.inputs.length !== 1) throw new UserError('unsupported', `Graph '${g.name}' has ${g.inputs.length} inputs; quantization-aware training takes single-input models.`);
  const input = g.tensors[g.inputs[0]];
  if (input.shape.some((d) => d < 0)) {
    throw new UserError('bad-model', `Input '${input.name}' of graph '${g.name}' has unknown dimensions [${input.shape.join(',')}]; fix them (quantlab convert --input-shape) before training.`);
  }
  if (input.dtype !== 'float32') throw new UserError('bad-model', `Graph '${g.name}' is already quantized (input '${input.name}' is ${input.dtype}); train its float source.`);
  const { graph: folded, folded: foldedBatchNorms } = foldBatchNorm(g);
  const { graph: fused } = fuseActivations(folded);
  return { graph: sortTopologically(fused), foldedBatchNorms };
}

function activate(x: tf.Tensor, f: FusedActivation, label: string): tf.Tensor {
  switch (f) {
    case 'NONE':
      return x;
    case 'RELU':
      return tf.relu(x);
    case 'RELU6':
      return tf.relu6(x);
    case 'RELU_N1_TO_1':
      return tf.clipByValue(x, -1, 1);
    default:
      throw new UserError('unsupported', `${label} has the fused activation ${f}, which quantization-aware training does not support.`);
  }
}

export class QatNetwork {
  readonly graph: Graph;
  readonly decisions: OpDecision[];
  readonly foldedBatchNorms: number;
  readonly options: QatNetworkOptions;
  /** Class count: the last dimension of the first output. */
  readonly classes: number;
  /** Per-sample input shape [H, W, C]. */
  readonly inputShape: number[];
  private readonly linear = new Map<number, LinearParams>();
  private readonly constants = new Map<number, tf.Tensor>();
  private readonly groups: Group[] = [];
  private readonly groupOf = new Map<number, Group>();
  /** Tensors fake-quantized right after they are produced (graph input included). */
  private readonly points: number[] = [];
  /** The 'ema' points, in the order `ForwardResult.ranges` lists them. */
  readonly emaPoints: number[] = [];
  private readonly logitsTensor: number;

  constructor(source: Graph, options: QatNetworkOptions) {
    this.options = options;
    const { graph, foldedBatchNorms } = prepareQatGraph(source);
    this.graph = graph;
    this.foldedBatchNorms = foldedBatchNorms;
    graph.ops.forEach((op, i) => {
      if (!QAT_OPS.has(op.type)) {
        const type = op.type === 'CUSTOM' ? `CUSTOM '${op.code}'` : op.type === 'UNKNOWN_BUILTIN' ? op.code : op.type;
        throw new UserError(
          'unsupported',
          `Op ${i} '${opName(graph, op, i)}' is a ${type}, which quantization-aware training does not support (it trains ${[...QAT_OPS].join(', ')}); quantize this model with post-training quantization instead.`,
        );
      }
    });
    graph.ops.forEach((op, i) => {
      if ((op.type === 'CONV_2D' || op.type === 'DEPTHWISE_CONV_2D') && (op.options.dilationHFactor !== 1 || op.options.dilationWFactor !== 1)) {
        throw new UserError(
          'unsupported',
          `Op ${i} '${opName(graph, op, i)}' is a ${op.type} with dilation ${op.options.dilationHFactor}×${op.options.dilationWFactor}; TensorFlow.js has no gradient for dilated convolutions, so quantization-aware training cannot train this model (quantize it with post-training quantization instead).`,
        );
      }
    });
    this.decisions = planOps(graph, 'int8', [], false);
    const input = graph.tensors[graph.inputs[0]];
    this.inputShape = input.shape.slice(1);
    const out = graph.tensors[graph.outputs[0]];
    this.classes = out.shape[out.shape.length - 1];
    const last = graph.ops.find((op) => op.outputs.includes(graph.outputs[0]));
    this.logitsTensor = last?.type === 'SOFTMAX' ? last.inputs[0] : graph.outputs[0];

    this.makeVariables();
    this.makeGroups();
  }

  private makeVariables(): void {
    const g = this.graph;
    g.ops.forEach((op) => {
      const role = LINEAR_OPS[op.type];
      if (role) {
        const wIndex = op.inputs[role.weight];
        if (this.linear.has(wIndex)) return;
        const w = g.tensors[wIndex];
        const data = w.data as Float32Array;
        const init = tf.tidy(() => {
          if (op.type === 'CONV_2D') return tf.transpose(tf.tensor(data, w.shape), [1, 2, 3, 0]);
          if (op.type === 'DEPTHWISE_CONV_2D') return tf.tensor(data, w.shape.slice(1));
          return tf.transpose(tf.tensor(data, w.shape), [1, 0]);
        });
        // A variable shares its initial value's data (and takes a reference): the value can go.
        const weight = tf.variable(init, true);
        init.dispose();
        const bIndex = role.bias < op.inputs.length ? op.inputs[role.bias] : -1;
        const b = bIndex >= 0 ? g.tensors[bIndex] : undefined;
        let bias: tf.Variable | null = null;
        if (b?.data instanceof Float32Array) {
          const value = tf.tensor1d(b.data);
          bias = tf.variable(value, true);
          value.dispose();
        }
        this.linear.set(wIndex, { weight, bias, irShape: [...w.shape] });
        return;
      }
      for (const t of op.inputs) {
        if (t < 0 || this.constants.has(t)) continue;
        const tensor = g.tensors[t];
        if (tensor.data === undefined) continue;
        if (tensor.dtype === 'float32') this.constants.set(t, tf.tensor(tensor.data as Float32Array, tensor.shape));
      }
    });
  }

  private makeGroups(): void {
    const g = this.graph;
    const observed = tensorsToObserve(g, this.decisions, 'float');
    const unions = new TensorGroups();
    const sameOutputs = new Set<number>();
    g.ops.forEach((op) => {
      if (!SAME_PARAMS_OPS.has(op.type)) return;
      sameOutputs.add(op.outputs[0]);
      const ins = op.type === 'CONCATENATION' ? op.inputs.filter((t) => isFloatActivation(g, t)) : [op.inputs[0]];
      for (const t of ins) unions.union(op.outputs[0], t);
    });
    const byRoot = new Map<number, Group>();
    for (const t of observed) {
      const root = unions.find(t);
      let group = byRoot.get(root);
      if (!group) {
        group = { members: [], params: { scale: 1, zeroPoint: 0 }, perSample: 1 };
        byRoot.set(root, group);
        this.groups.push(group);
      }
      group.members.push(t);
      this.groupOf.set(t, group);
    }
    g.ops.forEach((op) => {
      const f = FIXED_OUTPUT[op.type]?.int8;
      if (!f) return;
      const group = this.groupOf.get(op.outputs[0]);
      if (group) group.fixed = group.params = { scale: f[0], zeroPoint: f[1] };
    });
    for (const t of observed) {
      if (sameOutputs.has(t)) continue;
      this.points.push(t);
      const group = this.groupOf.get(t) as Group;
      group.perSample = Math.max(group.perSample, g.tensors[t].shape.slice(1).reduce((a, b) => a * b, 1));
      if (!group.fixed && this.options.ranges === 'ema') this.emaPoints.push(t);
    }
  }

  /** Tensors a calibration pass must observe for the warm start. */
  get observedTensors(): number[] {
    return [...this.groupOf.keys()].sort((a, b) => a - b);
  }

  /** Starts every free range from calibrated ranges (tensor → range; members of a group are united). */
  initRanges(calibrated: ReadonlyMap<number, QuantRange>): void {
    for (const group of this.groups) {
      if (group.fixed) continue;
      let min = 0;
      let max = 0;
      for (const t of group.members) {
        const r = calibrated.get(t);
        if (r) {
          min = Math.min(min, r.min);
          max = Math.max(max, r.max);
        }
      }
      const p = chooseParams({ min, max }, GRID);
      group.params = p;
      if (this.options.ranges === 'ema') {
        group.ema = new EmaObserver({ grid: GRID }, this.options.emaDecay);
        group.ema.observe(Float64Array.of(min, max), [2]);
      } else {
        group.learned?.logScale.dispose();
        group.learned?.zeroPoint.dispose();
        const [logScale, zeroPoint] = [tf.scalar(Math.log(p.scale)), tf.scalar(p.zeroPoint)];
        group.learned = { logScale: tf.variable(logScale, true), zeroPoint: tf.variable(zeroPoint, true) };
        logScale.dispose();
        zeroPoint.dispose();
      }
    }
  }

  /** One moving-average step per 'ema' group from this batch's [min, max] pairs (`ForwardResult.ranges`). */
  updateRanges(batchRanges: Float32Array): void {
    const batch = new Map<Group, [number, number]>();
    this.emaPoints.forEach((t, k) => {
      const group = this.groupOf.get(t) as Group;
      const have = batch.get(group);
      const lo = batchRanges[2 * k];
      const hi = batchRanges[2 * k + 1];
      batch.set(group, have ? [Math.min(have[0], lo), Math.max(have[1], hi)] : [lo, hi]);
    });
    for (const [group, [lo, hi]] of batch) {
      if (!group.ema) continue;
      group.ema.observe(Float64Array.of(lo, hi), [2]);
      const r = group.ema.range();
      group.params = chooseParams({ min: r.min[0], max: r.max[0] }, GRID);
    }
  }

  /** LSQ zero points stay on the grid's interval (they are clamped anyway; this stops drift). */
  clampLearned(): void {
    for (const group of this.groups) {
      if (!group.learned) continue;
      const z = group.learned.zeroPoint.dataSync()[0];
      if (z < GRID.qmin || z > GRID.qmax) tf.tidy(() => group.learned?.zeroPoint.assign(tf.scalar(Math.min(GRID.qmax, Math.max(GRID.qmin, z)))));
    }
  }

  private quantizeActivation(x: tf.Tensor, t: number): tf.Tensor {
    const group = this.groupOf.get(t);
    if (!group) return x;
    if (group.learned && !group.fixed) return fakeQuantLearned(x, group.learned, GRID, group.perSample);
    return fakeQuant(x, group.params, GRID);
  }

  private constant(t: number, quantize: boolean, op: Op): tf.Tensor {
    const c = this.constants.get(t);
    if (!c) throw new Error(`internal: constant ${t} is not loaded`);
    if (!quantize) return c;
    const group = this.groupOf.get(op.outputs[0]);
    if (op.type === 'CONCATENATION' && group) return fakeQuant(c, group.params, GRID);
    return fakeQuant(c, chooseParams(rangeOfData(this.graph.tensors[t].data as Float32Array), GRID), GRID);
  }

  /**
   * Runs the network on a batch [N, ...inputShape]. `quantize` false gives the float network
   * (same weights). `collectRanges` also returns the batch range at each 'ema' point.
   */
  forward(x: tf.Tensor, quantize = true, collectRanges = false): ForwardResult {
    const g = this.graph;
    const values = new Map<number, tf.Tensor>();
    const ranges: tf.Tensor[] = [];
    const isPoint = new Set(this.points);
    const emaIndex = new Map(this.emaPoints.map((t, k) => [t, k]));
    const produce = (t: number, v: tf.Tensor): void => {
      if (quantize && isPoint.has(t)) {
        if (collectRanges && emaIndex.has(t)) ranges[emaIndex.get(t) as number] = tf.stack([tf.min(v), tf.max(v)]);
        values.set(t, this.quantizeActivation(v, t));
      } else values.set(t, v);
    };
    produce(g.inputs[0], x);
    const valueOf = (t: number, op: Op): tf.Tensor => {
      const v = values.get(t);
      if (v) return v;
      if (this.constants.has(t)) return this.constant(t, quantize, op);
      throw new Error(`internal: tensor ${t} '${g.tensors[t].name}' has no value`);
    };
    g.ops.forEach((op, i) => {
      const label = `Op ${i} '${opName(g, op, i)}' (${op.type})`;
      produce(op.outputs[0], this.runOp(op, label, (t) => valueOf(t, op), quantize));
    });
    const output = values.get(g.outputs[0]) as tf.Tensor;
    const logits = values.get(this.logitsTensor) as tf.Tensor;
    return { output, logits, ranges: collectRanges && ranges.length > 0 ? tf.concat(ranges) : null };
  }

  private weightOf(op: Op, quantize: boolean): { w: tf.Tensor; b: tf.Tensor | null } {
    const role = LINEAR_OPS[op.type];
    const p = role && this.linear.get(op.inputs[role.weight]);
    if (!p) throw new Error(`internal: no weights for ${op.type}`);
    return { w: quantize ? fakeQuantWeights(p.weight, this.options.perChannel) : p.weight, b: p.bias };
  }

  private runOp(op: Op, label: string, v: (t: number) => tf.Tensor, quantize: boolean): tf.Tensor {
    const g = this.graph;
    switch (op.type) {
      case 'CONV_2D': {
        const o = op.options;
        const { w, b } = this.weightOf(op, quantize);
        let y = tf.conv2d(v(op.inputs[0]) as tf.Tensor4D, w as tf.Tensor4D, [o.strideH, o.strideW], o.padding === 'SAME' ? 'same' : 'valid', 'NHWC', [o.dilationHFactor, o.dilationWFactor]);
        if (b) y = tf.add(y, b);
        return activate(y, o.fusedActivationFunction, label);
      }
      case 'DEPTHWISE_CONV_2D': {
        const o = op.options;
        const x = v(op.inputs[0]) as tf.Tensor4D;
        const { w, b } = this.weightOf(op, quantize);
        const [kh, kw, cm] = w.shape;
        const c = x.shape[3];
        const filter = tf.reshape(w, [kh, kw, c, cm / c]) as tf.Tensor4D;
        let y = tf.depthwiseConv2d(x, filter, [o.strideH, o.strideW], o.padding === 'SAME' ? 'same' : 'valid', 'NHWC', [o.dilationHFactor, o.dilationWFactor]);
        if (b) y = tf.add(y, b);
        return activate(y, o.fusedActivationFunction, label);
      }
      case 'FULLY_CONNECTED': {
        const o = op.options;
        const x = v(op.inputs[0]);
        const { w, b } = this.weightOf(op, quantize);
        const inner = w.shape[0];
        let y = tf.matMul(tf.reshape(x, [-1, inner]) as tf.Tensor2D, w as tf.Tensor2D);
        if (b) y = tf.add(y, b);
        if (o.keepNumDims) y = tf.reshape(y, [...x.shape.slice(0, -1), w.shape[1] as number]);
        return activate(y, o.fusedActivationFunction, label);
      }
      case 'MAX_POOL_2D':
      case 'AVERAGE_POOL_2D': {
        const o = op.options;
        const x = v(op.inputs[0]) as tf.Tensor4D;
        const pad = o.padding === 'SAME' ? 'same' : 'valid';
        const y = op.type === 'MAX_POOL_2D'
          ? tf.maxPool(x, [o.filterHeight, o.filterWidth], [o.strideH, o.strideW], pad)
          : tf.avgPool(x, [o.filterHeight, o.filterWidth], [o.strideH, o.strideW], pad);
        return activate(y, o.fusedActivationFunction, label);
      }
      case 'RESHAPE':
      case 'SQUEEZE': {
        const inShape = g.tensors[op.inputs[0]].shape;
        const outShape = g.tensors[op.outputs[0]].shape;
        if (inShape[0] !== 1 || outShape[0] !== 1 || outShape.some((d) => d < 0)) {
          throw new UserError('unsupported', `${label} reshapes [${inShape.join(',')}] to [${outShape.join(',')}]; quantization-aware training needs reshapes that keep the batch as the first dimension.`);
        }
        return tf.reshape(v(op.inputs[0]), [-1, ...outShape.slice(1)]);
      }
      case 'ADD':
      case 'SUB':
      case 'MUL': {
        const a = v(op.inputs[0]);
        const b = v(op.inputs[1]);
        const y = op.type === 'ADD' ? tf.add(a, b) : op.type === 'SUB' ? tf.sub(a, b) : tf.mul(a, b);
        return activate(y, op.options.fusedActivationFunction, label);
      }
      case 'CONCATENATION': {
        const rank = g.tensors[op.outputs[0]].shape.length;
        const axis = op.options.axis < 0 ? op.options.axis + rank : op.options.axis;
        if (axis === 0) throw new UserError('unsupported', `${label} concatenates along the batch axis; quantization-aware training cannot batch it.`);
        return activate(tf.concat(op.inputs.map(v), axis), op.options.fusedActivationFunction, label);
      }
      case 'MEAN': {
        const axes = g.tensors[op.inputs[1]];
        const rank = g.tensors[op.inputs[0]].shape.length;
        const list = Array.from(axes.data as ArrayLike<number | bigint>, (a) => (Number(a) < 0 ? Number(a) + rank : Number(a)));
        if (list.includes(0)) throw new UserError('unsupported', `${label} averages over the batch axis; quantization-aware training cannot batch it.`);
        return tf.mean(v(op.inputs[0]), list, op.options.keepDims);
      }
      case 'RELU':
        return tf.relu(v(op.inputs[0]));
      case 'RELU6':
        return tf.relu6(v(op.inputs[0]));
      case 'SOFTMAX':
        return tf.softmax(op.options.beta === 1 ? v(op.inputs[0]) : tf.mul(v(op.inputs[0]), op.options.beta));
      case 'LOGISTIC':
        return tf.sigmoid(v(op.inputs[0]));
      default:
        throw new UserError('unsupported', `${label} is not supported by quantization-aware training.`);
    }
  }

  /** Every trainable variable (weights, biases, learned ranges). */
  get trainableVariables(): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const p of this.linear.values()) {
      out.push(p.weight);
      if (p.bias) out.push(p.bias);
    }
    for (const g of this.groups) if (g.learned) out.push(g.learned.logScale, g.learned.zeroPoint);
    return out;
  }

  /** Current parameters of every group, keyed by each member tensor. */
  currentParams(): Map<number, ScaleZeroPoint> {
    const out = new Map<number, ScaleZeroPoint>();
    for (const group of this.groups) {
      const p = group.learned && !group.fixed ? learnedParams(group.learned, GRID) : group.params;
      for (const t of group.members) out.set(t, p);
    }
    return out;
  }

  /**
   * The range each observed tensor is exported with: [S(qmin − Z), S(qmax − Z)] of its group's
   * current parameters, which `chooseParams` maps back to exactly S and Z. Fixed groups are left
   * out (the builder knows their parameters).
   */
  exportRanges(): Map<number, QuantRange> {
    const out = new Map<number, QuantRange>();
    const params = this.currentParams();
    for (const group of this.groups) {
      if (group.fixed) continue;
      for (const t of group.members) {
        const p = params.get(t) as ScaleZeroPoint;
        out.set(t, { min: p.scale * (GRID.qmin - p.zeroPoint), max: p.scale * (GRID.qmax - p.zeroPoint) });
      }
    }
    return out;
  }

  /** The float graph with the trained weights and biases in place (IR layouts). */
  trainedGraph(): Graph {
    const tensors: Tensor[] = this.graph.tensors.slice();
    for (const [wIndex, p] of this.linear) {
      const op = this.graph.ops.find((o) => {
        const role = LINEAR_OPS[o.type];
        return role !== undefined && o.inputs[role.weight] === wIndex;
      }) as Op;
      const data = tf.tidy(() => {
        if (op.type === 'CONV_2D') return tf.transpose(p.weight, [3, 0, 1, 2]);
        if (op.type === 'DEPTHWISE_CONV_2D') return tf.reshape(p.weight, p.irShape);
        return tf.transpose(p.weight, [1, 0]);
      });
      tensors[wIndex] = { ...tensors[wIndex], data: Float32Array.from(data.dataSync()) };
      data.dispose();
      if (p.bias) {
        const role = LINEAR_OPS[op.type];
        const bIndex = op.inputs[role?.bias ?? 2];
        tensors[bIndex] = { ...tensors[bIndex], data: Float32Array.from(p.bias.dataSync()) };
      }
    }
    return { ...this.graph, tensors };
  }

  /** A copy of the weights and ranges kept inside the backend (no read-back), to undo a step cheaply. */
  keep(): KeptState {
    return {
      tensors: this.trainableVariables.map((v) => tf.keep(tf.clone(v))),
      ema: this.groups.map((g) => (g.ema ? { min: g.ema.range().min[0], max: g.ema.range().max[0] } : undefined)),
    };
  }

  /** Puts back a kept state (and disposes it). */
  restoreKept(k: KeptState): void {
    this.trainableVariables.forEach((v, i) => v.assign(k.tensors[i]));
    this.groups.forEach((g, i) => {
      const r = k.ema[i];
      if (g.ema && r) {
        g.ema = new EmaObserver({ grid: GRID }, this.options.emaDecay);
        g.ema.observe(Float64Array.of(r.min, r.max), [2]);
        g.params = chooseParams(r, GRID);
      }
    });
    disposeKept(k);
  }

  /** Whether every weight and range is finite. */
  isFinite(): boolean {
    for (const v of this.trainableVariables) {
      const d = v.dataSync();
      for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
    }
    return this.groups.every((g) => Number.isFinite(g.params.scale));
  }

  dispose(): void {
    for (const p of this.linear.values()) {
      p.weight.dispose();
      p.bias?.dispose();
    }
    for (const c of this.constants.values()) c.dispose();
    for (const g of this.groups) {
      g.learned?.logScale.dispose();
      g.learned?.zeroPoint.dispose();
    }
  }
}
