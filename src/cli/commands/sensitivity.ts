/**
 * `quantlab sensitivity MODEL --calib DATASET --data DATASET [--json]`: accuracy (or output SQNR
 * on unlabelled data) with only each layer quantized and with only each layer kept float, and
 * the ranking; a job recorded as an experiment.
 */
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { parseDatasetSpec } from '../../core/data/dataset';
import { formatCalibration, parseCalibration } from '../../core/quant/observers';
import type { RoundingMode } from '../../core/runtime/kernel';
import type { StudyParams } from '../../main/jobs/kinds/sensitivity';
import type { CliContext } from '../context';
import { addDatasetOptions, preprocessFrom } from '../options';
import type { DatasetFlags } from '../options';
import { runJobFromCli } from '../jobs';
import { parseRounding, ROUNDING_HELP } from '../rounding';
import { existingFile, positiveInt } from '../options';
import { db } from './analyze';

export interface StudyFlags extends DatasetFlags {
  calib: string;
  data: string;
  samples: number;
  evalSamples: number;
  recipe: 'int8' | 'int16x8';
  perTensor?: boolean;
  calibration: string;
  equalize: boolean;
  biasCorrection: 'analytic' | 'empirical' | 'none';
  rounding: RoundingMode;
  name?: string;
}

function integerRecipe(v: string): 'int8' | 'int16x8' {
  if (v !== 'int8' && v !== 'int16x8') throw new InvalidArgumentError(`'${v}' is not an integer recipe (int8 or int16x8).`);
  return v;
}

function biasMode(v: string): 'analytic' | 'empirical' | 'none' {
  if (v !== 'analytic' && v !== 'empirical' && v !== 'none') throw new InvalidArgumentError(`'${v}' is not a bias correction mode (analytic, empirical or none).`);
  return v;
}

/** The flags sensitivity and search share: model quantization as `quantize` does it, plus the evaluation data. */
export function addStudyOptions(cmd: Command): Command {
  addDatasetOptions(cmd);
  return cmd
    .argument('<model>', 'float model file (.tflite, TF.js, Keras)')
    .requiredOption('--calib <spec>', 'calibration dataset (e.g. mnist:train)')
    .requiredOption('--data <spec>', 'evaluation dataset (labelled: accuracy; unlabelled: output SQNR against float)')
    .option('--samples <n>', 'calibration samples', positiveInt, 200)
    .option('--eval-samples <n>', 'evaluation samples (at most the dataset size)', positiveInt, 1000)
    .option('--recipe <recipe>', 'int8 | int16x8', integerRecipe, 'int8' as const)
    .option('--per-tensor', 'one scale per weight tensor instead of one per output channel')
    .option('--calibration <method>', 'minmax | ema[:DECAY] | percentile[:P] | kl | mse', 'minmax')
    .option('--bias-correction <mode>', 'analytic | empirical | none', biasMode, 'analytic' as const)
    .option('--no-equalize', 'skip cross-layer equalization')
    .option('--rounding <mode>', ROUNDING_HELP, parseRounding, 'xnnpack' as RoundingMode)
    .option('--name <name>', 'experiment name');
}

export function studyParams(model: string, opts: StudyFlags): StudyParams {
  const preprocess = preprocessFrom(opts);
  return {
    modelPath: existingFile(model, 'Model'),
    calib: parseDatasetSpec(opts.calib).canonical,
    data: parseDatasetSpec(opts.data).canonical,
    samples: opts.samples,
    evalSamples: opts.evalSamples,
    recipe: opts.recipe,
    perChannel: !opts.perTensor,
    calibration: formatCalibration(parseCalibration(opts.calibration)),
    equalize: opts.equalize,
    biasCorrection: opts.biasCorrection,
    rounding: opts.rounding,
    seed: opts.seed,
    cwd: process.cwd(),
    ...(preprocess ? { preprocess } : {}),
  };
}

interface EvalJson {
  accuracyPct: number | null;
  outputSqnrDb: number | null;
  sizeBytes: number;
}

/** '98.60%' or '31.2 dB'. */
export function score(e: { accuracyPct: number | null; outputSqnrDb: number | null }): string {
  return e.accuracyPct !== null ? `${e.accuracyPct.toFixed(2)}%` : `${db(e.outputSqnrDb)} dB`;
}

export function registerSensitivity(program: Command, context: () => CliContext): void {
  const cmd = program.command('sensitivity');
  addStudyOptions(cmd)
    .description('per-layer sensitivity: accuracy (or output SQNR) with only each layer quantized and with only each layer kept float, ranked; records an experiment')
    .action(async (model: string, opts: StudyFlags) => {
      const ctx = context();
      const params = studyParams(model, opts);
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'sensitivity',
        name: opts.name ?? `sensitivity ${path.basename(model)}`,
        params,
        config: { verb: 'sensitivity', ...params },
        seed: opts.seed,
        roundingMode: opts.rounding,
      });
      if (ctx.json) {
        ctx.printJson({ experimentId, ...result.summary });
        return;
      }
      const s = result.summary as {
        data: string;
        samples: number;
        metric: string;
        float: EvalJson;
        quantized: EvalJson;
        evaluations: number;
        layers: { rank: number; layer: string; op: string; macs: number; onlyQuantized: EvalJson; onlyFloat: EvalJson; damage: number; recovery: number }[];
      };
      ctx.print(`${path.basename(model)} on ${s.samples} samples of ${s.data}: float ${score(s.float)}, ${opts.recipe} ${score(s.quantized)}; ${s.evaluations} evaluations`);
      ctx.print('rank  layer                      op                only it quantized  only it float');
      for (const l of [...s.layers].sort((a, b) => a.rank - b.rank)) {
        ctx.print(`${String(l.rank).padStart(4)}  ${l.layer.slice(0, 25).padEnd(25)}  ${l.op.padEnd(16)}  ${score(l.onlyQuantized).padStart(17)}  ${score(l.onlyFloat).padStart(13)}`);
      }
      ctx.print(`experiment ${experimentId}`);
    });
}
