/**
 * `quantlab eval MODEL --data SPEC [--rounding double|single|xnnpack] [--reference FLOAT_MODEL] [--threads N] [--json]`:
 * runs a float or integer .tflite model over a dataset in the QuantLab runtime, as a job recorded
 * in the workspace. Labelled data gives top-1 accuracy; `--reference` gives each output's fidelity
 * (SQNR, cosine, max abs error) against a float model, for any data.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDatasetSpec } from '../../core/data/dataset';
import { UserError } from '../../core/errors';
import { readTflite } from '../../core/formats/tflite/reader';
import type { RoundingMode } from '../../core/runtime/kernel';
import type { EvalParams } from '../../main/jobs/kinds/eval';
import type { CliContext } from '../context';
import { addDatasetOptions, finiteNumber, positiveInt, preprocessFrom } from '../options';
import type { DatasetFlags } from '../options';
import { runJobFromCli } from '../jobs';
import { parseRounding, ROUNDING_HELP } from '../rounding';

function readableModel(file: string, role: string): string {
  const abs = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(abs);
  } catch (e) {
    throw new UserError('bad-input', `${role} file '${abs}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  readTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path.basename(abs));
  return abs;
}

interface EvalOptions extends DatasetFlags {
  data: string;
  rounding: RoundingMode;
  reference?: string;
  inputScale?: number;
  name?: string;
  threads?: number;
}

interface FidelityRow {
  name: string;
  sqnrDb: number | null;
  cosine: number;
  maxAbsError: number;
}

export function registerEval(program: Command, context: () => CliContext): void {
  const cmd = program.command('eval');
  addDatasetOptions(cmd);
  cmd
    .description('evaluate a float or int8 .tflite model over a dataset in the QuantLab runtime (top-1 accuracy, fidelity against a float reference, latency); records an experiment')
    .argument('<model>', 'model file (.tflite), float or integer')
    .option(
      '--data <spec>',
      'dataset: mnist:train|test, fashion-mnist:train|test, idx:IMAGES,LABELS, folder:DIR, npy:FILE (.npy, or .npz with x and y), random:N; @N keeps the first N',
      'mnist:test',
    )
    .option('--rounding <mode>', ROUNDING_HELP, parseRounding, 'xnnpack' as RoundingMode)
    .option('--reference <float-model>', 'float .tflite model to compare every output against (SQNR, cosine, max abs error)')
    .option('--input-scale <x>', 'multiply inputs by this on top of the preprocessing (e.g. 255 for models trained on raw pixels)', finiteNumber)
    .option('--name <name>', 'experiment name')
    .option('--threads <n>', `threads that evaluate, this one included (default: all ${os.availableParallelism()} cores; 1 = one thread)`, positiveInt)
    .action(async (model: string, opts: EvalOptions) => {
      const ctx = context();
      // Bad input is refused before anything is recorded: the spec must parse, the models must read.
      const spec = parseDatasetSpec(opts.data).canonical;
      const modelPath = readableModel(model, 'Model');
      const referencePath = opts.reference ? readableModel(opts.reference, 'Reference model') : undefined;
      const preprocess = preprocessFrom(opts);
      const params: EvalParams = {
        modelPath,
        data: spec,
        seed: opts.seed,
        rounding: opts.rounding,
        cwd: process.cwd(),
        ...(preprocess ? { preprocess } : {}),
        ...(opts.inputScale !== undefined ? { inputScale: opts.inputScale } : {}),
        ...(referencePath ? { referencePath } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      };
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'eval',
        name: opts.name ?? `eval ${path.basename(model)} on ${spec}`,
        params,
        config: { verb: 'eval', ...params },
        seed: opts.seed,
        roundingMode: opts.rounding,
      });
      if (ctx.json) {
        ctx.printJson({ experimentId, ...result.summary, metrics: result.metrics });
        return;
      }
      const s = result.summary as { samples: number; accuracy: number | null; msPerSample: number; precision: string; rounding: string; dataDescription: string; outputs?: FidelityRow[]; wallMs: number; threads: number };
      ctx.print(`${s.dataDescription}`);
      ctx.print(
        `${s.samples} samples${s.accuracy !== null ? `, top-1 ${(100 * s.accuracy).toFixed(2)}%` : ''}, ${s.msPerSample.toFixed(2)} ms/sample, ${(s.wallMs / 1000).toFixed(2)} s on ${s.threads} thread${s.threads === 1 ? '' : 's'} (${s.precision}, QuantLab runtime, rounding ${s.rounding})`,
      );
      for (const o of s.outputs ?? []) {
        ctx.print(`  ${o.name}: SQNR ${o.sqnrDb === null ? 'exact' : `${o.sqnrDb.toFixed(2)} dB`}, cosine ${o.cosine.toFixed(6)}, max |error| ${o.maxAbsError.toPrecision(4)}`);
      }
      ctx.print(`experiment ${experimentId}`);
    });
}
