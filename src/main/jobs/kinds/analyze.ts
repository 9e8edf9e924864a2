/**
 * `analyze`: per-layer error of a quantized model against its float source, propagated and
 * isolated (src/core/analysis/layer-error.ts), on the first `samples` samples of a dataset.
 * Recorded as an experiment: both models as artifacts, the dataset, every per-layer number as
 * layer-metrics rows (modes propagated / isolated / weights / cost) and the full report
 * (histograms included) as a JSON artifact.
 */
import path from 'node:path';
import { analyzeLayers, rankByIsolatedError } from '../../../core/analysis/layer-error';
import type { LayerErrorReport } from '../../../core/analysis/layer-error';
import { checkFitsInput, openDataset } from '../../../core/data/dataset';
import type { Preprocess } from '../../../core/data/dataset';
import { UserError } from '../../../core/errors';
import { openModelFile } from '../../../core/formats';
import type { RoundingMode } from '../../../core/runtime/kernel';
import { readModelBytes } from '../files';
import { cancellableProgress, limitSpec } from '../progress';
import type { JobContext, JobResult } from '../types';

export interface AnalyzeParams {
  floatModelPath: string;
  quantModelPath: string;
  data: string;
  samples: number;
  rounding: RoundingMode;
  reference?: 'auto' | 'as-given' | 'equalized';
  preprocess?: Preprocess;
  seed: number;
  cwd?: string;
}

/** A compact per-layer summary for --json and the UI (the full report is an artifact). */
export function summarizeLayers(report: LayerErrorReport) {
  const rank = new Map(rankByIsolatedError(report).map((t, k) => [t.tensor, k + 1]));
  return report.tensors.map((t) => {
    const w = report.weights.find((x) => x.opIndex === t.opIndex);
    return {
      opIndex: t.opIndex,
      layer: t.layerName,
      op: t.opType,
      tensor: t.tensor,
      scale: t.scale,
      zeroPoint: t.zeroPoint,
      clippedFraction: t.clippedFraction,
      propagated: t.propagated,
      isolated: t.isolated,
      isolatedRank: rank.get(t.tensor) ?? null,
      ...(w ? { weights: { sqnrDb: w.stats.sqnrDb, rmseOverScale: w.stats.rmseOverScale, worstChannelSqnrDb: Math.min(...w.channels.map((c) => c.sqnrDb)), perChannel: w.perChannel } } : {}),
    };
  });
}

export async function analyzeJob(ctx: JobContext<AnalyzeParams>): Promise<JobResult> {
  const p = ctx.params;
  ctx.progress('reading models', 0, null);
  const floatBytes = readModelBytes(p.floatModelPath, 'Float model');
  const quantBytes = readModelBytes(p.quantModelPath, 'Quantized model');
  const floatModel = await openModelFile(p.floatModelPath);
  const quantModel = await openModelFile(p.quantModelPath);
  const fg = floatModel.subgraphs[0];
  const qg = quantModel.subgraphs[0];
  const fIn = fg.tensors[fg.inputs[0]];
  if (!qg.tensors.some((t) => t.data === undefined && t.quant && (t.dtype === 'int8' || t.dtype === 'int16'))) {
    throw new UserError('bad-input', `Model '${p.quantModelPath}' has no integer activations; give the float model first and its quantized version second.`);
  }
  ctx.progress('loading data', 0, null);
  const ds = await openDataset(limitSpec(p.data, p.samples), { inputShape: fIn.shape.map((d, i) => (d < 0 && i === 0 ? 1 : d)), seed: p.seed, cwd: p.cwd, ...(p.preprocess ? { preprocess: p.preprocess } : {}) });
  checkFitsInput(ds, fIn.name, fIn.shape, fIn.dtype);
  const report = await analyzeLayers(fg, qg, ds, p.samples, { rounding: p.rounding, reference: p.reference ?? 'auto', progress: cancellableProgress(ctx) });
  const floatArt = ctx.putArtifact(floatBytes);
  const quantArt = ctx.putArtifact(quantBytes);
  const reportArt = ctx.putArtifact(new TextEncoder().encode(JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))));
  const layers = summarizeLayers(report);
  const worst = rankByIsolatedError(report).find((t) => t.opType !== 'QUANTIZE');
  if (report.unmatched.length > 0) ctx.log('warn', `No float tensor matches ${report.unmatched.length} integer tensor(s): ${report.unmatched.slice(0, 5).join(', ')}${report.unmatched.length > 5 ? ', …' : ''}.`);
  ctx.log('info', `Compared ${report.tensors.length} integer tensors on ${report.samples} samples in ${report.seconds.toFixed(1)} s (float reference: ${report.reference}).`);
  return {
    summary: {
      floatModel: path.resolve(p.floatModelPath),
      quantModel: path.resolve(p.quantModelPath),
      data: ds.spec,
      samples: report.samples,
      rounding: report.rounding,
      reference: report.reference,
      seconds: report.seconds,
      worstIsolated: worst ? { layer: worst.layerName, tensor: worst.tensor, sqnrDb: worst.isolated?.sqnrDb ?? null } : null,
      unmatched: report.unmatched,
      layers,
    },
    metrics: worst?.isolated ? [{ name: 'worst-isolated-sqnr', context: worst.layerName, value: worst.isolated.sqnrDb, unit: 'dB' }] : [],
    layerMetrics: report.rows,
    artifacts: [
      { ...floatArt, role: 'source-model', name: path.basename(p.floatModelPath) },
      { ...quantArt, role: 'quantized-model', name: path.basename(p.quantModelPath) },
      { ...reportArt, role: 'layer-analysis', name: 'layer-analysis.json' },
    ],
    model: { ...quantArt, name: path.basename(p.quantModelPath), format: quantModel.format, sourcePath: path.resolve(p.quantModelPath), summary: { ops: qg.ops.length, tensors: qg.tensors.length } },
    dataset: { spec: ds.spec, sha256: ds.hash(), sampleCount: report.samples, preprocessing: ds.preprocess },
  };
}
