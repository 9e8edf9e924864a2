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
});
