/**
 * `sensitivity`: for every layer PTQ quantizes, the accuracy (labelled data) or output SQNR
 * (unlabelled) with only that layer quantized and with only that layer kept float, and a ranking
 * (src/core/analysis/sensitivity.ts). Recorded as an experiment: the source model, the evaluation
 * dataset, one layer-metrics row per layer, mode and metric, and the report as a JSON artifact.
 */
import path from 'node:path';
import { analyzeSensitivity, QuantStudy } from '../../../core/analysis/sensitivity';
import type { Evaluation } from '../../../core/analysis/sensitivity';
import { checkFitsInput, openDataset } from '../../../core/data/dataset';
import type { Dataset, Preprocess } from '../../../core/data/dataset';
import { UserError } from '../../../core/errors';
import { openModelFile } from '../../../core/formats';
import type { Model } from '../../../core/ir/types';
import { parseCalibration } from '../../../core/quant/observers';
import type { Recipe } from '../../../core/quant/ptq';
import type { RoundingMode } from '../../../core/runtime/kernel';
import type { JobContext, JobResult } from '../types';
import { readModelBytes } from '../files';
import { cancellableProgress, limitSpec } from '../progress';

export interface StudyParams {
  modelPath: string;
  /** Calibration dataset spec. */
  calib: string;
  /** Evaluation dataset spec. */
  data: string;
  /** Calibration samples. */
  samples: number;
  /** Evaluation samples (at most the dataset's count). */
  evalSamples: number;
  recipe: Recipe;
  perChannel: boolean;
  calibration: string;
  equalize?: boolean;
  biasCorrection?: 'analytic' | 'empirical' | 'none';
  preprocess?: Preprocess;
  rounding: RoundingMode;
  seed: number;
  cwd?: string;
}

export type SensitivityParams = StudyParams;

export interface OpenedStudy {
  study: QuantStudy;
  model: Model;
  sourceBytes: Uint8Array;
  calib: Dataset;
  data: Dataset;
}

/** Reads the model and both datasets and sets up the study (2 evaluations: float and full integer). */
export async function openStudy(ctx: JobContext<StudyParams>): Promise<OpenedStudy> {
  const p = ctx.params;
  ctx.progress('reading model', 0, null);
  const sourceBytes = readModelBytes(p.modelPath, 'Model');
  const model = await openModelFile(p.modelPath);
  const g = model.subgraphs[0];
  const input = g.tensors[g.inputs[0]];
  if (input.dtype !== 'float32') throw new UserError('bad-model', `Model '${p.modelPath}' is already quantized (input '${input.name}' is ${input.dtype}); give its float source.`);
  const inputShape = input.shape.map((d, i) => (d < 0 && i === 0 ? 1 : d));
  ctx.progress('loading data', 0, null);
  const common = { inputShape, seed: p.seed, cwd: p.cwd, ...(p.preprocess ? { preprocess: p.preprocess } : {}) };
  const calib = await openDataset(limitSpec(p.calib, p.samples), common);
  const data = await openDataset(limitSpec(p.data, p.evalSamples), common);
  for (const ds of [calib, data]) {
    if (ds.count === 0) throw new UserError('bad-input', `The dataset '${ds.spec}' is empty.`);
    checkFitsInput(ds, input.name, input.shape, input.dtype);
  }
  const study = await QuantStudy.create(model, { count: calib.count, name: calib.spec, sample: (i, out) => calib.sample(i, out) }, data, {
    ptq: {
      recipe: p.recipe,
      perChannel: p.perChannel,
      calibration: parseCalibration(p.calibration),
      samples: p.samples,
      ...(p.equalize !== undefined ? { equalize: p.equalize } : {}),
      ...(p.biasCorrection !== undefined ? { biasCorrection: p.biasCorrection } : {}),
    },
    rounding: p.rounding,
    progress: cancellableProgress(ctx),
  });
  return { study, model, sourceBytes, calib, data };
}

/** An evaluation as --json shows it. */
export function evaluationSummary(e: Evaluation) {
  return { keepFloat: e.keepFloat, accuracyPct: e.accuracyPct, outputSqnrDb: e.outputSqnrDb, sizeBytes: e.sizeBytes, estLatencyMs: e.estLatencyMs, measuredMsPerSample: e.measuredMsPerSample };
}

export async function sensitivityJob(ctx: JobContext<SensitivityParams>): Promise<JobResult> {
  const p = ctx.params;
  const { study, model, sourceBytes, calib, data } = await openStudy(ctx);
  const report = await analyzeSensitivity(study);
  study.dropModels();
  const source = ctx.putArtifact(sourceBytes);
  const reportArt = ctx.putArtifact(new TextEncoder().encode(JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)));
  const metric = report.metric === 'accuracy' ? 'accuracy' : 'output-sqnr';
  const unit = report.metric === 'accuracy' ? '%' : 'dB';
  const value = (e: Evaluation) => (report.metric === 'accuracy' ? (e.accuracyPct as number) : e.outputSqnrDb);
  ctx.log('info', `Sensitivity of ${report.layers.length} layers in ${report.evaluations} evaluations on ${study.sampleCount} samples; most sensitive: ${report.ranking[0]}.`);
  return {
    summary: {
      model: path.resolve(p.modelPath),
      calib: calib.spec,
      data: data.spec,
      samples: study.sampleCount,
      metric: report.metric,
      recipe: p.recipe,
      perChannel: p.perChannel,
      rounding: p.rounding,
      float: evaluationSummary(report.float),
      quantized: evaluationSummary(report.quantized),
      evaluations: report.evaluations,
      ranking: report.ranking,
      layers: report.layers.map((l) => ({
        rank: l.rank,
        layer: l.layer.name,
        op: l.layer.opType,
        opIndex: l.layer.opIndex,
        macs: l.layer.macs,
        params: l.layer.paramCount,
        onlyQuantized: { accuracyPct: l.onlyQuantized.accuracyPct, outputSqnrDb: l.onlyQuantized.outputSqnrDb },
        onlyFloat: { accuracyPct: l.onlyFloat.accuracyPct, outputSqnrDb: l.onlyFloat.outputSqnrDb },
        damage: l.damage,
        recovery: l.recovery,
      })),
    },
    metrics: [
      ...(Number.isFinite(value(report.float)) ? [{ name: metric, context: 'float32', value: value(report.float), unit }] : []),
      ...(Number.isFinite(value(report.quantized)) ? [{ name: metric, context: p.recipe, value: value(report.quantized), unit }] : []),
      { name: 'evaluations', context: 'sensitivity', value: report.evaluations, unit: '' },
    ],
    layerMetrics: report.rows,
    artifacts: [
      { ...source, role: 'source-model', name: path.basename(p.modelPath) },
      { ...reportArt, role: 'sensitivity-report', name: 'sensitivity.json' },
    ],
    model: { ...source, name: path.basename(p.modelPath), format: model.format, sourcePath: path.resolve(p.modelPath), summary: { ops: model.subgraphs[0].ops.length, tensors: model.subgraphs[0].tensors.length } },
    dataset: { spec: data.spec, sha256: data.hash(), sampleCount: study.sampleCount, preprocessing: data.preprocess },
  };
}
