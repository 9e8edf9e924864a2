import { describe, expect, it } from 'vitest';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import { loadOracle } from '../../../helpers/tflite-oracle';
import { singleOpModel } from '../../../helpers/tflite-model';

describe('TFLite oracle', () => {
  it('loads the SIMD build and runs a one-op model written by QuantLab', async () => {
    const oracle = await loadOracle();
    expect(oracle.build).toBe('simd');
    const model = singleOpModel({
      type: 'ADD',
      options: { fusedActivationFunction: 'RELU', potScaleInt16: true },
      inputs: [
        { dtype: 'float32', shape: [1, 2, 2, 3] },
        { dtype: 'float32', shape: [3], data: new Float32Array([0.5, -1, 2]) },
      ],
    });
    expect(model.subgraphs[0].tensors[2].shape).toEqual([1, 2, 2, 3]);
    const x = new Float32Array(12).map((_, i) => i - 6);
    const { outputs, profile } = oracle.run(writeTflite(model), [x]);
    const expected = x.map((v, i) => Math.max(0, v + [0.5, -1, 2][i % 3]));
    expect(Array.from(outputs[0] as Float32Array)).toEqual(Array.from(expected));
    expect(Array.isArray(profile)).toBe(true);
  });

  it('describes inputs and outputs', async () => {
    const oracle = await loadOracle();
    const model = singleOpModel({
      type: 'SOFTMAX',
      options: { beta: 1 },
      inputs: [{ name: 'logits', dtype: 'float32', shape: [2, 5] }],
      outputs: [{ name: 'probs', dtype: 'float32' }],
    });
    expect(oracle.describe(writeTflite(model))).toEqual({
      inputs: [{ name: 'logits', shape: [2, 5], dataType: 'float32' }],
      outputs: [{ name: 'probs', shape: [2, 5], dataType: 'float32' }],
    });
  });

  it('throws with the interpreter message when TFLite refuses a model', async () => {
    const oracle = await loadOracle();
    const model = singleOpModel({
      type: 'ADD',
      options: { fusedActivationFunction: 'NONE', potScaleInt16: true },
      inputs: [
        { dtype: 'float32', shape: [2] },
        { dtype: 'float32', shape: [2] },
      ],
      version: 99,
    });
    expect(() => oracle.run(writeTflite(model), [new Float32Array(2), new Float32Array(2)])).toThrow(/ADD.*version '?99|version.*99/i);
  });

  it('rejects inputs of the wrong type or size', async () => {
    const oracle = await loadOracle();
    const model = singleOpModel({ type: 'RELU', options: {}, inputs: [{ dtype: 'float32', shape: [4] }] });
    expect(() => oracle.run(writeTflite(model), [new Int8Array(4)])).toThrow(/input 0/);
    expect(() => oracle.run(writeTflite(model), [new Float32Array(3)])).toThrow(/input 0/);
  });

  it('can run many models without exhausting the wasm heap', async () => {
    const oracle = await loadOracle();
    const model = writeTflite(
      singleOpModel({ type: 'RELU', options: {}, inputs: [{ dtype: 'float32', shape: [1, 256, 256, 16] }] }),
    );
    const x = new Float32Array(256 * 256 * 16).fill(-1);
    for (let i = 0; i < 200; i++) oracle.run(model, [x]);
    expect(Array.from((oracle.run(model, [x]).outputs[0] as Float32Array).slice(0, 3))).toEqual([0, 0, 0]);
  });

  it('says which kernel ran: XNNPACK for constant weights, the builtin kernel for weights fed as inputs', async () => {
    const oracle = await loadOracle();
    const conv = { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } as const;
    const bias = { dtype: 'float32' as const, shape: [3], data: new Float32Array(3) };
    const constant = singleOpModel({
      type: 'CONV_2D',
      options: conv,
      inputs: [{ dtype: 'float32', shape: [1, 4, 4, 2] }, { dtype: 'float32', shape: [3, 3, 3, 2], data: new Float32Array(54).fill(1) }, bias],
    });
    const fed = singleOpModel({
      type: 'CONV_2D',
      options: conv,
      inputs: [{ dtype: 'float32', shape: [1, 4, 4, 2] }, { dtype: 'float32', shape: [3, 3, 3, 2] }, bias],
    });
    const x = new Float32Array(32).fill(1);
    const a = oracle.run(writeTflite(constant), [x]);
    const b = oracle.run(writeTflite(fed), [x, new Float32Array(54).fill(1)]);
    expect(Array.from(b.outputs[0] as Float32Array)).toEqual(Array.from(a.outputs[0] as Float32Array));
    // An empty profile means "unknown" in this build; when present it names the kernel.
    if (a.profile.length) expect(a.profile.map((p) => p.nodeType)).toEqual(['TfLiteXNNPackDelegate']);
    if (b.profile.length) expect(b.profile.map((p) => p.nodeType)).toEqual(['CONV_2D']);
  });

  it('runs convolutions without a bias: the writer adds the zero bias TFLite insists on', async () => {
    const oracle = await loadOracle();
    const conv = { padding: 'VALID', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } as const;
    for (const omitted of [[], [null]] as const) {
      const model = singleOpModel({
        type: 'CONV_2D',
        options: conv,
        inputs: [{ dtype: 'float32', shape: [1, 3, 3, 2] }, { dtype: 'float32', shape: [1, 3, 3, 2], data: new Float32Array(18).fill(0.5) }, ...omitted],
      });
      const { outputs } = oracle.run(writeTflite(model), [new Float32Array(18).fill(2)]);
      expect(Array.from(outputs[0] as Float32Array)).toEqual([18]);
      expect(model.subgraphs[0].tensors.length).toBe(3); // the model itself is unchanged
    }
  });
});
