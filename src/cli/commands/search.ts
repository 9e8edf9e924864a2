/**
 * `quantlab search MODEL --calib DATASET --data DATASET --budget 0.3 --out OUT.tflite
 *  [--cost size|latency] [--min-sqnr DB] [--json]`: the cheapest set of layers to keep float so
 * the quantized model stays within the accuracy budget; writes that model and records the search.
 */
import { InvalidArgumentError, type Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors';
import type { SearchCost } from '../../core/analysis/search';
import type { SearchParams } from '../../main/jobs/kinds/search';
import type { CliContext } from '../context';
import { finiteNumber } from '../options';
import { runJobFromCli } from '../jobs';
import { addStudyOptions, score, studyParams } from './sensitivity';
import type { StudyFlags } from './sensitivity';

interface SearchFlags extends StudyFlags {
  out: string;
  budget?: number;
  minSqnr?: number;
  cost: SearchCost;
}

function costKind(v: string): SearchCost {
  if (v !== 'size' && v !== 'latency') throw new InvalidArgumentError(`'${v}' is not a cost (size or latency).`);
  return v;
}

function budget(v: string): number {
  const n = finiteNumber(v);
  if (n < 0) throw new InvalidArgumentError(`'${v}' is not a budget in accuracy points (≥ 0).`);
  return n;
}

export function registerSearch(program: Command, context: () => CliContext): void {
  const cmd = program.command('search');
  addStudyOptions(cmd)
    .description('mixed precision: the cheapest set of layers kept float that keeps accuracy within --budget points of float (greedy from the sensitivities); writes the model and records an experiment')
    .requiredOption('--out <file>', 'output .tflite')
    .option('--budget <points>', 'accuracy points below float allowed (labelled data)', budget)
    .option('--min-sqnr <dB>', 'minimum output SQNR against float (unlabelled data)', finiteNumber)
    .option('--cost <kind>', 'size (bytes of the .tflite) | latency (desktop, estimated from MACs)', costKind, 'size' as SearchCost)
    .action(async (model: string, opts: SearchFlags) => {
      const ctx = context();
      const outPath = path.resolve(opts.out);
      if (!fs.existsSync(path.dirname(outPath))) throw new UserError('bad-input', `The output folder '${path.dirname(outPath)}' does not exist.`);
      if (fs.existsSync(outPath) && fs.statSync(outPath).isDirectory()) throw new UserError('bad-input', `--out '${outPath}' is a folder; give a file name.`);
      if (opts.budget === undefined && opts.minSqnr === undefined) throw new UserError('bad-input', 'Give the target: --budget POINTS (accuracy below float, labelled data) or --min-sqnr DB (unlabelled data).');
      const params: SearchParams = {
        ...studyParams(model, opts),
        outPath,
        cost: opts.cost,
        ...(opts.budget !== undefined ? { budgetPoints: opts.budget } : {}),
        ...(opts.minSqnr !== undefined ? { minSqnrDb: opts.minSqnr } : {}),
      };
      const { experimentId, result } = await runJobFromCli(ctx, {
        kind: 'search',
        name: opts.name ?? `search ${path.basename(model)}`,
        params,
        config: { verb: 'search', ...params },
        seed: opts.seed,
        roundingMode: opts.rounding,
      });
      if (ctx.json) {
        ctx.printJson({ experimentId, ...result.summary });
        return;
      }
      type E = { accuracyPct: number | null; outputSqnrDb: number | null; sizeBytes: number; estLatencyMs: number };
      const s = result.summary as { output: string; met: boolean; keepFloat: string[]; layers: number; evaluations: number; sizeBytes: number; best: E; float: E; quantized: E; data: string; samples: number };
      ctx.print(`${path.basename(model)} on ${s.samples} samples of ${s.data}: float ${score(s.float)} (${s.float.sizeBytes.toLocaleString('en-US')} B), all ${opts.recipe} ${score(s.quantized)} (${s.quantized.sizeBytes.toLocaleString('en-US')} B)`);
      ctx.print(`${s.met ? 'met' : 'MISSED'} the target: ${s.keepFloat.length === 0 ? 'every layer integer' : `kept float: ${s.keepFloat.join(', ')}`} → ${score(s.best)}, ${s.sizeBytes.toLocaleString('en-US')} B, est. ${s.best.estLatencyMs.toFixed(3)} ms`);
      ctx.print(`${s.evaluations} evaluations for ${s.layers} layers`);
      ctx.print(`${s.output}`);
      ctx.print(`experiment ${experimentId}`);
      if (!s.met) ctx.exitCode = 1;
    });
}
