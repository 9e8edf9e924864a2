/**
 * `quantlab analyze FLOAT_MODEL QUANT_MODEL --data DATASET [--samples N] [--rounding MODE]
 *  [--reference auto|as-given|equalized] [--json]`: per-layer error of an integer model against
 * its float source, propagated (the integer model end to end) and isolated (each integer op fed
 * the float model's quantized inputs), with per-layer cost; a job recorded as an experiment.
 */
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { parseDatasetSpec } from '../../core/data/dataset';
import type { RoundingMode } from '../../core/runtime/kernel';
import type { AnalyzeParams, summarizeLayers } from '../../main/jobs/kinds/analyze';
import type { CliContext } from '../context';
import { addDatasetOptions, existingFile, positiveInt, preprocessFrom } from '../options';
import type { DatasetFlags } from '../options';
import { runJobFromCli } from '../jobs';
import { parseRounding, ROUNDING_HELP } from '../rounding';

interface AnalyzeOptions extends DatasetFlags {
  data: string;
  samples: number;
  rounding: RoundingMode;
  reference: 'auto' | 'as-given' | 'equalized';
  name?: string;
}

/** '41.3', 'exact' for +Infinity (no error), '—' when not measured. */
export function db(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (v === Infinity) return 'exact';
  return v.toFixed(1);
}

function referenceKind(v: string): 'auto' | 'as-given' | 'equalized' {
  if (v !== 'auto' && v !== 'as-given' && v !== 'equalized') throw new InvalidArgumentError(`'${v}' is not a float reference (auto, as-given or equalized).`);
  return v;
}

export function registerAnalyze(program: Command, context: () => CliContext): void {
  const cmd = program.command('analyze');
  addDatasetOptions(cmd);
  cmd
    .description('per-layer quantization error of an integer model against its float source: propagated and isolated SQNR, MSE, RMSE/scale, cosine, max/mean error, clipping, per-channel and weight errors, histograms, cost per layer; records an experiment')
    .argument('<float-model>', 'the float model (.tflite, TF.js, Keras)')
    .argument('<quant-model>', 'its quantized .tflite')
    .requiredOption('--data <spec>', 'dataset to compare on (mnist:test, random:N, …; @N keeps the first N)')
    .option('--samples <n>', 'samples compared', positiveInt, 100)
    .option('--rounding <mode>', ROUNDING_HELP, parseRounding, 'xnnpack' as RoundingMode)
    .option('--reference <kind>', 'float graph compared with: auto (detect cross-layer equalization), as-given, equalized', referenceKind, 'auto' as const)
    .option('--name <name>', 'experiment name')
    .action(async (floatModel: string, quantModel: string, opts: AnalyzeOptions) => {
      const ctx = context();
      const floatModelPath = existingFile(floatModel, 'Float model');
      const quantModelPath = existingFile(quantModel, 'Quantized model');
      const preprocess = preprocessFrom(opts);
      const params: AnalyzeParams = {
        floatModelPath,
        quantModelPath,
        data: parseDatasetSpec(opts.data).canonical,
        samples: opts.samples,
        rounding: opts.rounding,
        reference: opts.reference,
        seed: opts.seed,
        cwd: process.cwd(),
        ...(preprocess ? { preprocess } : {}),
      };
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'analyze',
        name: opts.name ?? `analyze ${path.basename(quantModel)}`,
        params,
        config: { verb: 'analyze', ...params },
        seed: opts.seed,
        roundingMode: opts.rounding,
      });
      if (ctx.json) {
        ctx.printJson({ experimentId, ...result.summary });
        return;
      }
      const s = result.summary as { data: string; samples: number; reference: string; rounding: string; unmatched: string[]; layers: ReturnType<typeof summarizeLayers> };
      ctx.print(`${path.basename(quantModel)} against ${path.basename(floatModel)} (${s.reference} float graph) on ${s.samples} samples of ${s.data}, rounding ${s.rounding}`);
      ctx.print('  #  op               tensor                     prop dB  iso dB  iso rank  RMSE/S  clipped  weights dB (worst ch)');
      for (const l of s.layers) {
        const w = l.weights ? `${db(l.weights.sqnrDb)} (${db(l.weights.worstChannelSqnrDb)})` : '';
        ctx.print(
          `${String(l.opIndex).padStart(3)}  ${l.op.padEnd(15)}  ${l.tensor.slice(0, 25).padEnd(25)}  ${db(l.propagated.sqnrDb).padStart(7)}  ${db(l.isolated?.sqnrDb).padStart(6)}  ${String(l.isolatedRank ?? '—').padStart(8)}  ${(l.isolated?.rmseOverScale ?? l.propagated.rmseOverScale)?.toFixed(2).padStart(6) ?? '     —'}  ${(100 * l.clippedFraction).toFixed(2).padStart(6)}%  ${w}`,
        );
      }
      if (s.unmatched.length > 0) ctx.print(`no float twin for: ${s.unmatched.join(', ')}`);
      ctx.print('RMSE/S: isolated RMS error in steps of the output scale (≈0.29 is pure rounding). Per-channel numbers, histograms and costs: the layer-analysis artifact and the layer metrics.');
      ctx.print(`experiment ${experimentId}`);
    });
}
