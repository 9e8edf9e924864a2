/**
 * `quantlab convert MODEL --out OUT.tflite`: any model QuantLab reads → a float .tflite.
 *
 *   --batch N                 fixes dimension 0 of every input
 *   --input-shape NAME=dims   fixes an input's shape (unknown dimensions, or a new size)
 *   --legalize                rewrites custom ops that have builtin equivalents (ir/legalize)
 *
 * With fixed input shapes every activation shape is inferred again (through the custom ops whose
 * rule QuantLab knows), so the file has static shapes wherever they can be derived; what stays
 * dynamic, and which custom ops remain, is said. The file is read back before it is put in place,
 * written atomically, and never over the model it came from. Nothing is recorded in the workspace.
 */
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { UserError } from '../../core/errors';
import { readTflite } from '../../core/formats/tflite/reader';
import { writeTflite } from '../../core/formats/tflite/writer';
import { formatShape, isStaticShape } from '../../core/ir/graph';
import { legalizeGraph, withInputShapes, type LegalizedOp, type RemainingCustomOp } from '../../core/ir/legalize';
import type { Graph, Model } from '../../core/ir/types';
import type { CliContext } from '../context';
import { checkOutputPath, sameFile, writeFileAtomic } from '../../main/jobs/files';
import {
  INPUT_SHAPE_HELP,
  collectInputShape,
  loadModelFile,
  resolveInputShapes,
  tensorSummary,
  type InputShapeSpec,
  type TensorSummary,
} from './inspect';

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`'${v}' is not a positive whole number.`);
  return Number(v);
}

export interface ConvertReport {
  model: string;
  out: string;
  sizeBytes: number;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  legalized: LegalizedOp[];
  remainingCustomOps: RemainingCustomOp[];
  /** Tensors whose shape is still not static, by name. */
  dynamicTensors: string[];
  notes: string[];
}

/** The conversion itself, on an opened model: returns the file bytes and what was done. */
export function convertModel(
  model: Model,
  modelName: string,
  opts: { batch?: number; inputShape?: readonly InputShapeSpec[]; legalize?: boolean },
): { bytes: Uint8Array; graph: Graph; legalized: LegalizedOp[]; remaining: RemainingCustomOp[]; dynamic: number[]; notes: string[] } {
  const notes: string[] = [];
  let graph = model.subgraphs[0];
  const shapes = resolveInputShapes(graph, opts.inputShape ?? [], modelName, opts.batch);
  for (const [t, s] of shapes) {
    const declared = graph.tensors[t].shape;
    if (declared.some((d, k) => d >= 0 && d !== s[k])) {
      notes.push(`Input '${graph.tensors[t].name}' changes from ${formatShape(declared)} to ${formatShape(s)}.`);
    }
  }
  const fixed = withInputShapes(graph, shapes);
  graph = fixed.graph;

  let legalized: LegalizedOp[] = [];
  let remaining: RemainingCustomOp[] = [];
  if (opts.legalize) {
    const r = legalizeGraph(graph);
    graph = r.graph;
    legalized = r.legalized;
    remaining = r.remaining;
  } else {
    graph.ops.forEach((op, i) => {
      if (op.type === 'CUSTOM') {
        remaining.push({ subgraph: 0, opIndex: i, name: op.name ?? graph.tensors[op.outputs[0]]?.name ?? `#${i}`, code: op.code, reason: 'not legalized (--legalize was not given)' });
      }
    });
  }
  if (opts.batch !== undefined) {
    for (const t of graph.outputs) {
      const s = graph.tensors[t].shape;
      if (s.length > 0 && s[0] >= 0 && s[0] !== opts.batch) {
        notes.push(
          `Output '${graph.tensors[t].name}' has shape ${formatShape(s)} for batch ${opts.batch}: the model does not carry the batch through (an op such as RESHAPE fixes it), so that output mixes the samples.`,
        );
      }
    }
  }
  if (model.subgraphs.length > 1) notes.push(`The model has ${model.subgraphs.length} subgraphs; shapes were fixed and custom ops legalized in subgraph 0 only.`);
  const dynamic = graph.tensors.map((t, i) => (isStaticShape(t.shape) ? -1 : i)).filter((i) => i >= 0);
  const out: Model = {
    ...model,
    format: 'tflite',
    subgraphs: [graph, ...model.subgraphs.slice(1)],
    description: model.format === 'tflite' && model.description ? model.description : `Converted by QuantLab from ${path.basename(modelName)}${model.producer ? ` (${model.producer})` : ''}`,
  };
  const bytes = writeTflite(out);
  // Read it back: a file QuantLab cannot read again is not put in place.
  readTflite(bytes, 'the converted model');
  return { bytes, graph, legalized, remaining, dynamic, notes };
}

export function registerConvert(program: Command, context: () => CliContext): void {
  program
    .command('convert')
    .description('write any model QuantLab reads as a float .tflite, optionally with a fixed batch / input shapes and custom ops rewritten as builtins')
    .argument('<model>', 'model file (.tflite, Keras .h5/.keras, TF.js model.json)')
    .requiredOption('--out <file>', 'the .tflite file to write')
    .option('--batch <n>', 'fix the batch size (dimension 0) of every input', positiveInt)
    .option('--input-shape <name=dims>', INPUT_SHAPE_HELP, collectInputShape)
    .option('--legalize', 'rewrite custom ops that have builtin equivalents (MediaPipe Convolution2DTransposeBias → TRANSPOSE_CONV)')
    .action(async (file: string, opts: { out: string; batch?: number; inputShape?: InputShapeSpec[]; legalize?: boolean }) => {
      const ctx = context();
      const outPath = checkOutputPath(opts.out, 'output file');
      if (sameFile(outPath, file)) throw new UserError('bad-output', `--out '${opts.out}' is the model being converted; write to another file.`);
      const loaded = await loadModelFile(file);
      const r = convertModel(loaded.model, file, { batch: opts.batch, inputShape: opts.inputShape, legalize: opts.legalize });
      writeFileAtomic(outPath, r.bytes);

      const report: ConvertReport = {
        model: file,
        out: opts.out,
        sizeBytes: r.bytes.length,
        inputs: r.graph.inputs.map((t) => tensorSummary(r.graph, t)),
        outputs: r.graph.outputs.map((t) => tensorSummary(r.graph, t)),
        legalized: r.legalized,
        remainingCustomOps: r.remaining,
        dynamicTensors: r.dynamic.map((t) => r.graph.tensors[t].name),
        notes: r.notes,
      };
      if (ctx.json) return ctx.printJson(report);
      ctx.print(`wrote ${opts.out} (${r.bytes.length.toLocaleString('en-US')} bytes, TensorFlow Lite)`);
      for (const t of report.inputs) ctx.print(`  input  '${t.name}' ${t.dtype} ${formatShape(t.shape)}`);
      for (const t of report.outputs) ctx.print(`  output '${t.name}' ${t.dtype} ${formatShape(t.shape)}`);
      for (const l of r.legalized) ctx.print(`  legalized op ${l.opIndex} '${l.name}': ${l.from} → ${l.to.join(' + ')}`);
      for (const n of r.notes) ctx.print(`  note: ${n}`);
      if (r.remaining.length) {
        const codes = [...new Set(r.remaining.map((x) => x.code))];
        ctx.warn(`note: custom op${codes.length > 1 ? 's' : ''} ${codes.map((c) => `'${c}'`).join(', ')} remain${codes.length > 1 ? '' : 's'}: a TFLite interpreter needs ${codes.length > 1 ? 'them' : 'it'} registered to load this file.`);
        for (const x of r.remaining) ctx.warn(`  op ${x.opIndex} '${x.name}': ${x.reason}`);
      }
      if (r.dynamic.length) {
        const ins = r.graph.inputs.filter((t) => r.dynamic.includes(t)).map((t) => `'${r.graph.tensors[t].name}' ${formatShape(r.graph.tensors[t].shape)}`);
        ctx.warn(
          `note: ${r.dynamic.length} tensor(s) keep unknown dimensions${ins.length ? ` (inputs ${ins.join(', ')})` : ''}; delegates need static shapes: fix them with --batch or --input-shape.`,
        );
      }
    });
}
