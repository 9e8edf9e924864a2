import { describe, expect, it } from 'vitest';
import { readTflite } from '../../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import { loadOracle } from '../../../helpers/tflite-oracle';
import { FACE_FULL, FACE_SHORT, SELFIE, SELFIE_LANDSCAPE, expectSameModel, readBytes, rng } from './test-utils';

describe.each([FACE_SHORT, FACE_FULL, SELFIE, SELFIE_LANDSCAPE])('round trip of %s', (path) => {
  const original = readBytes(path);
  const fileName = path.split('/').pop() as string;

  it('reads, writes and reads back the same model', () => {
    const first = readTflite(original, fileName);
    const written = writeTflite(first);
    const second = readTflite(written, 'written.tflite');
    expectSameModel(first, second);
    // Writing is a fixed point after one round: same model, same bytes.
    expect(Buffer.from(writeTflite(second)).equals(Buffer.from(written))).toBe(true);
  });

  it('keeps what a real converter wrote', () => {
    const model = readTflite(original, fileName);
    const g = model.subgraphs[0];
    expect(g.inputs.length).toBe(1);
    expect(g.tensors[g.inputs[0]].dtype).toBe('float32');
    const dequantize = g.ops.filter((op) => op.type === 'DEQUANTIZE');
    expect(dequantize.length).toBeGreaterThan(50);
    for (const op of dequantize) {
      const w = g.tensors[op.inputs[0]];
      expect(w.dtype).toBe('float16');
      expect(w.data).toBeInstanceOf(Uint16Array);
    }
  });
});

describe('custom ops stay opaque', () => {
  it('keeps Convolution2DTransposeBias with its code and options bytes', () => {
    const model = readTflite(readBytes(SELFIE), 'selfie_segmentation.tflite');
    const custom = model.subgraphs[0].ops.filter((op) => op.type === 'CUSTOM');
    expect(custom.map((op) => (op.type === 'CUSTOM' ? op.code : ''))).toEqual(['Convolution2DTransposeBias']);
    const again = readTflite(writeTflite(model));
    const op = again.subgraphs[0].ops.find((o) => o.type === 'CUSTOM');
    expect(op && op.type === 'CUSTOM' ? op.inputs.length : 0).toBe(3);
  });
});

describe('written face detection models run bit-exactly like the originals in TFLite', () => {
  it.each([FACE_SHORT, FACE_FULL])('%s', async (path) => {
    const oracle = await loadOracle();
    const original = readBytes(path);
    const written = writeTflite(readTflite(original));
    const { inputs } = oracle.describe(original);
    const size = inputs[0].shape.reduce((a, b) => a * b, 1);
    for (const seed of [1, 2, 3]) {
      const next = rng(seed);
      const x = new Float32Array(size).map(() => next() * 2 - 1);
      const a = oracle.run(original, [x]);
      const b = oracle.run(written, [x]);
      expect(b.outputs.length).toBe(a.outputs.length);
      a.outputs.forEach((out, i) => {
        const same = Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(
          Buffer.from(b.outputs[i].buffer, b.outputs[i].byteOffset, b.outputs[i].byteLength),
        );
        expect(same, `output ${i}, seed ${seed}`).toBe(true);
      });
    }
  });
});
