/**
 * `quantlab run MODEL --input IN.npy[,IN2.npy] --output OUT.npy[,…]`: one inference in the
 * QuantLab float runtime on NumPy inputs, outputs written as .npy. Nothing is recorded in the
 * workspace (it is not even looked at): this is a probe, not an experiment.
 *
 * Everything is checked before anything is written: each input file's dtype and shape against
 * the model, every output path's folder. Outputs are written to temporary files first and renamed
 * into place only when all of them are written, so a failure leaves no partial or stale file.
 */
import { InvalidArgumentError, type Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { describeArray, readNpy, writeNpy, type NpyArray } from '../../core/data/npy';
import { UserError } from '../../core/errors';
import { formatShape } from '../../core/ir/graph';
import type { DType, Graph } from '../../core/ir/types';
import { Interpreter } from '../../core/runtime';
import type { RoundingMode } from '../../core/runtime/kernel';
import { parseRounding, ROUNDING_HELP } from '../rounding';
import type { CliContext } from '../context';
import { checkOutputPath, sameFile } from '../../main/jobs/files';
import {
  INPUT_SHAPE_HELP,
  collectInputShape,
  loadModelFile,
  resolveInputShapes,
  type InputShapeSpec,
} from './inspect';

function fileList(value: string): string[] {
  const list = value.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) throw new InvalidArgumentError(`'${value}' is not a comma-separated list of files.`);
  return list;
}

/** The dtypes `run` feeds: float32 everywhere; int8/uint8 where the model input is int8/uint8. */
const ACCEPTED_INPUT_DTYPES: readonly DType[] = ['float32', 'int8', 'uint8'];

function readInputFile(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      'bad-input',
      code === 'ENOENT' ? `Input file '${file}' does not exist.` : code === 'EISDIR' ? `Input file '${file}' is a folder.` : `Input file '${file}' cannot be read (${code ?? (e as Error).message}).`,
    );
  }
  if (file.toLowerCase().endsWith('.npz')) {
    throw new UserError('bad-input', `Input file '${file}' is a .npz archive; run takes one .npy file per model input (np.save(path, array)).`);
  }
  return readNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), file);
}

/** Whether an array fits an input whose shape may hold -1 (unknown) dimensions. */
function shapeFits(expected: readonly number[], got: readonly number[]): boolean {
  return expected.length === got.length && expected.every((d, k) => d < 0 || d === got[k]);
}

export interface RunOutputInfo {
  name: string;
  dtype: DType;
  shape: number[];
  file: string;
}

export function registerRun(program: Command, context: () => CliContext): void {
  program
    .command('run')
    .description('run a model once in the QuantLab float runtime on .npy inputs and write its outputs as .npy (records nothing)')
    .argument('<model>', 'model file (.tflite, Keras .h5/.keras, TF.js model.json)')
    .requiredOption('--input <files>', 'one .npy per model input, comma-separated, in the model\'s input order', fileList)
    .requiredOption('--output <files>', 'one .npy per model output, comma-separated, in the model\'s output order', fileList)
    .option('--input-shape <name=dims>', INPUT_SHAPE_HELP, collectInputShape)
    .option('--rounding <mode>', ROUNDING_HELP, parseRounding, 'xnnpack' as RoundingMode)
    .action(async (file: string, opts: { input: string[]; output: string[]; inputShape: InputShapeSpec[]; rounding: RoundingMode }) => {
      const ctx = context();
      const t0 = performance.now();
      const loaded = await loadModelFile(file);
      const graph: Graph = loaded.model.subgraphs[0];
      const inputNames = graph.inputs.map((t) => `'${graph.tensors[t].name}'`).join(', ');
      const outputNames = graph.outputs.map((t) => `'${graph.tensors[t].name}'`).join(', ');
      if (opts.input.length !== graph.inputs.length) {
        throw new UserError(
          'bad-input',
          `${file} takes ${graph.inputs.length} input${graph.inputs.length === 1 ? '' : 's'} (${inputNames}); --input gave ${opts.input.length} file${opts.input.length === 1 ? '' : 's'}.`,
        );
      }
      if (opts.output.length !== graph.outputs.length) {
        throw new UserError(
          'bad-output',
          `${file} has ${graph.outputs.length} output${graph.outputs.length === 1 ? '' : 's'} (${outputNames}); --output gave ${opts.output.length} file${opts.output.length === 1 ? '' : 's'}.`,
        );
      }
      // Output paths: checked before any work, distinct, never one of the files read.
      const outPaths = opts.output.map((o) => checkOutputPath(o, 'output file'));
      outPaths.forEach((p, k) => {
        const dup = outPaths.findIndex((q, j) => j < k && sameFile(p, q));
        if (dup >= 0) throw new UserError('bad-output', `--output names '${opts.output[k]}' twice.`);
        if (sameFile(p, loaded.absolutePath)) throw new UserError('bad-output', `Output file '${opts.output[k]}' is the model file; choose another name.`);
        const input = opts.input.findIndex((i) => sameFile(p, i));
        if (input >= 0) throw new UserError('bad-output', `Output file '${opts.output[k]}' is also input file '${opts.input[input]}'; choose another name.`);
      });

      const declared = resolveInputShapes(graph, opts.inputShape ?? [], file);
      const notes: string[] = [];
      const arrays = graph.inputs.map((t, k) => {
        const tensor = graph.tensors[t];
        const expectedShape = declared.get(t) ?? tensor.shape;
        const a = readInputFile(opts.input[k]);
        notes.push(...a.notes);
        const fedType: DType = a.dtype;
        const typeOk = fedType === tensor.dtype && ACCEPTED_INPUT_DTYPES.includes(fedType);
        if (!typeOk || !shapeFits(expectedShape, a.shape)) {
          const what = a.descr.endsWith('f8') ? `${formatShape(a.shape)} float64` : describeArray(a);
          const hint = !ACCEPTED_INPUT_DTYPES.includes(tensor.dtype) ? ` (run feeds float32, int8 and uint8 inputs only)` : '';
          throw new UserError('bad-input', `input '${tensor.name}' expects ${formatShape(expectedShape)} ${tensor.dtype} but ${opts.input[k]} holds ${what}${hint}.`);
        }
        return a;
      });

      const tPrepare = performance.now();
      const interp = Interpreter.prepare(graph, { inputShapes: arrays.map((a) => a.shape), rounding: opts.rounding });
      const tRun = performance.now();
      const result = interp.run(arrays.map((a) => a.data));
      const tDone = performance.now();

      const outputs: RunOutputInfo[] = interp.outputs.map((o, k) => ({ name: o.name, dtype: o.dtype, shape: [...o.shape], file: opts.output[k] }));
      const encoded = outputs.map((o, k) => writeNpy({ dtype: o.dtype, shape: o.shape, data: result.outputs[k] }));
      writeAllAtomic(outPaths, encoded, opts.output);

      const timing = { loadMs: tPrepare - t0, prepareMs: tRun - tPrepare, runMs: tDone - tRun };
      if (ctx.json) {
        ctx.printJson({
          model: file,
          runtime: 'QuantLab runtime',
          rounding: opts.rounding,
          inputs: graph.inputs.map((t, k) => ({ name: graph.tensors[t].name, dtype: arrays[k].dtype, shape: arrays[k].shape, file: opts.input[k] })),
          outputs,
          timing,
          notes,
        });
        return;
      }
      for (const n of notes) ctx.warn(`note: ${n}`);
      for (const o of outputs) ctx.print(`wrote ${o.file}: '${o.name}' ${o.dtype} ${formatShape(o.shape)}`);
      ctx.print(`ran in ${timing.runMs.toFixed(1)} ms (prepare ${timing.prepareMs.toFixed(1)} ms; QuantLab float runtime, one inference)`);
    });
}

/**
 * Writes every file to a temporary sibling, then renames them all into place. If any write
 * fails, every temporary file is removed and no destination is touched.
 */
function writeAllAtomic(paths: readonly string[], contents: readonly Uint8Array[], shown: readonly string[]): void {
  const temps: string[] = [];
  try {
    paths.forEach((p, k) => {
      const tmp = path.join(path.dirname(p), `.${path.basename(p)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
      temps.push(tmp);
      try {
        fs.writeFileSync(tmp, contents[k], { flag: 'wx' });
      } catch (e) {
        throw new UserError('write-failed', `Cannot write '${shown[k]}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, { cause: e });
      }
    });
    paths.forEach((p, k) => fs.renameSync(temps[k], p));
  } finally {
    for (const t of temps) fs.rmSync(t, { force: true });
  }
}
