/**
 * Post-training quantization: float model + calibration samples → integer model.
 *
 * Steps (each reported): float16 weights expanded; batch fixed to 1 where it is unknown; batch
 * norms folded; cross-layer equalization (optional); per-op plan (which ops become integer);
 * calibration of every activation the integer ops touch; the integer graph (weights, biases,
 * shared and fixed parameters, QUANTIZE/DEQUANTIZE at float boundaries); bias correction; a final
 * check that QuantLab's runtime accepts the result (quantization lint + kernel selection).
 */
import { UserError } from '../../errors';
import { numberToFloat16Bits } from '../../ir/float16';
import type { Graph, Model, Op, Tensor } from '../../ir/types';
import { foldBatchNorm, foldFloat16Dequantize, fuseActivations, removeUnusedTensors, setBatchSize } from '../../ir/transforms';
import { Interpreter } from '../../runtime/interpreter';
import type { RoundingMode } from '../../runtime/kernel';
import { formatCalibration } from '../observers';
import { equalizeCrossLayer } from '../equalize';
import { INT16_ACTIVATION, INT8_ACTIVATION, INT8_WEIGHT } from '../params';
import { correctBiasesAnalytic, correctBiasesEmpirical } from './bias-correction';
import { buildQuantizedGraph, quantizeWeights, tensorsToObserve } from './build';
import type { CalibrationData, ProgressFn } from './calibrate';
import { calibrate } from './calibrate';
import type { PtqOptions } from './options';
import { LINEAR_OPS, planOps } from './plan';

export type { CalibrationData, ProgressFn } from './calibrate';
export { defaultPtqOptions, parseRecipe, RECIPES } from './options';
export type { PtqOptions, Recipe } from './options';

export interface PtqReport {
  recipe: string;
  calibration: string;
  samples: number;
  perChannel: boolean;
  io: 'float' | 'int8';
  foldedBatchNorms: number;
  equalizedPairs: [string, string][];
  quantizedOps: number;
  floatOps: { index: number; name: string; type: string; reason: string }[];
  biasCorrection: string;
  biasCorrectedLayers: number;
  /** Chosen parameters of every integer activation. */
  tensors: { name: string; scale: number; zeroPoint: number; min?: number; max?: number }[];
  seconds: number;
  /** Wall time of each stage, seconds (calibration throughput = samples / calibrate). */
  stageSeconds: { prepare: number; calibrate: number; build: number; biasCorrection: number };
}

export interface PtqResult {
  model: Model;
  report: PtqReport;
  /** The float graph the integer one was derived from (after folding/equalization), for analysis. */
  floatGraph: Graph;
}

/**
 * The float graph PTQ quantizes (float16 weights expanded, batch fixed to 1, batch norms folded,
 * activations fused, cross-layer equalized as the options say): what an integer model's
 * activations are to be compared with.
 */
export function prepareFloatGraph(graph: Graph, options: Pick<PtqOptions, 'foldBatchNorm' | 'equalize'>): { graph: Graph; folded: number; pairs: [string, string][] } {
  let g = foldFloat16Dequantize(graph);
  if (g.inputs.some((t) => g.tensors[t].shape[0] === -1)) g = setBatchSize(g, 1);
  for (const t of g.inputs) {
    const tensor = g.tensors[t];
    if (tensor.shape.some((d) => d < 0)) {
      throw new UserError('bad-model', `Input '${tensor.name}' of graph '${g.name}' has unknown dimensions [${tensor.shape.join(',')}]; fix them (quantlab convert --input-shape) before quantizing.`);
    }
  }
  const nonFloat = g.tensors.find((t) => t.data === undefined && t.dtype !== 'float32' && t.quant);
  if (nonFloat) throw new UserError('bad-model', `Graph '${g.name}' is already quantized (tensor '${nonFloat.name}' is ${nonFloat.dtype}); quantize its float source.`);
  let folded = 0;
  if (options.foldBatchNorm) ({ graph: g, folded } = foldBatchNorm(g));
  // Standalone RELU/RELU6 into the op before (exact; narrows that op's integer output range).
  ({ graph: g } = fuseActivations(g));
  let pairs: [string, string][] = [];
  if (options.equalize) ({ graph: g, pairs } = equalizeCrossLayer(g));
  return { graph: g, folded, pairs };
}

/** Weights-only recipes: float16 or int8 weights, each followed by a DEQUANTIZE, float activations. */
function weightOnly(graph: Graph, kind: 'fp16' | 'dynamic', perChannel: boolean): Graph {
  const tensors = graph.tensors.slice();
  const ops: Op[] = [];
  const replaced = new Map<number, number>();
  const convert = (t: number, axis: number): number => {
    const have = replaced.get(t);
    if (have !== undefined) return have;
    const src = tensors[t];
    let packed: Tensor;
    if (kind === 'fp16') {
      const d = src.data as Float32Array;
      const bits = new Uint16Array(d.length);
      for (let i = 0; i < d.length; i++) bits[i] = numberToFloat16Bits(d[i]);
      packed = { name: `${src.name}_fp16`, dtype: 'float16', shape: [...src.shape], data: bits };
    } else {
      const { data, quant } = quantizeWeights(src, axis, perChannel, INT8_WEIGHT);
      packed = { name: `${src.name}_int8`, dtype: 'int8', shape: [...src.shape], data, quant };
    }
    tensors.push(packed);
    const packedIndex = tensors.length - 1;
    tensors.push({ name: `${src.name}_dequantized`, dtype: 'float32', shape: [...src.shape] });
    const out = tensors.length - 1;
    ops.push({ type: 'DEQUANTIZE', inputs: [packedIndex], outputs: [out], options: {} });
    replaced.set(t, out);
    return out;
  };
  for (const op of graph.ops) {
    const role = LINEAR_OPS[op.type];
    const inputs = [...op.inputs];
    if (role) {
      const w = graph.tensors[op.inputs[role.weight]];
      if (w?.dtype === 'float32' && w.data instanceof Float32Array && w.data.length >= 16) inputs[role.weight] = convert(op.inputs[role.weight], role.axis);
      // fp16 also stores biases in half precision, as TFLite's float16 recipe does.
      const b = op.inputs[role.bias] ?? -1;
      if (kind === 'fp16' && b >= 0 && graph.tensors[b].data instanceof Float32Array) inputs[role.bias] = convert(b, 0);
    }
    ops.push({ ...op, inputs } as Op);
  }
  return removeUnusedTensors({ ...graph, tensors, ops });
}

/**
 * Quantizes subgraph 0 of `model`. Integer recipes need calibration `data`; weight-only ones do
 * not. `rounding` is the mode bias correction measures with (the target's).
 */
export async function quantizeModel(model: Model, data: CalibrationData | null, options: PtqOptions, progress?: ProgressFn, rounding: RoundingMode = 'xnnpack'): Promise<PtqResult> {
  const started = performance.now();
  const source = model.subgraphs[0];
  if (!source) throw new UserError('bad-model', 'The model has no graph to quantize.');
  if (model.subgraphs.length > 1) throw new UserError('unsupported', `The model has ${model.subgraphs.length} subgraphs; QuantLab quantizes single-graph models.`);
  await progress?.('preparing', 0, null);
  const { graph: floatGraph, folded, pairs } = prepareFloatGraph(source, options);
  const base = {
    recipe: options.recipe,
    calibration: formatCalibration(options.calibration),
    perChannel: options.perChannel,
    io: options.io,
    foldedBatchNorms: folded,
    equalizedPairs: pairs,
    biasCorrection: options.biasCorrection,
  };
  for (const t of floatGraph.tensors) {
    if (t.data instanceof Float32Array) {
      for (let i = 0; i < t.data.length; i++) {
        if (!Number.isFinite(t.data[i])) throw new UserError('bad-model', `Constant '${t.name}' holds ${t.data[i]} at element ${i}; a model with NaN/Inf weights cannot be quantized.`);
      }
    }
  }

  if (options.recipe === 'fp16' || options.recipe === 'dynamic') {
    const graph = weightOnly(floatGraph, options.recipe, options.perChannel);
    Interpreter.prepare(graph);
    const seconds = (performance.now() - started) / 1000;
    const report: PtqReport = { ...base, calibration: 'none', samples: 0, quantizedOps: 0, floatOps: [], biasCorrectedLayers: 0, tensors: [], seconds, stageSeconds: { prepare: 0, calibrate: 0, build: seconds, biasCorrection: 0 } };
    return { model: { ...model, subgraphs: [graph], signatures: undefined }, report, floatGraph };
  }

  if (!data) throw new UserError('bad-input', `The ${options.recipe} recipe needs calibration data (--calib).`);
  if (floatGraph.inputs.length !== 1) throw new UserError('unsupported', `Graph '${floatGraph.name}' has ${floatGraph.inputs.length} inputs; calibration feeds single-input models.`);
  const act = options.recipe === 'int16x8' ? 'int16' : 'int8';
  const grid = act === 'int16' ? INT16_ACTIVATION : INT8_ACTIVATION;
  const decisions = planOps(floatGraph, act, options.keepFloat, act === 'int16');
  const observe = tensorsToObserve(floatGraph, decisions, options.io);
  const tPrepared = performance.now();
  const boundary = new Set([...floatGraph.inputs, ...floatGraph.outputs]);
  const { ranges, samples } = await calibrate(floatGraph, observe, data, options.samples, options.calibration, grid, progress, boundary);
  const tCalibrated = performance.now();
  await progress?.('building integer graph', 0, null);
  const built = buildQuantizedGraph(floatGraph, decisions, ranges, { act, grid, weightGrid: INT8_WEIGHT, perChannel: options.perChannel, io: options.io });
  // The runtime must accept the result (lint + kernels) before anything else uses it.
  Interpreter.prepare(built.graph, { rounding });
  const tBuilt = performance.now();
  let biasCorrectedLayers = 0;
  if (options.biasCorrection === 'empirical' && built.linear.length > 0) {
    const r = await correctBiasesEmpirical(floatGraph, built.graph, built.linear, (l) => floatGraph.ops[l.floatOpIndex].outputs[0], data, options.biasCorrectionSamples, rounding, progress);
    biasCorrectedLayers = r.layers;
  } else if (options.biasCorrection === 'analytic' && built.linear.length > 0) {
    const r = await correctBiasesAnalytic(floatGraph, built.graph, built.linear, data, options.biasCorrectionSamples, progress);
    biasCorrectedLayers = r.layers;
  }
  const floatOps = decisions.flatMap((d, i) => {
    if (d.quantized) return [];
    const op = floatGraph.ops[i];
    return [{ index: i, name: op.name ?? floatGraph.tensors[op.outputs[0]].name, type: op.type === 'CUSTOM' ? `CUSTOM '${op.code}'` : op.type, reason: d.reason ?? '' }];
  });
  const tensors = [...built.params].map(([t, p]) => {
    const r = ranges.get(t);
    return { name: floatGraph.tensors[t].name, scale: p.scale, zeroPoint: p.zeroPoint, ...(r ? { min: r.min, max: r.max } : {}) };
  });
  const report: PtqReport = {
    ...base,
    samples,
    quantizedOps: decisions.filter((d) => d.quantized).length,
    floatOps,
    biasCorrectedLayers,
    tensors,
    seconds: (performance.now() - started) / 1000,
    stageSeconds: {
      prepare: (tPrepared - started) / 1000,
      calibrate: (tCalibrated - tPrepared) / 1000,
      build: (tBuilt - tCalibrated) / 1000,
      biasCorrection: (performance.now() - tBuilt) / 1000,
    },
  };
  return { model: { ...model, subgraphs: [built.graph], signatures: undefined }, report, floatGraph };
}
