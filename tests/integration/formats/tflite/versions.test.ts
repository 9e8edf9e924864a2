import * as flatbuffers from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import * as fb from '../../../../src/core/formats/tflite/generated/schema_generated';
import { readTflite } from '../../../../src/core/formats/tflite/reader';
import { requiredOpVersion } from '../../../../src/core/formats/tflite/versions';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import type { Model } from '../../../../src/core/ir/types';
import { loadOracle } from '../../../helpers/tflite-oracle';
import { singleOpModel } from '../../../helpers/tflite-model';
import { rng } from './test-utils';

const conv = { padding: 'SAME', strideW: 1, strideH: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: 'NONE' } as const;

function writtenVersions(model: Model): number[] {
  const root = fb.Model.getRootAsModel(new flatbuffers.ByteBuffer(writeTflite(model)));
  const out: number[] = [];
  for (let i = 0; i < root.operatorCodesLength(); i++) out.push(root.operatorCodes(i)!.version());
  return out;
}

/** An int8 conv with per-channel weights, int32 bias and per-tensor activations. */
function int8Conv(perChannel: boolean): Model {
  const next = rng(5);
  const outCh = 4;
  const weights = new Int8Array(outCh * 3 * 3 * 2).map(() => Math.round(next() * 254 - 127));
  const wScale = perChannel ? [0.01, 0.02, 0.03, 0.04] : [0.02];
  const inScale = 0.05;
  return singleOpModel({
    type: 'CONV_2D',
    options: conv,
    inputs: [
      { dtype: 'int8', shape: [1, 5, 5, 2], quant: { scale: [inScale], zeroPoint: [3] } },
      {
        dtype: 'int8',
        shape: [outCh, 3, 3, 2],
        data: weights,
        quant: perChannel ? { scale: wScale, zeroPoint: [0, 0, 0, 0], axis: 0 } : { scale: wScale, zeroPoint: [0] },
      },
      {
        dtype: 'int32',
        shape: [outCh],
        data: new Int32Array([10, -20, 30, 0]),
        quant: perChannel ? { scale: wScale.map((s) => s * inScale), zeroPoint: [0, 0, 0, 0], axis: 0 } : { scale: [wScale[0] * inScale], zeroPoint: [0] },
      },
    ],
    outputs: [{ dtype: 'int8', quant: { scale: [0.1], zeroPoint: [-5] } }],
  });
}

describe('op versions', () => {
  it('writes version 1 for float ops and the int8 versions TFLite needs', () => {
    const float = singleOpModel({
      type: 'CONV_2D',
      options: conv,
      inputs: [
        { dtype: 'float32', shape: [1, 4, 4, 2] },
        { dtype: 'float32', shape: [3, 3, 3, 2], data: new Float32Array(54) },
        { dtype: 'float32', shape: [3], data: new Float32Array(3) },
      ],
    });
    expect(writtenVersions(float)).toEqual([1]);
    expect(writtenVersions(int8Conv(true))).toEqual([3]);
    expect(writtenVersions(int8Conv(false))).toEqual([3]);
  });

  it('follows the rules for the other ops', () => {
    const g = (m: Model) => m.subgraphs[0];
    const version = (m: Model) => requiredOpVersion(g(m), g(m).ops[0]);
    const q = { scale: [0.1], zeroPoint: [0] };
    expect(version(singleOpModel({ type: 'DEQUANTIZE', options: {}, inputs: [{ dtype: 'float16', shape: [4], data: new Uint16Array(4) }], outputs: [{ dtype: 'float32' }] }))).toBe(3);
    expect(version(singleOpModel({ type: 'DEQUANTIZE', options: {}, inputs: [{ dtype: 'int8', shape: [4], quant: q }], outputs: [{ dtype: 'float32' }] }))).toBe(2);
    expect(
      version(singleOpModel({ type: 'DEQUANTIZE', options: {}, inputs: [{ dtype: 'int8', shape: [2, 2], quant: { scale: [1, 2], zeroPoint: [0, 0], axis: 0 } }], outputs: [{ dtype: 'float32' }] })),
    ).toBe(5);
    expect(version(singleOpModel({ type: 'QUANTIZE', options: {}, inputs: [{ dtype: 'float32', shape: [4] }], outputs: [{ dtype: 'int8', quant: q }] }))).toBe(1);
    expect(version(singleOpModel({ type: 'QUANTIZE', options: {}, inputs: [{ dtype: 'float32', shape: [4] }], outputs: [{ dtype: 'int16', quant: q }] }))).toBe(2);
    expect(
      version(
        singleOpModel({
          type: 'FULLY_CONNECTED',
          options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false },
          inputs: [
            { dtype: 'int8', shape: [1, 4], quant: q },
            { dtype: 'int8', shape: [2, 4], data: new Int8Array(8), quant: q },
            { dtype: 'int32', shape: [2], data: new Int32Array(2), quant: q },
          ],
          outputs: [{ dtype: 'int8', quant: q }],
        }),
      ),
    ).toBe(4);
    expect(
      version(
        singleOpModel({
          type: 'FULLY_CONNECTED',
          options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false },
          inputs: [{ dtype: 'float32', shape: [1, 4] }, { dtype: 'float32', shape: [2, 4], data: new Float32Array(8) }],
        }),
      ),
    ).toBe(6);
    const add8 = singleOpModel({
      type: 'ADD',
      options: { fusedActivationFunction: 'NONE', potScaleInt16: true },
      inputs: [{ dtype: 'int8', shape: [4], quant: q }, { dtype: 'int8', shape: [4], quant: q }],
      outputs: [{ dtype: 'int8', quant: q }],
    });
    expect(version(add8)).toBe(2);
    const mul = singleOpModel({
      type: 'MUL',
      options: { fusedActivationFunction: 'NONE' },
      inputs: [{ dtype: 'int8', shape: [4], quant: { scale: [2], zeroPoint: [0] } }, { dtype: 'int8', shape: [4], quant: { scale: [1], zeroPoint: [0] } }],
      outputs: [{ dtype: 'int8', quant: { scale: [1], zeroPoint: [0] } }],
    });
    expect(version(mul)).toBe(3);
    expect(
      version(singleOpModel({ type: 'RESIZE_BILINEAR', options: { alignCorners: false, halfPixelCenters: true }, inputs: [{ dtype: 'float32', shape: [1, 2, 2, 1] }, { dtype: 'int32', shape: [2], data: new Int32Array([4, 4]) }] })),
    ).toBe(3);
  });

  it('never lowers a version the model already carries', () => {
    const model = readTflite(writeTflite(singleOpModel({ type: 'RELU', options: {}, inputs: [{ dtype: 'float32', shape: [2] }], version: 2 })));
    expect(model.subgraphs[0].ops[0].version).toBe(2);
  });

  it('int8 convolutions written with these versions run in TFLite, per-channel and per-tensor', async () => {
    const oracle = await loadOracle();
    for (const perChannel of [true, false]) {
      const model = int8Conv(perChannel);
      const next = rng(9);
      const x = new Int8Array(50).map(() => Math.round(next() * 255 - 128));
      const { outputs, profile } = oracle.run(writeTflite(model), [x]);
      expect(outputs[0]).toBeInstanceOf(Int8Array);
      expect(outputs[0].length).toBe(1 * 5 * 5 * 4);
      // Within one step of a float reference computed here from the same integers.
      const g = model.subgraphs[0];
      const w = g.tensors[1].data as Int8Array;
      const bias = g.tensors[2].data as Int32Array;
      const ws = g.tensors[1].quant!.scale;
      let worst = 0;
      for (let y = 0; y < 5; y++)
        for (let xx = 0; xx < 5; xx++)
          for (let o = 0; o < 4; o++) {
            let acc = bias[o];
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++)
                for (let c = 0; c < 2; c++) {
                  const iy = y + ky - 1;
                  const ix = xx + kx - 1;
                  if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue;
                  acc += (x[(iy * 5 + ix) * 2 + c] - 3) * w[((o * 3 + ky) * 3 + kx) * 2 + c];
                }
            const real = acc * 0.05 * ws[perChannel ? o : 0];
            const q = Math.max(-128, Math.min(127, Math.round(real / 0.1) - 5));
            worst = Math.max(worst, Math.abs(q - (outputs[0] as Int8Array)[(y * 5 + xx) * 4 + o]));
          }
      expect(worst).toBeLessThanOrEqual(1);
      expect(profile.length === 0 || profile.some((p) => /XNNPack|CONV_2D/.test(p.nodeType))).toBe(true);
    }
  });
});
