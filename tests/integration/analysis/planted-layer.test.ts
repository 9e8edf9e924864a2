/**
 * A planted bad layer: in the Keras MNIST CNN, `dense_1` reads a unit of `dense` that is dead
 * (ReLU output 0 on every calibration digit); one weight reading that unit becomes a huge
 * outlier (1000 × the tensor's largest |w|). The float model computes the same function (the
 * outlier multiplies zero), but quantized per tensor (one scale per weight tensor, as a converter
 * without per-channel support would; cross-layer equalization off so nothing rebalances it) the
 * outlier stretches the layer's weight scale 1000× and rounds all its other weights to zero. The
 * per-layer analysis must rank `dense_1` first in isolated error, and sensitivity must rank it
 * first too; the first quantized layer's isolated and propagated errors must agree (same input).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeLayers, rankByIsolatedError } from '../../../src/core/analysis/layer-error';
import { analyzeSensitivity, QuantStudy } from '../../../src/core/analysis/sensitivity';
import { openDataset } from '../../../src/core/data/dataset';
import type { Dataset } from '../../../src/core/data/dataset';
import { openModelFile } from '../../../src/core/formats';
import { setBatchSize } from '../../../src/core/ir/transforms';
import type { Model } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import { defaultPtqOptions, quantizeModel } from '../../../src/core/quant/ptq';

const KERAS_CNN = '../shared/keras-mnist/k2_seq_cnn.h5';
const PTQ = { perChannel: false, equalize: false, samples: 64 };

let model: Model;
let calib: Dataset;
let data: Dataset;

/** A copy of `m` whose weight tensor `name` has element `index` set to `factor` × its largest |w|. */
function plantOutlier(m: Model, name: string, index: number, factor: number): Model {
  const g = m.subgraphs[0];
  const tensors = g.tensors.map((t) => {
    if (t.name !== name) return t;
    const d = Float32Array.from(t.data as Float32Array);
    let max = 0;
    for (const v of d) max = Math.max(max, Math.abs(v));
    d[index] = factor * max;
    return { ...t, data: d };
  });
  return { ...m, subgraphs: [{ ...g, tensors }] };
}

/** The unit of tensor `name` with the smallest largest value over `ds` (a dead ReLU unit when 0). */
function deadestUnit(m: Model, name: string, ds: Dataset): { unit: number; max: number } {
  const g = setBatchSize(m.subgraphs[0], 1);
  const interp = Interpreter.prepare(g, { preserveIntermediates: true });
  const t = g.tensors.findIndex((x) => x.name === name);
  const x = new Float32Array(784);
  let max: Float64Array | null = null;
  for (let i = 0; i < ds.count; i++) {
    ds.sample(i, x);
    interp.run([x]);
    const d = interp.readTensor(t) as Float32Array;
    max ??= new Float64Array(d.length).fill(-Infinity);
    for (let k = 0; k < d.length; k++) max[k] = Math.max(max[k], d[k]);
  }
  let unit = 0;
  for (let k = 1; k < max!.length; k++) if (max![k] < max![unit]) unit = k;
  return { unit, max: max![unit] };
}

beforeAll(async () => {
  const clean = await openModelFile(KERAS_CNN);
  calib = await openDataset('mnist:train@64', { inputShape: [1, 28, 28, 1] });
  data = await openDataset('mnist:test@100', { inputShape: [1, 28, 28, 1] });
  // dense_1/kernel is [50, 128]: element u reads unit u of `dense` for output 0.
  const dead = deadestUnit(clean, 'dense', calib);
  expect(dead.max).toBe(0);
  model = plantOutlier(clean, 'dense_1/kernel', dead.unit, 1000);
});

describe('a planted bad layer', () => {
  it('ranks first in isolated error; the first layer has equal isolated and propagated error', async () => {
    const { model: q, floatGraph } = await quantizeModel(model, { ...calib, name: calib.spec }, defaultPtqOptions(PTQ));
    const report = await analyzeLayers(floatGraph, q.subgraphs[0], data, 50);
    const ranking = rankByIsolatedError(report).filter((t) => t.opType !== 'QUANTIZE');
    expect(ranking[0].layerName).toBe('dense_1');
    // Far worse than every other layer, and its weights are the worst by far.
    const bad = ranking[0].isolated!.sqnrDb;
    expect(ranking[1].isolated!.sqnrDb - bad).toBeGreaterThan(10);
    // Its weights: the outlier itself is exact (q = 127) and dominates the tensor's signal, so the
    // per-tensor weight SQNR hides the damage; per output channel it shows: every other channel
    // rounds to all zeros (SQNR 0 dB), and the error is a small fraction of the huge step.
    const minChannel = (w: (typeof report.weights)[number]) => Math.min(...w.channels.map((c) => c.sqnrDb));
    const worstWeights = [...report.weights].sort((a, b) => minChannel(a) - minChannel(b));
    expect(worstWeights[0].layerName).toBe('dense_1');
    expect(minChannel(worstWeights[0])).toBeCloseTo(0, 6);
    expect(minChannel(worstWeights[1])).toBeGreaterThan(20);
    expect(worstWeights[0].stats.rmseOverScale).toBeLessThan(0.05);
    expect(worstWeights[1].stats.rmseOverScale).toBeGreaterThan(0.2);
    // The first quantized layer (conv2d) reads the quantized model input in both modes: same numbers.
    const conv = report.tensors.find((t) => t.layerName === 'conv2d')!;
    expect(conv.isolated!.sqnrDb).toBeCloseTo(conv.propagated.sqnrDb, 9);
    expect(conv.isolated!.mse).toBeCloseTo(conv.propagated.mse, 12);
    // Later layers inherit error: propagated is never better than isolated by more than noise.
    const dense2 = report.tensors.find((t) => t.tensor === 'dense_2/pre_activation')!;
    expect(dense2.propagated.sqnrDb).toBeLessThan(dense2.isolated!.sqnrDb);
    // Rows for the store: finite numbers, one per (metric, mode, layer, channel).
    const keys = new Set(report.rows.map((r) => `${r.metric}|${r.mode}|${r.layerIndex}|${r.channel ?? -1}`));
    expect(keys.size).toBe(report.rows.length);
    expect(report.rows.every((r) => Number.isFinite(r.value))).toBe(true);
  });

  it('ranks first in sensitivity (only it quantized: the largest accuracy drop)', async () => {
    const study = await QuantStudy.create(model, calib, data, { ptq: PTQ });
    // The outlier multiplies a dead unit: the float model is as good as the clean one.
    expect(study.float.accuracyPct).toBeGreaterThanOrEqual(97);
    const sens = await analyzeSensitivity(study);
    expect(sens.metric).toBe('accuracy');
    expect(sens.ranking[0]).toBe('dense_1');
    const bad = sens.layers.find((l) => l.layer.name === 'dense_1')!;
    const others = sens.layers.filter((l) => l !== bad);
    expect(bad.damage).toBeGreaterThan(Math.max(...others.map((l) => l.damage)) + 5);
    // Keeping it float recovers the most.
    expect(bad.recovery).toBe(Math.max(...sens.layers.map((l) => l.recovery)));
    expect(sens.evaluations).toBe(2 + 2 * sens.layers.length);
  });
});
