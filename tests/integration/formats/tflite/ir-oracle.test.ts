/**
 * The IR's shape inference and graph transforms checked against the real TFLite interpreter:
 * TFLite recomputes every output shape when it prepares a model, so a one-op model written
 * with a placeholder output shape tells us TFLite's answer; transformed models must compute
 * what the originals compute.
 */

import { describe, expect, it } from 'vitest';
import { readTflite } from '../../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import { inferShapes } from '../../../../src/core/ir/shape-inference';
import { foldBatchNorm, foldFloat16Dequantize, setBatchSize, setInputShape } from '../../../../src/core/ir/transforms';
import { validateModel } from '../../../../src/core/ir/validate';
import type { Graph, Model, TensorData } from '../../../../src/core/ir/types';
import { loadOracle } from '../../../helpers/tflite-oracle';
import { singleOpModel, type SingleOpSpec } from '../../../helpers/tflite-model';
import { FACE_FULL, FACE_SHORT, readBytes, rng } from './test-utils';

const f32 = (n: number, next: () => number) => new Float32Array(n).map(() => next() * 2 - 1);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** TFLite's output shape for a one-op spec vs QuantLab's inference. */
async function compareShape(spec: SingleOpSpec): Promise<{ ours: number[]; tflite: number[] }> {
  const oracle = await loadOracle();
  const model = singleOpModel({ ...spec, outputs: [{ dtype: 'float32', shape: [1] }] } as SingleOpSpec);
  const g = model.subgraphs[0];
  const ours = inferShapes(g)[g.outputs[0]];
  const tflite = oracle.describe(writeTflite(model)).outputs[0].shape;
  return { ours, tflite };
}

describe('shape inference agrees with TFLite', () => {
  it('for convolutions and pools over random sizes, strides, dilations and paddings', async () => {
    const next = rng(42);
    const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
    const mismatches: string[] = [];
    for (let c = 0; c < 60; c++) {
      const padding = next() < 0.5 ? 'SAME' : 'VALID';
      const k = pick(1, 5);
      const d = pick(1, 3);
      const s = pick(1, 3);
      const h = pick((k - 1) * d + 1, 20);
      const w = pick((k - 1) * d + 1, 20);
      const cin = pick(1, 4);
      const specs: SingleOpSpec[] = [
        {
          type: 'CONV_2D',
          options: { padding, strideW: s, strideH: pick(1, 3), dilationWFactor: d, dilationHFactor: pick(1, d), fusedActivationFunction: 'NONE' },
          inputs: [{ dtype: 'float32', shape: [1, h, w, cin] }, { dtype: 'float32', shape: [3, k, k, cin], data: new Float32Array(3 * k * k * cin) }, { dtype: 'float32', shape: [3], data: new Float32Array(3) }],
        },
        {
          type: 'DEPTHWISE_CONV_2D',
          options: { padding, strideW: s, strideH: s, depthMultiplier: 2, dilationWFactor: d, dilationHFactor: d, fusedActivationFunction: 'NONE' },
          inputs: [{ dtype: 'float32', shape: [1, h, w, cin] }, { dtype: 'float32', shape: [1, k, k, 2 * cin], data: new Float32Array(k * k * 2 * cin) }, { dtype: 'float32', shape: [2 * cin], data: new Float32Array(2 * cin) }],
        },
        {
          type: next() < 0.5 ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D',
          options: { padding, strideW: s, strideH: pick(1, 3), filterWidth: k, filterHeight: pick(1, k), fusedActivationFunction: 'NONE' },
          inputs: [{ dtype: 'float32', shape: [2, h, w, cin] }],
        },
      ];
      for (const spec of specs) {
        const { ours, tflite } = await compareShape(spec);
        if (JSON.stringify(ours) !== JSON.stringify(tflite)) mismatches.push(`${spec.type} ${JSON.stringify(spec.options)} on ${JSON.stringify(spec.inputs[0]?.shape)}: ours ${JSON.stringify(ours)}, TFLite ${JSON.stringify(tflite)}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  const i32 = (...v: number[]) => ({ dtype: 'int32' as const, shape: [v.length], data: new Int32Array(v) });
  const fixed: [string, SingleOpSpec][] = [
    ['FULLY_CONNECTED', { type: 'FULLY_CONNECTED', options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false }, inputs: [{ dtype: 'float32', shape: [2, 3, 4] }, { dtype: 'float32', shape: [5, 12], data: new Float32Array(60) }, { dtype: 'float32', shape: [5], data: new Float32Array(5) }] }],
    ['FULLY_CONNECTED keepNumDims', { type: 'FULLY_CONNECTED', options: { fusedActivationFunction: 'NONE', keepNumDims: true, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false }, inputs: [{ dtype: 'float32', shape: [2, 3, 4] }, { dtype: 'float32', shape: [5, 4], data: new Float32Array(20) }, { dtype: 'float32', shape: [5], data: new Float32Array(5) }] }],
    ['TRANSPOSE_CONV', { type: 'TRANSPOSE_CONV', options: { padding: 'SAME', strideW: 2, strideH: 2, fusedActivationFunction: 'NONE' }, inputs: [i32(1, 8, 8, 3), { dtype: 'float32', shape: [3, 3, 3, 2], data: new Float32Array(54) }, { dtype: 'float32', shape: [1, 4, 4, 2] }] }],
    ['ADD broadcast', { type: 'ADD', options: { fusedActivationFunction: 'NONE', potScaleInt16: true }, inputs: [{ dtype: 'float32', shape: [2, 1, 3] }, { dtype: 'float32', shape: [4, 1], data: new Float32Array(4) }] }],
    ['SUB broadcast', { type: 'SUB', options: { fusedActivationFunction: 'NONE', potScaleInt16: true }, inputs: [{ dtype: 'float32', shape: [1, 5] }, { dtype: 'float32', shape: [3, 1], data: new Float32Array(3) }] }],
    ['MUL broadcast', { type: 'MUL', options: { fusedActivationFunction: 'NONE' }, inputs: [{ dtype: 'float32', shape: [2, 3, 4] }, { dtype: 'float32', shape: [4], data: new Float32Array(4) }] }],
    ['MEAN keepDims', { type: 'MEAN', options: { keepDims: true }, inputs: [{ dtype: 'float32', shape: [1, 6, 5, 3] }, i32(1, 2)] }],
    ['MEAN', { type: 'MEAN', options: { keepDims: false }, inputs: [{ dtype: 'float32', shape: [1, 6, 5, 3] }, i32(-2)] }],
    ['RESHAPE', { type: 'RESHAPE', options: { newShape: [3, -1] }, inputs: [{ dtype: 'float32', shape: [2, 3, 4] }, i32(3, -1)] }],
    ['SQUEEZE', { type: 'SQUEEZE', options: { squeezeDims: [2] }, inputs: [{ dtype: 'float32', shape: [1, 3, 1, 2] }] }],
    ['SQUEEZE all', { type: 'SQUEEZE', options: { squeezeDims: [] }, inputs: [{ dtype: 'float32', shape: [1, 3, 1, 2] }] }],
    ['CONCATENATION', { type: 'CONCATENATION', options: { axis: -1, fusedActivationFunction: 'NONE' }, inputs: [{ dtype: 'float32', shape: [1, 2, 3] }, { dtype: 'float32', shape: [1, 2, 4] }] }],
    ['PAD', { type: 'PAD', options: {}, inputs: [{ dtype: 'float32', shape: [1, 4, 5, 2] }, { dtype: 'int32', shape: [4, 2], data: new Int32Array([0, 0, 1, 2, 3, 0, 0, 1]) }] }],
    ['LEAKY_RELU', { type: 'LEAKY_RELU', options: { alpha: 0.1 }, inputs: [{ dtype: 'float32', shape: [3, 2] }] }],
    ['PRELU', { type: 'PRELU', options: {}, inputs: [{ dtype: 'float32', shape: [1, 2, 2, 3] }, { dtype: 'float32', shape: [1, 1, 3], data: new Float32Array(3) }] }],
    ['HARD_SWISH', { type: 'HARD_SWISH', options: {}, inputs: [{ dtype: 'float32', shape: [1, 7] }] }],
    ['LOGISTIC', { type: 'LOGISTIC', options: {}, inputs: [{ dtype: 'float32', shape: [1, 7] }] }],
    ['TANH', { type: 'TANH', options: {}, inputs: [{ dtype: 'float32', shape: [1, 7] }] }],
    ['RELU6', { type: 'RELU6', options: {}, inputs: [{ dtype: 'float32', shape: [1, 7] }] }],
    ['SOFTMAX', { type: 'SOFTMAX', options: { beta: 1 }, inputs: [{ dtype: 'float32', shape: [2, 7] }] }],
    ['RESIZE_BILINEAR', { type: 'RESIZE_BILINEAR', options: { alignCorners: false, halfPixelCenters: true }, inputs: [{ dtype: 'float32', shape: [1, 3, 4, 2] }, i32(7, 5)] }],
    ['RESIZE_NEAREST_NEIGHBOR', { type: 'RESIZE_NEAREST_NEIGHBOR', options: { alignCorners: false, halfPixelCenters: false }, inputs: [{ dtype: 'float32', shape: [1, 3, 4, 2] }, i32(6, 8)] }],
    ['DEPTH_TO_SPACE', { type: 'DEPTH_TO_SPACE', options: { blockSize: 2 }, inputs: [{ dtype: 'float32', shape: [1, 3, 2, 8] }] }],
    ['SPACE_TO_DEPTH', { type: 'SPACE_TO_DEPTH', options: { blockSize: 2 }, inputs: [{ dtype: 'float32', shape: [1, 4, 6, 2] }] }],
  ];
  it.each(fixed)('for %s', async (_, spec) => {
    const { ours, tflite } = await compareShape(spec);
    expect(ours).toEqual(tflite);
  });
});

function run(model: Model, inputs: TensorData[]): Promise<TensorData[]> {
  return loadOracle().then((o) => o.run(writeTflite(model), inputs).outputs);
}

function maxRelDiff(a: TensorData, b: TensorData): number {
  const x = a as Float32Array;
  const y = b as Float32Array;
  expect(x.length).toBe(y.length);
  let scale = 1e-6;
  for (const v of x) scale = Math.max(scale, Math.abs(v));
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m / scale;
}

describe('transforms keep what TFLite computes', () => {
  it.each([FACE_SHORT, FACE_FULL])('folding the float16 weights of %s changes no output bit', async (path) => {
    const model = readTflite(readBytes(path));
    const folded: Model = { ...model, subgraphs: [foldFloat16Dequantize(model.subgraphs[0])] };
    expect(folded.subgraphs[0].ops.some((op) => op.type === 'DEQUANTIZE')).toBe(false);
    expect(validateModel(folded).filter((i) => i.severity === 'error')).toEqual([]);
    const input = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]];
    const x = f32(size(input.shape), rng(17));
    const [a, b] = [await run(model, [x]), await run(folded, [x])];
    a.forEach((out, i) => expect(Buffer.from((out as Float32Array).buffer).equals(Buffer.from((b[i] as Float32Array).buffer))).toBe(true));
  });

  it('folding batch norms (MUL+ADD after conv, depthwise and dense layers) keeps the outputs', async () => {
    const next = rng(3);
    const C = 8;
    const graph: Graph = {
      name: 'main',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [1, 10, 10, 3] },
        { name: 'conv/w', dtype: 'float32', shape: [C, 3, 3, 3], data: f32(C * 27, next) },
        { name: 'conv/b', dtype: 'float32', shape: [C], data: f32(C, next) },
        { name: 'conv', dtype: 'float32', shape: [1, 5, 5, C] },
        { name: 'bn1/scale', dtype: 'float32', shape: [C], data: f32(C, next).map((v) => 1 + v) },
        { name: 'bn1/mul', dtype: 'float32', shape: [1, 5, 5, C] },
        { name: 'bn1/shift', dtype: 'float32', shape: [C], data: f32(C, next) },
        { name: 'bn1', dtype: 'float32', shape: [1, 5, 5, C] },
        { name: 'dw/w', dtype: 'float32', shape: [1, 3, 3, C], data: f32(9 * C, next) },
        { name: 'dw/b', dtype: 'float32', shape: [C], data: f32(C, next) },
        { name: 'dw', dtype: 'float32', shape: [1, 5, 5, C] },
        { name: 'bn2/scale', dtype: 'float32', shape: [1, 1, 1, C], data: f32(C, next).map((v) => 1 + v) },
        { name: 'bn2/mul', dtype: 'float32', shape: [1, 5, 5, C] },
        { name: 'bn2/shift', dtype: 'float32', shape: [1, 1, 1, C], data: f32(C, next) },
        { name: 'bn2', dtype: 'float32', shape: [1, 5, 5, C] },
        { name: 'flat', dtype: 'float32', shape: [1, 25 * C] },
        { name: 'flat/shape', dtype: 'int32', shape: [2], data: new Int32Array([1, 25 * C]) },
        { name: 'fc/w', dtype: 'float32', shape: [4, 25 * C], data: f32(4 * 25 * C, next) },
        { name: 'fc/b', dtype: 'float32', shape: [4], data: f32(4, next) },
        { name: 'fc', dtype: 'float32', shape: [1, 4] },
        { name: 'bn3/scale', dtype: 'float32', shape: [4], data: f32(4, next).map((v) => 2 + v) },
        { name: 'bn3/mul', dtype: 'float32', shape: [1, 4] },
        { name: 'bn3/shift', dtype: 'float32', shape: [4], data: f32(4, next) },
        { name: 'y', dtype: 'float32', shape: [1, 4] },
      ],
      ops: [
        { type: 'CONV_2D', options: { padding: 'SAME', strideW: 2, strideH: 2, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' }, inputs: [0, 1, 2], outputs: [3] },
        { type: 'MUL', options: { fusedActivationFunction: 'NONE' }, inputs: [3, 4], outputs: [5] },
        { type: 'ADD', options: { fusedActivationFunction: 'RELU6', potScaleInt16: true }, inputs: [5, 6], outputs: [7] },
        { type: 'DEPTHWISE_CONV_2D', options: { padding: 'SAME', strideW: 1, strideH: 1, depthMultiplier: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' }, inputs: [7, 8, 9], outputs: [10] },
        { type: 'MUL', options: { fusedActivationFunction: 'NONE' }, inputs: [11, 10], outputs: [12] },
        { type: 'ADD', options: { fusedActivationFunction: 'RELU', potScaleInt16: true }, inputs: [12, 13], outputs: [14] },
        { type: 'RESHAPE', options: { newShape: [1, 25 * C] }, inputs: [14, 16], outputs: [15] },
        { type: 'FULLY_CONNECTED', options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false }, inputs: [15, 17, 18], outputs: [19] },
        { type: 'MUL', options: { fusedActivationFunction: 'NONE' }, inputs: [19, 20], outputs: [21] },
        { type: 'ADD', options: { fusedActivationFunction: 'NONE', potScaleInt16: true }, inputs: [21, 22], outputs: [23] },
      ],
      inputs: [0],
      outputs: [23],
    };
    const model: Model = { format: 'tflite', subgraphs: [graph] };
    const { graph: foldedGraph, folded } = foldBatchNorm(graph);
    expect(folded).toBe(3);
    expect(foldedGraph.ops.map((o) => o.type)).toEqual(['CONV_2D', 'DEPTHWISE_CONV_2D', 'RESHAPE', 'FULLY_CONNECTED']);
    const x = f32(300, rng(8));
    const [a] = await run(model, [x]);
    const [b] = await run({ ...model, subgraphs: [foldedGraph] }, [x]);
    expect(maxRelDiff(a, b)).toBeLessThan(1e-5);
  });

  it('fixing the batch size gives each item what a batch of one gives it', async () => {
    const next = rng(12);
    const graph: Graph = {
      name: 'main',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [-1, 6, 6, 2] },
        { name: 'w', dtype: 'float32', shape: [3, 3, 3, 2], data: f32(54, next) },
        { name: 'b', dtype: 'float32', shape: [3], data: f32(3, next) },
        { name: 'c', dtype: 'float32', shape: [-1, 6, 6, 3] },
        { name: 'p', dtype: 'float32', shape: [-1, 3, 3, 3] },
      ],
      ops: [
        { type: 'CONV_2D', options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'RELU' }, inputs: [0, 1, 2], outputs: [3] },
        { type: 'MAX_POOL_2D', options: { padding: 'VALID', strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2, fusedActivationFunction: 'NONE' }, inputs: [3], outputs: [4] },
      ],
      inputs: [0],
      outputs: [4],
    };
    const three = setBatchSize(graph, 3);
    const one = setInputShape(graph, 'x', [1, 6, 6, 2]);
    expect(three.tensors[4].shape).toEqual([3, 3, 3, 3]);
    const x = f32(3 * 72, rng(1));
    const [batched] = await run({ format: 'tflite', subgraphs: [three] }, [x]);
    for (let item = 0; item < 3; item++) {
      const [single] = await run({ format: 'tflite', subgraphs: [one] }, [x.slice(item * 72, (item + 1) * 72)]);
      expect(Array.from(single as Float32Array)).toEqual(Array.from((batched as Float32Array).slice(item * 27, (item + 1) * 27)));
    }
  });
});
