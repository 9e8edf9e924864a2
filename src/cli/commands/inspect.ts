/**
 * `quantlab inspect MODEL`: what a model is, what it costs, and whether QuantLab can run it.
 * Read-only: it touches neither the model file nor the workspace.
 *
 * Also exports the model-file helpers the other model verbs (run, convert) share: loading a
 * model file with sentences for the usual mistakes, and `--input-shape NAME=D1,D2,…`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { analyzeCost, type LayerCost } from '../../core/analysis/cost';
import { UserError } from '../../core/errors';
import { FORMATS, openModelFile } from '../../core/formats/index';
import { formatShape, isStaticShape } from '../../core/ir/graph';
import { inferShapesWithCustomOps, LEGALIZABLE_CUSTOM_OPS } from '../../core/ir/legalize';
import type { DType, Graph, Model, QuantParams } from '../../core/ir/types';
import { ALL_KERNELS, Interpreter } from '../../core/runtime';
import type { RoundingMode } from '../../core/runtime/kernel';
import type { OpRequantization } from '../../core/runtime/interpreter';
import { parseRounding, ROUNDING_HELP } from '../rounding';
import type { CliContext } from '../context';

// ---- shared by the model verbs ----------------------------------------------------------------

/** One `--input-shape` value: `NAME=1,224,224,3`, or `1,224,224,3` for a model with one input. */
export interface InputShapeSpec {
  name?: string;
  shape: number[];
  /** As typed, for messages. */
  text: string;
}

/** Commander parser for the repeatable `--input-shape` option (bad syntax is bad usage: exit 2). */
export function collectInputShape(value: string, previous: InputShapeSpec[] = []): InputShapeSpec[] {
  const eq = value.lastIndexOf('=');
  const name = eq >= 0 ? value.slice(0, eq) : undefined;
  const dims = (eq >= 0 ? value.slice(eq + 1) : value).split(',').map((d) => d.trim());
  if (name === '' || dims.length === 0 || dims.some((d) => !/^\d+$/.test(d) || Number(d) < 1 || !Number.isSafeInteger(Number(d)))) {
    throw new InvalidArgumentError(`'${value}' is not NAME=D1,D2,… with positive whole-number dimensions (e.g. input=1,224,224,3).`);
  }
  return [...previous, { name, shape: dims.map(Number), text: value }];
}

export const INPUT_SHAPE_HELP = 'fix the shape of a model input, e.g. input=1,224,224,3 (repeatable; NAME= may be left out when the model has one input)';

function quoteList(names: string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}

/**
 * Graph-input shapes from `--input-shape` values (and `--batch`, which sets dimension 0 of every
 * input not given explicitly). Keys are tensor indices. Throws a UserError sentence for a name
 * that is not an input, a rank that does not match, or a conflict with `--batch`.
 */
export function resolveInputShapes(graph: Graph, specs: readonly InputShapeSpec[], modelName: string, batch?: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const inputNames = graph.inputs.map((t) => graph.tensors[t].name);
  for (const spec of specs) {
    let t: number;
    if (spec.name === undefined) {
      if (graph.inputs.length !== 1) {
        throw new UserError('bad-input', `${modelName} has ${graph.inputs.length} inputs (${quoteList(inputNames)}); say which one --input-shape ${spec.text} is for, as NAME=${spec.text}.`);
      }
      t = graph.inputs[0];
    } else {
      const k = inputNames.indexOf(spec.name);
      if (k < 0) throw new UserError('bad-input', `${modelName} has no input called '${spec.name}' (its inputs are ${quoteList(inputNames) || 'none'}).`);
      t = graph.inputs[k];
    }
    const tensor = graph.tensors[t];
    if (out.has(t)) throw new UserError('bad-input', `--input-shape names input '${tensor.name}' twice.`);
    if (tensor.shape.length !== spec.shape.length) {
      throw new UserError(
        'bad-input',
        `--input-shape ${spec.text}: input '${tensor.name}' of ${modelName} has ${tensor.shape.length} dimensions (${formatShape(tensor.shape)}), not ${spec.shape.length}.`,
      );
    }
    if (batch !== undefined && spec.shape[0] !== batch) {
      throw new UserError('bad-input', `--batch ${batch} contradicts --input-shape ${spec.text} (batch ${spec.shape[0]}).`);
    }
    out.set(t, [...spec.shape]);
  }
  if (batch !== undefined) {
    for (const t of graph.inputs) {
      const s = graph.tensors[t].shape;
      if (!out.has(t) && s.length > 0) out.set(t, [batch, ...s.slice(1)]);
    }
  }
  return out;
}

export interface LoadedModel {
  /** As the user typed it (for messages). */
  name: string;
  absolutePath: string;
  model: Model;
  sizeBytes: number;
}

/** Opens a model file of any registered format; sentences for missing files and folders. */
export async function loadModelFile(file: string): Promise<LoadedModel> {
  const absolutePath = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolutePath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('bad-input', code === 'ENOENT' ? `Model file '${file}' does not exist.` : `Model file '${file}' cannot be read (${code ?? (e as Error).message}).`);
  }
  if (stat.isDirectory()) throw new UserError('bad-input', `Model file '${file}' is a folder; give the model file inside it (.tflite, .h5, .keras or model.json).`);
  const model = await openModelFile(absolutePath);
  if (model.subgraphs.length === 0) throw new UserError('bad-model', `${file} holds no graph.`);
  return { name: file, absolutePath, model, sizeBytes: stat.size };
}

export interface TensorSummary {
  index: number;
  name: string;
  dtype: DType;
  shape: number[];
}

export function tensorSummary(graph: Graph, t: number): TensorSummary {
  const x = graph.tensors[t];
  return { index: t, name: x.name, dtype: x.dtype, shape: [...x.shape] };
}


// ---- inspect ----------------------------------------------------------------------------------

export interface QuantSummary {
  index: number;
  name: string;
  dtype: DType;
  shape: number[];
  /** Per tensor: one scale and zero point. */
  scale?: number;
  zeroPoint?: number;
  /** Per axis: summarised. */
  axis?: number;
  channels?: number;
  minScale?: number;
  maxScale?: number;
  minZeroPoint?: number;
  maxZeroPoint?: number;
}

function quantSummary(graph: Graph, t: number, q: QuantParams): QuantSummary {
  const x = graph.tensors[t];
  const base = { index: t, name: x.name, dtype: x.dtype, shape: [...x.shape] };
  if (q.scale.length === 1) return { ...base, scale: q.scale[0], zeroPoint: q.zeroPoint[0] ?? 0 };
  const zps = q.zeroPoint.length ? q.zeroPoint : [0];
  return {
    ...base,
    axis: q.axis ?? 0,
    channels: q.scale.length,
    minScale: Math.min(...q.scale),
    maxScale: Math.max(...q.scale),
    minZeroPoint: Math.min(...zps),
    maxZeroPoint: Math.max(...zps),
  };
}

export interface InspectReport {
  file: string;
  format: string;
  formatName: string;
  producer: string | null;
  description: string | null;
  sizeBytes: number;
  subgraphs: number;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  opCount: number;
  opHistogram: { op: string; kind: LayerCost['kind']; count: number }[];
  customOps: { code: string; count: number; runsInQuantLab: boolean; legalizable: boolean }[];
  parameterCount: number;
  parameterBytes: number;
  totalMacs: number;
  totalElementOps: number;
  totalMemoryAccessBytes: number;
  /** Ops whose MACs are unknown (left out of the totals). */
  unknownCostOps: number[];
  /** The input shapes the costs and memory figures are for. */
  analyzedInputShapes: { name: string; shape: number[] }[];
  shapeSource: 'runtime' | 'shape-inference';
  runnable: boolean;
  /** Why the QuantLab runtime cannot run the model (as a sentence), when it cannot. */
  notRunnableReason: string | null;
  peakActivationBytes: number | null;
  /** What the activations would take without reusing memory. */
  naiveActivationBytes: number | null;
  layers: LayerCost[];
  quantizedTensors: QuantSummary[];
  /** The rounding mode the requantization below is for. */
  rounding: RoundingMode;
  /**
   * Per integer op, what the runtime really computes: M = S_in·S_w/S_out (per channel where the
   * weights are per channel), the fixed-point M0 and shift, the arithmetic that runs in this mode.
   */
  requantization: OpRequantization[];
  notes: string[];
}

/** Everything `inspect` reports, as data. */
export function inspectModel(loaded: LoadedModel, specs: readonly InputShapeSpec[] = [], rounding: RoundingMode = 'xnnpack'): InspectReport {
  const { model } = loaded;
  const graph = model.subgraphs[0];
  const notes: string[] = [];
  if (model.subgraphs.length > 1) notes.push(`The model has ${model.subgraphs.length} subgraphs; this report covers subgraph 0 ('${graph.name}').`);

  // Input shapes: as given; an unknown batch alone is taken as 1 (and said).
  const shapes = resolveInputShapes(graph, specs, loaded.name);
  for (const t of graph.inputs) {
    const s = graph.tensors[t].shape;
    if (shapes.has(t) || isStaticShape(s)) continue;
    if (s.length > 0 && s[0] < 0 && isStaticShape(s.slice(1))) {
      shapes.set(t, [1, ...s.slice(1)]);
      notes.push(`Input '${graph.tensors[t].name}' has an unknown batch size (${formatShape(s)}); costs and memory are for batch 1 (choose with --input-shape ${graph.tensors[t].name}=N,${s.slice(1).join(',')}).`);
    } else {
      notes.push(`Input '${graph.tensors[t].name}' has unknown dimensions (${formatShape(s)}); give them with --input-shape ${graph.tensors[t].name}=… for costs and memory.`);
    }
  }

  let tensorShapes: number[][];
  let runnable = false;
  let notRunnableReason: string | null = null;
  let peak: number | null = null;
  let naive: number | null = null;
  let requantization: OpRequantization[] = [];
  try {
    const interp = Interpreter.prepare(graph, { inputShapes: graph.inputs.map((t) => shapes.get(t)), rounding });
    runnable = true;
    requantization = interp.requantization();
    peak = interp.peakActivationBytes;
    naive = interp.memoryPlan.naiveBytes;
    tensorShapes = graph.tensors.map((_, i) => interp.tensorShape(i));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    notRunnableReason = e.message;
    tensorShapes = inferShapesWithCustomOps(graph, shapes);
  }
  const cost = analyzeCost(graph, tensorShapes);

  const histogram = new Map<string, { op: string; kind: LayerCost['kind']; count: number }>();
  for (const l of cost.layers) {
    const key = `${l.kind}:${l.op}`;
    const h = histogram.get(key) ?? { op: l.op, kind: l.kind, count: 0 };
    h.count++;
    histogram.set(key, h);
  }
  const opHistogram = [...histogram.values()].sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
  const customOps = opHistogram
    .filter((h) => h.kind === 'custom')
    .map((h) => ({
      code: h.op,
      count: h.count,
      runsInQuantLab: ALL_KERNELS.some((k) => k.opType === 'CUSTOM' && k.customCode === h.op),
      legalizable: LEGALIZABLE_CUSTOM_OPS.includes(h.op),
    }));

  const quantizedTensors: QuantSummary[] = [];
  graph.tensors.forEach((t, i) => {
    if (t.quant && t.quant.scale.length > 0) quantizedTensors.push(quantSummary(graph, i, t.quant));
  });

  return {
    file: loaded.name,
    format: model.format,
    formatName: FORMATS.find((f) => f.id === model.format)?.name ?? model.format,
    producer: model.producer ?? null,
    description: model.description ?? null,
    sizeBytes: loaded.sizeBytes,
    subgraphs: model.subgraphs.length,
    inputs: graph.inputs.map((t) => tensorSummary(graph, t)),
    outputs: graph.outputs.map((t) => tensorSummary(graph, t)),
    opCount: graph.ops.length,
    opHistogram,
    customOps,
    parameterCount: cost.parameterCount,
    parameterBytes: cost.parameterBytes,
    totalMacs: cost.totalMacs,
    totalElementOps: cost.totalElementOps,
    totalMemoryAccessBytes: cost.totalMemoryAccessBytes,
    unknownCostOps: cost.unknownCostOps,
    analyzedInputShapes: graph.inputs.map((t) => ({ name: graph.tensors[t].name, shape: [...tensorShapes[t]] })),
    shapeSource: runnable ? 'runtime' : 'shape-inference',
    runnable,
    notRunnableReason,
    peakActivationBytes: peak,
    naiveActivationBytes: naive,
    layers: cost.layers,
    quantizedTensors,
    rounding,
    requantization,
    notes,
  };
}

// ---- human output -----------------------------------------------------------------------------

export function thousands(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 1.23M, 45.6K: for summaries; tables print exact numbers. */
function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

function bytesText(n: number): string {
  if (n >= 1 << 20) return `${thousands(n)} bytes (${(n / (1 << 20)).toFixed(2)} MiB)`;
  if (n >= 1 << 10) return `${thousands(n)} bytes (${(n / (1 << 10)).toFixed(1)} KiB)`;
  return `${thousands(n)} bytes`;
}

function clip(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, width - 1)}…`;
}

/** Rows of cells → aligned lines; columns listed in `right` are right-aligned. */
export function alignTable(rows: string[][], right: ReadonlySet<number>, indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, k) => (widths[k] = Math.max(widths[k] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, k) => (right.has(k) ? c.padStart(widths[k]) : k === r.length - 1 ? c : c.padEnd(widths[k]))).join('  ').trimEnd());
}

function scaleText(v: number): string {
  return v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);
}

function printInspect(ctx: CliContext, r: InspectReport): void {
  const head: [string, string][] = [
    ['format', `${r.formatName} (${r.format})${r.subgraphs > 1 ? `, ${r.subgraphs} subgraphs` : ''}`],
  ];
  if (r.producer) head.push(['producer', r.producer]);
  if (r.description && r.description !== r.producer) head.push(['description', r.description]);
  head.push(['file size', bytesText(r.sizeBytes)]);
  head.push(['parameters', `${thousands(r.parameterCount)}, stored in ${bytesText(r.parameterBytes)}`]);
  head.push(['MACs', `${thousands(r.totalMacs)} (${compact(r.totalMacs)}) per inference${r.unknownCostOps.length ? `, not counting ${r.unknownCostOps.length} op(s) of unknown cost` : ''}`]);
  head.push(['memory access', `${bytesText(r.totalMemoryAccessBytes)} per inference`]);
  head.push([
    'peak activations',
    r.peakActivationBytes !== null
      ? `${bytesText(r.peakActivationBytes)} (QuantLab memory plan; ${bytesText(r.naiveActivationBytes ?? 0)} without reuse)`
      : `unknown: the QuantLab runtime cannot run this model. ${r.notRunnableReason}`,
  ]);
  ctx.print(r.file);
  for (const [k, v] of head) ctx.print(`  ${k.padEnd(17)} ${v}`);
  for (const n of r.notes) ctx.print(`  note: ${n}`);

  const io = (title: string, list: TensorSummary[]) => {
    ctx.print('');
    ctx.print(title);
    for (const line of alignTable(list.map((t) => [`'${t.name}'`, t.dtype, formatShape(t.shape)]), new Set())) ctx.print(line);
  };
  io('Inputs', r.inputs);
  io('Outputs', r.outputs);

  ctx.print('');
  ctx.print(`Ops (${r.opCount})`);
  for (const line of alignTable(r.opHistogram.map((h) => [h.kind === 'custom' ? `${h.op} (custom)` : h.op, String(h.count)]), new Set([1]))) ctx.print(line);
  if (r.customOps.length) {
    ctx.print('');
    ctx.print('Custom ops');
    for (const c of r.customOps) {
      const facts = [c.runsInQuantLab ? 'the QuantLab runtime runs it' : 'the QuantLab runtime does not run it', c.legalizable ? "'convert --legalize' rewrites it as builtins" : 'no builtin rewrite known'];
      ctx.print(`  ${c.code} ×${c.count}: ${facts.join('; ')}`);
    }
  }

  ctx.print('');
  const folded = r.layers.filter((l) => l.foldedAtLoad);
  ctx.print(`Layers (${r.analyzedInputShapes.map((s) => `'${s.name}' ${formatShape(s.shape)}`).join(', ')})`);
  const rows = [['#', 'op', 'name', 'output', 'params', 'MACs', 'bytes r+w', 'MAC/byte']];
  const num = (v: number | null) => (v === null ? '?' : thousands(v));
  for (const l of r.layers) {
    if (l.foldedAtLoad) continue;
    rows.push([
      String(l.opIndex),
      l.kind === 'custom' ? `${l.op}*` : l.op,
      clip(l.name, 40),
      l.outputShapes.map((s) => formatShape(s)).join(' '),
      l.paramCount ? thousands(l.paramCount) : '',
      num(l.macs),
      num(l.memoryAccessBytes),
      l.arithmeticIntensity === null || l.macs === 0 ? '' : l.arithmeticIntensity.toFixed(2),
    ]);
  }
  for (const line of alignTable(rows, new Set([0, 4, 5, 6, 7]))) ctx.print(line);
  if (r.customOps.length) ctx.print('  * custom op');
  if (folded.length) {
    const kinds = [...new Set(folded.map((l) => l.op))].join(', ');
    ctx.print(`  ${folded.length} ${kinds} op(s) with only constant inputs run once when the model loads (not listed; their outputs count as the parameters of the layers that read them).`);
  }

  if (r.quantizedTensors.length) {
    ctx.print('');
    ctx.print(`Quantized tensors (${r.quantizedTensors.length})`);
    const qrows = r.quantizedTensors.map((q) => [
      String(q.index),
      clip(`'${q.name}'`, 42),
      q.dtype,
      formatShape(q.shape),
      q.scale !== undefined
        ? `scale ${scaleText(q.scale)}, zero point ${q.zeroPoint}`
        : `per axis ${q.axis} (${q.channels} channels): scale ${scaleText(q.minScale!)} … ${scaleText(q.maxScale!)}, zero point ${q.minZeroPoint === q.maxZeroPoint ? q.minZeroPoint : `${q.minZeroPoint} … ${q.maxZeroPoint}`}`,
    ]);
    for (const line of alignTable(qrows, new Set([0]))) ctx.print(line);
  }

  if (r.requantization.length) {
    ctx.print('');
    ctx.print(`Requantization in rounding mode '${r.rounding}': q_out = Z_out + M · Σ(q_in − Z_in)(q_w − Z_w), M = M0 · 2^(shift − 31)`);
    const range = (v: number[], f: (x: number) => string) => {
      const lo = Math.min(...v);
      const hi = Math.max(...v);
      return lo === hi ? f(lo) : `${f(lo)} … ${f(hi)}`;
    };
    const rrows = r.requantization.map((q) => [
      String(q.opIndex),
      q.type,
      clip(`'${q.name}'`, 36),
      q.arithmetic,
      q.real.length > 1 ? `${q.real.length}×` : '',
      `M ${range(q.real, (x) => x.toPrecision(6))}`,
      `M0 ${range(q.m0, (x) => String(x))}`,
      `shift ${range(q.shift, (x) => String(x))}`,
    ]);
    for (const line of alignTable(rrows, new Set([0]))) ctx.print(line);
    ctx.print('  (per output channel where the weights are per channel; --json lists every value)');
  }
}

export function registerInspect(program: Command, context: () => CliContext): void {
  program
    .command('inspect')
    .description('describe a model: format, inputs/outputs, ops, parameters, per-layer MACs and memory traffic, peak activation memory, quantization')
    .argument('<model>', 'model file (.tflite, Keras .h5/.keras, TF.js model.json)')
    .option('--input-shape <name=dims>', INPUT_SHAPE_HELP, collectInputShape)
    .option('--rounding <mode>', ROUNDING_HELP, parseRounding, 'xnnpack' as RoundingMode)
    .action(async (file: string, opts: { inputShape?: InputShapeSpec[]; rounding: RoundingMode }) => {
      const ctx = context();
      const report = inspectModel(await loadModelFile(file), opts.inputShape ?? [], opts.rounding);
      if (ctx.json) ctx.printJson(report);
      else printInspect(ctx, report);
    });
}
