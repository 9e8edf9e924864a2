/**
 * `quantlab quantize MODEL --calib DATASET --out OUT.tflite [--recipe int8|int16x8|fp16|dynamic]
 *  [--io int8|float] [--per-tensor] [--calibration minmax|ema|percentile:P|kl|mse] [--samples N]
 *  [--keep-float NAME,…|auto] [--eval DATASET] [--json]`: post-training quantization as a job,
 * recorded as an experiment.
 */
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { parseDatasetSpec } from '../../core/data/dataset';
import { UserError } from '../../core/errors';
import { formatCalibration, parseCalibration } from '../../core/quant/observers';
import { parseRecipe } from '../../core/quant/ptq';
import type { Recipe } from '../../core/quant/ptq';
import type { RoundingMode } from '../../core/runtime/kernel';
import type { QuantizeParams } from '../../main/jobs/kinds/quantize';
import type { CliContext } from '../context';
import { addDatasetOptions, existingFile, oneOf, positiveInt, preprocessFrom } from '../options';
import { checkOutputPath } from '../../main/jobs/files';
import type { DatasetFlags } from '../options';
import { runJobFromCli } from '../jobs';
import { parseRounding, ROUNDING_HELP } from '../rounding';

interface QuantizeOptions extends DatasetFlags {
  calib?: string;
  out: string;
  recipe: Recipe;
  io: 'float' | 'int8';
  perTensor?: boolean;
  calibration: string;
  samples: number;
  keepFloat: string[];
  biasCorrection: 'analytic' | 'empirical' | 'none';
  equalize: boolean;
  rounding: RoundingMode;
  eval?: string;
  name?: string;
}

function recipe(v: string): Recipe {
  try {
    return parseRecipe(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function nameList(v: string, previous: string[] = []): string[] {
  return [...previous, ...v.split(',').map((s) => s.trim()).filter((s) => s !== '')];
}

export function registerQuantize(program: Command, context: () => CliContext): void {
  const cmd = program.command('quantize');
  addDatasetOptions(cmd);
  cmd
    .description('post-training quantization of a float model (.tflite, TF.js, Keras) with a calibration dataset; writes an integer .tflite and records an experiment')
    .argument('<model>', 'float model file')
    .requiredOption('--out <file>', 'output .tflite (written to a temporary file, then renamed)')
    .option('--calib <spec>', 'calibration dataset (mnist:train, fashion-mnist:train, idx:…, folder:DIR, npy:FILE, random:N; @N keeps the first N)')
    .option('--recipe <recipe>', 'int8 | int16x8 | fp16 | dynamic (int8 weights only)', recipe, 'int8' as Recipe)
    .option('--io <type>', 'model inputs/outputs: float (QUANTIZE/DEQUANTIZE inside) or int8', oneOf('an I/O type', ['float', 'int8'] as const), 'float' as const)
    .option('--per-tensor', 'one scale per weight tensor instead of one per output channel')
    .option('--calibration <method>', 'minmax | ema[:DECAY] | percentile[:P] | kl | mse', 'minmax')
    .option('--samples <n>', 'calibration samples used', positiveInt, 500)
    .option('--keep-float <names>', "ops kept float, by op name, output tensor name or op type, comma-separated; 'auto' keeps every op without an integer kernel", nameList, [])
    .option('--bias-correction <mode>', 'analytic (weight rounding error × input means) | empirical (float vs integer outputs, layer by layer; slow on deep models) | none', oneOf('a bias correction mode', ['analytic', 'empirical', 'none'] as const), 'analytic' as const)
    .option('--no-equalize', 'skip cross-layer equalization of conv→(relu)→conv chains')
    .option('--rounding <mode>', `${ROUNDING_HELP} (bias correction and --eval measure in it)`, parseRounding, 'xnnpack' as RoundingMode)
    .option('--eval <spec>', 'evaluate the quantized model on this dataset afterwards (top-1 accuracy, latency)')
    .option('--name <name>', 'experiment name')
    .action(async (model: string, opts: QuantizeOptions) => {
      const ctx = context();
      // Everything that can be checked is checked before a job (and an experiment) exists.
      const modelPath = existingFile(model, 'Model');
      const outPath = checkOutputPath(opts.out, 'the output');
      const calibration = formatCalibration(parseCalibration(opts.calibration));
      const needsData = opts.recipe === 'int8' || opts.recipe === 'int16x8';
      if (needsData && !opts.calib) throw new UserError('bad-input', `The ${opts.recipe} recipe needs calibration data: give --calib DATASET (e.g. mnist:train@500).`);
      const calib = opts.calib ? parseDatasetSpec(opts.calib).canonical : null;
      const evalData = opts.eval ? parseDatasetSpec(opts.eval).canonical : undefined;
      const perChannel = !opts.perTensor;
      const preprocess = preprocessFrom(opts);
      const params: QuantizeParams = {
        modelPath,
        outPath,
        calib: needsData ? calib : null,
        recipe: opts.recipe,
        io: opts.io,
        perChannel,
        calibration,
        samples: opts.samples,
        keepFloat: opts.keepFloat,
        biasCorrection: opts.biasCorrection,
        equalize: opts.equalize,
        seed: opts.seed,
        rounding: opts.rounding,
        cwd: process.cwd(),
        ...(preprocess ? { preprocess } : {}),
        ...(evalData ? { evalData } : {}),
      };
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'quantize',
        name: opts.name ?? `${opts.recipe} ${needsData ? calibration : ''} ${path.basename(model)}`.replace(/\s+/g, ' '),
        params,
        config: { verb: 'quantize', ...params },
        seed: opts.seed,
        roundingMode: opts.rounding,
      });
      const s = result.summary as {
        output: string;
        sizeBytes: number;
        floatSizeBytes: number;
        samples: number;
        seconds: number;
        quantizedOps: number;
        floatOps: { name: string; type: string; reason: string }[];
        evaluation?: { accuracy: number | null; samples: number; msPerSample: number; data: string };
      };
      if (ctx.json) {
        ctx.printJson({ experimentId, ...result.summary });
        return;
      }
      ctx.print(`${s.output}: ${s.sizeBytes.toLocaleString('en-US')} bytes (${((100 * s.sizeBytes) / s.floatSizeBytes).toFixed(1)}% of float ${s.floatSizeBytes.toLocaleString('en-US')})`);
      ctx.print(`${opts.recipe}, ${needsData ? `${calibration} calibration on ${s.samples} samples of ${calib}, ` : ''}${perChannel ? 'per-channel' : 'per-tensor'} weights, ${opts.io} I/O, ${s.quantizedOps} integer ops, ${s.seconds.toFixed(1)} s`);
      for (const f of s.floatOps) ctx.print(`  kept float: ${f.name} (${f.type}): ${f.reason}`);
      if (s.evaluation) {
        const e = s.evaluation;
        ctx.print(`${e.data}: ${e.accuracy !== null ? `top-1 ${(100 * e.accuracy).toFixed(2)}%, ` : ''}${e.msPerSample.toFixed(3)} ms/sample (rounding ${opts.rounding})`);
      }
      ctx.print(`experiment ${experimentId}`);
    });
}
