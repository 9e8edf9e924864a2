import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../../src/core/errors';
import {
  cloneGraph,
  cloneModel,
  foldBatchNorm,
  foldFloat16Dequantize,
  removeUnusedTensors,
  setBatchSize,
  setInputShape,
  sortTopologically,
} from '../../../../src/core/ir/transforms';
import { validateGraph } from '../../../../src/core/ir/validate';
import type { FusedActivation, Graph, Op, Tensor } from '../../../../src/core/ir/types';
import { evaluate } from './reference';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
}

function randomF32(n: number, next: () => number, scale = 1): Float32Array {
  return new Float32Array(n).map(() => next() * 2 * scale);
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** x → LINEAR(weights, bias?) → MUL(scale) → ADD(shift, activation) → y */
function bnGraph(kind: 'CONV_2D' | 'DEPTHWISE_CONV_2D' | 'FULLY_CONNECTED', opts: { bias: boolean; activation: FusedActivation; seed: number }): Graph {
  const next = lcg(opts.seed);
  const C = 4;
  const tensors: Tensor[] = [];
  const add = (t: Tensor) => tensors.push(t) - 1;
  let x: number, w: number, out: number[];
  if (kind === 'FULLY_CONNECTED') {
    x = add({ name: 'x', dtype: 'float32', shape: [3, 5] });
    w = add({ name: 'w', dtype: 'float32', shape: [C, 5], data: randomF32(C * 5, next) });
    out = [3, C];
  } else if (kind === 'CONV_2D') {
    x = add({ name: 'x', dtype: 'float32', shape: [1, 6, 6, 3] });
    w = add({ name: 'w', dtype: 'float32', shape: [C, 3, 3, 3], data: randomF32(C * 27, next) });
    out = [1, 3, 3, C];
  } else {
    x = add({ name: 'x', dtype: 'float32', shape: [1, 6, 6, 2] });
    w = add({ name: 'w', dtype: 'float32', shape: [1, 3, 3, C], data: randomF32(9 * C, next) });
    out = [1, 3, 3, C];
  }
  const b = opts.bias ? add({ name: 'bias', dtype: 'float32', shape: [C], data: randomF32(C, next) }) : -1;
  const y0 = add({ name: 'linear', dtype: 'float32', shape: out });
  const s = add({ name: 'bn/scale', dtype: 'float32', shape: [C], data: randomF32(C, next, 2) });
  const y1 = add({ name: 'scaled', dtype: 'float32', shape: out });
  const t = add({ name: 'bn/shift', dtype: 'float32', shape: kind === 'FULLY_CONNECTED' ? [C] : [1, 1, 1, C], data: randomF32(C, next) });
  const y2 = add({ name: 'y', dtype: 'float32', shape: out });
  const conv = { padding: 'SAME' as const, strideW: 2, strideH: 2, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' as const };
  const linear: Op =
    kind === 'FULLY_CONNECTED'
      ? { type: kind, options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false }, inputs: opts.bias ? [x, w, b] : [x, w], outputs: [y0] }
      : kind === 'CONV_2D'
        ? { type: kind, options: conv, inputs: [x, w, b], outputs: [y0] }
        : { type: kind, options: { ...conv, depthMultiplier: 2 }, inputs: [x, w, b], outputs: [y0] };
  return {
    name: 'main',
    tensors,
    ops: [
      linear,
      { type: 'MUL', options: { fusedActivationFunction: 'NONE' }, inputs: [y0, s], outputs: [y1] },
      { type: 'ADD', options: { fusedActivationFunction: opts.activation, potScaleInt16: true }, inputs: [t, y1], outputs: [y2] },
    ],
    inputs: [x],
    outputs: [y2],
  };
}

describe('foldBatchNorm', () => {
  const kinds = ['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'] as const;
  for (const kind of kinds) {
    for (const bias of [true, false]) {
      it(`folds MUL+ADD into ${kind} ${bias ? 'with' : 'without'} a bias, matching the reference`, () => {
        const graph = bnGraph(kind, { bias, activation: 'RELU', seed: kind.length + (bias ? 1 : 0) });
        const before = JSON.stringify(graph, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v));
        const { graph: folded, folded: count } = foldBatchNorm(graph);
        expect(count).toBe(1);
        expect(folded.ops.map((o) => o.type)).toEqual([kind]);
        expect((folded.ops[0] as Extract<Op, { type: typeof kind }>).options.fusedActivationFunction).toBe('RELU');
        expect(validateGraph(folded)).toEqual([]);
        expect(folded.tensors[folded.outputs[0]].name).toBe('y');
        // The original is untouched.
        expect(JSON.stringify(graph, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v))).toBe(before);

        const x = Float64Array.from(randomF32(graph.tensors[graph.inputs[0]].shape.reduce((a, b) => a * b, 1), lcg(99)));
        const want = evaluate(graph, [x])[graph.outputs[0]];
        const got = evaluate(folded, [x])[folded.outputs[0]];
        expect(maxAbsDiff(want, got)).toBeLessThan(1e-5);
      });
    }
  }

  it('leaves patterns alone when the intermediate tensor has other readers or an activation sits in between', () => {
    const shared = bnGraph('CONV_2D', { bias: true, activation: 'NONE', seed: 3 });
    shared.outputs.push(shared.ops[0].outputs[0]); // the conv output is also a graph output
    expect(foldBatchNorm(shared).folded).toBe(0);

    const activated = bnGraph('CONV_2D', { bias: true, activation: 'NONE', seed: 3 });
    (activated.ops[0] as Extract<Op, { type: 'CONV_2D' }>).options.fusedActivationFunction = 'RELU';
    expect(foldBatchNorm(activated).folded).toBe(0);

    const quantized = bnGraph('CONV_2D', { bias: true, activation: 'NONE', seed: 3 });
    quantized.tensors[1].quant = { scale: [1], zeroPoint: [0] };
    expect(foldBatchNorm(quantized).folded).toBe(0);
  });

  it('folds a MUL alone, stopping at an activation on the MUL', () => {
    const g = bnGraph('CONV_2D', { bias: true, activation: 'NONE', seed: 11 });
    (g.ops[1] as Extract<Op, { type: 'MUL' }>).options.fusedActivationFunction = 'RELU6';
    const { graph: folded, folded: count } = foldBatchNorm(g);
    expect(count).toBe(1);
    expect(folded.ops.map((o) => o.type)).toEqual(['CONV_2D', 'ADD']);
    const x = Float64Array.from(randomF32(108, lcg(5)));
    expect(maxAbsDiff(evaluate(g, [x])[g.outputs[0]], evaluate(folded, [x])[folded.outputs[0]])).toBeLessThan(1e-5);
  });
});

describe('foldFloat16Dequantize', () => {
  it('turns float16 weights behind DEQUANTIZE into float32 constants with the same values', () => {
    const next = lcg(4);
    const halfWeights = new Uint16Array(4 * 27).map(() => 0x3000 + Math.floor((next() + 0.5) * 0x1000)); // 0.125 … 0.25
    const graph: Graph = {
      name: 'main',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [1, 3, 3, 3] },
        { name: 'w16', dtype: 'float16', shape: [4, 3, 3, 3], data: halfWeights },
        { name: 'w', dtype: 'float32', shape: [4, 3, 3, 3] },
        { name: 'y', dtype: 'float32', shape: [1, 3, 3, 4] },
      ],
      ops: [
        { type: 'DEQUANTIZE', options: {}, inputs: [1], outputs: [2] },
        { type: 'CONV_2D', options: { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' }, inputs: [0, 2, -1], outputs: [3] },
      ],
      inputs: [0],
      outputs: [3],
    };
    const folded = foldFloat16Dequantize(graph);
    expect(folded.ops.map((o) => o.type)).toEqual(['CONV_2D']);
    expect(folded.tensors.map((t) => t.name)).toEqual(['x', 'w', 'y']);
    expect(folded.tensors[1].data).toBeInstanceOf(Float32Array);
    expect(validateGraph(folded)).toEqual([]);
    const x = Float64Array.from(randomF32(27, lcg(8)));
    expect(maxAbsDiff(evaluate(graph, [x])[3], evaluate(folded, [x])[2])).toBe(0);
  });
});

describe('shapes', () => {
  function dynamic(): Graph {
    return {
      name: 'main',
      tensors: [
        { name: 'image', dtype: 'float32', shape: [-1, -1, -1, 3] },
        { name: 'w', dtype: 'float32', shape: [2, 3, 3, 3], data: new Float32Array(54) },
        { name: 'features', dtype: 'float32', shape: [-1, -1, -1, 2] },
        { name: 'pooled', dtype: 'float32', shape: [-1, -1, -1, 2] },
      ],
      ops: [
        { type: 'CONV_2D', options: { padding: 'VALID', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' }, inputs: [0, 1, -1], outputs: [2] },
        { type: 'MAX_POOL_2D', options: { padding: 'VALID', strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2, fusedActivationFunction: 'NONE' }, inputs: [2], outputs: [3] },
      ],
      inputs: [0],
      outputs: [3],
    };
  }

  it('fixes an input shape and re-infers everything downstream', () => {
    const g = setInputShape(dynamic(), 'image', [2, 10, 12, 3]);
    expect(g.tensors.map((t) => t.shape)).toEqual([[2, 10, 12, 3], [2, 3, 3, 3], [2, 8, 10, 2], [2, 4, 5, 2]]);
    expect(dynamic().tensors[0].shape).toEqual([-1, -1, -1, 3]);
  });

  it('sets the batch size only', () => {
    expect(setBatchSize(dynamic(), 4).tensors.map((t) => t.shape[0])).toEqual([4, 2, 4, 4]);
  });

  it('refuses unknown inputs, rank changes and shapes that no longer fit', () => {
    expect(() => setInputShape(dynamic(), 'w', [1, 1, 1, 1])).toThrow("Graph 'main' has no input called 'w' (its inputs are 'image').");
    expect(() => setInputShape(dynamic(), 'image', [1, 8, 8])).toThrow(/different rank/);
    expect(() => setInputShape(dynamic(), 'image', [1, 2, 2, 3])).toThrow(UnsupportedError);
    expect(() => setBatchSize(dynamic(), 0)).toThrow(/Batch size 0/);
  });
});

describe('order, clean-up and copies', () => {
  const chain = (): Graph => ({
    name: 'main',
    tensors: ['x', 'a', 'b', 'unused'].map((name) => ({ name, dtype: 'float32' as const, shape: [2] })),
    ops: [
      { type: 'RELU', options: {}, inputs: [1], outputs: [2] },
      { type: 'RELU6', options: {}, inputs: [0], outputs: [1] },
    ],
    inputs: [0],
    outputs: [2],
  });

  it('sorts ops into dependency order', () => {
    expect(sortTopologically(chain()).ops.map((o) => o.type)).toEqual(['RELU6', 'RELU']);
    const cyclic = chain();
    cyclic.ops[1].inputs = [2];
    expect(() => sortTopologically(cyclic)).toThrow(/has a cycle through op/);
  });

  it('removes unused tensors and renumbers', () => {
    const g = removeUnusedTensors(chain());
    expect(g.tensors.map((t) => t.name)).toEqual(['x', 'a', 'b']);
    expect(g.ops.map((o) => [o.inputs, o.outputs])).toEqual([[[1], [2]], [[0], [1]]]);
  });

  it('clones deeply', () => {
    const g: Graph = { ...chain(), tensors: [...chain().tensors] };
    g.tensors[3] = { name: 'c', dtype: 'int8', shape: [2], data: new Int8Array([1, 2]), quant: { scale: [1], zeroPoint: [0] } };
    const copy = cloneGraph(g);
    expect(copy).toEqual(g);
    (copy.tensors[3].data as Int8Array)[0] = 9;
    copy.tensors[3].quant!.scale[0] = 2;
    copy.ops[0].inputs[0] = 3;
    expect((g.tensors[3].data as Int8Array)[0]).toBe(1);
    expect(g.tensors[3].quant!.scale[0]).toBe(1);
    expect(g.ops[0].inputs[0]).toBe(1);
    const model = cloneModel({ format: 'tflite', subgraphs: [g], metadata: [{ name: 'm', data: new Uint8Array([1]) }] });
    model.metadata![0].data[0] = 5;
    expect(model.subgraphs[0]).not.toBe(g);
  });
});
