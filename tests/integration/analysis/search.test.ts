/**
 * Mixed-precision search. On the shipped demo models it must reach a 0.3-point budget with fewer
 * than 3 × (number of layers) evaluations. The demo models quantize almost losslessly, so the
 * other paths of the greedy search are exercised on the Keras MNIST CNN with planted per-tensor
 * outliers on dead inputs (the float function is unchanged; see planted-layer.test.ts): one bad
 * layer (a single layer kept float suffices, and it must be that one) and two bad layers (no
 * single layer suffices: greedy additions, then pruning).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { searchMixedPrecision } from '../../../src/core/analysis/search';
import { QuantStudy } from '../../../src/core/analysis/sensitivity';
import { openDataset } from '../../../src/core/data/dataset';
import type { Dataset } from '../../../src/core/data/dataset';
import { openModelFile } from '../../../src/core/formats';
import { setBatchSize } from '../../../src/core/ir/transforms';
import type { Model } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';

const MODELS = path.resolve(__dirname, '../../../resources/models');
const DEMOS = [
  { file: 'mnist-demo.tflite', calib: 'mnist:train@200', data: 'mnist:test@1000' },
  { file: 'fashion-demo.tflite', calib: 'fashion-mnist:train@200', data: 'fashion-mnist:test@500' },
];
const KERAS_CNN = '../shared/keras-mnist/k2_seq_cnn.h5';

describe('search on the demo models', () => {
  for (const demo of DEMOS) {
    const file = path.join(MODELS, demo.file);
    it.skipIf(!fs.existsSync(file))(`${demo.file}: meets a 0.3-point budget in fewer than 3 × layers evaluations`, async () => {
      const model = await openModelFile(file);
      const calib = await openDataset(demo.calib, { inputShape: [1, 28, 28, 1] });
      const data = await openDataset(demo.data, { inputShape: [1, 28, 28, 1] });
      const study = await QuantStudy.create(model, calib, data, { ptq: { samples: 200 } });
      const result = await searchMixedPrecision(study, { budgetPoints: 0.3 });
      expect(result.met).toBe(true);
      expect(result.best.accuracyPct!).toBeGreaterThanOrEqual(result.float.accuracyPct! - 0.3 - 1e-9);
      expect(result.evaluations).toBeLessThan(3 * result.layers);
      expect(result.evaluations).toBe(study.evaluations);
      // The model written is the one evaluated: integer, and no larger than the float one.
      expect(result.best.sizeBytes).toBeLessThan(result.float.sizeBytes);
    });
  }
});

describe('search on planted bad layers', () => {
  // dense/kernel is [128, 375] and dense_1/kernel [50, 128]: element u reads input unit u for output 0.
  let clean: Model;
  let calib: Dataset;
  let data: Dataset;
  const dead = new Map<string, number>();

  beforeAll(async () => {
    clean = await openModelFile(KERAS_CNN);
    calib = await openDataset('mnist:train@64', { inputShape: [1, 28, 28, 1] });
    data = await openDataset('mnist:test@100', { inputShape: [1, 28, 28, 1] });
    // Dead units (ReLU 0 on every calibration digit) of the tensors dense and dense_1 read.
    const g = setBatchSize(clean.subgraphs[0], 1);
    const interp = Interpreter.prepare(g, { preserveIntermediates: true });
    const x = new Float32Array(784);
    for (const name of ['flatten', 'dense']) {
      const t = g.tensors.findIndex((u) => u.name === name);
      let max: Float64Array | null = null;
      for (let i = 0; i < calib.count; i++) {
        calib.sample(i, x);
        interp.run([x]);
        const d = interp.readTensor(t) as Float32Array;
        max ??= new Float64Array(d.length).fill(-Infinity);
        for (let k = 0; k < d.length; k++) max[k] = Math.max(max[k], d[k]);
      }
      const unit = max!.findIndex((v) => v === 0);
      expect(unit).toBeGreaterThanOrEqual(0);
      dead.set(name, unit);
    }
  });

  /** Sets the weight reading dead unit `unit` (output 0) of weight tensor `name` to 1000 × its largest |w|. */
  function plant(m: Model, name: string, unit: number): Model {
    const g = m.subgraphs[0];
    const tensors = g.tensors.map((t) => {
      if (t.name !== name) return t;
      const d = Float32Array.from(t.data as Float32Array);
      d[unit] = 1000 * d.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      return { ...t, data: d };
    });
    return { ...m, subgraphs: [{ ...g, tensors }] };
  }

  const PTQ = { perChannel: false, equalize: false, samples: 64 };

  it('one bad layer: keeps exactly it float, found among the single-layer variants', async () => {
    const model = plant(clean, 'dense_1/kernel', dead.get('dense')!);
    const study = await QuantStudy.create(model, calib, data, { ptq: PTQ });
    const result = await searchMixedPrecision(study, { budgetPoints: 1 });
    expect(study.quantized.accuracyPct!).toBeLessThan(study.float.accuracyPct! - 1);
    expect(result.met).toBe(true);
    expect(result.keepFloat).toEqual(['dense_1']);
    expect(result.evaluations).toBe(2 + result.layers);
    expect(result.evaluations).toBeLessThan(3 * result.layers);
  });

  it('two bad layers: greedy additions then pruning, still fewer than 3 × layers evaluations', async () => {
    const model = plant(plant(clean, 'dense_1/kernel', dead.get('dense')!), 'dense/kernel', dead.get('flatten')!);
    const study = await QuantStudy.create(model, calib, data, { ptq: PTQ });
    const result = await searchMixedPrecision(study, { budgetPoints: 1 });
    expect(result.met).toBe(true);
    expect(result.steps.some((s) => s.action === 'add')).toBe(true);
    expect([...result.keepFloat].sort()).toEqual(['dense', 'dense_1']);
    expect(result.best.accuracyPct!).toBeGreaterThanOrEqual(result.float.accuracyPct! - 1);
    expect(result.evaluations).toBeLessThan(3 * result.layers);
  });
});
