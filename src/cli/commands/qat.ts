/**
 * `quantlab qat MODEL --train DATASET --val DATASET --out OUT.tflite [--epochs N] [--batch N]
 *  [--lr X] [--schedule cosine|constant] [--optimizer adam|sgd] [--ranges ema|lsq]
 *  [--ema-decay D] [--per-tensor] [--patience N] [--backend wasm|cpu|tensorflow] [--json]`:
 * quantization-aware training as a job, recorded as an experiment. Prints the float, PTQ and
 * QAT int8 accuracies on the validation set (QuantLab's runtime), the epochs, time and backend.
 */
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { parseDatasetSpec } from '../../core/data/dataset';
import type { RoundingMode } from '../../core/runtime/kernel';
import type { TfjsBackendName } from '../../core/qat/backend';
import type { QatParams } from '../../main/jobs/kinds/qat';
import { defaultQatParams } from '../../main/jobs/kinds/qat';
import type { CliContext } from '../context';
import { addDatasetOptions, existingFile, nonNegativeInt, oneOf, positiveInt, preprocessFrom } from '../options';
import { checkOutputPath } from '../../main/jobs/files';
import type { DatasetFlags } from '../options';
import { runJobFromCli } from '../jobs';
import { parseRounding, ROUNDING_HELP } from '../rounding';

interface QatCliOptions extends DatasetFlags {
  train: string;
  val: string;
  out: string;
  epochs: number;
  batch: number;
  lr: number;
  schedule: 'constant' | 'cosine';
  optimizer: 'adam' | 'sgd';
  ranges: 'ema' | 'lsq';
  emaDecay: number;
  perTensor?: boolean;
  patience: number;
  shift: number;
  distill: number;
  calibSamples: number;
  ptqSamples: number;
  backend?: TfjsBackendName;
  rounding: RoundingMode;
  name?: string;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`'${v}' is not a positive number.`);
  return n;
}

function decay(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n > 0 && n < 1)) throw new InvalidArgumentError(`'${v}' is not a decay strictly between 0 and 1 (e.g. 0.999).`);
  return n;
}

function unitInterval(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`'${v}' is not a weight between 0 and 1.`);
  return n;
}

export function registerQat(program: Command, context: () => CliContext): void {
  const d = defaultQatParams({ modelPath: '', outPath: '', train: '', val: '' });
  const cmd = program.command('qat');
  addDatasetOptions(cmd);
  cmd
    .description('quantization-aware training: fine-tune a float model with int8 fake quantization, export the int8 .tflite, and compare float, PTQ and QAT accuracy on the validation set')
    .argument('<model>', 'float model file (.tflite, TF.js, Keras)')
    .requiredOption('--train <spec>', 'labelled training set (mnist:train, fashion-mnist:train, idx:IMAGES,LABELS, folder:DIR; @N keeps the first N)')
    .requiredOption('--val <spec>', 'labelled validation set (accuracies are measured on it)')
    .requiredOption('--out <file>', 'output int8 .tflite (written to a temporary file, then renamed)')
    .option('--epochs <n>', 'epochs', positiveInt, d.epochs)
    .option('--batch <n>', 'batch size', positiveInt, d.batchSize)
    .option('--lr <x>', 'learning rate (peak of the cosine schedule)', positiveNumber, d.learningRate)
    .option('--schedule <s>', 'learning-rate schedule: cosine | constant', oneOf('a schedule', ['cosine', 'constant'] as const), d.schedule)
    .option('--optimizer <o>', 'adam | sgd (momentum 0.9)', oneOf('an optimizer', ['adam', 'sgd'] as const), d.optimizer)
    .option('--ranges <mode>', 'activation ranges: ema (moving average after a min/max warm start) | lsq (learned step size and zero point)', oneOf('a range mode', ['ema', 'lsq'] as const), d.ranges)
    .option('--ema-decay <d>', 'moving-average decay of ema ranges', decay, d.emaDecay)
    .option('--per-tensor', 'one scale per weight tensor instead of one per output channel (QAT and the PTQ baseline)')
    .option('--patience <n>', 'early stopping: epochs without a better validation accuracy (0: never)', nonNegativeInt, d.patience)
    .option('--shift <px>', 'augmentation: translate training images by up to this many pixels (0: none)', nonNegativeInt, d.shiftPx)
    .option('--distill <w>', "weight of the float model's predictions as soft labels in the loss (1: learn to match the float model; 0: the dataset's labels only)", unitInterval, d.distill)
    .option('--calib-samples <n>', 'training samples of the min/max warm start', positiveInt, d.calibrationSamples)
    .option('--ptq-samples <n>', 'training samples of the PTQ baseline calibration', positiveInt, d.ptqSamples)
    .option('--backend <name>', 'TensorFlow.js backend to train on (default: the fastest available): tensorflow | wasm | cpu', oneOf('a backend', ['tensorflow', 'wasm', 'cpu'] as const))
    .option('--rounding <mode>', `${ROUNDING_HELP} (the accuracies are measured in it)`, parseRounding, 'xnnpack' as RoundingMode)
    .option('--name <name>', 'experiment name')
    .action(async (model: string, opts: QatCliOptions) => {
      const ctx = context();
      // Everything that can be checked is checked before a job (and an experiment) exists.
      const modelPath = existingFile(model, 'Model');
      const outPath = checkOutputPath(opts.out, 'the output');
      const preprocess = preprocessFrom(opts);
      const params: QatParams = defaultQatParams({
        modelPath,
        outPath,
        train: parseDatasetSpec(opts.train).canonical,
        val: parseDatasetSpec(opts.val).canonical,
        epochs: opts.epochs,
        batchSize: opts.batch,
        learningRate: opts.lr,
        schedule: opts.schedule,
        optimizer: opts.optimizer,
        ranges: opts.ranges,
        emaDecay: opts.emaDecay,
        perChannel: !opts.perTensor,
        patience: opts.patience,
        shiftPx: opts.shift,
        distill: opts.distill,
        seed: opts.seed,
        calibrationSamples: opts.calibSamples,
        ptqSamples: opts.ptqSamples,
        rounding: opts.rounding,
        cwd: process.cwd(),
        ...(opts.backend ? { backend: opts.backend } : {}),
        ...(preprocess ? { preprocess } : {}),
      });
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'qat',
        name: opts.name ?? `qat ${opts.ranges} ${path.basename(model)}`,
        params,
        config: { verb: 'qat', ...params },
        seed: opts.seed,
        roundingMode: opts.rounding,
      });
      if (ctx.json) {
        ctx.printJson({ experimentId, ...result.summary });
        return;
      }
      const s = result.summary as {
        output: string;
        floatAccuracy: number | null;
        ptqAccuracy: number | null;
        qatAccuracy: number | null;
        epochs: number;
        seconds: number;
        backend: string;
        notes: string[];
        val: string;
        sizeBytes: number;
        history: { epoch: number; loss: number; valAccuracy: number }[];
      };
      const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
      for (const h of s.history) ctx.print(`epoch ${h.epoch}: loss ${h.loss.toFixed(4)}, validation ${pct(h.valAccuracy)} (fake-quantized)`);
      for (const note of s.notes) ctx.print(note);
      ctx.print(`${s.val} top-1 (QuantLab runtime, ${opts.rounding}): float ${pct(s.floatAccuracy)}, PTQ int8 ${pct(s.ptqAccuracy)}, QAT int8 ${pct(s.qatAccuracy)}`);
      ctx.print(`${s.output}: ${s.sizeBytes.toLocaleString('en-US')} bytes; ${s.epochs} epoch${s.epochs === 1 ? '' : 's'} in ${s.seconds.toFixed(1)} s on ${s.backend}`);
      ctx.print(`experiment ${experimentId}`);
    });
}
