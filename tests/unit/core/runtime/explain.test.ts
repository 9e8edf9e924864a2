/**
 * `explainElement` traces one output element of an integer CONV_2D / DEPTHWISE_CONV_2D /
 * FULLY_CONNECTED. For many seeded elements, in each rounding mode:
 * - the traced q3 equals what the interpreter wrote (the trace says so, and the test reads the
 *   interpreter's output itself);
 * - the accumulation equals a BigInt computation written here from the model's own arrays;
 * - the requantization steps follow the formula they claim (BigInt for the fixed-point forms).
 * Multipliers include exact powers of two, where the modes disagree on ties.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/core/errors';
import type { Graph, Model } from '../../../../src/core/ir/types';
import { explainElement, resolveElement, resolveExplainOp } from '../../../../src/core/runtime/explain';
import { Interpreter } from '../../../../src/core/runtime/interpreter';
import type { RoundingMode } from '../../../../src/core/runtime/kernel';
import { singleOpModel } from '../../../helpers/tflite-model';
import { rng } from './reference';

const MODES: RoundingMode[] = ['double-rounding', 'single-rounding', 'xnnpack'];
const S_IN = 0.05;
const S_OUT = 0.1;

function ints(r: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** Per-channel weight scales: 0.25 and 0.5 give M = 1/8 and 1/4 exactly (ties); the rest are ordinary. */
function weightScales(r: () => number, n: number): number[] {
  return Array.from({ length: n }, (_, c) => (c === 0 ? 0.25 : c === 1 ? 0.5 : 0.001 + 0.01 * r()));
}

interface Built {
  model: Model;
  input: Int8Array;
  inShape: number[];
  weights: Int8Array;
  wShape: number[];
  bias: Int32Array;
}

function conv(seed: number, depthwise: boolean): Built {
  const r = rng(seed);
  const inShape = [1, 7, 6, 3];
  const mult = 2;
  const outC = depthwise ? inShape[3] * mult : 5;
  const wShape = depthwise ? [1, 3, 3, outC] : [outC, 3, 3, inShape[3]];
  const sw = weightScales(r, outC);
  const weights = Int8Array.from(ints(r, wShape.reduce((a, b) => a * b, 1), -127, 127));
  const bias = Int32Array.from(ints(r, outC, -3000, 3000));
  const input = Int8Array.from(ints(r, inShape.reduce((a, b) => a * b, 1), -128, 127));
  const common = {
    inputs: [
      { name: 'x', dtype: 'int8' as const, shape: inShape, quant: { scale: [S_IN], zeroPoint: [7] } },
      { name: 'w', dtype: 'int8' as const, shape: wShape, data: weights, quant: { scale: sw, zeroPoint: sw.map(() => 0), axis: depthwise ? 3 : 0 } },
      { name: 'b', dtype: 'int32' as const, shape: [outC], data: bias, quant: { scale: sw.map((s) => s * S_IN), zeroPoint: sw.map(() => 0), axis: 0 } },
    ],
    outputs: [{ name: 'y', dtype: 'int8' as const, quant: { scale: [S_OUT], zeroPoint: [-4] } }],
  };
  const model = depthwise
    ? singleOpModel({
        type: 'DEPTHWISE_CONV_2D',
        options: { padding: 'SAME', strideW: 1, strideH: 2, depthMultiplier: mult, dilationWFactor: 2, dilationHFactor: 1, fusedActivationFunction: 'RELU6' },
        ...common,
      })
    : singleOpModel({
        type: 'CONV_2D',
        options: { padding: 'SAME', strideW: 2, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'RELU' },
        ...common,
      });
  return { model, input, inShape, weights, wShape, bias };
}

/** `small`: weights in [−1, 1], inputs and bias near zero, so M·acc′ stays inside int8 and ties show. */
function fullyConnected(seed: number, perChannel: boolean, small = false): Built {
  const r = rng(seed);
  const inShape = [3, 20];
  const outC = 6;
  const wShape = [outC, 20];
  const sw = perChannel ? weightScales(r, outC) : [0.25];
  const weights = Int8Array.from(small ? ints(r, outC * 20, -1, 1) : ints(r, outC * 20, -127, 127));
  const bias = Int32Array.from(small ? ints(r, outC, -8, 8) : ints(r, outC, -3000, 3000));
  const input = Int8Array.from(small ? ints(r, 60, -13, 7) : ints(r, 60, -128, 127));
  const model = singleOpModel({
    type: 'FULLY_CONNECTED',
    options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false },
    inputs: [
      { name: 'x', dtype: 'int8', shape: inShape, quant: { scale: [S_IN], zeroPoint: [-3] } },
      { name: 'w', dtype: 'int8', shape: wShape, data: weights, quant: { scale: sw, zeroPoint: sw.map(() => 0), axis: 0 } },
      { name: 'b', dtype: 'int32', shape: [outC], data: bias, quant: { scale: sw.map((s) => s * S_IN), zeroPoint: sw.map(() => 0), axis: 0 } },
    ],
    outputs: [{ name: 'y', dtype: 'int8', shape: [3, outC], quant: { scale: [S_OUT], zeroPoint: [2] } }],
  });
  return { model, input, inShape, weights, wShape, bias };
}

/** Σ (q1 − Z1)(q2 − 0) + bias for one output element, in BigInt, straight from the arrays. */
function bigintAccumulator(b: Built, graph: Graph, coords: number[], flat: number): bigint {
  const op = graph.ops[0];
  const z1 = BigInt(graph.tensors[op.inputs[0]].quant!.zeroPoint[0]);
  let acc = 0n;
  if (op.type === 'FULLY_CONNECTED') {
    const [outC, depth] = b.wShape;
    const row = Math.floor(flat / outC);
    const c = flat % outC;
    for (let k = 0; k < depth; k++) acc += (BigInt(b.input[row * depth + k]) - z1) * BigInt(b.weights[c * depth + k]);
    return acc + BigInt(b.bias[c]);
  }
  if (op.type !== 'CONV_2D' && op.type !== 'DEPTHWISE_CONV_2D') throw new Error('unexpected op');
  const o = op.options;
  const [, inH, inW, inC] = b.inShape;
  const kH = b.wShape[1];
  const kW = b.wShape[2];
  const outShape = Interpreter.prepare(graph).outputs[0].shape;
  // TF SAME padding, written out here
  const pad = (inSize: number, outSize: number, k: number, s: number, d: number) => Math.floor(Math.max((outSize - 1) * s + (k - 1) * d + 1 - inSize, 0) / 2);
  const padTop = pad(inH, outShape[1], kH, o.strideH, o.dilationHFactor);
  const padLeft = pad(inW, outShape[2], kW, o.strideW, o.dilationWFactor);
  const [n, oy, ox, c] = coords;
  for (let ky = 0; ky < kH; ky++) {
    for (let kx = 0; kx < kW; kx++) {
      const iy = oy * o.strideH - padTop + ky * o.dilationHFactor;
      const ix = ox * o.strideW - padLeft + kx * o.dilationWFactor;
      if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
      if (op.type === 'DEPTHWISE_CONV_2D') {
        const outC = b.wShape[3];
        const ic = Math.floor(c / (outC / inC));
        acc += (BigInt(b.input[((n * inH + iy) * inW + ix) * inC + ic]) - z1) * BigInt(b.weights[(ky * kW + kx) * outC + c]);
      } else {
        for (let ic = 0; ic < inC; ic++) {
          acc += (BigInt(b.input[((n * inH + iy) * inW + ix) * inC + ic]) - z1) * BigInt(b.weights[((c * kH + ky) * kW + kx) * inC + ic]);
        }
      }
    }
  }
  return acc + BigInt(b.bias[c]);
}

/** The fixed-point forms, in BigInt: double rounding (gemmlowp) and single rounding. */
function bigintRequantize(acc: bigint, m0: bigint, shift: number, mode: 'double-rounding' | 'single-rounding'): bigint {
  if (mode === 'single-rounding') {
    const s = BigInt(31 - shift);
    return (acc * m0 + (1n << (s - 1n))) >> s;
  }
  const left = BigInt(Math.max(shift, 0));
  const right = BigInt(Math.max(-shift, 0));
  const a = acc << left;
  const ab = a * m0;
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  const high = (ab + nudge) / (1n << 31n); // BigInt division truncates toward zero
  if (right === 0n) return high;
  const mask = (1n << right) - 1n;
  const remainder = high & mask;
  const threshold = (mask >> 1n) + (high < 0n ? 1n : 0n);
  return (high >> right) + (remainder > threshold ? 1n : 0n);
}

const BUILDERS: [string, (seed: number) => Built][] = [
  ['CONV_2D', (s) => conv(s, false)],
  ['DEPTHWISE_CONV_2D', (s) => conv(s, true)],
  ['FULLY_CONNECTED per channel', (s) => fullyConnected(s, true)],
  ['FULLY_CONNECTED per tensor', (s) => fullyConnected(s, false)],
];

describe('explainElement', () => {
  for (const [name, make] of BUILDERS) {
    for (const mode of MODES) {
      it(`${name}, ${mode}: q3 equals the interpreter and the accumulation equals BigInt, for every element`, () => {
        for (const seed of [1, 2]) {
          const b = make(seed);
          const graph = b.model.subgraphs[0];
          const interp = Interpreter.prepare(graph, { rounding: mode });
          const y = interp.run([b.input]).outputs[0] as Int8Array;
          for (let i = 0; i < y.length; i++) {
            const t = explainElement(graph, { op: 0, index: i, rounding: mode, inputs: [b.input] });
            expect(t.matches, `element ${i}`).toBe(true);
            expect(t.q3, `element ${i}`).toBe(y[i]);
            expect(BigInt(t.accumulatorWithBias), `element ${i}`).toBe(bigintAccumulator(b, graph, t.element.coords, i));
            expect(t.accumulator + (t.bias?.value ?? 0)).toBe(t.accumulatorWithBias);
            const rq = t.requantization;
            if (rq.arithmetic === 'double-rounding' || rq.arithmetic === 'single-rounding') {
              expect(BigInt(rq.result)).toBe(bigintRequantize(BigInt(t.accumulatorWithBias), BigInt(rq.m0), rq.shift, rq.arithmetic));
            } else {
              expect(rq.arithmetic).toBe('xnnpack');
              expect(rq.steps.productFloat32).toBe(Math.fround(Math.fround(t.accumulatorWithBias) * rq.xnnpackScale));
            }
            expect(t.q3).toBe(Math.min(Math.max(rq.result + t.output.zeroPoint, t.clamp.min), t.clamp.max));
            expect(t.dequantized).toBe(Math.fround(Math.fround(S_OUT) * (t.q3 - t.output.zeroPoint)));
          }
        }
      });
    }
  }

  it('on ties (M = 1/8 exactly) the three modes give different q3, and each equals the interpreter', () => {
    const patterns = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) {
      const b = fullyConnected(seed, false, true);
      const graph = b.model.subgraphs[0];
      const outputs = MODES.map((rounding) => Interpreter.prepare(graph, { rounding }).run([b.input]).outputs[0]);
      for (let i = 0; i < 18; i++) {
        const traces = MODES.map((rounding) => explainElement(graph, { op: 'y', index: i, rounding, inputs: [b.input] }));
        traces.forEach((t, m) => expect(t.q3).toBe(outputs[m][i]));
        const acc = traces[0].accumulatorWithBias;
        if (acc % 8 === 4 || acc % 8 === -4) patterns.add(`${Math.sign(acc)}:${traces.map((t) => t.q3 - t.output.zeroPoint).join(',')}`);
      }
    }
    // x·M = k + ½: double rounds away from zero, single rounds up, xnnpack to even
    const diverging = [...patterns].filter((p) => new Set(p.split(':')[1].split(',')).size > 1);
    expect(diverging.length).toBeGreaterThan(0);
  });

  it('takes coordinates and finds the op by name; seeded inputs repeat', () => {
    const b = conv(4, false);
    const graph = b.model.subgraphs[0];
    const a = explainElement(graph, { op: 'y', index: [0, 3, 1, 2], rounding: 'xnnpack', seed: 5 });
    const again = explainElement(graph, { op: '0', index: a.element.flatIndex, rounding: 'xnnpack', seed: 5 });
    expect(again).toEqual(a);
    expect(a.element.coords).toEqual([0, 3, 1, 2]);
    expect(a.element.channel).toBe(2);
    expect(a.matches).toBe(true);
    // 3×3 window at stride 2 (width) with SAME padding: some taps fall outside at the border
    const border = explainElement(graph, { op: 0, index: [0, 0, 0, 0], rounding: 'xnnpack', seed: 5 });
    expect(border.paddedTaps).toBeGreaterThan(0);
    expect(border.terms.length + border.paddedTaps).toBe(27);
  });

  it('gives the float value from a float twin by tensor name, else from the float op on dequantized values', () => {
    const b = conv(6, false);
    const graph = b.model.subgraphs[0];
    const w = graph.tensors[1];
    const bias = graph.tensors[2];
    const floatGraph: Graph = structuredClone(graph);
    floatGraph.tensors.forEach((t) => {
      t.dtype = 'float32';
      delete t.quant;
    });
    floatGraph.tensors[1].data = Float32Array.from(w.data as Int8Array, (q, i) => Math.fround(w.quant!.scale[Math.floor(i / 27)]) * q);
    floatGraph.tensors[2].data = Float32Array.from(bias.data as Int32Array, (q, c) => Math.fround(S_IN) * Math.fround(w.quant!.scale[c]) * q);
    for (let i = 0; i < 40; i += 7) {
      const viaOp = explainElement(graph, { op: 0, index: i, rounding: 'double-rounding', inputs: [b.input] });
      const viaModel = explainElement(graph, { op: 0, index: i, rounding: 'double-rounding', inputs: [b.input], floatGraph });
      expect(viaOp.float.source).toBe('float-op');
      expect(viaModel.float.source).toBe('float-model');
      expect(viaModel.float.value).toBeCloseTo(viaOp.float.value, 4);
      // the integer result is within one output step (plus clamping) of the float value
      expect(Math.abs(viaModel.dequantized - Math.max(0, viaModel.float.value))).toBeLessThanOrEqual(S_OUT * 0.5 + 1e-6 + Math.max(0, viaModel.float.value - S_OUT * (127 - viaModel.output.zeroPoint)));
    }
  });
});

describe('explain errors', () => {
  const graph = conv(1, false).model.subgraphs[0];
  const withRelu: Graph = structuredClone(graph);
  withRelu.tensors.push({ name: 'z', dtype: 'int8', shape: [1, 7, 3, 5], quant: { scale: [S_OUT], zeroPoint: [-4] } });
  withRelu.ops.push({ type: 'RELU', options: {}, inputs: [3], outputs: [4] });
  withRelu.outputs = [4];

  it('names a bad op and the valid range', () => {
    const message = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(message(() => resolveExplainOp(withRelu, 'conv9'))).toBe(
      "No op is named 'conv9' in the graph; give an index from 0 to 1 or a name (integer CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED ops here: 0 'y' (CONV_2D)).",
    );
    expect(message(() => resolveExplainOp(withRelu, 5))).toMatch(/^Op index 5 is out of range: the graph has 2 ops \(0 to 1\)/);
    expect(message(() => resolveExplainOp(withRelu, 'z'))).toMatch(/^Op 1 'z' \(RELU\) cannot be traced: .* 0 'y' \(CONV_2D\)\.$/);
    expect(message(() => resolveElement([1, 7, 3, 5], 105, 'the output'))).toMatch(/^Element 105 is outside the output, which has 105 elements/);
    expect(message(() => resolveElement([1, 7, 3, 5], [0, 7, 0, 0], 'the output'))).toMatch(/^Element \[0, 7, 0, 0\] is outside/);
  });
});

