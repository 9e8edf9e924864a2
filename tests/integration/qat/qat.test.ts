/**
 * Quantization-aware training on the shipped MNIST demo model, on the backend a user gets
 * (wasm here), with runs kept small (a few hundred steps at most):
 *  - the exported int8 model predicts what the fake-quant network predicted on ≥ 99.5% of the
 *    test digits (both range modes), and the real TFLite interpreter runs it bit-exactly like
 *    QuantLab's runtime;
 *  - on a model where PTQ loses accuracy (a planted outlier weight in the dense layer, per-tensor
 *    weights), a short QAT run gets it back;
 *  - a NaN learning rate stops training with the sentence and keeps finite weights;
 *  - unlabelled data, a class-count mismatch, an unsupported op: sentences naming the culprit;
 *  - cancelling mid-epoch throws out of runQat and leaves no tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset, type Dataset } from '../../../src/core/data/dataset';
import { openModelFile } from '../../../src/core/formats';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import type { Graph, Model } from '../../../src/core/ir/types';
import { defaultQatOptions, evaluateNetwork, exportInt8, initTrainingBackend, QatNetwork, runQat, trainNetwork, type LabelledData } from '../../../src/core/qat';
import { INT8_ACTIVATION } from '../../../src/core/quant/params';
import { calibrate } from '../../../src/core/quant/ptq/calibrate';
import { defaultPtqOptions, quantizeModel } from '../../../src/core/quant/ptq';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import { loadOracle } from '../../helpers/tflite-oracle';

const MNIST_DEMO = new URL('../../../resources/models/mnist-demo.tflite', import.meta.url).pathname;

let model: Model;
let test: Dataset;

function labelled(ds: Dataset): LabelledData {
  return { name: ds.spec, count: ds.count, labels: ds.labels, classes: ds.classes, sample: (i, out) => ds.sample(i, out) };
}

async function data(spec: string): Promise<LabelledData> {
  return labelled(await openDataset(spec, { inputShape: [1, 28, 28, 1] }));
}

function argmax(a: ArrayLike<number | bigint>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (Number(a[i]) > Number(a[best])) best = i;
  return best;
}

/** Top-1 of the integer model in QuantLab's runtime (float input; the model quantizes it). */
function runtimePredictions(graph: Graph, ds: LabelledData): Int32Array {
  const interp = Interpreter.prepare(graph, { rounding: 'xnnpack' });
  const x = new Float32Array(784);
  const out = new Int32Array(ds.count);
  for (let i = 0; i < ds.count; i++) {
    ds.sample(i, x);
    out[i] = argmax(interp.run([x]).outputs[0] as Float32Array);
  }
  return out;
}

function accuracyOf(pred: Int32Array, ds: LabelledData): number {
  let c = 0;
  for (let i = 0; i < ds.count; i++) if (pred[i] === ds.labels?.[i]) c++;
  return c / ds.count;
}

beforeAll(async () => {
  await initTrainingBackend();
  model = await openModelFile(MNIST_DEMO);
  test = await openDataset('mnist:test', { inputShape: [1, 28, 28, 1] });
}, 60_000);

describe('QAT export', () => {
  for (const ranges of ['ema', 'lsq'] as const) {
    it(`(${ranges}) the int8 model agrees with the fake-quant network on ≥ 99.5% of mnist:test`, async () => {
      const train = await data('mnist:train@1024');
      const val = await data('mnist:test@128');
      const net = new QatNetwork(model.subgraphs[0], { perChannel: true, ranges, emaDecay: 0.99 });
      try {
        const calib = await calibrate(net.graph, net.observedTensors, train, 256, { kind: 'minmax' }, INT8_ACTIVATION);
        net.initRanges(calib.ranges);
        const r = await trainNetwork(net, train, val, { ...defaultQatOptions(), epochs: 1, batchSize: 32, learningRate: 3e-4, restoreBest: false, distill: 0 });
        expect(r.steps).toBe(32);
        const fake = (await evaluateNetwork(net, labelled(test))).predictions;
        const exported = exportInt8(net, model);
        const int8 = runtimePredictions(exported.model.subgraphs[0], labelled(test));
        let agree = 0;
        for (let i = 0; i < test.count; i++) if (fake[i] === int8[i]) agree++;
        expect(agree / test.count).toBeGreaterThanOrEqual(0.995);
        expect(accuracyOf(int8, labelled(test))).toBeGreaterThan(0.9);
        if (ranges === 'ema') {
          // The written file runs in the real TFLite interpreter exactly as in QuantLab's runtime.
          const oracle = await loadOracle();
          const bytes = writeTflite(exported.model);
          const interp = Interpreter.prepare(exported.model.subgraphs[0], { rounding: 'xnnpack' });
          const x = new Float32Array(784);
          for (let i = 0; i < 16; i++) {
            test.sample(i, x);
            expect(Array.from(oracle.run(bytes, [x]).outputs[0] as Float32Array)).toEqual(Array.from(interp.run([x]).outputs[0] as Float32Array));
          }
        }
      } finally {
        net.dispose();
      }
    });
  }
});

/**
 * The MNIST demo with one planted outlier: the dense layer's weights for a pooled feature that is
 * 0 on every digit are set to ±60× the largest weight. The float model is unchanged on real
 * digits, but one scale per weight tensor leaves the real weights a handful of levels.
 */
function plantOutlier(m: Model, train: LabelledData): Model {
  const g = m.subgraphs[0];
  const fc = g.ops.find((o) => o.type === 'FULLY_CONNECTED');
  if (!fc) throw new Error('no dense layer');
  const interp = Interpreter.prepare(g, { preserveIntermediates: true });
  const x = new Float32Array(784);
  let maxAbs: Float32Array | undefined;
  for (let i = 0; i < 200; i++) {
    train.sample(i, x);
    interp.run([x]);
    const v = interp.readTensor(fc.inputs[0]) as Float32Array;
    maxAbs ??= new Float32Array(v.length);
    for (let j = 0; j < v.length; j++) maxAbs[j] = Math.max(maxAbs[j], Math.abs(v[j]));
  }
  const dead = (maxAbs as Float32Array).findIndex((v) => v === 0);
  expect(dead).toBeGreaterThanOrEqual(0);
  const w = g.tensors[fc.inputs[1]];
  const data = (w.data as Float32Array).slice();
  const inputs = w.shape[1];
  const wMax = data.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  for (let o = 0; o < w.shape[0]; o++) data[o * inputs + dead] = (o % 2 ? -60 : 60) * wMax;
  const tensors = g.tensors.slice();
  tensors[fc.inputs[1]] = { ...w, data };
  return { ...m, subgraphs: [{ ...g, tensors }] };
}

describe('QAT recovers what PTQ loses', () => {
  it('per-tensor weights with a planted outlier: PTQ drops, ~125 steps of QAT get most of it back', async () => {
    const train = await data('mnist:train@4000');
    const val = await data('mnist:test@500');
    const planted = plantOutlier(model, train);
    const ptq = await quantizeModel(planted, { ...train, count: 500 }, defaultPtqOptions({ samples: 500, perChannel: false }));
    const floatAccuracy = accuracyOf(runtimePredictions(planted.subgraphs[0], val), val);
    const ptqAccuracy = accuracyOf(runtimePredictions(ptq.model.subgraphs[0], val), val);
    expect(ptqAccuracy).toBeLessThan(floatAccuracy - 0.03);
    const r = await runQat(planted, train, val, defaultQatOptions({ epochs: 1, batchSize: 32, learningRate: 1e-3, perChannel: false }));
    expect(r.train.steps).toBe(125);
    const qatAccuracy = accuracyOf(runtimePredictions(r.model.subgraphs[0], val), val);
    expect(qatAccuracy).toBeGreaterThanOrEqual(ptqAccuracy + 0.03);
    expect(qatAccuracy).toBeGreaterThan(floatAccuracy - 0.05);
  });
});

describe('QAT bad input', () => {
  it('a NaN learning rate stops training with a sentence and keeps the last finite weights', async () => {
    const train = await data('mnist:train@96');
    const val = await data('mnist:test@64');
    const r = await runQat(model, train, val, defaultQatOptions({ epochs: 2, batchSize: 32, learningRate: NaN, schedule: 'constant' }));
    expect(r.train.stopReason).toBe('non-finite-loss');
    expect(r.train.notes[0]).toMatch(
      /^Training diverged at epoch 1, step 2 \(learning rate NaN\): the (loss became NaN|activations became NaN or infinite)\. Training stopped there and kept the weights and ranges of the last step with a finite loss; try a smaller learning rate \(--lr\)\.$/,
    );
    // The exported model is the calibrated start: finite weights, a sensible accuracy.
    const w = r.model.subgraphs[0].tensors.filter((t) => t.dtype === 'int8' && t.data);
    expect(w.length).toBeGreaterThan(0);
    expect(accuracyOf(runtimePredictions(r.model.subgraphs[0], val), val)).toBeGreaterThan(0.85);
  });

  it('refuses unlabelled data and class counts that do not match the model, naming the set', async () => {
    const train = await data('mnist:train@64');
    const unlabelled = labelled(await openDataset('random:64', { inputShape: [1, 28, 28, 1] }));
    await expect(runQat(model, unlabelled, train, defaultQatOptions({ epochs: 1 }))).rejects.toThrow(/The training set 'random:64' has no labels; quantization-aware training needs labelled data/);
    const threeClasses: LabelledData = { ...train, name: 'three-class', classes: ['a', 'b', 'c'] };
    await expect(runQat(model, train, threeClasses, defaultQatOptions({ epochs: 1 }))).rejects.toThrow("The validation set 'three-class' has 3 classes but the model outputs 10 scores; they must match.");
    const badLabel: LabelledData = { ...train, name: 'bad-label', classes: null, labels: Int32Array.from(train.labels as Int32Array, (l, i) => (i === 5 ? 12 : l)) };
    await expect(runQat(model, badLabel, train, defaultQatOptions({ epochs: 1 }))).rejects.toThrow("Sample 5 of the training set 'bad-label' has label 12, outside the model's 10 classes (0…9).");
  });

  it('refuses an op it cannot train, naming it', () => {
    const g: Graph = {
      name: 'tanh-net',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [1, 4] },
        { name: 'y', dtype: 'float32', shape: [1, 4] },
      ],
      ops: [{ type: 'TANH', inputs: [0], outputs: [1], options: {} }],
      inputs: [0],
      outputs: [1],
    };
    expect(() => new QatNetwork(g, { perChannel: true, ranges: 'ema', emaDecay: 0.999 })).toThrow(/^Op 0 'y' is a TANH, which quantization-aware training does not support \(it trains CONV_2D, /);
    const dilated: Graph = {
      name: 'dilated',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [1, 8, 8, 1] },
        { name: 'w', dtype: 'float32', shape: [2, 3, 3, 1], data: new Float32Array(18).fill(0.1) },
        { name: 'y', dtype: 'float32', shape: [1, 4, 4, 2] },
      ],
      ops: [{ type: 'CONV_2D', inputs: [0, 1, -1], outputs: [2], options: { padding: 'VALID', strideW: 1, strideH: 1, dilationWFactor: 2, dilationHFactor: 2, fusedActivationFunction: 'NONE' } }],
      inputs: [0],
      outputs: [2],
    };
    expect(() => new QatNetwork(dilated, { perChannel: true, ranges: 'ema', emaDecay: 0.999 })).toThrow("Op 0 'y' is a CONV_2D with dilation 2×2; TensorFlow.js has no gradient for dilated convolutions");
  });

  it('a cancel mid-epoch ends runQat with the cancel error and leaves no tensor allocated', async () => {
    const train = await data('mnist:train@640');
    const val = await data('mnist:test@64');
    const before = tf.memory().numTensors;
    let events = 0;
    await expect(
      runQat(model, train, val, defaultQatOptions({ epochs: 2, batchSize: 32 }), (e) => {
        if (e.phase === 'train' && ++events === 2) throw new Error('The job was cancelled.');
      }),
    ).rejects.toThrow('The job was cancelled.');
    expect(events).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the TF.js network', () => {
  it('without fake quantization computes what the float model computes (both demo models; the Fashion one with its BatchNorm folded)', async () => {
    const fashionPath = new URL('../../../resources/models/fashion-demo.tflite', import.meta.url).pathname;
    for (const [file, expectFolded] of [
      [MNIST_DEMO, 0],
      [fashionPath, 1],
    ] as const) {
      const m = await openModelFile(file);
      const net = new QatNetwork(m.subgraphs[0], { perChannel: true, ranges: 'ema', emaDecay: 0.999 });
      try {
        expect(net.foldedBatchNorms).toBe(expectFolded);
        const interp = Interpreter.prepare(m.subgraphs[0]);
        const n = 8;
        const x = new Float32Array(n * 784);
        for (let i = 0; i < n; i++) test.sample(i, x.subarray(i * 784, (i + 1) * 784));
        const ours = tf.tidy(() => net.forward(tf.tensor4d(x, [n, 28, 28, 1]), false).output.dataSync());
        for (let i = 0; i < n; i++) {
          const want = interp.run([x.subarray(i * 784, (i + 1) * 784)]).outputs[0] as Float32Array;
          for (let k = 0; k < 10; k++) expect(Math.abs(ours[i * 10 + k] - want[k])).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[k])));
        }
      } finally {
        net.dispose();
      }
    }
  });

  it('a model ending in SOFTMAX trains on the logits and exports the fixed 1/256 output parameters', async () => {
    // x (4 values) → FULLY_CONNECTED(3) → SOFTMAX, on three separable classes.
    const w = new Float32Array(12).map((_, i) => ((i * 7) % 5) / 10 - 0.2);
    const g: Graph = {
      name: 'softmax-net',
      tensors: [
        { name: 'x', dtype: 'float32', shape: [1, 4] },
        { name: 'w', dtype: 'float32', shape: [3, 4], data: w },
        { name: 'b', dtype: 'float32', shape: [3], data: new Float32Array(3) },
        { name: 'logits', dtype: 'float32', shape: [1, 3] },
        { name: 'probs', dtype: 'float32', shape: [1, 3] },
      ],
      ops: [
        { type: 'FULLY_CONNECTED', inputs: [0, 1, 2], outputs: [3], options: { fusedActivationFunction: 'NONE', keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } },
        { type: 'SOFTMAX', inputs: [3], outputs: [4], options: { beta: 1 } },
      ],
      inputs: [0],
      outputs: [4],
    };
    const count = 300;
    const xs = new Float32Array(count * 4);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % 3;
      for (let k = 0; k < 4; k++) xs[i * 4 + k] = (k === labels[i] ? 1 : 0) + 0.3 * Math.sin(i * 12.9898 + k * 78.233);
    }
    const synth: LabelledData = { name: 'synthetic', count, labels, classes: ['a', 'b', 'c'], sample: (i, out) => out.set(xs.subarray(i * 4, i * 4 + 4)) };
    const r = await runQat({ format: 'tflite', subgraphs: [g] }, synth, synth, defaultQatOptions({ epochs: 3, batchSize: 16, learningRate: 3e-2, distill: 0, calibrationSamples: 100 }));
    const out = r.model.subgraphs[0].tensors.find((t) => t.name === 'probs_int8' || (t.dtype === 'int8' && t.name.startsWith('probs')));
    expect(out?.quant).toMatchObject({ scale: [1 / 256], zeroPoint: [-128] });
    expect(r.train.history.at(-1)?.valAccuracy).toBeGreaterThan(0.95);
    const interp = Interpreter.prepare(r.model.subgraphs[0], { rounding: 'xnnpack' });
    let correct = 0;
    for (let i = 0; i < count; i++) if (argmax(interp.run([xs.subarray(i * 4, i * 4 + 4)]).outputs[0] as Float32Array) === labels[i]) correct++;
    expect(correct / count).toBeGreaterThan(0.95);
  });
});
