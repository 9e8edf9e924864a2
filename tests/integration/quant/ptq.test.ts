/**
 * Post-training quantization of a real float model (a stranger's Keras MNIST CNN), checked
 * against facts the quantizer does not produce itself:
 *  - the written .tflite runs in the real TFLite interpreter and its outputs equal QuantLab's
 *    runtime bit for bit (XNNPACK path: constant weights; 'xnnpack' rounding);
 *  - weight scales, bias values and the input's parameters equal what the TFLite scheme gives,
 *    computed here from the float weights;
 *  - accuracy stays within a few tenths of a point of float on held-out digits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistDigits } from '../../../src/core/data/mnist';
import { openModelFile } from '../../../src/core/formats';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { removeUnusedTensors } from '../../../src/core/ir/transforms';
import type { Graph, Model, TensorData } from '../../../src/core/ir/types';
import { equalizeCrossLayer } from '../../../src/core/quant/equalize';
import { parseCalibration } from '../../../src/core/quant/observers';
import { defaultPtqOptions, quantizeModel } from '../../../src/core/quant/ptq';
import type { CalibrationData, PtqOptions } from '../../../src/core/quant/ptq';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import type { RoundingMode } from '../../../src/core/runtime/kernel';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';

const KERAS_CNN = '../shared/keras-mnist/k2_seq_cnn.h5';
const PX = 784;

let oracle: TfliteOracle;
let model: Model;
let digits: ReturnType<typeof loadMnistDigits>;
let calib: CalibrationData;

beforeAll(async () => {
  oracle = await loadOracle();
  model = await openModelFile(KERAS_CNN);
  digits = loadMnistDigits();
  calib = { count: 8000, name: 'mnist:train', sample: (i, out) => out.set(digits.images.subarray(i * PX, (i + 1) * PX)) };
}, 60_000);

function digit(i: number): Float32Array {
  return digits.images.slice(i * PX, (i + 1) * PX);
}

function argmax(a: ArrayLike<number | bigint>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (Number(a[i]) > Number(a[best])) best = i;
  return best;
}

/** The graph input as the model wants it: float, or quantized with the input's parameters (round half away). */
function inputFor(g: Graph, x: Float32Array): TensorData {
  const t = g.tensors[g.inputs[0]];
  if (t.dtype === 'float32') return x;
  const q = t.quant;
  if (!q) throw new Error('integer input without parameters');
  const [lo, hi] = t.dtype === 'int16' ? [-32768, 32767] : [-128, 127];
  const out = t.dtype === 'int16' ? new Int16Array(x.length) : new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const r = x[i] / q.scale[0];
    out[i] = Math.min(hi, Math.max(lo, (r >= 0 ? Math.floor(r + 0.5) : -Math.floor(-r + 0.5)) + q.zeroPoint[0]));
  }
  return out;
}

/** Elements where the real TFLite interpreter and QuantLab's runtime differ, over `samples` digits. */
function mismatches(bytes: Uint8Array, rounding: RoundingMode, samples: number[]): { mismatched: number; compared: number; nodeTypes: Set<string> } {
  const g = readTflite(bytes, 'quantized.tflite').subgraphs[0];
  const interp = Interpreter.prepare(g, { rounding });
  let mismatched = 0;
  let compared = 0;
  const nodeTypes = new Set<string>();
  for (const i of samples) {
    const x = inputFor(g, digit(i));
    const ours = interp.run([x]).outputs;
    const theirs = oracle.run(bytes, [x]);
    theirs.profile.forEach((p) => nodeTypes.add(p.nodeType));
    ours.forEach((o, k) => {
      const t = theirs.outputs[k];
      expect(t.length).toBe(o.length);
      for (let e = 0; e < o.length; e++) {
        compared++;
        if (o[e] !== t[e]) mismatched++;
      }
    });
  }
  return { mismatched, compared, nodeTypes };
}

function accuracy(g: Graph, from: number, count: number, rounding: RoundingMode = 'xnnpack'): number {
  const interp = Interpreter.prepare(g, { rounding });
  let correct = 0;
  for (let i = from; i < from + count; i++) {
    const out = interp.run([inputFor(g, digit(i))]).outputs[0];
    if (argmax(out) === digits.labels[i]) correct++;
  }
  return (100 * correct) / count;
}

/** The model without its final SOFTMAX (logits out), so integer outputs are compared before any float op. */
function logitsModel(m: Model): Model {
  const g = m.subgraphs[0];
  const last = g.ops.findIndex((op) => op.type === 'SOFTMAX' && g.outputs.includes(op.outputs[0]));
  expect(last).toBeGreaterThanOrEqual(0);
  const cut: Graph = removeUnusedTensors({ ...g, ops: g.ops.filter((_, i) => i !== last), outputs: [g.ops[last].inputs[0]] });
  return { ...m, subgraphs: [cut] };
}

async function quantize(m: Model, options: Partial<PtqOptions>) {
  const result = await quantizeModel(m, calib, defaultPtqOptions({ samples: 300, ...options }));
  const bytes = writeTflite(result.model);
  return { ...result, bytes };
}

const HELD_OUT = Array.from({ length: 40 }, (_, k) => 8000 + 37 * k);

describe('int8 PTQ of a Keras CNN', () => {
  it('float I/O: equals the TFLite interpreter bit for bit on the XNNPACK path, and loses ≤ 0.3 points', async () => {
    const { bytes, model: q, report, floatGraph } = await quantize(model, {});
    expect(report.quantizedOps).toBe(model.subgraphs[0].ops.length);
    expect(report.floatOps).toEqual([]);
    const { mismatched, compared, nodeTypes } = mismatches(bytes, 'xnnpack', HELD_OUT);
    expect(compared).toBe(HELD_OUT.length * 10);
    expect(mismatched).toBe(0);
    // XNNPACK ran (when the profiler recorded anything at all: see notes/int8.md).
    if (nodeTypes.size > 0) expect([...nodeTypes].some((t) => t.includes('XNNPack'))).toBe(true);
    const floatAcc = accuracy(floatGraph, 8000, 500);
    const intAcc = accuracy(q.subgraphs[0], 8000, 500);
    expect(intAcc).toBeGreaterThanOrEqual(floatAcc - 0.3);
  }, 120_000);

  it('int8 I/O on the logits: every output byte equals the interpreter', async () => {
    const { bytes, model: q } = await quantize(logitsModel(model), { io: 'int8', biasCorrection: 'none' });
    const g = q.subgraphs[0];
    expect(g.tensors[g.inputs[0]].dtype).toBe('int8');
    expect(g.tensors[g.outputs[0]].dtype).toBe('int8');
    const r = mismatches(bytes, 'xnnpack', HELD_OUT);
    expect(r.compared).toBe(HELD_OUT.length * 10);
    expect(r.mismatched).toBe(0);
  }, 120_000);

  it('per-tensor weights with cross-layer equalization also equal the interpreter', async () => {
    const { bytes } = await quantize(logitsModel(model), { io: 'int8', perChannel: false, equalize: true, biasCorrection: 'none' });
    expect(mismatches(bytes, 'xnnpack', HELD_OUT.slice(0, 20)).mismatched).toBe(0);
  }, 120_000);

  it('chooses the parameters the TFLite scheme prescribes (computed here from the float weights)', async () => {
    const { model: q, floatGraph } = await quantize(model, { biasCorrection: 'none', io: 'int8' });
    const g = q.subgraphs[0];
    // Input: MNIST pixels in [0, 1] → scale 1/255, zero point −128.
    const input = g.tensors[g.inputs[0]];
    expect(input.quant?.scale[0]).toBe(Math.fround(1 / 255));
    expect(input.quant?.zeroPoint[0]).toBe(-128);
    const convs = floatGraph.ops.filter((op) => op.type === 'CONV_2D' || op.type === 'FULLY_CONNECTED');
    const qconvs = g.ops.filter((op) => op.type === 'CONV_2D' || op.type === 'FULLY_CONNECTED');
    expect(qconvs.length).toBe(convs.length);
    convs.forEach((op, k) => {
      const w = floatGraph.tensors[op.inputs[1]];
      const wd = w.data as Float32Array;
      const qop = qconvs[k];
      const qw = g.tensors[qop.inputs[1]];
      const channels = w.shape[0];
      const per = wd.length / channels;
      expect(qw.dtype).toBe('int8');
      expect(qw.quant?.axis).toBe(0);
      for (let c = 0; c < channels; c++) {
        let m = 0;
        for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(wd[c * per + i]));
        const s = Math.fround(m / 127);
        expect(qw.quant?.scale[c]).toBe(s);
        for (let i = 0; i < per; i++) expect(Math.abs((qw.data as Int8Array)[c * per + i] - wd[c * per + i] / s)).toBeLessThanOrEqual(0.5 + 1e-6);
      }
      // Bias: int32 at S_in·S_w, the value rounded.
      const sIn = g.tensors[qop.inputs[0]].quant?.scale[0] ?? NaN;
      const qb = g.tensors[qop.inputs[2]];
      const fb = floatGraph.tensors[op.inputs[2]].data as Float32Array;
      expect(qb.dtype).toBe('int32');
      for (let c = 0; c < channels; c++) {
        const sb = qb.quant?.scale[c] ?? NaN;
        expect(Math.abs(sb - sIn * (qw.quant?.scale[c] ?? NaN))).toBeLessThanOrEqual(1e-6 * sb);
        expect(Math.abs((qb.data as Int32Array)[c] - fb[c] / sb)).toBeLessThanOrEqual(0.5 + 1e-6);
      }
    });
    // The final SOFTMAX has TFLite's fixed output parameters.
    const out = g.tensors[g.outputs[0]];
    expect(out.quant?.scale[0]).toBe(1 / 256);
    expect(out.quant?.zeroPoint[0]).toBe(-128);
    // Pools and reshapes keep their input's parameters.
    for (const op of g.ops.filter((o) => o.type === 'MAX_POOL_2D' || o.type === 'RESHAPE')) {
      expect(g.tensors[op.outputs[0]].quant?.scale).toEqual(g.tensors[op.inputs[0]].quant?.scale);
      expect(g.tensors[op.outputs[0]].quant?.zeroPoint).toEqual(g.tensors[op.inputs[0]].quant?.zeroPoint);
    }
  }, 120_000);

  it('keeps a named layer float with QUANTIZE/DEQUANTIZE around it, and still equals the interpreter', async () => {
    const g0 = model.subgraphs[0];
    const dense = g0.ops.filter((op) => op.type === 'FULLY_CONNECTED');
    const name = dense[0].name ?? g0.tensors[dense[0].outputs[0]].name;
    const { bytes, model: q, report } = await quantize(logitsModel(model), { keepFloat: [name], biasCorrection: 'none' });
    expect(report.floatOps.map((o) => o.name)).toEqual([name]);
    const g = q.subgraphs[0];
    const fc = g.ops.filter((op) => op.type === 'FULLY_CONNECTED');
    expect(fc.some((op) => g.tensors[op.inputs[1]].dtype === 'float32')).toBe(true);
    expect(g.ops.some((op) => op.type === 'DEQUANTIZE')).toBe(true);
    // The float layer runs XNNPACK's float kernels; compare argmax and closeness, and exactness on the integer part via int8 I/O below.
    const r = mismatches(bytes, 'xnnpack', HELD_OUT.slice(0, 10));
    expect(r.compared).toBe(100);
    const interp = Interpreter.prepare(g, { rounding: 'xnnpack' });
    for (const i of HELD_OUT.slice(0, 10)) {
      const ours = interp.run([digit(i)]).outputs[0] as Float32Array;
      const theirs = oracle.run(bytes, [digit(i)]).outputs[0] as Float32Array;
      for (let e = 0; e < ours.length; e++) expect(Math.abs(ours[e] - theirs[e])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(theirs[e])));
    }
  }, 120_000);

  it('int16×8: int16 activations and int64 biases run in the interpreter and equal QuantLab', async () => {
    const { bytes, model: q } = await quantize(logitsModel(model), { recipe: 'int16x8', io: 'int8', biasCorrection: 'none' });
    const g = q.subgraphs[0];
    const conv = g.ops.find((op) => op.type === 'CONV_2D');
    expect(conv && g.tensors[conv.inputs[0]].dtype).toBe('int16');
    expect(conv && g.tensors[conv.inputs[2]].dtype).toBe('int64');
    const byMode = (['double-rounding', 'single-rounding', 'xnnpack'] as const).map((m) => mismatches(bytes, m, HELD_OUT.slice(0, 10)).mismatched);
    // The int16 kernels are TFLite's builtin ones (XNNPACK has none): one of the modes must match exactly.
    expect(Math.min(...byMode)).toBe(0);
  }, 120_000);

  it('fp16 and dynamic (int8) weights: smaller files whose outputs stay within float rounding of the float model', async () => {
    const floatBytes = writeTflite(model).length;
    for (const recipe of ['fp16', 'dynamic'] as const) {
      const { bytes, model: q } = await quantize(model, { recipe });
      expect(bytes.length).toBeLessThan(recipe === 'fp16' ? 0.55 * floatBytes : 0.3 * floatBytes);
      const g = q.subgraphs[0];
      const interp = Interpreter.prepare(g);
      for (const i of HELD_OUT.slice(0, 5)) {
        const ours = interp.run([digit(i)]).outputs[0] as Float32Array;
        const theirs = oracle.run(bytes, [digit(i)]).outputs[0] as Float32Array;
        for (let e = 0; e < ours.length; e++) expect(Math.abs(ours[e] - theirs[e])).toBeLessThanOrEqual(1e-5);
      }
    }
  }, 120_000);

  it('refuses bad input with a sentence naming the thing', async () => {
    await expect(quantize(model, { keepFloat: ['no_such_layer'] })).rejects.toThrow(/--keep-float names 'no_such_layer'/);
    const empty: CalibrationData = { count: 0, name: 'npy:empty.npy', sample: () => undefined };
    await expect(quantizeModel(model, empty, defaultPtqOptions())).rejects.toThrow(/calibration set 'npy:empty.npy' is empty/);
    const nanData: CalibrationData = { count: 4, name: 'npy:bad.npy', sample: (i, out) => out.fill(i === 2 ? NaN : 0.5) };
    await expect(quantizeModel(model, nanData, defaultPtqOptions())).rejects.toThrow(/'npy:bad.npy': sample 2 has the value NaN/);
    const g = model.subgraphs[0];
    const wIndex = g.ops.find((op) => op.type === 'CONV_2D')?.inputs[1] ?? -1;
    const poisoned = (g.tensors[wIndex].data as Float32Array).slice();
    poisoned[3] = Infinity;
    const bad: Model = { ...model, subgraphs: [{ ...g, tensors: g.tensors.map((t, i) => (i === wIndex ? { ...t, data: poisoned } : t)) }] };
    await expect(quantizeModel(bad, calib, defaultPtqOptions())).rejects.toThrow(new RegExp(`'${g.tensors[wIndex].name}' holds Infinity at element 3`));
    await expect(quantizeModel(model, null, defaultPtqOptions())).rejects.toThrow(/needs calibration data/);
  }, 60_000);

  it('every calibration method produces a model the interpreter agrees with', async () => {
    for (const method of ['ema', 'percentile:99.9', 'kl', 'mse']) {
      const { bytes } = await quantize(logitsModel(model), { io: 'int8', calibration: parseCalibration(method), samples: 100, biasCorrection: 'none' });
      expect(mismatches(bytes, 'xnnpack', HELD_OUT.slice(0, 5)).mismatched, method).toBe(0);
    }
  }, 120_000);
});

describe('cross-layer equalization', () => {
  it('leaves the float function unchanged and equalizes the per-channel weight ranges of each pair', () => {
    // conv(relu) → conv on random weights with very unequal channel ranges.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const w1 = Float32Array.from({ length: 8 * 3 * 3 * 2 }, (_, i) => rnd() * (1 + 20 * (Math.floor(i / 18) % 3)));
    const b1 = Float32Array.from({ length: 8 }, () => rnd());
    const w2 = Float32Array.from({ length: 4 * 3 * 3 * 8 }, () => rnd());
    const g: Graph = {
      name: 'pair',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [1, 6, 6, 2] },
        { name: 'w1', dtype: 'float32', shape: [8, 3, 3, 2], data: w1 },
        { name: 'b1', dtype: 'float32', shape: [8], data: b1 },
        { name: 'h', dtype: 'float32', shape: [1, 6, 6, 8] },
        { name: 'w2', dtype: 'float32', shape: [4, 3, 3, 8], data: w2 },
        { name: 'y', dtype: 'float32', shape: [1, 6, 6, 4] },
      ],
      ops: [
        { type: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'RELU' } },
        { type: 'CONV_2D', inputs: [3, 4, -1], outputs: [5], options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } },
      ],
      inputs: [0],
      outputs: [5],
    };
    const { graph: eq, pairs } = equalizeCrossLayer(g);
    expect(pairs.length).toBe(1);
    expect(w1[0]).toBe(g.tensors[1].data?.[0]); // the source is not modified
    const x = Float32Array.from({ length: 72 }, () => rnd());
    const a = Interpreter.prepare(g).run([x]).outputs[0] as Float32Array;
    const b = Interpreter.prepare(eq).run([x]).outputs[0] as Float32Array;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(a[i])));
    const ew1 = eq.tensors[eq.ops[0].inputs[1]].data as Float32Array;
    const ew2 = eq.tensors[eq.ops[1].inputs[1]].data as Float32Array;
    for (let c = 0; c < 8; c++) {
      let r1 = 0;
      let r2 = 0;
      for (let i = 0; i < 18; i++) r1 = Math.max(r1, Math.abs(ew1[c * 18 + i]));
      for (let i = c; i < ew2.length; i += 8) r2 = Math.max(r2, Math.abs(ew2[i]));
      expect(r1 / r2).toBeCloseTo(1, 3);
    }
  });
});

describe('tensor names at the graph boundary', () => {
  it('keep the float model’s input and output names for the tensors the user feeds and reads', async () => {
    const g0 = model.subgraphs[0];
    const inName = g0.tensors[g0.inputs[0]].name;
    const outName = g0.tensors[g0.outputs[0]].name;
    for (const io of ['float', 'int8'] as const) {
      const { model: q } = await quantize(model, { io, biasCorrection: 'none', samples: 16 });
      const g = q.subgraphs[0];
      expect(g.tensors[g.inputs[0]].name, io).toBe(inName);
      expect(g.tensors[g.outputs[0]].name, io).toBe(outName);
      expect(g.tensors[g.inputs[0]].dtype).toBe(io === 'float' ? 'float32' : 'int8');
      expect(new Set(g.tensors.map((t) => t.name)).size).toBe(g.tensors.length);
    }
  }, 60_000);
});
