/**
 * Sparse constants: the reader densifies them (and folds the DENSIFY ops that read them). Each
 * layout is checked against TFLite's own DENSIFY kernel run on the same file.
 */

import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../../../src/core/errors';
import * as fb from '../../../../src/core/formats/tflite/generated/schema_generated';
import { readTflite } from '../../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import { validateModel } from '../../../../src/core/ir/validate';
import { loadOracle } from '../../../helpers/tflite-oracle';
import { rawModel, type RawSparsity } from './raw-model';
import { FACE_SPARSE, readBytes, rng } from './test-utils';

function densifyModel(shape: number[], type: fb.TensorType, values: Uint8Array, sparsity: RawSparsity, consumer = false): Uint8Array {
  const tensors = [
    { name: 'sparse', type, shape, buffer: 1, sparse: sparsity },
    { name: 'dense', type, shape },
  ];
  const ops = [{ opcode: 0, inputs: [0], outputs: [1] }];
  const codes: { code: number }[] = [{ code: fb.BuiltinOperator.DENSIFY }];
  if (consumer) {
    // dense + x → y, so DENSIFY's output is not a graph output and the reader folds it.
    tensors.push({ name: 'x', type, shape }, { name: 'y', type, shape });
    ops.push({ opcode: 1, inputs: [1, 2], outputs: [3] });
    codes.push({ code: fb.BuiltinOperator.ADD });
  }
  return rawModel({
    codes,
    buffers: [null, values],
    subgraphs: [{ name: 'main', tensors, inputs: consumer ? [2] : [], outputs: [consumer ? 3 : 1], ops }],
  });
}

const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);

const layouts: [string, number[], number[], RawSparsity][] = [
  [
    'CSR rows (uint8 indices)',
    [3, 4],
    [1.5, -2, 3],
    { traversalOrder: [0, 1], levels: [{ dense: 3 }, { segments: { uint8: [0, 2, 2, 3] }, indices: { uint8: [1, 3, 0] } }] },
  ],
  [
    'CSR columns first (uint16 indices)',
    [3, 4],
    [1, 2, 3, 4],
    { traversalOrder: [1, 0], levels: [{ dense: 4 }, { segments: { uint16: [0, 1, 1, 3, 4] }, indices: { uint16: [2, 0, 1, 2] } }] },
  ],
  [
    '2×2 block sparse (int32 indices)',
    [4, 4],
    [1, 2, 3, 4, 5, 6, 7, 8],
    {
      traversalOrder: [0, 1, 2, 3],
      blockMap: [0, 1],
      levels: [{ dense: 2 }, { segments: { int32: [0, 1, 2] }, indices: { int32: [1, 0] } }, { dense: 2 }, { dense: 2 }],
    },
  ],
  [
    'mediapipe-like [2,1,1,6], sparse last dimension',
    [2, 1, 1, 6],
    [0.25, 0.5, -1, 7],
    {
      traversalOrder: [0, 1, 2, 3],
      levels: [{ dense: 2 }, { dense: 1 }, { dense: 1 }, { segments: { uint8: [0, 3, 4] }, indices: { uint8: [0, 2, 5, 4] } }],
    },
  ],
];

describe('sparse constants are densified like TFLite densifies them', () => {
  it.each(layouts)('%s', async (_, shape, values, sparsity) => {
    // DENSIFY → ADD(·, 0): this build's XNNPACK only takes DENSIFY as weights of a consumer.
    const bytes = densifyModel(shape, fb.TensorType.FLOAT32, f32(values), sparsity, true);
    const oracle = await loadOracle();
    const size = shape.reduce((a, b) => a * b, 1);
    const expected = oracle.run(bytes, [new Float32Array(size)]).outputs[0] as Float32Array;
    const model = readTflite(bytes);
    const ours = model.subgraphs[0].tensors[0].data as Float32Array;
    expect(Array.from(ours)).toEqual(Array.from(expected));
    expect(model.producer).toBe('1 sparse constant densified');
  });

  it('folds the DENSIFY op when its output feeds another op, and the written model runs', async () => {
    const [, shape, values, sparsity] = layouts[2];
    const bytes = densifyModel(shape, fb.TensorType.FLOAT32, f32(values), sparsity, true);
    const model = readTflite(bytes);
    const g = model.subgraphs[0];
    expect(g.ops.map((op) => op.type)).toEqual(['ADD']);
    expect(g.tensors.map((t) => t.name)).toEqual(['dense', 'x', 'y']);
    expect(g.inputs).toEqual([1]);
    expect(validateModel(model)).toEqual([]);
    const oracle = await loadOracle();
    const x = new Float32Array(16).map((_, i) => i);
    const a = oracle.run(bytes, [x]).outputs[0];
    const b = oracle.run(writeTflite(model), [x]).outputs[0];
    expect(Array.from(b as Float32Array)).toEqual(Array.from(a as Float32Array));
  });

  it.each<[string, RawSparsity, RegExp]>([
    ['a coordinate outside the dimension', { traversalOrder: [0, 1], levels: [{ dense: 3 }, { segments: { uint8: [0, 2, 2, 3] }, indices: { uint8: [1, 9, 0] } }] }, /level 1 has coordinate 9 for a dimension of size 4/],
    ['segments running backwards', { traversalOrder: [0, 1], levels: [{ dense: 3 }, { segments: { uint8: [0, 2, 1, 3] }, indices: { uint8: [1, 3, 0] } }] }, /segment 1 spans \[2, 1\)/],
    ['too few segment bounds', { traversalOrder: [0, 1], levels: [{ dense: 3 }, { segments: { uint8: [0, 2] }, indices: { uint8: [1, 3, 0] } }] }, /position 1 needs 3/],
    ['more positions than stored values', { traversalOrder: [0, 1], levels: [{ dense: 3 }, { segments: { uint8: [0, 2, 3, 4] }, indices: { uint8: [1, 3, 0, 2] } }] }, /refers to stored value 3, but only 3 are stored/],
    ['a traversal order that is not a permutation', { traversalOrder: [0, 0], levels: [{ dense: 3 }, { dense: 4 }] }, /is not a permutation/],
    ['a dense size that contradicts the shape', { traversalOrder: [0, 1], levels: [{ dense: 3 }, { dense: 5 }] }, /level 1 is dense with size 5, but its dimension has size 4/],
  ])('refuses %s with a sentence', (_, sparsity, message) => {
    const bytes = densifyModel([3, 4], fb.TensorType.FLOAT32, f32([1, 2, 3]), sparsity);
    let error: unknown;
    try {
      readTflite(bytes, 'sparse.tflite');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(/^sparse\.tflite: tensor 'sparse' \(index 0\) has invalid sparse storage: /);
    expect((error as Error).message).toMatch(message);
  });

  it('reads the sparse mediapipe face detector as a dense model that TFLite runs like the original', async () => {
    const original = readBytes(FACE_SPARSE);
    const model = readTflite(original, 'face_detection_full_range_sparse.tflite');
    const g = model.subgraphs[0];
    expect(model.producer).toMatch(/46 sparse constants densified/);
    expect(g.ops.some((op) => op.type === 'UNKNOWN_BUILTIN')).toBe(false);
    expect(validateModel(model).filter((i) => i.severity === 'error')).toEqual([]);
    const oracle = await loadOracle();
    const next = rng(21);
    const x = new Float32Array(192 * 192 * 3).map(() => next() * 2 - 1);
    const a = oracle.run(original, [x]).outputs;
    const b = oracle.run(writeTflite(model), [x]).outputs;
    // Not bit-exact: given sparse weights, XNNPACK runs the 1×1 convolutions with its sparse
    // kernels, which sum in another order than the dense ones the written file gets.
    a.forEach((out, i) => {
      const p = out as Float32Array;
      const q = b[i] as Float32Array;
      let scale = 0;
      let diff = 0;
      for (let k = 0; k < p.length; k++) {
        scale = Math.max(scale, Math.abs(p[k]));
        diff = Math.max(diff, Math.abs(p[k] - q[k]));
      }
      expect(diff / scale).toBeLessThan(1e-5);
    });
  });
});
