/**
 * The accuracy floors on the shipped demo models: full int8, per-channel weights,
 * 500 calibration images, accuracy measured in QuantLab's integer runtime ('xnnpack', what the
 * exported file does in TFLite on a phone's CPU, checked here bit for bit on a few images):
 *   MNIST demo: drop ≤ 0.2 points on mnist:test (2,000 held-out digits);
 *   Fashion-MNIST demo: drop ≤ 0.5 points (first 2,000 of the 10,000 test images here; the
 *   bench measures all 10,000).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../../src/core/data/dataset';
import type { Dataset } from '../../../src/core/data/dataset';
import { openModelFile } from '../../../src/core/formats';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import type { Graph } from '../../../src/core/ir/types';
import { defaultPtqOptions, quantizeModel } from '../../../src/core/quant/ptq';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';

const MODELS = path.resolve(__dirname, '../../../resources/models');

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
}, 60_000);

function accuracy(g: Graph, ds: Dataset): number {
  const interp = Interpreter.prepare(g, { rounding: 'xnnpack' });
  const x = new Float32Array(784);
  let correct = 0;
  for (let i = 0; i < ds.count; i++) {
    ds.sample(i, x);
    const out = interp.run([x]).outputs[0];
    let best = 0;
    for (let k = 1; k < out.length; k++) if (Number(out[k]) > Number(out[best])) best = k;
    if (best === ds.labels?.[i]) correct++;
  }
  return (100 * correct) / ds.count;
}

describe.each([
  { file: 'mnist-demo.tflite', calib: 'mnist:train', test: 'mnist:test', maxDrop: 0.2 },
  { file: 'fashion-demo.tflite', calib: 'fashion-mnist:train', test: 'fashion-mnist:test@2000', maxDrop: 0.5 },
])('int8 PTQ of $file', ({ file, calib, test, maxDrop }) => {
  it(`loses at most ${maxDrop} points, is ≤ 30% of the float size, and runs bit-exact in TFLite`, async () => {
    const model = await openModelFile(path.join(MODELS, file));
    const shape = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]].shape;
    const cal = await openDataset(`${calib}@500`, { inputShape: shape });
    const data = { count: cal.count, name: cal.spec, sample: (i: number, out: Float32Array) => cal.sample(i, out) };
    const { model: q, floatGraph } = await quantizeModel(model, data, defaultPtqOptions({ samples: 500 }));
    const bytes = writeTflite(q);
    expect(bytes.length).toBeLessThanOrEqual(0.3 * writeTflite(model).length);
    const ds = await openDataset(test, { inputShape: shape });
    const floatAcc = accuracy(floatGraph, ds);
    const intAcc = accuracy(readTflite(bytes, file).subgraphs[0], ds);
    expect(intAcc).toBeGreaterThanOrEqual(floatAcc - maxDrop);
    const interp = Interpreter.prepare(readTflite(bytes, file).subgraphs[0], { rounding: 'xnnpack' });
    const x = new Float32Array(784);
    for (let i = 0; i < 20; i++) {
      ds.sample(i, x);
      expect(oracle.run(bytes, [x]).outputs[0]).toEqual(interp.run([x]).outputs[0]);
    }
  }, 300_000);
});
