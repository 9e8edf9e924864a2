/**
 * `quantlab explain MODEL --op NAME|INDEX --index I|n,h,w,c [--input IN.npy] [--float FLOAT_MODEL]
 * [--rounding double|single|xnnpack] [--seed N]`: follows one output element of one integer
 * CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED through the integer pipeline (core/runtime/explain.ts)
 * and prints each number on the way, the real value q3 stands for and the float model's value.
 *
 * Inputs: one .npy per model input (float32 for a float input; for an integer input, int8/uint8
 * as is or float32 quantized with the input's scale and zero point, half away from zero), or
 * seeded random data. The traced q3 is checked against what the interpreter wrote; a difference
 * is reported and makes the exit code 1. Nothing is recorded in the workspace.
 */
import { InvalidArgumentError, type Command } from 'commander';
import fs from 'node:fs';
import { describeArray, readNpy, type NpyArray } from '../../core/data/npy';
import { UserError } from '../../core/errors';
import { formatShape } from '../../core/ir/graph';
import type { Graph, TensorData } from '../../core/ir/types';
import { explainElement, type ExplainTrace } from '../../core/runtime/explain';
import type { RoundingMode } from '../../core/runtime/kernel';
import { QUANT_RANGES, quantizeToCodes } from '../../core/runtime/quantized-util';
import { parseRounding, ROUNDING_HELP } from '../rounding';
import type { CliContext } from '../context';
import { loadModelFile } from './inspect';

/** How many window terms the text output lists (--json lists them all). */
const TERMS_SHOWN = 12;

function parseIndex(value: string): number | number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError(`'${value}' is not an element index (a flat index such as 37, or coordinates such as 0,3,1,2).`);
  }
  const numbers = parts.map(Number);
  return numbers.length === 1 ? numbers[0] : numbers;
}

function parseSeed(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a seed (a non-negative integer).`);
  return Number(value);
}

function readInput(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('bad-input', code === 'ENOENT' ? `Input file '${file}' does not exist.` : `Input file '${file}' cannot be read (${code ?? (e as Error).message}).`);
  }
  return readNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), file);
}

/** One array per graph input, in the input's dtype (float32 arrays quantized for integer inputs). */
function inputsFromFiles(graph: Graph, files: string[], modelFile: string): TensorData[] {
  if (files.length !== graph.inputs.length) {
    throw new UserError('bad-input', `${modelFile} takes ${graph.inputs.length} input(s); --input gave ${files.length} file(s).`);
  }
  return graph.inputs.map((t, k) => {
    const tensor = graph.tensors[t];
    const a = readInput(files[k]);
    const size = tensor.shape.reduce((x, d) => x * d, 1);
    if (a.shape.length !== tensor.shape.length || a.shape.some((d, i) => tensor.shape[i] >= 0 && d !== tensor.shape[i]) || a.data.length !== size) {
      throw new UserError('bad-input', `input '${tensor.name}' expects ${formatShape(tensor.shape)} but ${files[k]} holds ${describeArray(a)}.`);
    }
    if (a.dtype === tensor.dtype) return a.data;
    const range = QUANT_RANGES[tensor.dtype];
    const q = tensor.quant;
    if (a.dtype === 'float32' && range && q && q.scale.length === 1) {
      return quantizeToCodes(a.data as Float32Array, tensor.dtype, q.scale[0], q.zeroPoint[0] ?? 0);
    }
    throw new UserError('bad-input', `input '${tensor.name}' is ${tensor.dtype} but ${files[k]} holds ${describeArray(a)}; give ${tensor.dtype}${range ? ' or float32' : ''} data.`);
  });
}

const ARITHMETIC_NAMES: Record<string, string> = {
  'double-rounding': 'double rounding (reference kernels, gemmlowp)',
  'single-rounding': 'single rounding (builtin optimized kernels)',
  xnnpack: 'XNNPACK float32 requantization',
  int16x8: 'int16x8 (int64 accumulator, Q15 multiplier)',
};

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(9)));
}

function printTrace(ctx: CliContext, file: string, t: ExplainTrace, inputNote: string, floatFile?: string): void {
  const p = (s = '') => ctx.print(s);
  const c = t.element.channel;
  p(`${file}: op ${t.op.index} '${t.op.name}' (${t.op.type}), element ${t.element.flatIndex} = [${t.element.coords.join(', ')}] (output channel ${c}); rounding ${t.rounding}; ${inputNote}`);
  p(`  input   '${t.input.name}' ${t.input.dtype} ${formatShape(t.input.shape)}   S1 = ${num(t.input.scale)}   Z1 = ${t.input.zeroPoint}`);
  p(`  weights '${t.weights.name}' ${t.weights.dtype} ${formatShape(t.weights.shape)}   S2[${c}] = ${num(t.weights.scale)}   Z2 = ${t.weights.zeroPoint}`);
  p(`  output  '${t.output.name}' ${t.output.dtype} ${formatShape(t.output.shape)}   S3 = ${num(t.output.scale)}   Z3 = ${t.output.zeroPoint}`);
  p();
  const padded = t.paddedTaps > 0 ? `, ${t.paddedTaps} more in the padding (they add (Z1 − Z1)·q2 = 0)` : '';
  p(`window: ${t.terms.length} products (q1 − Z1)(q2 − Z2)${padded}`);
  for (const term of t.terms.slice(0, TERMS_SHOWN)) {
    p(`  q1 ${t.input.name}[${term.inputAt.join(',')}] = ${term.q1}   q2 ${t.weights.name}[${term.weightAt.join(',')}] = ${term.q2}   (${term.q1} − ${t.input.zeroPoint})·(${term.q2} − ${t.weights.zeroPoint}) = ${term.product}`);
  }
  if (t.terms.length > TERMS_SHOWN) p(`  … ${t.terms.length - TERMS_SHOWN} more (--json lists them all)`);
  p(`acc   = Σ (q1 − Z1)(q2 − Z2)                 = ${t.accumulator}`);
  p(`acc′  = acc + bias${t.bias ? ` '${t.bias.name}'[${c}]` : ' (none)'} = ${t.accumulator} + ${t.bias?.value ?? 0} = ${t.accumulatorWithBias}`);
  const rq = t.requantization;
  p(`requantize with ${ARITHMETIC_NAMES[rq.arithmetic] ?? rq.arithmetic}:`);
  p(`  M = S1·S2/S3 = ${num(rq.real)}   M0 = ${rq.m0}   shift = ${rq.shift}   (M ≈ M0·2^(shift−31))   XNNPACK scale = ${num(rq.xnnpackScale)}`);
  p(`  ${rq.formula}`);
  const steps = Object.entries(rq.steps).map(([k, v]) => `${k} = ${num(v)}`);
  if (steps.length) p(`  ${steps.join('   ')}`);
  p(`  M·acc′ → ${rq.result}`);
  p(`+ Z3 (${t.output.zeroPoint})                               = ${t.withOffset}`);
  p(`clamp to [${t.clamp.min}, ${t.clamp.max}] (${t.output.dtype} range ∩ fused ${t.fusedActivation}) → q3 = ${t.q3}`);
  p(t.matches ? `interpreter wrote q3 = ${t.interpreterQ3}: the same` : `interpreter wrote q3 = ${t.interpreterQ3}: THE TRACE DISAGREES (a QuantLab bug; please report it)`);
  p(`real value S3·(q3 − Z3) = ${num(t.output.scale)}·(${t.q3} − ${t.output.zeroPoint}) = ${num(t.dequantized)}`);
  const source = t.float.source === 'float-model' ? `float model ${floatFile ?? ''} tensor '${t.float.tensor}', on the dequantized input` : 'the float op on the dequantized input, weights and bias';
  p(`float value             = ${num(t.float.value)}   (${source}); difference ${num(t.dequantized - t.float.value)}`);
  if (t.float.note) p(`note: ${t.float.note}`);
}

export function registerExplain(program: Command, context: () => CliContext): void {
  program
    .command('explain')
    .description('trace one output element of an integer CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED through the integer pipeline (records nothing)')
    .argument('<model>', 'integer model file (.tflite)')
    .requiredOption('--op <name|index>', 'the op, by name (its first output tensor) or index')
    .requiredOption('--index <i|n,h,w,c>', 'the output element: a flat index or one coordinate per dimension', parseIndex)
    .option('--input <files>', 'one .npy per model input, comma-separated (float32 is quantized for integer inputs); default: seeded random data')
    .option('--float <model>', 'the float model this one was quantized from, run on the dequantized input for the float value')
    .option('--rounding <mode>', ROUNDING_HELP, parseRounding, 'xnnpack' as RoundingMode)
    .option('--seed <n>', 'seed of the random input when --input is not given', parseSeed, 1)
    .action(async (file: string, opts: { op: string; index: number | number[]; input?: string; float?: string; rounding: RoundingMode; seed: number }) => {
      const ctx = context();
      const loaded = await loadModelFile(file);
      const graph = loaded.model.subgraphs[0];
      const inputs = opts.input ? inputsFromFiles(graph, opts.input.split(',').map((s) => s.trim()), file) : undefined;
      const floatGraph = opts.float ? (await loadModelFile(opts.float)).model.subgraphs[0] : undefined;
      const trace = explainElement(graph, { op: opts.op, index: opts.index, rounding: opts.rounding, inputs, seed: opts.seed, floatGraph });
      const inputNote = opts.input ? `input from ${opts.input}` : `seeded random input (seed ${opts.seed})`;
      if (!trace.matches) ctx.exitCode = 1;
      if (ctx.json) {
        ctx.printJson({ model: file, inputFiles: opts.input ?? null, seed: opts.input ? null : opts.seed, floatModel: opts.float ?? null, ...trace });
        return;
      }
      printTrace(ctx, file, trace, inputNote, opts.float);
      if (!trace.matches) ctx.warn(`quantlab: the traced q3 ${trace.q3} differs from the interpreter's ${trace.interpreterQ3}; this is a QuantLab bug.`);
    });
}
