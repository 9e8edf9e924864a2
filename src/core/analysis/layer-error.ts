/**
 * Per-layer quantization error: a float graph and its integer version, compared tensor by tensor
 * on the same inputs.
 *
 * Every integer activation of the quantized graph (an op output of dtype int8/int16 with
 * parameters) is matched by name with the float graph's activation (the integer graph keeps the
 * float names; boundary twins carry `_int8`/`_int16`). Two ways:
 *
 *  - propagated: the integer model runs end to end, as it will on the target; the dequantized
 *    tensor S·(q − Z) is compared with the float model's tensor. Error accumulates down the net.
 *  - isolated: each integer op runs alone (a one-op graph: the op, its constants, its output
 *    parameters), fed the FLOAT model's inputs to that op quantized with the integer inputs'
 *    parameters (round half away from zero, clamped). Its output is compared with the float op's
 *    output: the error this op adds by itself, separated from what it inherits.
 *
 * Metrics per tensor and mode (sums over every element of every sample, in float64):
 *   SQNR dB      10·log10(Σ ref² / Σ (ref − x)²)     (+Infinity when there is no error)
 *   MSE          Σ (ref − x)² / n
 *   RMSE/scale   √MSE / S: ≈ 1/√12 ≈ 0.29 for ideal rounding noise, more when clipping or
 *                inherited error dominates
 *   cosine       Σ ref·x / (√Σ ref² · √Σ x²)
 *   max |error|, mean error (x − ref: the bias; > 0 means the integer model reads high)
 *   clipped      fraction of float values outside [S·(qmin − Z), S·(qmax − Z)]
 * Outputs of CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED/TRANSPOSE_CONV also get SQNR and MSE per
 * output channel (last axis). Weights of those ops: the dequantized int8 weights against the float
 * weights, per tensor and per output channel (with each channel's scale). Histograms (64 bins
 * over the clipping range, see histogram.ts) of every weight and every float activation.
 *
 * The float reference must be the graph the integer one was derived from. PTQ folds batch norms
 * and (by default) equalizes conv→conv chains, which rescales the channels between them; with
 * `reference: 'auto'` the graph as given and its folded+equalized form are both tried on the
 * first sample and the one whose intermediates agree better with the integer model is used.
 */
import { UserError } from '../errors';
import type { Graph, Op, Tensor, TensorData } from '../ir/types';
import { setBatchSize } from '../ir/transforms';
import { prepareFloatGraph } from '../quant/ptq';
import { Interpreter, opName, opTypeLabel } from '../runtime/interpreter';
import type { RoundingMode } from '../runtime/kernel';
import { QUANT_RANGES, quantizeToCodes } from '../runtime/quantized-util';
import { analyzeCost } from './cost';
import type { HistogramData } from './histogram';
import { Histogram } from './histogram';

/** Where samples come from: a Dataset satisfies it. */
export interface SampleSource {
  count: number;
  sample(i: number, out: Float32Array): void;
  labels?: Int32Array | null;
}

export type ProgressFn = (stage: string, done: number, total: number | null) => void | Promise<void>;

export interface ErrorStats {
  sqnrDb: number;
  mse: number;
  /** √MSE / scale; null when the scale is unknown. */
  rmseOverScale: number | null;
  cosine: number;
  maxAbsError: number;
  /** Mean of (quantized − float). */
  meanError: number;
  elements: number;
}

export interface ChannelError {
  channel: number;
  sqnrDb: number;
  mse: number;
  maxAbsError: number;
}

/** One row of per-layer numbers, shaped like the store's layer-metrics rows. */
export interface LayerRow {
  layerIndex: number;
  layerName: string;
  opType: string;
  mode?: string;
  metric: string;
  channel?: number;
  value: number;
}

/** Accumulates the error of `x` against `ref` over any number of calls. */
export class ErrorAccumulator {
  private signal = 0;
  private noise = 0;
  private dot = 0;
  private norm = 0;
  private sumErr = 0;
  private maxAbs = 0;
  private n = 0;
  private channelSignal: Float64Array | null;
  private channelNoise: Float64Array | null;
  private channelMax: Float64Array | null;

  /** `channels` > 0 also accumulates per channel, the channel being the element index modulo `channels` (last axis). */
  constructor(readonly channels = 0) {
    this.channelSignal = channels > 0 ? new Float64Array(channels) : null;
    this.channelNoise = channels > 0 ? new Float64Array(channels) : null;
    this.channelMax = channels > 0 ? new Float64Array(channels) : null;
  }

  add(ref: ArrayLike<number>, x: ArrayLike<number>): void {
    if (ref.length !== x.length) throw new RangeError(`Error statistics need equal sizes; the reference has ${ref.length} values, the other ${x.length}.`);
    const C = this.channels;
    for (let k = 0; k < ref.length; k++) {
      const r = ref[k];
      const v = x[k];
      const e = v - r;
      this.signal += r * r;
      this.noise += e * e;
      this.dot += r * v;
      this.norm += v * v;
      this.sumErr += e;
      const a = Math.abs(e);
      if (a > this.maxAbs) this.maxAbs = a;
      if (C > 0) {
        const c = k % C;
        this.channelSignal![c] += r * r;
        this.channelNoise![c] += e * e;
        if (a > this.channelMax![c]) this.channelMax![c] = a;
      }
    }
    this.n += ref.length;
  }

  result(scale: number | null = null): ErrorStats {
    const mse = this.n === 0 ? 0 : this.noise / this.n;
    return {
      sqnrDb: sqnr(this.signal, this.noise),
      mse,
      rmseOverScale: scale && scale > 0 ? Math.sqrt(mse) / scale : null,
      cosine: cosine(this.dot, this.signal, this.norm),
      maxAbsError: this.maxAbs,
      meanError: this.n === 0 ? 0 : this.sumErr / this.n,
      elements: this.n,
    };
  }

  channelResults(): ChannelError[] {
    if (!this.channelSignal) return [];
    const per = this.n / this.channels;
    return Array.from(this.channelSignal, (s, c) => ({ channel: c, sqnrDb: sqnr(s, this.channelNoise![c]), mse: per > 0 ? this.channelNoise![c] / per : 0, maxAbsError: this.channelMax![c] }));
  }
}

function sqnr(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}

function cosine(dot: number, a2: number, b2: number): number {
  if (a2 === 0 && b2 === 0) return 1;
  if (a2 === 0 || b2 === 0) return 0;
  return Math.min(1, Math.max(-1, dot / Math.sqrt(a2 * b2)));
}

export interface TensorError {
  /** Op index in the quantized graph that produces the tensor. */
  opIndex: number;
  layerName: string;
  opType: string;
  tensor: string;
  dtype: string;
  shape: number[];
  scale: number;
  zeroPoint: number;
  /** Representable range of the grid, [S·(qmin − Z), S·(qmax − Z)]. */
  clipRange: [number, number];
  clippedFraction: number;
  propagated: ErrorStats;
  /** Null when the op cannot be fed from the float model (an input has no float twin). */
  isolated: ErrorStats | null;
  /** Per output channel, for linear ops. */
  channels?: { propagated: ChannelError[]; isolated: ChannelError[] | null };
  histogram: HistogramData;
}

export interface WeightError {
  opIndex: number;
  layerName: string;
  opType: string;
  tensor: string;
  perChannel: boolean;
  axis: number;
  stats: ErrorStats;
  channels: (ChannelError & { scale: number; rmseOverScale: number })[];
  histogram: HistogramData;
}

export interface LayerErrorReport {
  samples: number;
  rounding: RoundingMode;
  /** Which float graph the integer one was compared with. */
  reference: 'as-given' | 'equalized';
  tensors: TensorError[];
  weights: WeightError[];
  /** Integer activations with no float counterpart (named, for the user). */
  unmatched: string[];
  /** Store-shaped rows: every metric per layer, mode and channel, plus the cost model per op. */
  rows: LayerRow[];
  seconds: number;
}

export interface AnalyzeLayersOptions {
  rounding?: RoundingMode;
  reference?: 'auto' | 'as-given' | 'equalized';
  progress?: ProgressFn;
  histogramBins?: number;
}

const LINEAR: Readonly<Record<string, { weight: number; axis: number }>> = {
  CONV_2D: { weight: 1, axis: 0 },
  DEPTHWISE_CONV_2D: { weight: 1, axis: 3 },
  FULLY_CONNECTED: { weight: 1, axis: 0 },
  TRANSPOSE_CONV: { weight: 1, axis: 0 },
};


function isActivation(t: Tensor | undefined): boolean {
  return t !== undefined && t.data === undefined;
}

function isIntegerActivation(t: Tensor | undefined): boolean {
  return isActivation(t) && QUANT_RANGES[t!.dtype] !== undefined && !!t!.quant && t!.quant.scale.length === 1;
}

/** Float values → a tensor of `t`'s type (quantized with its per-tensor parameters when integer). */
export function toTensorData(t: Tensor, x: Float32Array): TensorData {
  if (t.dtype === 'float32') return x;
  const range = QUANT_RANGES[t.dtype];
  if (!range || !t.quant) throw new UserError('unsupported', `Tensor '${t.name}' is ${t.dtype}; QuantLab feeds float32, int8, uint8 or int16 inputs.`);
  return quantizeToCodes(x, t.dtype, t.quant.scale[0], t.quant.zeroPoint[0]);
}

/** S·(q − Z) into `out` (allocated when missing); float data is copied. */
export function dequantize(t: Tensor, q: TensorData, out: Float32Array<ArrayBufferLike> = new Float32Array(q.length)): Float32Array<ArrayBufferLike> {
  if (q instanceof Float32Array) {
    out.set(q);
    return out;
  }
  const s = t.quant?.scale[0] ?? 1;
  const z = t.quant?.zeroPoint[0] ?? 0;
  for (let i = 0; i < q.length; i++) out[i] = s * (Number(q[i]) - z);
  return out;
}

/** The name a float tensor has for an integer tensor named `name` (without an inserted twin's suffix). */
function floatNameCandidates(name: string): string[] {
  const m = /^(.*)_(int8|int16|uint8|float)$/.exec(name);
  return m ? [name, m[1]] : [name];
}

function fixBatch(graph: Graph): Graph {
  return graph.inputs.some((t) => graph.tensors[t].shape[0] === -1) ? setBatchSize(graph, 1) : graph;
}

/** What PTQ does to the float graph before quantizing it (float16 expanded, BN folded, activations fused, equalized). */
export function ptqFloatGraph(graph: Graph): Graph {
  return prepareFloatGraph(graph, { foldBatchNorm: true, equalize: true }).graph;
}

interface Matched {
  qOp: number;
  qTensor: number;
  fTensor: number;
  isolated: { graph: Interpreter; feeds: { fTensor: number; tensor: Tensor }[]; output: Tensor } | null;
  propagated: ErrorAccumulator;
  isolatedAcc: ErrorAccumulator | null;
  histogram: Histogram;
  linear: boolean;
}

function indexByName(graph: Graph): Map<string, number> {
  const m = new Map<string, number>();
  graph.tensors.forEach((t, i) => {
    if (isActivation(t) && !m.has(t.name)) m.set(t.name, i);
  });
  return m;
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A graph of op `opIndex` alone: its activation inputs become graph inputs, constants are kept. */
function oneOpGraph(graph: Graph, opIndex: number, shapeOf: (t: number) => number[]): { graph: Graph; inputs: number[] } {
  const op = graph.ops[opIndex];
  const tensors: Tensor[] = [];
  const map = new Map<number, number>();
  const inputs: number[] = [];
  const take = (t: number, isInput: boolean): number => {
    if (t < 0) return t;
    const have = map.get(t);
    if (have !== undefined) return have;
    const src = graph.tensors[t];
    tensors.push(src.data !== undefined ? src : { ...src, shape: shapeOf(t) });
    map.set(t, tensors.length - 1);
    if (isInput && src.data === undefined) inputs.push(t);
    return tensors.length - 1;
  };
  const opInputs = op.inputs.map((t) => take(t, true));
  const opOutputs = op.outputs.map((t) => take(t, false));
  const g: Graph = {
    name: `${graph.name}/op${opIndex}`,
    tensors,
    ops: [{ ...op, inputs: opInputs, outputs: opOutputs } as Op],
    inputs: inputs.map((t) => map.get(t)!),
    outputs: opOutputs.filter((t) => t >= 0),
  };
  return { graph: g, inputs };
}

function prepareFloat(graph: Graph): Interpreter {
  const g = fixBatch(graph);
  return Interpreter.prepare(g, { preserveIntermediates: true });
}

/**
 * Median propagated SQNR over the matched tensors on one sample: how well a float graph's
 * intermediates agree with the integer graph's (used to pick the float reference).
 */
function agreement(floatGraph: Graph, fi: Interpreter, qGraph: Graph, qi: Interpreter, x: Float32Array): number {
  fi.run([toTensorData(floatGraph.tensors[floatGraph.inputs[0]], x)]);
  const byName = indexByName(floatGraph);
  const scores: number[] = [];
  qGraph.tensors.forEach((t, i) => {
    if (!isIntegerActivation(t)) return;
    const f = floatNameCandidates(t.name).map((n) => byName.get(n)).find((k) => k !== undefined);
    if (f === undefined) return;
    let ref: TensorData;
    let q: TensorData;
    try {
      ref = fi.readTensor(f);
      q = qi.readTensor(i);
    } catch {
      return;
    }
    if (ref.length !== q.length || !(ref instanceof Float32Array)) return;
    const acc = new ErrorAccumulator();
    acc.add(ref, dequantize(t, q));
    scores.push(Math.min(200, acc.result().sqnrDb));
  });
  if (scores.length === 0) return -Infinity;
  scores.sort((a, b) => a - b);
  return scores[Math.floor(scores.length / 2)];
}

/**
 * Float vs integer, tensor by tensor, on the first `samples` samples of `data`, propagated and
 * isolated (see the file comment). `floatGraph` is the float model (its first subgraph) and
 * `quantGraph` the integer one derived from it.
 */
export async function analyzeLayers(floatGraph: Graph, quantGraph: Graph, data: SampleSource, samples: number, options: AnalyzeLayersOptions = {}): Promise<LayerErrorReport> {
  const started = performance.now();
  const rounding = options.rounding ?? 'xnnpack';
  const bins = options.histogramBins ?? 64;
  const n = Math.min(samples, data.count);
  if (n <= 0) throw new UserError('bad-input', 'Per-layer analysis needs at least one sample; the dataset is empty.');
  if (floatGraph.inputs.length !== 1 || quantGraph.inputs.length !== 1) {
    throw new UserError('unsupported', `Per-layer analysis feeds single-input models; the float model has ${floatGraph.inputs.length} inputs and the quantized one ${quantGraph.inputs.length}.`);
  }
  const fIn = floatGraph.tensors[floatGraph.inputs[0]];
  if (fIn.dtype !== 'float32') throw new UserError('bad-input', `The float model's input '${fIn.name}' is ${fIn.dtype}; give the float model first and the quantized one second.`);
  await options.progress?.('preparing analysis', 0, null);
  const qGraph = fixBatch(quantGraph);
  const qi = Interpreter.prepare(qGraph, { preserveIntermediates: true, rounding });
  const qIn = qGraph.tensors[qGraph.inputs[0]];
  const perSample = elements(qi.inputs[0].shape);
  const x = new Float32Array(perSample);

  // The float reference.
  let reference: LayerErrorReport['reference'] = options.reference === 'equalized' ? 'equalized' : 'as-given';
  let fGraph = fixBatch(reference === 'equalized' ? ptqFloatGraph(floatGraph) : floatGraph);
  let fi = prepareFloat(fGraph);
  if (elements(fi.inputs[0].shape) !== perSample) {
    throw new UserError('bad-input', `The float model takes ${elements(fi.inputs[0].shape)} values per sample and the quantized one ${perSample}; they are not the same network.`);
  }
  if ((options.reference ?? 'auto') === 'auto') {
    data.sample(0, x);
    qi.run([toTensorData(qIn, x)]);
    const eq = ptqFloatGraph(floatGraph);
    const eqi = prepareFloat(eq);
    const a = agreement(fGraph, fi, qGraph, qi, x);
    const b = agreement(eq, eqi, qGraph, qi, x);
    // Prefer the graph as given unless the equalized one agrees clearly better.
    if (b > a + 1) {
      reference = 'equalized';
      fGraph = eq;
      fi = eqi;
    }
  }

  // Match integer activations with float tensors; build the isolated one-op graphs.
  const byName = indexByName(fGraph);
  const floatOf = (qt: number): number | undefined => floatNameCandidates(qGraph.tensors[qt].name).map((nm) => byName.get(nm)).find((k) => k !== undefined);
  const matched: Matched[] = [];
  const unmatched: string[] = [];
  qGraph.ops.forEach((op, oi) => {
    for (const t of op.outputs) {
      const tensor = qGraph.tensors[t];
      if (t < 0 || !isIntegerActivation(tensor)) continue;
      const f = floatOf(t);
      if (f === undefined || elements(fi.tensorShape(f)) !== elements(qi.tensorShape(t))) {
        unmatched.push(tensor.name);
        continue;
      }
      const [qmin, qmax] = QUANT_RANGES[tensor.dtype]!;
      const s = tensor.quant!.scale[0];
      const z = tensor.quant!.zeroPoint[0];
      const shape = qi.tensorShape(t);
      const linear = op.type in LINEAR;
      let isolated: Matched['isolated'] = null;
      const one = oneOpGraph(qGraph, oi, (k) => qi.tensorShape(k));
      const feeds = one.inputs.map((k) => ({ fTensor: floatOf(k) ?? -1, tensor: qGraph.tensors[k] }));
      if (feeds.every((fd) => fd.fTensor >= 0 && ['float32', ...Object.keys(QUANT_RANGES)].includes(fd.tensor.dtype))) {
        try {
          isolated = { graph: Interpreter.prepare(one.graph, { rounding }), feeds, output: tensor };
        } catch {
          isolated = null;
        }
      }
      matched.push({
        qOp: oi,
        qTensor: t,
        fTensor: f,
        isolated,
        propagated: new ErrorAccumulator(linear ? shape[shape.length - 1] : 0),
        isolatedAcc: isolated ? new ErrorAccumulator(linear ? shape[shape.length - 1] : 0) : null,
        histogram: new Histogram(s * (qmin - z), s * (qmax - z), bins),
        linear,
      });
    }
  });

  // Run the samples.
  const deq = new Map<number, Float32Array<ArrayBufferLike>>();
  const buffer = (len: number): Float32Array<ArrayBufferLike> => {
    let b = deq.get(len);
    if (!b) deq.set(len, (b = new Float32Array(len)));
    return b;
  };
  for (let i = 0; i < n; i++) {
    data.sample(i, x);
    fi.run([x]);
    qi.run([toTensorData(qIn, x)]);
    for (const m of matched) {
      const ref = fi.readTensor(m.fTensor) as Float32Array;
      const qt = qGraph.tensors[m.qTensor];
      m.propagated.add(ref, dequantize(qt, qi.readTensor(m.qTensor), buffer(ref.length)));
      m.histogram.add(ref);
      if (m.isolated && m.isolatedAcc) {
        const inputs = m.isolated.feeds.map((fd) => toTensorData(fd.tensor, fi.readTensor(fd.fTensor) as Float32Array));
        const out = m.isolated.graph.run(inputs).outputs[0];
        m.isolatedAcc.add(ref, dequantize(m.isolated.output, out, buffer(ref.length)));
      }
    }
    if ((i & 15) === 15 || i === n - 1) await options.progress?.('comparing layers', i + 1, n);
  }

  const tensors: TensorError[] = matched.map((m) => {
    const t = qGraph.tensors[m.qTensor];
    const op = qGraph.ops[m.qOp];
    const s = t.quant!.scale[0];
    const h = m.histogram.toJSON();
    const row: TensorError = {
      opIndex: m.qOp,
      layerName: opName(qGraph, op, m.qOp),
      opType: opTypeLabel(op),
      tensor: t.name,
      dtype: t.dtype,
      shape: qi.tensorShape(m.qTensor),
      scale: s,
      zeroPoint: t.quant!.zeroPoint[0],
      clipRange: [h.lo, h.hi],
      clippedFraction: m.histogram.clippedFraction(),
      propagated: m.propagated.result(s),
      isolated: m.isolatedAcc ? m.isolatedAcc.result(s) : null,
      histogram: h,
    };
    if (m.linear) row.channels = { propagated: m.propagated.channelResults(), isolated: m.isolatedAcc ? m.isolatedAcc.channelResults() : null };
    return row;
  });

  const weights = weightErrors(fGraph, qGraph, floatOf, bins);
  const rows = reportRows(tensors, weights, qGraph, qi);
  return { samples: n, rounding, reference, tensors, weights, unmatched, rows, seconds: (performance.now() - started) / 1000 };
}

/** The int8 weights of every linear op against the float weights of the float op with the same output. */
function weightErrors(fGraph: Graph, qGraph: Graph, floatOf: (qt: number) => number | undefined, bins: number): WeightError[] {
  const producer = new Map<number, number>();
  fGraph.ops.forEach((op, i) => op.outputs.forEach((t) => producer.set(t, i)));
  const out: WeightError[] = [];
  qGraph.ops.forEach((op, oi) => {
    const role = LINEAR[op.type];
    if (!role) return;
    const qw = qGraph.tensors[op.inputs[role.weight]];
    if (!qw || qw.dtype !== 'int8' || !(qw.data instanceof Int8Array) || !qw.quant) return;
    const f = floatOf(op.outputs[0]);
    const fop = f === undefined ? undefined : producer.get(f);
    if (fop === undefined || fGraph.ops[fop].type !== op.type) return;
    const fw = fGraph.tensors[fGraph.ops[fop].inputs[role.weight]];
    if (!fw || !(fw.data instanceof Float32Array) || fw.data.length !== qw.data.length) return;
    const perChannel = qw.quant.scale.length > 1;
    const axis = qw.quant.axis ?? role.axis;
    const channels = qw.shape[role.axis];
    const inner = qw.shape.slice(role.axis + 1).reduce((a, b) => a * b, 1);
    const channelOf = (i: number): number => Math.floor(i / inner) % channels;
    const scaleOf = (c: number): number => qw.quant!.scale[perChannel ? c : 0];
    const zeroOf = (c: number): number => qw.quant!.zeroPoint[perChannel ? c : 0] ?? 0;
    const total = new ErrorAccumulator();
    const per = Array.from({ length: channels }, () => new ErrorAccumulator());
    const perRef = Array.from({ length: channels }, () => [] as number[]);
    const perDeq = Array.from({ length: channels }, () => [] as number[]);
    const deq = new Float32Array(qw.data.length);
    let scaledSq = 0;
    const scaledSqChannel = new Float64Array(channels);
    const countChannel = new Float64Array(channels);
    let maxScale = 0;
    for (let c = 0; c < channels; c++) maxScale = Math.max(maxScale, scaleOf(c));
    for (let i = 0; i < deq.length; i++) {
      const c = channelOf(i);
      deq[i] = scaleOf(c) * (qw.data[i] - zeroOf(c));
      perRef[c].push(fw.data[i]);
      perDeq[c].push(deq[i]);
      const e = (deq[i] - fw.data[i]) / scaleOf(c);
      scaledSq += e * e;
      scaledSqChannel[c] += e * e;
      countChannel[c]++;
    }
    total.add(fw.data, deq);
    per.forEach((acc, c) => acc.add(perRef[c], perDeq[c]));
    const h = new Histogram(-127 * maxScale, 127 * maxScale, bins);
    h.add(fw.data);
    const stats = total.result();
    stats.rmseOverScale = Math.sqrt(scaledSq / deq.length);
    out.push({
      opIndex: oi,
      layerName: opName(qGraph, op, oi),
      opType: opTypeLabel(op),
      tensor: qw.name,
      perChannel,
      axis,
      stats,
      channels: per.map((acc, c) => {
        const r = acc.result();
        return { channel: c, sqnrDb: r.sqnrDb, mse: r.mse, maxAbsError: r.maxAbsError, scale: scaleOf(c), rmseOverScale: Math.sqrt(scaledSqChannel[c] / Math.max(1, countChannel[c])) };
      }),
      histogram: h.toJSON(),
    });
  });
  return out;
}

function reportRows(tensors: TensorError[], weights: WeightError[], qGraph: Graph, qi: Interpreter): LayerRow[] {
  const rows: LayerRow[] = [];
  const push = (base: { opIndex: number; layerName: string; opType: string }, mode: string, metric: string, value: number | null, channel?: number) => {
    // The store keeps finite numbers; +Infinity SQNR (no error at all) is left out and shown as "exact".
    if (value === null || !Number.isFinite(value)) return;
    rows.push({ layerIndex: base.opIndex, layerName: base.layerName, opType: base.opType, mode, metric, ...(channel !== undefined ? { channel } : {}), value });
  };
  const stats = (base: TensorError, mode: string, s: ErrorStats) => {
    push(base, mode, 'sqnr-db', s.sqnrDb);
    push(base, mode, 'mse', s.mse);
    push(base, mode, 'rmse-over-scale', s.rmseOverScale);
    push(base, mode, 'cosine', s.cosine);
    push(base, mode, 'max-abs-error', s.maxAbsError);
    push(base, mode, 'mean-error', s.meanError);
    push(base, mode, 'clipped-fraction', base.clippedFraction);
  };
  for (const t of tensors) {
    stats(t, 'propagated', t.propagated);
    if (t.isolated) stats(t, 'isolated', t.isolated);
    for (const c of t.channels?.propagated ?? []) {
      push(t, 'propagated', 'sqnr-db', c.sqnrDb, c.channel);
      push(t, 'propagated', 'mse', c.mse, c.channel);
    }
    for (const c of t.channels?.isolated ?? []) {
      push(t, 'isolated', 'sqnr-db', c.sqnrDb, c.channel);
      push(t, 'isolated', 'mse', c.mse, c.channel);
    }
  }
  for (const w of weights) {
    push(w, 'weights', 'sqnr-db', w.stats.sqnrDb);
    push(w, 'weights', 'mse', w.stats.mse);
    push(w, 'weights', 'rmse-over-scale', w.stats.rmseOverScale);
    push(w, 'weights', 'cosine', w.stats.cosine);
    push(w, 'weights', 'max-abs-error', w.stats.maxAbsError);
    for (const c of w.channels) {
      push(w, 'weights', 'sqnr-db', c.sqnrDb, c.channel);
      push(w, 'weights', 'mse', c.mse, c.channel);
      push(w, 'weights', 'scale', c.scale, c.channel);
    }
  }
  const cost = analyzeCost(qGraph, qGraph.tensors.map((_, i) => {
    try {
      return qi.tensorShape(i);
    } catch {
      return qGraph.tensors[i].shape;
    }
  }));
  for (const l of cost.layers) {
    if (l.foldedAtLoad) continue;
    const base = { opIndex: l.opIndex, layerName: l.name, opType: l.op };
    push(base, 'cost', 'macs', l.macs);
    push(base, 'cost', 'param-bytes', l.paramBytes);
    push(base, 'cost', 'activation-bytes', l.activationBytesRead === null || l.bytesWritten === null ? null : l.activationBytesRead + l.bytesWritten);
    push(base, 'cost', 'memory-access-bytes', l.memoryAccessBytes);
    push(base, 'cost', 'arithmetic-intensity', l.arithmeticIntensity);
  }
  return rows;
}

/** Layers ordered by the error they add themselves (isolated SQNR, lowest first); ops with no isolated result last. */
export function rankByIsolatedError(report: LayerErrorReport): TensorError[] {
  const key = (t: TensorError) => (t.isolated ? t.isolated.sqnrDb : Infinity);
  return [...report.tensors].sort((a, b) => key(a) - key(b));
}
