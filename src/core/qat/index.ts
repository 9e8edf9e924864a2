/**
 * Quantization-aware training (QAT): fine-tune a float model with the integer model's rounding
 * simulated in the forward pass, then export the int8 model with the ranges training settled on.
 *
 *   network.ts    IR graph → TF.js network with fake quantization (weights per channel, activation
 *                 groups as PTQ builds them; 'ema' or learned 'lsq' ranges)
 *   fake-quant.ts the fake-quant ops and their straight-through gradients
 *   train.ts      the loop (epochs, batches, schedule, optimizer, validation, early stopping, NaN)
 *   export.ts     trained weights + ranges → PTQ's int8 graph builder
 *   backend.ts    which TF.js backend trains (tfjs-node, wasm with wasm-gradients.ts, cpu)
 *
 * `runQat` is the whole pipeline: calibration warm start (min/max over the first
 * `calibrationSamples` training samples, PTQ's calibrate), training, export.
 */
import { UserError } from '../errors';
import type { Model } from '../ir/types';
import { INT8_ACTIVATION } from '../quant/params';
import { calibrate } from '../quant/ptq/calibrate';
import type { RoundingMode } from '../runtime/kernel';
import { initTrainingBackend, wasmTrainingGaps, type TfjsBackendName } from './backend';
import { exportInt8, type ExportedModel } from './export';
import { prepareQatGraph, QatNetwork, type RangeMode } from './network';
import type { LabelledData, QatProgress, TrainOptions, TrainResult } from './train';
import { DEFAULT_TRAIN_OPTIONS, trainNetwork } from './train';

export { QatNetwork, QAT_OPS, prepareQatGraph } from './network';
export type { QatNetworkOptions, RangeMode } from './network';
export { evaluateNetwork, trainNetwork, checkLabels, DEFAULT_TRAIN_OPTIONS } from './train';
export type { LabelledData, QatProgress, TrainOptions, TrainResult, EpochRecord } from './train';
export { exportInt8 } from './export';
export type { ExportedModel } from './export';
export { fakeQuant, fakeQuantWeights, fakeQuantLearned } from './fake-quant';
export { initTrainingBackend, wasmTrainingGaps } from './backend';

export interface QatOptions extends TrainOptions {
  ranges: RangeMode;
  emaDecay: number;
  perChannel: boolean;
  /** Training samples the warm-start calibration reads (min/max). */
  calibrationSamples: number;
  /** Backend to try first (default: the fastest available). */
  backend?: TfjsBackendName;
  /** Rounding the exported model is checked in. */
  rounding: RoundingMode;
}

export function defaultQatOptions(overrides: Partial<QatOptions> = {}): QatOptions {
  return { ...DEFAULT_TRAIN_OPTIONS, ranges: 'ema', emaDecay: 0.999, perChannel: true, calibrationSamples: 500, rounding: 'xnnpack', ...overrides };
}

export type QatEvent = QatProgress | { phase: 'calibrate'; done: number; total: number | null };

export interface QatResult extends ExportedModel {
  train: TrainResult;
  backend: TfjsBackendName;
  backendNotes: string[];
  foldedBatchNorms: number;
  calibrationSamples: number;
  seconds: number;
}

/** Whole QAT pipeline on subgraph 0 of `model`. `progress` may throw (cancellation): nothing is left allocated. */
export async function runQat(model: Model, train: LabelledData, val: LabelledData, options: QatOptions, progress?: (e: QatEvent) => void | Promise<void>): Promise<QatResult> {
  const t0 = performance.now();
  if (model.subgraphs.length !== 1) throw new UserError('unsupported', `The model has ${model.subgraphs.length} subgraphs; quantization-aware training takes single-graph models.`);
  if (!(options.emaDecay > 0 && options.emaDecay < 1)) throw new UserError('bad-input', `The moving-average decay ${options.emaDecay} must lie strictly between 0 and 1.`);
  const gaps = wasmTrainingGaps(prepareQatGraph(model.subgraphs[0]).graph);
  const choice = await initTrainingBackend(options.backend, gaps);
  const net = new QatNetwork(model.subgraphs[0], { perChannel: options.perChannel, ranges: options.ranges, emaDecay: options.emaDecay });
  try {
    const backendNotes = choice.notes;
    const calib = await calibrate(net.graph, net.observedTensors, train, options.calibrationSamples, { kind: 'minmax' }, INT8_ACTIVATION, async (_stage, done, total) => {
      await progress?.({ phase: 'calibrate', done, total });
    });
    net.initRanges(calib.ranges);
    // The float model (same folded graph, weights never trained) teaches when distilling.
    const teacher = options.distill > 0 ? new QatNetwork(model.subgraphs[0], { perChannel: options.perChannel, ranges: options.ranges, emaDecay: options.emaDecay }) : undefined;
    let trained: TrainResult;
    try {
      trained = await trainNetwork(net, train, val, options, progress, teacher);
    } finally {
      teacher?.dispose();
    }
    const exported = exportInt8(net, model, options.rounding);
    return {
      ...exported,
      train: trained,
      backend: choice.backend,
      backendNotes,
      foldedBatchNorms: net.foldedBatchNorms,
      calibrationSamples: calib.samples,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    net.dispose();
  }
}
