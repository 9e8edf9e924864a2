/**
 * One-click fixes for what the delegate pre-flight finds. Each is a pure function
 * Graph → { graph, description, error? }: the argument is left untouched, and a fix that changes
 * numbers says by how much, measured in QuantLab's float interpreter.
 *
 * - batch: every input whose batch size (dimension 0) is unknown gets batch 1; every shape is
 *   inferred again (ir/transforms setInputShape). Exact.
 * - transpose-conv: each TRANSPOSE_CONV, and MediaPipe's CUSTOM Convolution2DTransposeBias, is
 *   replaced by ops every delegate knows. With stride s and kernel k (per dimension):
 *     k = s (same in both dimensions), no padding, output = s·input: a transpose convolution
 *     writes each input pixel's C-vector times W[o, a, b, :] to output pixel (s·i + a, s·j + b)
 *     with no overlap, which is exactly a 1×1 CONV_2D to s²·O channels, channel (a·s + b)·O + o
 *     holding W[o, a, b, :], followed by DEPTH_TO_SPACE with block s (TFLite's DCR order:
 *     out[s·i + a, s·j + b, o] = in[i, j, (a·s + b)·O + o]). Exact up to float rounding order.
 *     otherwise: RESIZE_BILINEAR to the output size, then a k×k SAME CONV_2D with the kernel
 *     flipped and divided by s_h·s_w (a transpose convolution is a convolution of the
 *     zero-upsampled input with the flipped kernel; bilinear upsampling keeps the signal where
 *     zero insertion keeps 1/s of it per dimension). An approximation: the error is reported.
 *   The error is the max |Δ| and the relative L2 norm ‖Δ‖/‖y‖ over all outputs, original against
 *   fixed model, on seeded uniform inputs in [−1, 1).
 */
import { UserError } from '../errors';
import { seededUniform } from '../random';
import { float16ArrayToFloat32 } from '../ir/float16';
import { describeOp, formatShape, isStaticShape } from '../ir/graph';
import { inferShapesWithCustomOps, tfliteTransposeConvGeometry } from '../ir/legalize';
import { setInputShape } from '../ir/transforms';
import type { FusedActivation, Graph, Op, Padding, Tensor } from '../ir/types';
import { Interpreter } from '../runtime/interpreter';
import { CONVOLUTION_2D_TRANSPOSE_BIAS, parseTransposeConvBiasOptions, transposeConvBiasGeometry } from '../runtime/kernels/convolution-2d-transpose-bias';

export interface FixError {
  /** Largest |original − fixed| over every output element. */
  maxAbs: number;
  /** ‖original − fixed‖₂ / ‖original‖₂ over every output element. */
  relativeL2: number;
  samples: number;
  seed: number;
}

export interface FixResult {
  graph: Graph;
  /** What was done, as sentences (empty when nothing applied). */
  description: string;
  /** True when the graph changed. */
  applied: boolean;
  /** The numerical effect; null for exact-by-construction fixes, or when it could not be measured (see `errorNote`). */
  error: FixError | null;
  errorNote: string | null;
  /** Per replaced op: how. */
  changes: { opIndex: number; name: string; from: string; to: string[]; exact: boolean }[];
}

// ---- batch ------------------------------------------------------------------------------------

/** Sets every unknown batch size to 1 and re-infers the shapes. Exact. */
export function fixBatchSize(graph: Graph): FixResult {
  let g = graph;
  const done: string[] = [];
  for (const t of graph.inputs) {
    const s = graph.tensors[t].shape;
    if (s.length === 0 || s[0] >= 0) continue;
    g = setInputShape(g, graph.tensors[t].name, [1, ...s.slice(1)]);
    done.push(`'${graph.tensors[t].name}' ${formatShape(s)} → ${formatShape([1, ...s.slice(1)])}`);
  }
  const still = g.tensors.filter((x) => !x.data && !isStaticShape(x.shape)).length;
  const description = done.length
    ? `Set the batch size of input ${done.join(', ')} and inferred every shape again.${still ? ` ${still} tensor(s) still have unknown dimensions (give them with --input-shape).` : ''}`
    : '';
  return { graph: g, description, applied: done.length > 0, error: null, errorNote: done.length ? 'exact: only shapes change' : null, changes: [] };
}

// ---- transpose convolution --------------------------------------------------------------------

interface TransposeConvForm {
  xT: number;
  wT: number;
  bT: number;
  yT: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
  activation: FusedActivation;
  from: string;
}

function readForm(graph: Graph, i: number, shapes: readonly (readonly number[])[]): TransposeConvForm | string {
  const op = graph.ops[i];
  const label = describeOp(graph, i);
  if (op.type === 'TRANSPOSE_CONV') {
    const [sT, wT, xT, bT = -1] = op.inputs;
    const x = shapes[xT];
    const w = shapes[wT];
    const outData = graph.tensors[sT]?.data;
    const out = outData instanceof Int32Array ? Array.from(outData) : [...shapes[op.outputs[0]]];
    if (x.length !== 4 || w.length !== 4 || out.length !== 4 || !isStaticShape(x) || !isStaticShape(out)) return `${label} has shapes QuantLab cannot fix statically (input ${formatShape(x)}, output ${formatShape(out)}).`;
    const gh = tfliteTransposeConvGeometry(out[1], w[1], op.options.strideH, op.options.padding);
    const gw = tfliteTransposeConvGeometry(out[2], w[2], op.options.strideW, op.options.padding);
    return { xT, wT, bT, yT: op.outputs[0], strideH: op.options.strideH, strideW: op.options.strideW, padTop: gh.padBefore, padLeft: gw.padBefore, outH: out[1], outW: out[2], activation: op.options.fusedActivationFunction, from: 'TRANSPOSE_CONV' };
  }
  if (op.type === 'CUSTOM' && op.code === CONVOLUTION_2D_TRANSPOSE_BIAS) {
    const [xT, wT, bT = -1] = op.inputs;
    const x = shapes[xT];
    const w = shapes[wT];
    if (x.length !== 4 || w.length !== 4 || !isStaticShape(x)) return `${label} reads input ${formatShape(x)}; fix its unknown dimensions first (--fix batch).`;
    const params = parseTransposeConvBiasOptions(op.customOptions, label);
    const gh = transposeConvBiasGeometry(x[1], w[1], params.strideH, params.padding as Padding);
    const gw = transposeConvBiasGeometry(x[2], w[2], params.strideW, params.padding as Padding);
    return { xT, wT, bT, yT: op.outputs[0], strideH: params.strideH, strideW: params.strideW, padTop: gh.padBefore, padLeft: gw.padBefore, outH: gh.outSize, outW: gw.outSize, activation: 'NONE', from: `CUSTOM '${op.code}'` };
  }
  return `${label} is not a transpose convolution.`;
}

/** Float32 values of a constant, or of a DEQUANTIZE of constant float16 weights. */
function constFloat(graph: Graph, t: number): Float32Array | undefined {
  const x = graph.tensors[t];
  if (x.data instanceof Float32Array && x.dtype === 'float32') return x.data;
  const producer = graph.ops.find((op) => op.outputs.includes(t));
  if (producer?.type === 'DEQUANTIZE') {
    const src = graph.tensors[producer.inputs[0]];
    if (src.dtype === 'float16' && src.data instanceof Uint16Array) return float16ArrayToFloat32(src.data);
  }
  return undefined;
}

/** Drops ops none of whose outputs is read or a graph output (e.g. the old weights' DEQUANTIZE). */
function dropDeadOps(graph: Graph): Graph {
  let ops = graph.ops;
  for (;;) {
    const read = new Set<number>(graph.outputs);
    for (const op of ops) for (const t of op.inputs) if (t >= 0) read.add(t);
    const keep = ops.filter((op) => op.outputs.some((t) => read.has(t)));
    if (keep.length === ops.length) return { ...graph, ops };
    ops = keep;
  }
}

/** Replaces every transpose convolution; measures the error unless every replacement is exact. */
export function fixTransposeConv(graph: Graph, options: { seed?: number; samples?: number } = {}): FixResult {
  const shapes = inferShapesWithCustomOps(graph);
  const tensors: Tensor[] = [...graph.tensors];
  const ops: Op[] = [];
  const changes: FixResult['changes'] = [];
  const skipped: string[] = [];
  const add = (t: Tensor) => tensors.push(t) - 1;
  graph.ops.forEach((op, i) => {
    const isTc = op.type === 'TRANSPOSE_CONV' || (op.type === 'CUSTOM' && op.code === CONVOLUTION_2D_TRANSPOSE_BIAS);
    if (!isTc) return void ops.push(op);
    const form = readForm(graph, i, shapes);
    if (typeof form === 'string') return void (skipped.push(form), ops.push(op));
    const x = shapes[form.xT];
    const [O, kH, kW, C] = shapes[form.wT];
    const w = constFloat(graph, form.wT);
    const b = form.bT >= 0 ? constFloat(graph, form.bT) : new Float32Array(O);
    if (!w || !b || graph.tensors[form.xT].dtype !== 'float32' || graph.tensors[form.yT].dtype !== 'float32') {
      skipped.push(`${describeOp(graph, i)} is not a float32 transpose convolution with constant weights; it is left as it is.`);
      return void ops.push(op);
    }
    const name = op.name ?? graph.tensors[form.yT].name;
    const [N, H, W] = x;
    const s = form.strideH;
    const exact = kH === s && kW === form.strideW && form.strideW === s && form.padTop === 0 && form.padLeft === 0 && form.outH === s * H && form.outW === s * W;
    if (exact) {
      const wd = new Float32Array(s * s * O * C);
      const bd = new Float32Array(s * s * O);
      for (let a = 0; a < s; a++)
        for (let bb = 0; bb < s; bb++)
          for (let o = 0; o < O; o++) {
            const ch = (a * s + bb) * O + o;
            bd[ch] = b[o];
            for (let c = 0; c < C; c++) wd[ch * C + c] = w[((o * kH + a) * kW + bb) * C + c];
          }
      const wT = add({ name: `${name}/d2s_weights`, dtype: 'float32', shape: [s * s * O, 1, 1, C], data: wd });
      const bT = add({ name: `${name}/d2s_bias`, dtype: 'float32', shape: [s * s * O], data: bd });
      const mid = add({ name: `${name}/d2s_channels`, dtype: 'float32', shape: [N, H, W, s * s * O] });
      ops.push({ type: 'CONV_2D', name: `${name}/conv1x1`, inputs: [form.xT, wT, bT], outputs: [mid], options: { padding: 'VALID', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: form.activation } });
      ops.push({ type: 'DEPTH_TO_SPACE', name, inputs: [mid], outputs: [form.yT], options: { blockSize: s } });
      changes.push({ opIndex: i, name, from: form.from, to: ['CONV_2D', 'DEPTH_TO_SPACE'], exact: true });
    } else {
      const wd = new Float32Array(O * kH * kW * C);
      const scale = 1 / (form.strideH * form.strideW);
      for (let o = 0; o < O; o++)
        for (let y = 0; y < kH; y++)
          for (let z = 0; z < kW; z++)
            for (let c = 0; c < C; c++) wd[((o * kH + y) * kW + z) * C + c] = w[((o * kH + (kH - 1 - y)) * kW + (kW - 1 - z)) * C + c] * scale;
      const sizeT = add({ name: `${name}/resize_size`, dtype: 'int32', shape: [2], data: Int32Array.from([form.outH, form.outW]) });
      const up = add({ name: `${name}/upsampled`, dtype: 'float32', shape: [N, form.outH, form.outW, C] });
      const wT = add({ name: `${name}/resize_conv_weights`, dtype: 'float32', shape: [O, kH, kW, C], data: wd });
      const bT = add({ name: `${name}/resize_conv_bias`, dtype: 'float32', shape: [O], data: Float32Array.from(b) });
      ops.push({ type: 'RESIZE_BILINEAR', name: `${name}/resize`, inputs: [form.xT, sizeT], outputs: [up], options: { alignCorners: false, halfPixelCenters: false } });
      ops.push({ type: 'CONV_2D', name, inputs: [up, wT, bT], outputs: [form.yT], options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: form.activation } });
      changes.push({ opIndex: i, name, from: form.from, to: ['RESIZE_BILINEAR', 'CONV_2D'], exact: false });
    }
  });
  if (changes.length === 0) {
    return { graph, description: skipped.join(' '), applied: false, error: null, errorNote: null, changes };
  }
  const fixed = dropDeadOps({ ...graph, tensors, ops, inputs: [...graph.inputs], outputs: [...graph.outputs] });
  const lines = changes.map(
    (c) => `Replaced op ${c.opIndex} '${c.name}' (${c.from}) by ${c.to.join(' + ')} (${c.exact ? 'exact: kernel = stride, no padding' : 'approximate: kernel ≠ stride or padded'}).`,
  );
  let error: FixError | null = null;
  let errorNote: string | null = null;
  try {
    error = measureError(graph, fixed, options.seed ?? 0, options.samples ?? 2);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    errorNote = `The error could not be measured in the QuantLab runtime: ${e.message}`;
  }
  return { graph: fixed, description: [...lines, ...skipped].join(' '), applied: true, error, errorNote, changes };
}

// ---- error ------------------------------------------------------------------------------------


/** Max |Δ| and relative L2 between two float graphs with the same inputs and outputs. */
export function measureError(original: Graph, fixed: Graph, seed: number, samples: number): FixError {
  const inputShapes = original.inputs.map((t) => original.tensors[t].shape.map((d) => (d < 0 ? 1 : d)));
  const a = Interpreter.prepare(original, { inputShapes });
  const b = Interpreter.prepare(fixed, { inputShapes });
  const next = seededUniform(seed);
  let maxAbs = 0;
  let diff2 = 0;
  let ref2 = 0;
  for (let k = 0; k < samples; k++) {
    const inputs = a.inputs.map((t) => {
      if (t.dtype !== 'float32') throw new UserError('bad-input', `Input '${t.name}' is ${t.dtype}; the error is measured on float32 inputs only.`);
      const n = t.shape.reduce((p, d) => p * d, 1);
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = next() * 2 - 1;
      return v;
    });
    const ya = a.run(inputs).outputs;
    const yb = b.run(inputs).outputs;
    ya.forEach((out, j) => {
      const p = out as Float32Array;
      const q = yb[j] as Float32Array;
      for (let i = 0; i < p.length; i++) {
        const d = p[i] - q[i];
        maxAbs = Math.max(maxAbs, Math.abs(d));
        diff2 += d * d;
        ref2 += p[i] * p[i];
      }
    });
  }
  return { maxAbs, relativeL2: ref2 > 0 ? Math.sqrt(diff2 / ref2) : Math.sqrt(diff2), samples, seed };
}

export type PreflightFixName = 'batch' | 'transpose-conv';

/** Applies the named fixes in order (batch first, so later fixes see static shapes). */
export function applyPreflightFixes(graph: Graph, fixes: readonly PreflightFixName[], options: { seed?: number; samples?: number } = {}): { graph: Graph; results: (FixResult & { fix: PreflightFixName })[] } {
  let g = graph;
  const results: (FixResult & { fix: PreflightFixName })[] = [];
  for (const fix of (['batch', 'transpose-conv'] as const).filter((f) => fixes.includes(f))) {
    const r = fix === 'batch' ? fixBatchSize(g) : fixTransposeConv(g, options);
    results.push({ ...r, fix });
    g = r.graph;
  }
  return { graph: g, results };
}
