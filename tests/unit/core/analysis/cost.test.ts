/**
 * The cost model against numbers worked out by hand (the arithmetic is in the comments).
 */
import { describe, expect, it } from 'vitest';
import { analyzeCost, constantTensors } from '../../../../src/core/analysis/cost';
import { inferShapes } from '../../../../src/core/ir/shape-inference';
import type { BuiltinOp, DType, Graph, Op, Tensor } from '../../../../src/core/ir/types';

const conv = { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } as const;
const noAct = { fusedActivationFunction: 'NONE', potScaleInt16: false } as const;

function t(name: string, shape: number[], opts: { dtype?: DType; constant?: boolean; ints?: number[] } = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const n = shape.reduce((a, b) => a * b, 1);
  const tensor: Tensor = { name, dtype, shape };
  if (opts.ints) tensor.data = Int32Array.from(opts.ints);
  else if (opts.constant) {
    tensor.data =
      dtype === 'float16' ? new Uint16Array(n) : dtype === 'int32' ? new Int32Array(n) : dtype === 'int8' ? new Int8Array(n) : new Float32Array(n);
  }
  return tensor;
}

/** A graph from tensors and ops; graph inputs are the non-constant tensors no op writes. */
function graph(tensors: Tensor[], ops: Op[], outputs?: number[]): Graph {
  const written = new Set(ops.flatMap((o) => o.outputs));
  const inputs = tensors.map((_, i) => i).filter((i) => !tensors[i].data && !written.has(i));
  const g: Graph = { name: 'g', tensors, ops, inputs, outputs: outputs ?? [ops[ops.length - 1].outputs[0]] };
  const shapes = inferShapes(g);
  g.tensors.forEach((x, i) => (x.shape = shapes[i]));
  return g;
}

const op = (o: Omit<BuiltinOp, 'inputs' | 'outputs'> & { inputs: number[]; outputs: number[] }) => o as Op;

describe('MACs, parameters and bytes per layer', () => {
  it('CONV_2D 3×3, 3 → 4 channels on 8×8, SAME', () => {
    // out [1,8,8,4]; MACs = 1·8·8·4 · 3·3·3 = 6912
    // params = 4·3·3·3 + 4 = 112 floats = 448 B; input 8·8·3·4 = 768 B; output 8·8·4·4 = 1024 B
    const g = graph([t('x', [1, 8, 8, 3]), t('w', [4, 3, 3, 3], { constant: true }), t('b', [4], { constant: true }), t('y', [])], [
      op({ type: 'CONV_2D', options: conv, inputs: [0, 1, 2], outputs: [3] }),
    ]);
    const [l] = analyzeCost(g).layers;
    expect(l).toMatchObject({
      op: 'CONV_2D',
      kind: 'builtin',
      name: 'y',
      outputShapes: [[1, 8, 8, 4]],
      macs: 6912,
      elementOps: 0,
      paramCount: 112,
      paramBytes: 448,
      activationBytesRead: 768,
      bytesRead: 1216,
      bytesWritten: 1024,
      memoryAccessBytes: 2240,
    });
    expect(l.arithmeticIntensity).toBeCloseTo(6912 / 2240, 12);
  });

  it('grouped CONV_2D: 4 input channels in 2 groups, 1×1, VALID, stride 2', () => {
    // weights [6,1,1,2]: inC/groups = 2; out [1,3,3,6] (ceil((5−1+2)/2) = 3); MACs = 9·6·1·1·2 = 108
    const g = graph([t('x', [1, 5, 5, 4]), t('w', [6, 1, 1, 2], { constant: true }), t('b', [6], { constant: true }), t('y', [])], [
      op({ type: 'CONV_2D', options: { ...conv, padding: 'VALID', strideH: 2, strideW: 2 }, inputs: [0, 1, 2], outputs: [3] }),
    ]);
    expect(analyzeCost(g).layers[0]).toMatchObject({ outputShapes: [[1, 3, 3, 6]], macs: 108, paramCount: 18 });
  });

  it('batch counts: CONV_2D at batch 3 costs three times batch 1', () => {
    const g = graph([t('x', [3, 8, 8, 3]), t('w', [4, 3, 3, 3], { constant: true }), t('b', [4], { constant: true }), t('y', [])], [
      op({ type: 'CONV_2D', options: conv, inputs: [0, 1, 2], outputs: [3] }),
    ]);
    expect(analyzeCost(g).layers[0].macs).toBe(3 * 6912);
  });

  it('DEPTHWISE_CONV_2D 3×3, multiplier 2, stride 2, SAME', () => {
    // in [1,6,6,2] → out [1,3,3,4]; MACs = 3·3·4 · 3·3 = 324; params 1·3·3·4 + 4 = 40
    const g = graph([t('x', [1, 6, 6, 2]), t('w', [1, 3, 3, 4], { constant: true }), t('b', [4], { constant: true }), t('y', [])], [
      op({ type: 'DEPTHWISE_CONV_2D', options: { ...conv, strideH: 2, strideW: 2, depthMultiplier: 2 }, inputs: [0, 1, 2], outputs: [3] }),
    ]);
    expect(analyzeCost(g).layers[0]).toMatchObject({ outputShapes: [[1, 3, 3, 4]], macs: 324, paramCount: 40, paramBytes: 160 });
  });

  it('FULLY_CONNECTED: 2 rows of depth 10 → 5 units; keepNumDims over a rank-3 input', () => {
    // MACs = 2·5·10 = 100; params 50 + 5; bytes read 80 + 220, written 40
    const fcOpts = { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } as const;
    const g = graph([t('x', [2, 10]), t('w', [5, 10], { constant: true }), t('b', [5], { constant: true }), t('y', [])], [
      op({ type: 'FULLY_CONNECTED', options: fcOpts, inputs: [0, 1, 2], outputs: [3] }),
    ]);
    expect(analyzeCost(g).layers[0]).toMatchObject({ macs: 100, paramCount: 55, bytesRead: 300, bytesWritten: 40, memoryAccessBytes: 340 });
    // [1,3,10] → [1,3,5]: 3 rows · 5 · 10 = 150; no bias operand
    const g2 = graph([t('x', [1, 3, 10]), t('w', [5, 10], { constant: true }), t('y', [])], [
      op({ type: 'FULLY_CONNECTED', options: { ...fcOpts, keepNumDims: true }, inputs: [0, 1, -1], outputs: [2] }),
    ]);
    expect(analyzeCost(g2).layers[0]).toMatchObject({ outputShapes: [[1, 3, 5]], macs: 150, paramCount: 50 });
  });

  it('TRANSPOSE_CONV 3×3 stride 2: every input pixel scatters kH·kW·oC; the output-shape operand is no parameter', () => {
    // in [1,4,4,3], weights [2,3,3,3] → MACs = 16·3 · 9·2 = 864; params 54 + bias 2
    const g = graph(
      [t('shape', [4], { dtype: 'int32', ints: [1, 8, 8, 2] }), t('w', [2, 3, 3, 3], { constant: true }), t('x', [1, 4, 4, 3]), t('b', [2], { constant: true }), t('y', [1, 8, 8, 2])],
      [op({ type: 'TRANSPOSE_CONV', options: { padding: 'SAME', strideH: 2, strideW: 2, fusedActivationFunction: 'NONE' }, inputs: [0, 1, 2, 3], outputs: [4] })],
    );
    const c = analyzeCost(g);
    expect(c.layers[0]).toMatchObject({ macs: 864, paramCount: 56, bytesRead: 192 + 224, bytesWritten: 512 });
    expect(c.parameterCount).toBe(56);
    expect(c.parameterTensors).toEqual([1, 3]);
  });

  it("MediaPipe's CUSTOM Convolution2DTransposeBias: same formula with the input first", () => {
    const g: Graph = {
      name: 'g',
      tensors: [t('x', [1, 4, 4, 3]), t('w', [2, 2, 2, 3], { constant: true }), t('b', [2], { constant: true }), t('y', [1, 8, 8, 2])],
      ops: [{ type: 'CUSTOM', code: 'Convolution2DTransposeBias', inputs: [0, 1, 2], outputs: [3], customOptions: new Uint8Array(12) }],
      inputs: [0],
      outputs: [3],
    };
    // 16·3 · 2·2·2 = 384
    expect(analyzeCost(g).layers[0]).toMatchObject({ op: 'Convolution2DTransposeBias', kind: 'custom', macs: 384, elementOps: 0, paramCount: 26 });
  });

  it('element-wise ops: 0 MACs, one op per output element; a constant operand is a parameter', () => {
    // [1,4,4,8] + [1,4,4,8]: 128 ops, read 2·512 B, write 512 B; then + constant [8]: 8 params
    const g = graph([t('a', [1, 4, 4, 8]), t('b', [1, 4, 4, 8]), t('s', []), t('k', [8], { constant: true }), t('y', [])], [
      op({ type: 'ADD', options: noAct, inputs: [0, 1], outputs: [2] }),
      op({ type: 'MUL', options: { fusedActivationFunction: 'NONE' }, inputs: [2, 3], outputs: [4] }),
    ]);
    const [add, mulLayer] = analyzeCost(g).layers;
    expect(add).toMatchObject({ macs: 0, elementOps: 128, paramCount: 0, bytesRead: 1024, bytesWritten: 512, arithmeticIntensity: 0 });
    expect(mulLayer).toMatchObject({ macs: 0, elementOps: 128, paramCount: 8, paramBytes: 32, bytesRead: 544 });
  });

  it('pooling counts its window per output; MEAN its inputs; RESHAPE moves data only and its shape operand is no parameter', () => {
    // MAX_POOL 2×2/2 on [1,4,4,8] → [1,2,2,8]: 32 outputs · 4 = 128; MEAN over H,W of [1,2,2,8]: 32
    const g = graph(
      [t('x', [1, 4, 4, 8]), t('p', []), t('axes', [2], { dtype: 'int32', ints: [1, 2] }), t('m', []), t('shape', [2], { dtype: 'int32', ints: [1, 8] }), t('r', [])],
      [
        op({ type: 'MAX_POOL_2D', options: { padding: 'VALID', strideH: 2, strideW: 2, filterHeight: 2, filterWidth: 2, fusedActivationFunction: 'NONE' }, inputs: [0], outputs: [1] }),
        op({ type: 'MEAN', options: { keepDims: true }, inputs: [1, 2], outputs: [3] }),
        op({ type: 'RESHAPE', options: { newShape: [1, 8] }, inputs: [3, 4], outputs: [5] }),
      ],
    );
    const c = analyzeCost(g);
    expect(c.layers.map((l) => [l.op, l.macs, l.elementOps, l.paramCount])).toEqual([
      ['MAX_POOL_2D', 0, 128, 0],
      ['MEAN', 0, 32, 0],
      ['RESHAPE', 0, 0, 0],
    ]);
    expect(c.layers[2]).toMatchObject({ bytesRead: 32, bytesWritten: 32 });
    expect(c.parameterCount).toBe(0);
    expect(c.totalElementOps).toBe(160);
  });

  it('float16 weights behind DEQUANTIZE: folded at load, counted once as stored (2 B) and read as float32 by the conv', () => {
    const g = graph(
      [t('x', [1, 8, 8, 3]), t('w16', [4, 3, 3, 3], { dtype: 'float16', constant: true }), t('w', [4, 3, 3, 3]), t('b', [4], { constant: true }), t('y', [])],
      [op({ type: 'DEQUANTIZE', options: {}, inputs: [1], outputs: [2] }), op({ type: 'CONV_2D', options: conv, inputs: [0, 2, 3], outputs: [4] })],
    );
    expect(constantTensors(g)).toEqual([false, true, true, true, false]);
    const c = analyzeCost(g);
    expect(c.layers[0]).toMatchObject({ op: 'DEQUANTIZE', foldedAtLoad: true, macs: 0, paramCount: 0, memoryAccessBytes: 0 });
    expect(c.layers[1]).toMatchObject({ foldedAtLoad: false, macs: 6912, paramCount: 112, paramBytes: 448 });
    expect(c.parameterTensors).toEqual([1, 3]);
    expect(c.parameterCount).toBe(112);
    expect(c.parameterBytes).toBe(108 * 2 + 4 * 4);
    expect(c.totalMacs).toBe(6912);
  });

  it('weights shared by two layers count once in the model, once per layer in the table', () => {
    const g = graph([t('x', [1, 8, 8, 3]), t('w', [3, 3, 3, 3], { constant: true }), t('b', [3], { constant: true }), t('y1', []), t('y2', [])], [
      op({ type: 'CONV_2D', options: conv, inputs: [0, 1, 2], outputs: [3] }),
      op({ type: 'CONV_2D', options: conv, inputs: [3, 1, 2], outputs: [4] }),
    ]);
    const c = analyzeCost(g);
    expect(c.layers.map((l) => l.paramCount)).toEqual([84, 84]);
    expect(c.parameterCount).toBe(84);
    // 8·8·3 · 27 = 5184 each
    expect(c.totalMacs).toBe(2 * 5184);
    expect(c.totalMemoryAccessBytes).toBe(2 * (768 + 336 + 768));
  });

  it('unknown shapes and unknown ops give null, and the totals say which ops they leave out', () => {
    const g: Graph = {
      name: 'g',
      tensors: [t('x', [-1, 8, 8, 3]), t('w', [4, 3, 3, 3], { constant: true }), t('b', [4], { constant: true }), t('y', [-1, 8, 8, 4]), t('z', [-1, 8, 8, 4])],
      ops: [
        { type: 'CONV_2D', options: conv, inputs: [0, 1, 2], outputs: [3] },
        { type: 'CUSTOM', code: 'MyOp', inputs: [3], outputs: [4] },
      ],
      inputs: [0],
      outputs: [4],
    };
    const c = analyzeCost(g);
    expect(c.layers[0]).toMatchObject({ macs: null, paramCount: 112, bytesRead: null, arithmeticIntensity: null });
    expect(c.layers[1]).toMatchObject({ op: 'MyOp', kind: 'custom', macs: null, elementOps: null });
    expect(c.unknownCostOps).toEqual([0, 1]);
    // with static shapes given, the conv is known and only the custom op stays unknown
    const c2 = analyzeCost(g, [[1, 8, 8, 3], [4, 3, 3, 3], [4], [1, 8, 8, 4], [1, 8, 8, 4]]);
    expect(c2.layers[0].macs).toBe(6912);
    expect(c2.unknownCostOps).toEqual([1]);
    expect(c2.layers[1]).toMatchObject({ bytesRead: 1024, bytesWritten: 1024 });
  });

  it('int8 tensors count one byte per element', () => {
    const g = graph([t('x', [1, 4, 4, 2], { dtype: 'int8' }), t('w', [2, 1, 1, 2], { dtype: 'int8', constant: true }), t('b', [2], { dtype: 'int32', constant: true }), t('y', [])], [
      op({ type: 'CONV_2D', options: conv, inputs: [0, 1, 2], outputs: [3] }),
    ]);
    g.tensors[3].dtype = 'int8';
    // MACs 16·2·2 = 64; params 4 B + 8 B; input 32 B; output 32 B
    expect(analyzeCost(g).layers[0]).toMatchObject({ macs: 64, paramBytes: 12, bytesRead: 44, bytesWritten: 32, arithmeticIntensity: 64 / 76 });
  });
});
