import { InvalidArgumentError, type Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors';
import { readTflite } from '../../core/formats/tflite/reader';
import type { CliContext } from '../context';
import { runJobFromCli } from '../jobs';
import type { EvalParams } from '../../main/jobs/kinds/eval';

/** `mnist`, `mnist@N`, `random:N`: the dataset specs eval understands today. */
export function parseEvalData(spec: string): { dataset: EvalParams['dataset']; count: number } {
  const m = /^(mnist)(?::(?:train|test|all))?(?:@(\d+))?$|^random:(\d+)$/.exec(spec);
  if (!m) throw new InvalidArgumentError(`'${spec}' is not a dataset eval understands (mnist, mnist@N, random:N).`);
  if (m[1]) return { dataset: 'mnist', count: m[2] ? Number(m[2]) : 10_000 };
  return { dataset: 'random', count: Number(m[3]) };
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`'${v}' is not a non-negative integer.`);
  return Number(v);
}

export function registerEval(program: Command, context: () => CliContext): void {
  program
    .command('eval')
    .description('evaluate a float .tflite model over a dataset in the QuantLab runtime; records an experiment')
    .argument('<model>', 'model file (.tflite)')
    .option('--data <spec>', 'dataset: mnist[@N] (built-in digits, x/255) or random:N (seeded uniform inputs)', 'mnist@1000')
    .option('--seed <n>', 'seed for random inputs', positiveInt, 0)
    .option('--input-scale <x>', 'multiply inputs by this (255 for models trained on raw pixels)', Number, 1)
    .option('--name <name>', 'experiment name')
    .action(async (model: string, opts: { data: string; seed: number; inputScale: number; name?: string }) => {
      const ctx = context();
      const data = parseEvalData(opts.data);
      // Bad input is refused before anything is recorded: the model must exist and parse.
      const file = path.resolve(model);
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(file);
      } catch (e) {
        throw new UserError('bad-input', `Model file '${file}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
      }
      readTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path.basename(file));
      const params: EvalParams = { modelPath: path.resolve(model), ...data, seed: opts.seed, inputScale: opts.inputScale };
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'eval',
        name: opts.name ?? `eval ${path.basename(model)} on ${opts.data}`,
        params,
        config: { verb: 'eval', ...params },
        seed: opts.seed,
      });
      if (ctx.json) ctx.printJson({ experimentId, ...result.summary, metrics: result.metrics });
      else {
        const s = result.summary as { samples: number; accuracy: number | null; latencyMs: number };
        ctx.print(`${s.samples} samples${s.accuracy !== null ? `, top-1 ${s.accuracy.toFixed(2)}%` : ''}, ${s.latencyMs.toFixed(2)} ms/sample (float32, QuantLab runtime)`);
        ctx.print(`experiment ${experimentId}`);
      }
    });
}
