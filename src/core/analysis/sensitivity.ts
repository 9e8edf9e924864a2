/**
 * Layer sensitivity: how much each layer's quantization costs the model, measured end to end.
 *
 * A `QuantStudy` quantizes one float model many times with the same PTQ options and calibration
 * data, changing only which layers stay float (`keepFloat`), and evaluates each variant on the
 * same evaluation data: top-1 accuracy (labelled data) and output SQNR against the float model
 * (always; the score for unlabelled data). Variants are cached by their set of float layers, and
 * `evaluations` counts the distinct variants evaluated (the float model included), so callers can
 * say what a study cost.
 *
 * Layers are the ops PTQ quantizes that compute something (linear ops, element-wise ops,
 * activations, SOFTMAX, …); ops that only move values (MAX_POOL_2D, RESHAPE, PAD, CONCATENATION,
 * …) add no error of their own and are not candidates. An op is named by its op name; ops whose
 * names collide (a Keras Dense and its SOFTMAX are both 'dense_2') are renamed `name#index`
 * before quantizing, so every layer can be picked alone.
 *
 * Sensitivity of layer L, two ways:
 *  - only L quantized (every other quantizable op kept float): the damage L does by itself;
 *  - only L float (everything else quantized): what keeping L float recovers.
 * The ranking orders layers by the damage of "only L quantized" (accuracy drop, or output SQNR
 * lowest first when unlabelled), ties broken by the recovery of "only L float".
 */
import { UserError } from '../errors';
import { writeTflite } from '../formats/tflite/writer';
import type { Graph, Model, Op } from '../ir/types';
import type { PtqOptions } from '../quant/ptq';
import { defaultPtqOptions, quantizeModel } from '../quant/ptq';
import { Interpreter, opName, opTypeLabel } from '../runtime/interpreter';
import type { RoundingMode } from '../runtime/kernel';
import { analyzeCost } from './cost';
import type { LayerRow, ProgressFn, SampleSource } from './layer-error';
import { toTensorData } from './layer-error';

/** Ops whose integer form only moves values (same parameters in and out): they add no error. */
const VALUE_MOVING = new Set<string>(['MAX_POOL_2D', 'RESHAPE', 'SQUEEZE', 'PAD', 'DEPTH_TO_SPACE', 'SPACE_TO_DEPTH', 'CONCATENATION', 'RESIZE_NEAREST_NEIGHBOR']);

export interface StudyLayer {
  /** Op index in the (prepared) float graph PTQ quantizes. */
  opIndex: number;
  /** The name `keepFloat` picks this op by (unique). */
  name: string;
  opType: string;
  macs: number;
  paramCount: number;
}

export interface Evaluation {
  /** Layers kept float (names), sorted. */
  keepFloat: string[];
  /** Top-1 accuracy in percent; null without labels. */
  accuracyPct: number | null;
  /** Output SQNR against the float model, dB (pooled over samples; +Infinity for the float model). */
  outputSqnrDb: number;
  /** accuracyPct when labelled, else outputSqnrDb: higher is better. */
  score: number;
  /** Bytes of the .tflite this variant writes. */
  sizeBytes: number;
  /** Desktop latency estimated from MACs (see QuantStudy.estimateLatencyMs). */
  estLatencyMs: number;
  /** Measured wall time per sample of this variant on the desktop runtime (noisy on a busy machine). */
  measuredMsPerSample: number;
  /** 1-based order in which this variant was evaluated. */
  evaluation: number;
}

export interface StudyOptions {
  /** PTQ options every variant shares (keepFloat is managed by the study). */
  ptq?: Partial<PtqOptions>;
  rounding?: RoundingMode;
  /** Evaluation samples used (default: all of `data`). */
  samples?: number;
  progress?: ProgressFn;
}

interface CachedVariant {
  evaluation: Evaluation;
  model: Model | null;
}

/** Gives every op a name that picks it alone in keepFloat (PTQ matches op name, output tensor name or op type). */
export function uniqueOpNames(model: Model): Model {
  const g = model.subgraphs[0];
  const ops = g.ops.map((op) => ({ ...op }) as Op);
  const graph: Graph = { ...g, ops };
  const picks = (name: string, j: number): boolean => {
    const op = ops[j];
    return name === opName(graph, op, j) || name === g.tensors[op.outputs[0]]?.name || name === op.type || (op.type === 'CUSTOM' && name === op.code);
  };
  ops.forEach((op, i) => {
    let name = opName(graph, op, i);
    if (ops.some((_, j) => j !== i && picks(name, j))) {
      name = `${name}#${i}`;
      op.name = name;
    } else if (op.name === undefined) op.name = name;
  });
  return { ...model, subgraphs: [graph, ...model.subgraphs.slice(1)] };
}

function variantKey(keepFloat: readonly string[]): string {
  return JSON.stringify([...keepFloat].sort());
}

function argmax(a: ArrayLike<number | bigint>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (Number(a[i]) > Number(a[best])) best = i;
  return best;
}

export class QuantStudy {
  /** Candidate layers, in graph order. */
  readonly layers: StudyLayer[] = [];
  /** Every quantizable op name (candidates and value-moving ops). */
  private quantizable: string[] = [];
  private readonly cache = new Map<string, CachedVariant>();
  private floatOutputs: Float32Array[] = [];
  private floatMsPerSample = 0;
  private int8MsPerMac = 0;
  private floatMsPerMac = 0;
  private macsOf = new Map<string, number>();
  private totalMacs = 0;
  float!: Evaluation;
  quantized!: Evaluation;
  readonly labelled: boolean;
  private readonly n: number;
  private readonly ptq: PtqOptions;
  private readonly rounding: RoundingMode;

  private constructor(
    private readonly model: Model,
    private readonly calib: SampleSource & { name?: string },
    private readonly data: SampleSource,
    options: StudyOptions,
  ) {
    this.n = Math.min(options.samples ?? data.count, data.count);
    if (this.n <= 0) throw new UserError('bad-input', 'The evaluation dataset is empty.');
    this.labelled = !!data.labels;
    this.ptq = defaultPtqOptions({ ...options.ptq, keepFloat: [] });
    if (this.ptq.recipe !== 'int8' && this.ptq.recipe !== 'int16x8') throw new UserError('bad-input', `Sensitivity and search compare integer recipes (int8, int16x8); '${this.ptq.recipe}' has no per-layer integer ops.`);
    this.rounding = options.rounding ?? 'xnnpack';
    this.progress = options.progress;
  }

  private readonly progress?: ProgressFn;

  /** Evaluation samples per variant. */
  get sampleCount(): number {
    return this.n;
  }

  /** Distinct variants evaluated so far (the float model counts as one). */
  get evaluations(): number {
    return this.cache.size;
  }

  /**
   * Quantizes `model` fully once (which also says which ops are quantizable) and evaluates the
   * float model and the fully quantized one: two evaluations.
   */
  static async create(model: Model, calib: SampleSource & { name?: string }, data: SampleSource, options: StudyOptions = {}): Promise<QuantStudy> {
    const study = new QuantStudy(uniqueOpNames(model), calib, data, options);
    await study.init();
    return study;
  }

  private async init(): Promise<void> {
    const full = await this.quantize([]);
    const fg = full.floatGraph;
    const floatOps = new Set(full.report.floatOps.map((f) => f.index));
    const cost = analyzeCost(fg);
    fg.ops.forEach((op, i) => {
      const producesActivation = op.outputs.some((t) => fg.tensors[t]?.data === undefined && fg.tensors[t]?.dtype === 'float32');
      if (floatOps.has(i) || !producesActivation) return;
      const name = opName(fg, op, i);
      this.quantizable.push(name);
      this.macsOf.set(name, cost.layers[i].macs ?? 0);
      if (VALUE_MOVING.has(op.type)) return;
      this.layers.push({ opIndex: i, name, opType: opTypeLabel(op), macs: cost.layers[i].macs ?? 0, paramCount: cost.layers[i].paramCount });
    });
    this.totalMacs = Math.max(1, cost.totalMacs);
    if (this.layers.length === 0) throw new UserError('unsupported', 'The model has no op PTQ can quantize; there is nothing to study.');
    // Float baseline: reference outputs, accuracy and timing.
    await this.progress?.('evaluating float model', 0, this.n);
    const fi = Interpreter.prepare(fg, { rounding: this.rounding });
    const input = fg.tensors[fg.inputs[0]];
    const x = new Float32Array(fi.inputs[0].shape.reduce((a, b) => a * b, 1));
    let correct = 0;
    let ms = 0;
    for (let i = 0; i < this.n; i++) {
      this.data.sample(i, x);
      const t0 = performance.now();
      const out = fi.run([toTensorData(input, x)]).outputs[0] as Float32Array;
      ms += performance.now() - t0;
      this.floatOutputs.push(out);
      if (this.data.labels && argmax(out) === this.data.labels[i]) correct++;
      if ((i & 63) === 63) await this.progress?.('evaluating float model', i + 1, this.n);
    }
    this.floatMsPerSample = ms / this.n;
    this.floatMsPerMac = this.floatMsPerSample / this.totalMacs;
    const accuracyPct = this.labelled ? (100 * correct) / this.n : null;
    this.float = {
      keepFloat: [...this.quantizable].sort(),
      accuracyPct,
      outputSqnrDb: Infinity,
      score: accuracyPct ?? Infinity,
      sizeBytes: writeTflite({ ...this.model, subgraphs: [fg], signatures: undefined }).length,
      estLatencyMs: this.floatMsPerSample,
      measuredMsPerSample: this.floatMsPerSample,
      evaluation: 1,
    };
    this.cache.set(variantKey(this.float.keepFloat), { evaluation: this.float, model: null });
    this.quantized = await this.evaluateModel([], full.model);
    // Per-MAC times of both precisions, for the latency estimate of mixed variants.
    this.int8MsPerMac = this.quantized.measuredMsPerSample / this.totalMacs;
    this.quantized.estLatencyMs = this.quantized.measuredMsPerSample;
  }

  private async quantize(keepFloat: readonly string[]) {
    const calib = { count: this.calib.count, name: this.calib.name ?? 'calibration data', sample: (i: number, out: Float32Array) => this.calib.sample(i, out) };
    return quantizeModel(this.model, calib, { ...this.ptq, keepFloat: [...keepFloat] }, undefined, this.rounding);
  }

  /**
   * Desktop latency of a variant estimated from MACs: Σ MACs of integer layers × (measured int8
   * ms per MAC of the full integer model) + Σ MACs of float layers × (float ms per MAC of the
   * float model). Boundary QUANTIZE/DEQUANTIZE steps are not modelled.
   */
  estimateLatencyMs(keepFloat: readonly string[]): number {
    const float = new Set(keepFloat);
    let ms = 0;
    for (const name of this.quantizable) {
      const macs = this.macsOf.get(name) ?? 0;
      ms += macs * (float.has(name) ? this.floatMsPerMac : this.int8MsPerMac);
    }
    return ms;
  }

  /** Every quantizable op except `layer`: keepFloat for "only this layer quantized". */
  allExcept(layers: readonly string[]): string[] {
    const keep = new Set(layers);
    return this.quantizable.filter((n) => !keep.has(n));
  }

  /** Quantizes with these layers float and evaluates (cached). */
  async evaluate(keepFloat: readonly string[]): Promise<Evaluation> {
    return (await this.variant(keepFloat)).evaluation;
  }

  /** The quantized model of a variant (re-quantized when the cache dropped it). */
  async modelOf(keepFloat: readonly string[]): Promise<Model> {
    const v = this.cache.get(variantKey(keepFloat));
    if (v?.model) return v.model;
    return (await this.quantize(keepFloat)).model;
  }

  private async variant(keepFloat: readonly string[]): Promise<CachedVariant> {
    const have = this.cache.get(variantKey(keepFloat));
    if (have) return have;
    const { model } = await this.quantize(keepFloat);
    await this.evaluateModel(keepFloat, model);
    return this.cache.get(variantKey(keepFloat))!;
  }

  private async evaluateModel(keepFloat: readonly string[], model: Model): Promise<Evaluation> {
    const g = model.subgraphs[0];
    const interp = Interpreter.prepare(g, { rounding: this.rounding });
    const input = g.tensors[g.inputs[0]];
    const x = new Float32Array(interp.inputs[0].shape.reduce((a, b) => a * b, 1));
    let correct = 0;
    let ms = 0;
    let signal = 0;
    let noise = 0;
    const label = `evaluating ${keepFloat.length === 0 ? 'integer model' : `with ${keepFloat.length} op${keepFloat.length === 1 ? '' : 's'} float`} (#${this.cache.size + 1})`;
    const outTensor = g.tensors[g.outputs[0]];
    for (let i = 0; i < this.n; i++) {
      this.data.sample(i, x);
      const feed = toTensorData(input, x);
      const t0 = performance.now();
      const raw = interp.run([feed]).outputs[0];
      ms += performance.now() - t0;
      const ref = this.floatOutputs[i];
      const s = outTensor.quant?.scale[0] ?? 1;
      const z = outTensor.quant?.zeroPoint[0] ?? 0;
      for (let k = 0; k < ref.length; k++) {
        const v = raw instanceof Float32Array ? raw[k] : s * (Number(raw[k]) - z);
        signal += ref[k] * ref[k];
        noise += (v - ref[k]) * (v - ref[k]);
      }
      if (this.data.labels && argmax(raw) === this.data.labels[i]) correct++;
      if ((i & 63) === 63 || i === this.n - 1) await this.progress?.(label, i + 1, this.n);
    }
    const accuracyPct = this.labelled ? (100 * correct) / this.n : null;
    const outputSqnrDb = noise === 0 ? Infinity : signal === 0 ? -Infinity : 10 * Math.log10(signal / noise);
    const evaluation: Evaluation = {
      keepFloat: [...keepFloat].sort(),
      accuracyPct,
      outputSqnrDb,
      score: accuracyPct ?? outputSqnrDb,
      sizeBytes: writeTflite(model).length,
      estLatencyMs: this.int8MsPerMac > 0 ? this.estimateLatencyMs(keepFloat) : ms / this.n,
      measuredMsPerSample: ms / this.n,
      evaluation: this.cache.size + 1,
    };
    this.cache.set(variantKey(keepFloat), { evaluation, model });
    return evaluation;
  }

  /** Forgets the models kept for variants (their evaluations stay). */
  dropModels(except: readonly string[][] = []): void {
    const keep = new Set(except.map(variantKey));
    for (const [k, v] of this.cache) if (!keep.has(k)) v.model = null;
  }
}

export interface LayerSensitivity {
  layer: StudyLayer;
  onlyQuantized: Evaluation;
  onlyFloat: Evaluation;
  /** Score lost when only this layer is quantized (float score − score; accuracy points or output SQNR headroom). */
  damage: number;
  /** Score recovered, against the full integer model, when only this layer is float. */
  recovery: number;
  rank: number;
}

export interface SensitivityReport {
  metric: 'accuracy' | 'output-sqnr';
  samples: number;
  float: Evaluation;
  quantized: Evaluation;
  layers: LayerSensitivity[];
  /** Layer names, most sensitive first. */
  ranking: string[];
  evaluations: number;
  rows: LayerRow[];
}

/**
 * Both sensitivities of every layer (2 × layers evaluations, plus the two of the study) and the
 * ranking. For unlabelled data the damage is measured as how far below the best single-layer
 * output SQNR a layer's is (so larger is worse either way).
 */
export async function analyzeSensitivity(study: QuantStudy): Promise<SensitivityReport> {
  const results: Omit<LayerSensitivity, 'damage' | 'recovery' | 'rank'>[] = [];
  for (const layer of study.layers) {
    const onlyQuantized = await study.evaluate(study.allExcept([layer.name]));
    const onlyFloat = await study.evaluate([layer.name]);
    results.push({ layer, onlyQuantized, onlyFloat });
  }
  const labelled = study.labelled;
  const top = Math.max(...results.map((r) => (Number.isFinite(r.onlyQuantized.outputSqnrDb) ? r.onlyQuantized.outputSqnrDb : -Infinity)), 0);
  const layers: LayerSensitivity[] = results.map((r) => ({
    ...r,
    damage: labelled ? (study.float.accuracyPct as number) - (r.onlyQuantized.accuracyPct as number) : top - Math.min(top, r.onlyQuantized.outputSqnrDb),
    recovery: labelled ? (r.onlyFloat.accuracyPct as number) - (study.quantized.accuracyPct as number) : r.onlyFloat.outputSqnrDb - study.quantized.outputSqnrDb,
    rank: 0,
  }));
  // Accuracy moves in steps of 100/n; output SQNR breaks ties between equal accuracy drops.
  const order = [...layers].sort((a, b) => b.damage - a.damage || a.onlyQuantized.outputSqnrDb - b.onlyQuantized.outputSqnrDb || b.recovery - a.recovery);
  order.forEach((l, k) => (l.rank = k + 1));
  const rows: LayerRow[] = [];
  for (const l of layers) {
    const base = { layerIndex: l.layer.opIndex, layerName: l.layer.name, opType: l.layer.opType };
    const push = (mode: string, metric: string, value: number | null) => {
      if (value !== null && Number.isFinite(value)) rows.push({ ...base, mode, metric, value });
    };
    push('only-quantized', 'accuracy', l.onlyQuantized.accuracyPct);
    push('only-quantized', 'output-sqnr-db', l.onlyQuantized.outputSqnrDb);
    push('only-float', 'accuracy', l.onlyFloat.accuracyPct);
    push('only-float', 'output-sqnr-db', l.onlyFloat.outputSqnrDb);
    push('sensitivity', 'damage', l.damage);
    push('sensitivity', 'recovery', l.recovery);
    push('sensitivity', 'rank', l.rank);
    push('cost', 'macs', l.layer.macs);
    push('cost', 'params', l.layer.paramCount);
  }
  return {
    metric: labelled ? 'accuracy' : 'output-sqnr',
    samples: study.sampleCount,
    float: study.float,
    quantized: study.quantized,
    layers,
    ranking: order.map((l) => l.layer.name),
    evaluations: study.evaluations,
    rows,
  };
}
