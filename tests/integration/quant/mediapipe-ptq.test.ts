/**
 * Full-int8 PTQ of real mobile models nobody here wrote (MediaPipe face detection and selfie
 * segmentation), calibrated on synthetic images:
 *  - the int8 .tflite runs in the real TFLite interpreter and equals QuantLab bit for bit;
 *  - its outputs against the float model's, on held-out synthetic images, reach SQNR ≥ 20 dB
 *    with the best calibration method (the issue's bar; all methods are reported by the bench).
 * Selfie segmentation's custom transpose convolution is legalized to TRANSPOSE_CONV first.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticImage } from '../../../src/core/data/synthetic';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { legalizeModel } from '../../../src/core/ir/legalize';
import type { Model } from '../../../src/core/ir/types';
import { parseCalibration } from '../../../src/core/quant/observers';
import { defaultPtqOptions, quantizeModel } from '../../../src/core/quant/ptq';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';

const require = createRequire(import.meta.url);
function packageModel(pkg: string, file: string): Model {
  const p = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
  return readTflite(new Uint8Array(fs.readFileSync(p)), file);
}

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
}, 60_000);

const CASES = [
  { name: 'face_detection_short_range', load: () => packageModel('@mediapipe/face_detection', 'face_detection_short_range.tflite') },
  { name: 'selfie_segmentation (legalized)', load: () => legalizeModel(packageModel('@mediapipe/selfie_segmentation', 'selfie_segmentation.tflite')).model },
];

describe.each(CASES)('int8 PTQ of $name on synthetic images', ({ load }) => {
  it('equals the TFLite interpreter bit for bit and keeps SQNR ≥ 20 dB against float', async () => {
    const model = load();
    const g = model.subgraphs[0];
    const shape = g.tensors[g.inputs[0]].shape.slice(1) as [number, number, number];
    const per = shape[0] * shape[1] * shape[2];
    const images = { shape, range: [-1, 1] as const };
    const data = { count: 1000, name: 'synthetic', sample: (i: number, out: Float32Array) => syntheticImage(i, images, out) };
    const { model: q, floatGraph, report } = await quantizeModel(model, data, defaultPtqOptions({ samples: 32, calibration: parseCalibration('percentile:99.99') }));
    expect(report.floatOps).toEqual([]);
    const bytes = writeTflite(q);
    const qg = readTflite(bytes, 'int8.tflite').subgraphs[0];
    const ours = Interpreter.prepare(qg, { rounding: 'xnnpack' });
    const ref = Interpreter.prepare(floatGraph);
    const x = new Float32Array(per);
    const signal = g.outputs.map(() => 0);
    const noise = g.outputs.map(() => 0);
    let mismatched = 0;
    for (let s = 0; s < 6; s++) {
      syntheticImage(5000 + s, images, x);
      const a = ours.run([x]).outputs;
      if (s < 2) {
        const t = oracle.run(bytes, [x]).outputs;
        a.forEach((o, k) => {
          for (let e = 0; e < o.length; e++) if (o[e] !== t[k][e]) mismatched++;
        });
      }
      const f = ref.run([x]).outputs;
      f.forEach((o, k) => {
        for (let e = 0; e < o.length; e++) {
          signal[k] += Number(o[e]) ** 2;
          noise[k] += (Number(o[e]) - Number(a[k][e])) ** 2;
        }
      });
    }
    expect(mismatched).toBe(0);
    const sqnr = signal.map((s, k) => 10 * Math.log10(s / noise[k]));
    for (const v of sqnr) expect(v).toBeGreaterThanOrEqual(20);
  }, 300_000);
});

describe('an op without an integer kernel (MediaPipe\'s custom transpose convolution, not legalized)', () => {
  it('is refused with an offer to keep it float, and --keep-float auto keeps it float between DEQUANTIZE and QUANTIZE', async () => {
    const model = packageModel('@mediapipe/selfie_segmentation', 'selfie_segmentation.tflite');
    const g = model.subgraphs[0];
    const shape = g.tensors[g.inputs[0]].shape.slice(1) as [number, number, number];
    const data = { count: 8, name: 'synthetic', sample: (i: number, out: Float32Array) => syntheticImage(i, { shape, range: [-1, 1] }, out) };
    await expect(quantizeModel(model, data, defaultPtqOptions({ samples: 2 }))).rejects.toThrow(
      /\(CUSTOM 'Convolution2DTransposeBias'\) cannot be quantized: the runtime has no int8 kernel for it\. Keep it float with --keep-float '[^']+' \(or --keep-float auto/,
    );
    const { model: q, report } = await quantizeModel(model, data, defaultPtqOptions({ samples: 2, keepFloat: ['auto'], biasCorrection: 'none' }));
    expect(report.floatOps.map((o) => o.type)).toEqual(["CUSTOM 'Convolution2DTransposeBias'"]);
    const qg = q.subgraphs[0];
    const custom = qg.ops.findIndex((op) => op.type === 'CUSTOM');
    const feeder = qg.ops.findIndex((op) => op.outputs.includes(qg.ops[custom].inputs[0]));
    expect(qg.ops[feeder].type).toBe('DEQUANTIZE');
    // The integer model still runs, and the float op sits where it was.
    const out = Interpreter.prepare(qg, { rounding: 'xnnpack' }).run([new Float32Array(shape[0] * shape[1] * shape[2])]).outputs[0];
    expect(out.length).toBe(shape[0] * shape[1]);
  }, 120_000);
});
