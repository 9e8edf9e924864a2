/**
 * Traces one output element of one integer op through the integer pipeline, the way the
 * runtime computes it (notes/int8.md):
 *
 *   acc = Σ (q1 − Z1)(q2 − Z2)            int32 accumulation over the element's window
 *   acc' = acc + bias                      bias in S1·S2 units, zero point 0
 *   y = M · acc'                           requantization in the plan's arithmetic
 *   q3 = clamp(y + Z3, min, max)           output offset, then type range ∩ fused activation
 *   r3 = S3 · (q3 − Z3)                    the real value q3 stands for
 *
 * beside the float value: from a float model's tensor of the same name when one is given, else
 * the float op computed on the dequantized inputs, weights and bias. The trace is recomputed
 * here from the fixed-point functions, independently of the kernels, and `matches` says whether
 * its q3 equals what the interpreter wrote for that element.
 *
 * Ops: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with int8/uint8 (or int16x8) data.
 */
import { UserError } from '../errors';
import { seededUniform } from '../random';
import type { DType, FusedActivation, Graph, Op, TensorData } from '../ir/types';
import {
  multiplyByQuantizedMultiplierSingle,
  roundHalfToEven,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../quant/fixed-point';
import { activationRange } from './activation';
import { Interpreter, opName, opTypeLabel } from './interpreter';
import type { OpRequantization } from './interpreter';
import type { RoundingMode } from './kernel';
import { convOutputSize, paddingBefore } from './padding';
import type { Arithmetic } from './quantized-util';
import { QUANT_RANGES, quantizedActivationRange, requantize } from './quantized-util';

export const EXPLAINABLE_OPS = ['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'] as const;
export type ExplainableOp = (typeof EXPLAINABLE_OPS)[number];

/** One product of the accumulation. */
export interface ExplainTerm {
  /** Coordinates of q1 in the op's input tensor. */
  inputAt: number[];
  /** Coordinates of q2 in the weight tensor. */
  weightAt: number[];
  q1: number;
  q2: number;
  /** (q1 − Z1)(q2 − Z2) */
  product: number;
}

export interface ExplainTensor {
  index: number;
  name: string;
  dtype: DType;
  shape: number[];
  /** The scale and zero point that apply to the traced element (its channel for per-axis weights). */
  scale: number;
  zeroPoint: number;
}

export interface ExplainRequantization {
  arithmetic: Arithmetic;
  /** M = S1·S2 / S3 as the runtime computed it (double). */
  real: number;
  m0: number;
  shift: number;
  /** XNNPACK's float32 multiplier fl(fl(S1·S2) / S3). */
  xnnpackScale: number;
  /** Intermediate values of the chosen arithmetic, named as in the formula shown by `formula`. */
  steps: Record<string, number>;
  formula: string;
  /** M · acc' before the output offset. */
  result: number;
}

export interface ExplainTrace {
  op: { index: number; name: string; type: ExplainableOp };
  rounding: RoundingMode;
  element: { flatIndex: number; coords: number[]; channel: number };
  input: ExplainTensor;
  weights: ExplainTensor;
  bias: { name: string; value: number } | null;
  output: ExplainTensor;
  fusedActivation: FusedActivation;
  terms: ExplainTerm[];
  /** Window taps that fell in the padding (they contribute (Z1 − Z1)·q2 = 0). */
  paddedTaps: number;
  accumulator: number;
  accumulatorWithBias: number;
  requantization: ExplainRequantization;
  withOffset: number;
  clamp: { min: number; max: number };
  q3: number;
  /** What the interpreter wrote for this element. */
  interpreterQ3: number;
  matches: boolean;
  /** S3 · (q3 − Z3) */
  dequantized: number;
  float: { value: number; source: 'float-model' | 'float-op'; tensor?: string; note?: string };
}

export interface ExplainOptions {
  /** Op name or index (a string of digits is an index). */
  op: string | number;
  /** Flat index into the op's output, or its coordinates. */
  index: number | readonly number[];
  rounding: RoundingMode;
  /** One array per graph input, of the input's dtype; seeded random data when absent. */
  inputs?: readonly TensorData[];
  seed?: number;
  /** The float model the integer one was made from, run on the dequantized inputs. */
  floatGraph?: Graph;
}

// ---- finding the op and the element -----------------------------------------------------------

function describeOp(graph: Graph, i: number): string {
  return `${i} '${opName(graph, graph.ops[i], i)}' (${opTypeLabel(graph.ops[i])})`;
}

function isExplainable(graph: Graph, op: Op): op is Extract<Op, { type: ExplainableOp }> {
  if (!(EXPLAINABLE_OPS as readonly string[]).includes(op.type)) return false;
  const input = graph.tensors[op.inputs[0]];
  return input !== undefined && ['int8', 'uint8', 'int16'].includes(input.dtype);
}

/** The op index a name or index refers to; UserError sentences name the op and what is valid. */
export function resolveExplainOp(graph: Graph, ref: string | number): number {
  const count = graph.ops.length;
  const candidates = graph.ops.map((_, i) => i).filter((i) => isExplainable(graph, graph.ops[i]));
  const valid =
    candidates.length > 0
      ? `integer ${EXPLAINABLE_OPS.join('/')} ops here: ${candidates.map((i) => describeOp(graph, i)).join(', ')}`
      : `this graph has no integer ${EXPLAINABLE_OPS.join(', ')} op`;
  let index: number;
  if (typeof ref === 'number' || /^\d+$/.test(ref)) {
    index = Number(ref);
    if (index >= count) {
      throw new UserError('bad-input', `Op index ${index} is out of range: the graph has ${count} op${count === 1 ? '' : 's'} (0 to ${count - 1}); ${valid}.`);
    }
  } else {
    const byName = graph.ops.map((_, i) => i).filter((i) => opName(graph, graph.ops[i], i) === ref);
    if (byName.length === 0) {
      throw new UserError('bad-input', `No op is named '${ref}' in the graph; give an index from 0 to ${count - 1} or a name (${valid}).`);
    }
    index = byName[0];
  }
  if (!isExplainable(graph, graph.ops[index])) {
    throw new UserError('bad-input', `Op ${describeOp(graph, index)} cannot be traced: explain follows integer ${EXPLAINABLE_OPS.join(', ')} ops; ${valid}.`);
  }
  return index;
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Flat index and coordinates of an element of `shape`, from either form. */
export function resolveElement(shape: readonly number[], index: number | readonly number[], what: string): { flatIndex: number; coords: number[] } {
  const size = shape.reduce((a, b) => a * b, 1);
  const strides = stridesOf(shape);
  const shapeText = `[${shape.join(', ')}]`;
  if (typeof index === 'number') {
    if (!Number.isInteger(index) || index < 0 || index >= size) {
      throw new UserError('bad-input', `Element ${index} is outside ${what}, which has ${size} elements (shape ${shapeText}): give 0 to ${size - 1} or ${shape.length} comma-separated coordinates.`);
    }
    return { flatIndex: index, coords: strides.map((s, k) => Math.floor(index / s) % shape[k]) };
  }
  if (index.length !== shape.length || index.some((v, k) => !Number.isInteger(v) || v < 0 || v >= shape[k])) {
    throw new UserError('bad-input', `Element [${index.join(', ')}] is outside ${what} of shape ${shapeText}: give ${shape.length} coordinates, each from 0 to its dimension − 1, or a flat index from 0 to ${size - 1}.`);
  }
  return { flatIndex: index.reduce((a, v, k) => a + v * strides[k], 0), coords: [...index] };
}

// ---- inputs -----------------------------------------------------------------------------------

/** The seeded generator, so a trace without --input can be repeated. */
export const seededRandom = seededUniform;

/**
 * Seeded inputs for every graph input: integers over the type's range, floats over the range the
 * first QUANTIZE of that input can represent (else [−1, 1]).
 */
export function randomInputs(graph: Graph, seed: number, shapes?: readonly number[][]): TensorData[] {
  const r = seededRandom(seed);
  return graph.inputs.map((t, k) => {
    const tensor = graph.tensors[t];
    const n = (shapes?.[k] ?? tensor.shape).reduce((a, b) => a * Math.max(b, 1), 1);
    const range = QUANT_RANGES[tensor.dtype];
    if (range) {
      const [lo, hi] = range;
      const values = Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
      return tensor.dtype === 'int8' ? Int8Array.from(values) : tensor.dtype === 'uint8' ? Uint8Array.from(values) : Int16Array.from(values);
    }
    if (tensor.dtype !== 'float32') throw new UserError('bad-input', `Input '${tensor.name}' is ${tensor.dtype}; explain makes random float32, int8, uint8 and int16 inputs only (give --input).`);
    let lo = -1;
    let hi = 1;
    const quantize = graph.ops.find((op) => op.type === 'QUANTIZE' && op.inputs[0] === t);
    const q = quantize ? graph.tensors[quantize.outputs[0]].quant : undefined;
    const qRange = quantize ? QUANT_RANGES[graph.tensors[quantize.outputs[0]].dtype] : undefined;
    if (q && qRange && q.scale.length === 1) {
      lo = q.scale[0] * (qRange[0] - q.zeroPoint[0]);
      hi = q.scale[0] * (qRange[1] - q.zeroPoint[0]);
    }
    return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
  });
}

/** The graph inputs as float32 (dequantized where they are integers), for a float model. */
export function dequantizedInputs(graph: Graph, inputs: readonly TensorData[]): Float32Array[] {
  return graph.inputs.map((t, k) => {
    const tensor = graph.tensors[t];
    const data = inputs[k];
    if (data instanceof Float32Array) return data;
    const q = tensor.quant;
    if (!q || q.scale.length !== 1) throw new UserError('bad-input', `Input '${tensor.name}' is ${tensor.dtype} without one scale; it cannot be dequantized for the float model.`);
    const s = Math.fround(q.scale[0]);
    const z = q.zeroPoint[0] ?? 0;
    return Float32Array.from(data as ArrayLike<number>, (v) => s * (Number(v) - z));
  });
}

// ---- the trace --------------------------------------------------------------------------------

interface Window {
  terms: ExplainTerm[];
  paddedTaps: number;
  channel: number;
}

/** A tensor with the scale and zero point of `channel` (per-axis) or its only ones. */
function tensorAt(graph: Graph, interp: Interpreter, index: number, channel: number): ExplainTensor {
  const t = graph.tensors[index];
  const q = t.quant;
  const k = q !== undefined && q.scale.length > 1 ? channel : 0;
  return {
    index,
    name: t.name,
    dtype: t.dtype,
    shape: interp.tensorShape(index),
    scale: q ? Math.fround(q.scale[k]) : NaN,
    zeroPoint: q ? (q.zeroPoint[k] ?? q.zeroPoint[0] ?? 0) : 0,
  };
}

function convWindow(
  op: Extract<Op, { type: 'CONV_2D' | 'DEPTHWISE_CONV_2D' }>,
  coords: number[],
  inShape: number[],
  wShape: number[],
  x: TensorData,
  w: TensorData,
  z1: number,
  z2: number,
): Window {
  const [n, oy, ox, c] = coords;
  const [, inH, inW, inC] = inShape;
  const o = op.options;
  const depthwise = op.type === 'DEPTHWISE_CONV_2D';
  const kH = wShape[1];
  const kW = wShape[2];
  const outH = convOutputSize(o.padding, inH, kH, o.strideH, o.dilationHFactor);
  const outW = convOutputSize(o.padding, inW, kW, o.strideW, o.dilationWFactor);
  const padTop = paddingBefore(inH, kH, o.strideH, o.dilationHFactor, outH);
  const padLeft = paddingBefore(inW, kW, o.strideW, o.dilationWFactor, outW);
  const outC = depthwise ? wShape[3] : wShape[0];
  const multiplier = depthwise ? outC / inC : 1;
  const terms: ExplainTerm[] = [];
  let paddedTaps = 0;
  for (let ky = 0; ky < kH; ky++) {
    for (let kx = 0; kx < kW; kx++) {
      const iy = oy * o.strideH - padTop + ky * o.dilationHFactor;
      const ix = ox * o.strideW - padLeft + kx * o.dilationWFactor;
      const channels = depthwise ? [Math.floor(c / multiplier)] : Array.from({ length: inC }, (_, i) => i);
      for (const ic of channels) {
        if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) {
          paddedTaps++;
          continue;
        }
        const q1 = Number(x[((n * inH + iy) * inW + ix) * inC + ic]);
        const weightAt = depthwise ? [0, ky, kx, c] : [c, ky, kx, ic];
        const q2 = Number(w[depthwise ? (ky * kW + kx) * outC + c : ((c * kH + ky) * kW + kx) * inC + ic]);
        terms.push({ inputAt: [n, iy, ix, ic], weightAt, q1, q2, product: (q1 - z1) * (q2 - z2) });
      }
    }
  }
  return { terms, paddedTaps, channel: c };
}

function fullyConnectedWindow(flatIndex: number, wShape: number[], x: TensorData, w: TensorData, z1: number, z2: number): Window {
  const [outC, depth] = wShape;
  const row = Math.floor(flatIndex / outC);
  const c = flatIndex % outC;
  const terms: ExplainTerm[] = [];
  for (let k = 0; k < depth; k++) {
    const q1 = Number(x[row * depth + k]);
    const q2 = Number(w[c * depth + k]);
    terms.push({ inputAt: [row, k], weightAt: [c, k], q1, q2, product: (q1 - z1) * (q2 - z2) });
  }
  return { terms, paddedTaps: 0, channel: c };
}

function requantizeSteps(acc: number, rq: OpRequantization, c: number): ExplainRequantization {
  const arithmetic = rq.arithmetic as Arithmetic;
  const m0 = rq.m0[c];
  const shift = rq.shift[c];
  const scale = rq.xnnpackScale[c];
  const base = { arithmetic, real: rq.real[c], m0, shift, xnnpackScale: scale };
  switch (arithmetic) {
    case 'double-rounding': {
      const left = shift > 0 ? shift : 0;
      const right = shift > 0 ? 0 : -shift;
      const shifted = left === 0 ? acc : Math.imul(acc, left === 31 ? -2147483648 : 1 << left);
      const high = saturatingRoundingDoublingHighMul(shifted, m0);
      const result = roundingDivideByPOT(high, right);
      return {
        ...base,
        steps: { leftShift: left, shifted, highMul: high, rightShift: right },
        formula: 'highMul = SaturatingRoundingDoublingHighMul(acc′·2^leftShift, M0) (nudge ±2^30, truncate); result = RoundingDivideByPOT(highMul, rightShift) (half away from zero)',
        result,
      };
    }
    case 'single-rounding': {
      const s = 31 - shift;
      const result = multiplyByQuantizedMultiplierSingle(acc, m0, shift);
      return {
        ...base,
        steps: { totalShift: s },
        formula: 'result = (acc′·M0 + 2^(totalShift−1)) >> totalShift in 64 bits (half up)',
        result,
      };
    }
    case 'xnnpack': {
      const accFloat = Math.fround(acc);
      const product = Math.fround(accFloat * scale);
      const result = roundHalfToEven(product);
      return {
        ...base,
        steps: { accFloat32: accFloat, productFloat32: product },
        formula: 'result = round_half_to_even(fl(fl(acc′) · scale)) in float32',
        result,
      };
    }
    case 'int16x8': {
      const result = requantize(acc, { kind: 'requantizer', arithmetic, real: Float64Array.of(rq.real[c]), m0: Int32Array.of(m0), shift: Int32Array.of(shift), scale: Float32Array.of(scale) }, 0);
      return { ...base, steps: {}, formula: 'result = MultiplyByQuantizedMultiplier(int64 acc′, M0 reduced to Q15, shift)', result };
    }
  }
}

/** Traces one output element of one integer CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED. */
export function explainElement(graph: Graph, options: ExplainOptions): ExplainTrace {
  const opIndex = resolveExplainOp(graph, options.op);
  const op = graph.ops[opIndex] as Extract<Op, { type: ExplainableOp }>;
  const name = opName(graph, op, opIndex);
  const label = `Op ${opIndex} '${name}' (${op.type})`;
  const interp = Interpreter.prepare(graph, { rounding: options.rounding, preserveIntermediates: true });
  const inputs = options.inputs ? [...options.inputs] : randomInputs(graph, options.seed ?? 1, interp.inputs.map((t) => t.shape));
  interp.run(inputs);

  const [xIndex, wIndex] = op.inputs;
  const bIndex = op.inputs[2] ?? -1;
  const yIndex = op.outputs[0];
  const outShape = interp.tensorShape(yIndex);
  const { flatIndex, coords } = resolveElement(outShape, options.index, `the output of ${label}`);
  const x = interp.readTensor(xIndex);
  const w = interp.readTensor(wIndex);
  const inShape = interp.tensorShape(xIndex);
  const wShape = interp.tensorShape(wIndex);
  const channelOf = op.type === 'FULLY_CONNECTED' ? flatIndex % wShape[0] : coords[coords.length - 1];
  const input = tensorAt(graph, interp, xIndex, 0);
  const weights = tensorAt(graph, interp, wIndex, channelOf);
  const output = tensorAt(graph, interp, yIndex, 0);

  const win =
    op.type === 'FULLY_CONNECTED'
      ? fullyConnectedWindow(flatIndex, wShape, x, w, input.zeroPoint, weights.zeroPoint)
      : convWindow(op, coords, inShape, wShape, x, w, input.zeroPoint, weights.zeroPoint);
  const c = win.channel;
  const accumulator = win.terms.reduce((a, t) => a + t.product, 0);
  const bias = bIndex >= 0 ? { name: graph.tensors[bIndex].name, value: Number(interp.readTensor(bIndex)[c]) } : null;
  const accumulatorWithBias = accumulator + (bias?.value ?? 0);

  const rqAll = interp.requantization().filter((r) => r.opIndex === opIndex);
  const rq = rqAll.find((r) => r.role.endsWith('rq')) ?? rqAll[0];
  if (!rq) throw new UserError('bad-input', `${label} has no requantization in the prepared plan; it cannot be traced.`);
  const rqChannel = rq.m0.length > 1 ? c : 0;
  const requantization = requantizeSteps(accumulatorWithBias, rq, rqChannel);
  const act = op.options.fusedActivationFunction;
  const clamp = quantizedActivationRange(label, act, { scale: output.scale, zeroPoint: output.zeroPoint }, output.dtype, requantization.arithmetic);
  const withOffset = requantization.result + output.zeroPoint;
  const q3 = Math.min(Math.max(withOffset, clamp.min), clamp.max);
  const interpreterQ3 = Number(interp.readTensor(yIndex)[flatIndex]);

  return {
    op: { index: opIndex, name, type: op.type },
    rounding: options.rounding,
    element: { flatIndex, coords, channel: c },
    input,
    weights,
    bias,
    output,
    fusedActivation: act,
    terms: win.terms,
    paddedTaps: win.paddedTaps,
    accumulator,
    accumulatorWithBias,
    requantization,
    withOffset,
    clamp,
    q3,
    interpreterQ3,
    matches: q3 === interpreterQ3,
    dequantized: Math.fround(output.scale * (q3 - output.zeroPoint)),
    float: floatValue(graph, options, inputs, yIndex, flatIndex, { input, weights, bias, terms: win.terms, act, label, channel: c }),
  };
}

interface FloatOpParts {
  input: ExplainTensor;
  weights: ExplainTensor;
  bias: { name: string; value: number } | null;
  terms: ExplainTerm[];
  act: FusedActivation;
  label: string;
  channel: number;
}

function floatValue(graph: Graph, options: ExplainOptions, inputs: TensorData[], yIndex: number, flatIndex: number, parts: FloatOpParts): ExplainTrace['float'] {
  const outName = graph.tensors[yIndex].name;
  let note: string | undefined;
  if (options.floatGraph) {
    const fg = options.floatGraph;
    const t = fg.tensors.findIndex((x) => x.name === outName);
    if (t < 0) {
      note = `the float model has no tensor named '${outName}'; the float op was computed instead`;
    } else if (fg.inputs.length !== graph.inputs.length) {
      note = `the float model takes ${fg.inputs.length} inputs and this one ${graph.inputs.length}; the float op was computed instead`;
    } else {
      const fi = Interpreter.prepare(fg, { preserveIntermediates: true });
      fi.run(dequantizedInputs(graph, inputs));
      const data = fi.readTensor(t);
      if (flatIndex < data.length) return { value: Number(data[flatIndex]), source: 'float-model', tensor: outName };
      note = `the float model's '${outName}' has ${data.length} values; the float op was computed instead`;
    }
  }
  // r = Σ S1(q1 − Z1) · S2(q2 − Z2) + S1·S2·bias, then the fused activation, in double.
  const { input, weights, bias } = parts;
  let sum = 0;
  for (const term of parts.terms) sum += input.scale * (term.q1 - input.zeroPoint) * (weights.scale * (term.q2 - weights.zeroPoint));
  if (bias) sum += input.scale * weights.scale * bias.value;
  const range = activationRange(parts.act, parts.label);
  const value = Math.min(Math.max(sum, range.min), range.max);
  return note ? { value, source: 'float-op', note } : { value, source: 'float-op' };
}
