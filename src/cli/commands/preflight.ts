/**
 * `quantlab preflight MODEL [--delegate nnapi|gpu] [--android-api N] [--fix batch|transpose-conv|all --out FIXED.tflite]`:
 * will the model run on NNAPI or the GPU delegate at that Android level — static shapes, every
 * op the delegate refuses and why, and the predicted partitions, in the benchmark tool's terms
 * (core/analysis/preflight.ts). With --fix, the one-click fixes are applied, their error is
 * measured, the pre-flight runs again on the result and the fixed model is written (a temporary
 * file, then a rename; never over the model itself). Read-only otherwise; no workspace.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { preflight, type PreflightDelegate, type PreflightPartition, type PreflightReport } from '../../core/analysis/preflight';
import { applyPreflightFixes, type FixResult, type PreflightFixName } from '../../core/analysis/preflight-fixes';
import { UserError } from '../../core/errors';
import { readTflite } from '../../core/formats/tflite/reader';
import { writeTflite } from '../../core/formats/tflite/writer';
import type { Model } from '../../core/ir/types';
import type { CliContext } from '../context';
import { checkOutputPath, sameFile, writeFileAtomic } from '../../main/jobs/files';
import { loadModelFile } from './inspect';

export const DEFAULT_ANDROID_API = 30;

function parseDelegate(v: string): PreflightDelegate {
  if (v !== 'nnapi' && v !== 'gpu') throw new InvalidArgumentError(`'${v}' is not a delegate the pre-flight knows (nnapi or gpu).`);
  return v;
}

function parseApi(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 100) throw new InvalidArgumentError(`'${v}' is not an Android API level (a whole number such as 30 for Android 11).`);
  return Number(v);
}

function parseSeed(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`'${v}' is not a seed (a whole number).`);
  return Number(v);
}

function parseFix(v: string): PreflightFixName[] {
  if (v === 'all') return ['batch', 'transpose-conv'];
  if (v === 'batch' || v === 'transpose-conv') return [v];
  throw new InvalidArgumentError(`'${v}' is not a fix (batch, transpose-conv or all).`);
}

function ranges(nodes: number[]): string {
  const sorted = [...nodes].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(j > i ? `${sorted[i]}–${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return out.length > 8 ? `${out.slice(0, 8).join(', ')}, …` : out.join(', ');
}

function printReport(ctx: CliContext, file: string, r: PreflightReport): void {
  ctx.print(`${file}: ${r.delegateName} delegate at Android API ${r.androidApi}`);
  ctx.print(`  shapes      ${r.staticShapes ? 'static everywhere' : `${r.dynamicTensors.length} tensor(s) with unknown dimensions: the delegate will be refused for the whole graph`}`);
  ctx.print(`  prediction  ${r.summary}`);
  if (!r.staticShapes) ctx.print(`  with static shapes: ${r.whenStatic.nodesDelegated} of ${r.whenStatic.nodesTotal} nodes in ${r.whenStatic.delegatedPartitions} delegate partition(s)`);
  ctx.print('');
  ctx.print(r.findings.length ? `Findings (${r.findings.length})` : 'Findings: none');
  for (const f of r.findings) ctx.print(`  ${f.severity.padEnd(7)} ${f.kind.padEnd(24)} ${f.message}`);
  if (r.staticShapes && r.nodesDelegated > 0) {
    ctx.print('');
    ctx.print(`Partitions (${r.partitions} for the whole graph, ${r.delegatedPartitions} delegated; the delegate keeps at most ${r.partitionLimit})`);
    r.partitionList.forEach((p: PreflightPartition, k) => ctx.print(`  #${k} ${(p.delegated ? r.delegateName : 'CPU').padEnd(5)} ${String(p.nodes.length).padStart(4)} node${p.nodes.length === 1 ? ' ' : 's'}  ops ${ranges(p.nodes)}`));
  }
  if (r.fixes.length) {
    ctx.print('');
    ctx.print('Fixes');
    for (const f of r.fixes) ctx.print(`  --fix ${f.id}: ${f.description}`);
  }
  if (r.notes.length) {
    ctx.print('');
    for (const n of r.notes) ctx.print(`note: ${n}`);
  }
}

function errorText(r: FixResult): string {
  if (r.error) return `max |Δ| ${r.error.maxAbs.toExponential(3)}, relative L2 ${r.error.relativeL2.toExponential(3)} (${r.error.samples} seeded random input(s), seed ${r.error.seed})`;
  return r.errorNote ?? 'not measured';
}

export function registerPreflight(program: Command, context: () => CliContext): void {
  program
    .command('preflight')
    .description('predict whether NNAPI or the GPU delegate takes a model at an Android level: static shapes, refused ops and why, partitions; optionally apply the fixes')
    .argument('<model>', 'model file (.tflite, Keras .h5/.keras, TF.js model.json)')
    .option('--delegate <name>', 'nnapi or gpu', parseDelegate, 'nnapi' as PreflightDelegate)
    .option('--android-api <n>', `the phone's Android API level (default ${DEFAULT_ANDROID_API}, Android 11)`, parseApi, DEFAULT_ANDROID_API)
    .option('--fix <which>', 'apply fixes: batch, transpose-conv or all (needs --out)', parseFix)
    .option('--out <file>', 'where --fix writes the fixed .tflite')
    .option('--seed <n>', 'seed of the random inputs the fix error is measured on', parseSeed, 0)
    .action(async (file: string, opts: { delegate: PreflightDelegate; androidApi: number; fix?: PreflightFixName[]; out?: string; seed: number }) => {
      const ctx = context();
      if (opts.fix && !opts.out) throw new UserError('bad-input', '--fix needs --out FIXED.tflite: the pre-flight never changes the model file itself.');
      if (opts.out && !opts.fix) throw new UserError('bad-input', '--out is where --fix writes the fixed model; say which fix (--fix batch|transpose-conv|all).');
      const outPath = opts.out ? checkOutputPath(opts.out, 'output file') : undefined;
      if (outPath && sameFile(outPath, file)) throw new UserError('bad-output', `--out '${opts.out}' is the model being checked; write to another file.`);
      const loaded = await loadModelFile(file);
      const graph = loaded.model.subgraphs[0];
      const report = preflight(graph, { delegate: opts.delegate, androidApi: opts.androidApi });
      if (loaded.model.subgraphs.length > 1) report.notes.push(`The model has ${loaded.model.subgraphs.length} subgraphs; the pre-flight covers subgraph 0 ('${graph.name}').`);

      let fix: { out: string; sizeBytes: number; results: (FixResult & { fix: PreflightFixName })[]; after: PreflightReport } | undefined;
      if (opts.fix && outPath && opts.out) {
        const { graph: fixed, results } = applyPreflightFixes(graph, opts.fix, { seed: opts.seed });
        const model: Model = { ...loaded.model, format: 'tflite', subgraphs: [fixed, ...loaded.model.subgraphs.slice(1)] };
        const bytes = writeTflite(model);
        readTflite(bytes, 'the fixed model'); // a file QuantLab cannot read back is not put in place
        writeFileAtomic(outPath, bytes);
        fix = { out: opts.out, sizeBytes: bytes.length, results, after: preflight(fixed, { delegate: opts.delegate, androidApi: opts.androidApi }) };
      }

      if (ctx.json) {
        const strip = (r: FixResult & { fix: PreflightFixName }) => ({ fix: r.fix, applied: r.applied, description: r.description, error: r.error, errorNote: r.errorNote, changes: r.changes });
        return ctx.printJson({ model: file, ...report, fixed: fix ? { out: fix.out, sizeBytes: fix.sizeBytes, results: fix.results.map(strip), after: fix.after } : null });
      }
      printReport(ctx, file, report);
      if (fix) {
        ctx.print('');
        for (const r of fix.results) {
          if (!r.applied) ctx.print(`--fix ${r.fix}: nothing to do${r.description ? ` (${r.description})` : ''}`);
          else ctx.print(`--fix ${r.fix}: ${r.description} Error: ${errorText(r)}.`);
        }
        ctx.print(`wrote ${fix.out} (${fix.sizeBytes.toLocaleString('en-US')} bytes); pre-flight again: ${fix.after.summary}, ${fix.after.findings.length} finding(s)`);
        for (const f of fix.after.findings) ctx.print(`  ${f.severity.padEnd(7)} ${f.kind.padEnd(24)} ${f.message}`);
      }
    });
}
