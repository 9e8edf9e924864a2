/**
 * `search`: mixed precision under an accuracy budget (src/core/analysis/search.ts): the cheapest
 * set of layers to keep float so that accuracy stays within `budget` points of float (or output
 * SQNR ≥ `minSqnrDb` on unlabelled data). The chosen model is written to `outPath` (temporary file,
 * then rename) and recorded as an experiment with every step, the number of evaluations, and one
 * layer-metrics row per layer saying whether it stayed float.
 */
import path from 'node:path';
import { searchMixedPrecision } from '../../../core/analysis/search';
import type { SearchCost } from '../../../core/analysis/search';
import { writeTflite } from '../../../core/formats/tflite/writer';
import type { LayerMetricRow } from '../../store';
import type { JobContext, JobResult } from '../types';
import { writeFileAtomic } from '../files';
import { evaluationSummary, openStudy } from './sensitivity';
import type { StudyParams } from './sensitivity';

export interface SearchParams extends StudyParams {
  outPath: string;
  budgetPoints?: number;
  minSqnrDb?: number;
  cost: SearchCost;
}

export async function searchJob(ctx: JobContext<SearchParams>): Promise<JobResult> {
  const p = ctx.params;
  const { study, model, sourceBytes, data } = await openStudy(ctx as JobContext<StudyParams>);
  const result = await searchMixedPrecision(study, { cost: p.cost, ...(p.budgetPoints !== undefined ? { budgetPoints: p.budgetPoints } : {}), ...(p.minSqnrDb !== undefined ? { minSqnrDb: p.minSqnrDb } : {}) });
  ctx.throwIfCancelled();
  const bytes = writeTflite(result.model);
  writeFileAtomic(p.outPath, bytes);
  const source = ctx.putArtifact(sourceBytes);
  const stored = ctx.putArtifact(bytes);
  const { model: _m, ...plain } = result;
  void _m;
  const reportArt = ctx.putArtifact(new TextEncoder().encode(JSON.stringify(plain, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)));
  const float = new Set(result.keepFloat);
  const rows: LayerMetricRow[] = study.layers.map((l) => ({ layerIndex: l.opIndex, layerName: l.name, opType: l.opType, mode: 'search', metric: 'kept-float', value: float.has(l.name) ? 1 : 0 }));
  const b = result.best;
  ctx.log(result.met ? 'info' : 'warn', `${result.met ? 'Met' : 'Missed'} the target with ${result.keepFloat.length} of ${result.layers} layers float in ${result.evaluations} evaluations: ${bytes.length} bytes.`);
  return {
    summary: {
      output: path.resolve(p.outPath),
      model: path.resolve(p.modelPath),
      data: data.spec,
      samples: study.sampleCount,
      met: result.met,
      target: result.target,
      cost: result.cost,
      keepFloat: result.keepFloat,
      layers: result.layers,
      evaluations: result.evaluations,
      sizeBytes: bytes.length,
      best: evaluationSummary(b),
      float: evaluationSummary(result.float),
      quantized: evaluationSummary(result.quantized),
      steps: result.steps,
    },
    metrics: [
      ...(b.accuracyPct !== null ? [{ name: 'accuracy', context: 'mixed', value: b.accuracyPct, unit: '%' }] : []),
      ...(Number.isFinite(b.outputSqnrDb) ? [{ name: 'output-sqnr', context: 'mixed', value: b.outputSqnrDb, unit: 'dB' }] : []),
      { name: 'size', context: 'mixed', value: bytes.length, unit: 'B' },
      { name: 'evaluations', context: 'search', value: result.evaluations, unit: '' },
    ],
    layerMetrics: rows,
    artifacts: [
      { ...source, role: 'source-model', name: path.basename(p.modelPath) },
      { ...stored, role: 'quantized-model', name: path.basename(p.outPath) },
      { ...reportArt, role: 'search-report', name: 'search.json' },
    ],
    model: { ...source, name: path.basename(p.modelPath), format: model.format, sourcePath: path.resolve(p.modelPath), summary: { ops: model.subgraphs[0].ops.length, tensors: model.subgraphs[0].tensors.length } },
    dataset: { spec: data.spec, sha256: data.hash(), sampleCount: study.sampleCount, preprocessing: data.preprocess },
  };
}
