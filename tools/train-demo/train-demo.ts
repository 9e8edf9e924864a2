/**
 * Trains QuantLab's demo float models with TensorFlow.js and ships them as float32 .tflite files
 * with a JSON sidecar each (issue 6, item 6): resources/models/mnist-demo.* and fashion-demo.*.
 *
 *   npm run train:demo                              # both models
 *   npm run train:demo -- --only mnist-demo         # one of them
 *   npm run train:demo -- --out /tmp/models --backend cpu
 *
 * Deterministic as far as TF.js allows: seeded Glorot initializers, a seeded shuffle per epoch
 * (mulberry32, Fisher–Yates), no dropout, single-threaded backend. On the same machine, backend
 * and package versions a rerun gives the same weights; another CPU may round differently in
 * XNNPACK and drift by a few ulps.
 *
 * Backend: '@tensorflow/tfjs-backend-wasm' (XNNPACK), with the two convolution gradients it lacks
 * or runs slowly registered by src/core/qat/wasm-gradients.ts (shared with QAT). Measured on this
 * 2-core machine under load, MNIST demo model, 2,048 images, batch 64: 'cpu' 66 s, 'wasm' 4 s.
 * `--backend cpu` still works.
 *
 * Sidecar: architecture, parameter count, data specs (with the dataset hashes), epochs, batch,
 * optimizer, learning rates, seed, backend, training seconds, the float test accuracy measured by
 * QuantLab's own runtime on the written .tflite, and the file's SHA-256.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { openDataset, type Dataset } from '../../src/core/data/dataset';
import { seededPermutation, seededUniform } from '../../src/core/random';
import { floatParameterCount, runtimeAccuracy, saveTfjsArtifacts, toIr, toTflite } from './export';
import { cosineRates, RECIPES, type Recipe } from './recipes';
import { registerWasmTraining } from '../../src/core/qat/wasm-gradients';

/** The subset the integration test checks in the real TFLite interpreter (first N test samples). */
export const CHECK_SUBSET = 500;

type Backend = 'wasm' | 'cpu';


/**
 * Copies a [H, W, C] image into `out` translated by (dx, dy) pixels, zeros where nothing is
 * shifted in (MNIST-style backgrounds are 0).
 */
function shiftInto(src: Float32Array, out: Float32Array, h: number, w: number, c: number, dx: number, dy: number): void {
  out.fill(0);
  for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
    const sy = y - dy;
    const x0 = Math.max(0, dx);
    const x1 = Math.min(w, w + dx);
    out.set(src.subarray((sy * w + (x0 - dx)) * c, (sy * w + (x1 - dx)) * c), (y * w + x0) * c);
  }
}


async function initBackend(backend: Backend): Promise<void> {
  if (backend === 'wasm') {
    const require = createRequire(import.meta.url);
    setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    registerWasmTraining();
  }
  if (!(await tf.setBackend(backend))) throw new Error(`The TF.js backend '${backend}' did not initialise.`);
  await tf.ready();
}

/** All samples of a dataset as one [N, H, W, C] float32 array, plus labels. */
function materialise(ds: Dataset): { x: Float32Array; y: Int32Array; perSample: number } {
  if (!ds.labels) throw new Error(`Dataset '${ds.spec}' has no labels.`);
  const perSample = ds.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(ds.count * perSample);
  for (let i = 0; i < ds.count; i++) ds.sample(i, x.subarray(i * perSample, (i + 1) * perSample));
  return { x, y: ds.labels, perSample };
}

function fmtSeconds(s: number): string {
  return s < 90 ? `${s.toFixed(0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function layerTable(model: tf.LayersModel): { name: string; className: string; outputShape: (number | null)[]; parameters: number }[] {
  return model.layers.map((l) => ({
    name: l.name,
    className: l.getClassName(),
    outputShape: (l.outputShape as (number | null)[]).map((d) => d),
    parameters: l.countParams(),
  }));
}

function tfjsAccuracy(model: tf.LayersModel, data: { x: Float32Array; y: Int32Array; perSample: number }, shape: number[]): number {
  const n = data.y.length;
  let correct = 0;
  for (let start = 0; start < n; start += 500) {
    const size = Math.min(500, n - start);
    const pred = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(start * data.perSample, (start + size) * data.perSample), [size, ...shape]);
      return (model.predict(x) as tf.Tensor).argMax(-1);
    });
    const p = pred.dataSync();
    pred.dispose();
    for (let i = 0; i < size; i++) if (p[i] === data.y[start + i]) correct++;
  }
  return (100 * correct) / n;
}

async function trainOne(recipe: Recipe, backend: Backend, outDir: string): Promise<void> {
  const log = (msg: string) => console.log(`[${recipe.name}] ${msg}`);
  const train = await openDataset(recipe.trainSpec);
  const test = await openDataset(recipe.testSpec);
  log(`train: ${train.description}; test: ${test.description}`);
  const trainData = materialise(train);
  const testData = materialise(test);
  const shape = train.sampleShape;

  const model = recipe.build(recipe.seed);
  const parameters = model.countParams();
  if (parameters !== recipe.expectedParameters) throw new Error(`${recipe.name} has ${parameters} parameters; the recipe says ${recipe.expectedParameters}.`);
  if (recipe.learningRates.length !== recipe.epochs) throw new Error(`${recipe.name}: ${recipe.learningRates.length} learning rates for ${recipe.epochs} epochs.`);
  const optimizer = tf.train.adam(recipe.learningRates[0]);
  model.compile({ optimizer, loss: tf.losses.softmaxCrossEntropy, metrics: ['accuracy'] });
  log(`${parameters.toLocaleString('en-US')} parameters; ${recipe.epochs} epochs of ${train.count.toLocaleString('en-US')} images, batch ${recipe.batchSize}, backend ${tf.getBackend()}`);

  const n = trainData.y.length;
  const batches = Math.ceil(n / recipe.batchSize);
  const xBatch = new Float32Array(recipe.batchSize * trainData.perSample);
  const yBatch = new Int32Array(recipe.batchSize);
  const history: { epoch: number; learningRate: number; loss: number; trainAccuracyPct: number; testAccuracyPct: number; seconds: number }[] = [];
  const t0 = performance.now();
  for (let epoch = 0; epoch < recipe.epochs; epoch++) {
    // Adam reads its learning rate at every step; the field is public in the JS but typed protected.
    (optimizer as unknown as { learningRate: number }).learningRate = recipe.learningRates[epoch];
    const order = seededPermutation(n, recipe.seed * 7919 + epoch);
    const shiftRand = seededUniform(recipe.seed * 104729 + epoch);
    const span = 2 * recipe.maxShiftPx + 1;
    const e0 = performance.now();
    let lossSum = 0;
    let accSum = 0;
    for (let b = 0; b < batches; b++) {
      const start = b * recipe.batchSize;
      const size = Math.min(recipe.batchSize, n - start);
      for (let k = 0; k < size; k++) {
        const i = order[start + k];
        const src = trainData.x.subarray(i * trainData.perSample, (i + 1) * trainData.perSample);
        const dst = xBatch.subarray(k * trainData.perSample, (k + 1) * trainData.perSample);
        if (recipe.maxShiftPx > 0) {
          const dx = Math.floor(shiftRand() * span) - recipe.maxShiftPx;
          const dy = Math.floor(shiftRand() * span) - recipe.maxShiftPx;
          shiftInto(src, dst, shape[0], shape[1], shape[2], dx, dy);
        } else {
          dst.set(src);
        }
        yBatch[k] = trainData.y[i];
      }
      const x = tf.tensor(xBatch.subarray(0, size * trainData.perSample), [size, ...shape]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(yBatch.subarray(0, size), 'int32'), 10));
      const [loss, acc] = (await model.trainOnBatch(x, y)) as number[];
      x.dispose();
      y.dispose();
      lossSum += loss * size;
      accSum += acc * size;
      if ((b + 1) % 50 === 0 || b === batches - 1) {
        const elapsed = (performance.now() - t0) / 1000;
        const done = epoch * batches + b + 1;
        const eta = (elapsed / done) * (recipe.epochs * batches - done);
        process.stdout.write(`\r[${recipe.name}] epoch ${epoch + 1}/${recipe.epochs} batch ${b + 1}/${batches} loss ${(lossSum / (start + size)).toFixed(4)} acc ${((100 * accSum) / (start + size)).toFixed(2)}% · ${fmtSeconds(elapsed)} elapsed, ~${fmtSeconds(eta)} left   `);
      }
    }
    process.stdout.write('\n');
    const seconds = (performance.now() - e0) / 1000;
    const testAcc = tfjsAccuracy(model, testData, shape);
    history.push({ epoch: epoch + 1, learningRate: recipe.learningRates[epoch], loss: lossSum / n, trainAccuracyPct: (100 * accSum) / n, testAccuracyPct: testAcc, seconds });
    log(`epoch ${epoch + 1}: loss ${(lossSum / n).toFixed(4)}, train ${((100 * accSum) / n).toFixed(2)}%, test (TF.js) ${testAcc.toFixed(2)}%, ${fmtSeconds(seconds)}`);
  }
  const trainingSeconds = history.reduce((a, h) => a + h.seconds, 0);
  const tfjsTestAccuracyPct = history[history.length - 1].testAccuracyPct;

  const artifacts = await saveTfjsArtifacts(model);
  const ir = await toIr(artifacts, recipe.name);
  const graph = ir.subgraphs[0];
  const bytes = toTflite(ir);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const ops = graph.ops.map((o) => o.type);
  const input = graph.tensors[graph.inputs[0]];
  const output = graph.tensors[graph.outputs[0]];
  log(`.tflite: ${bytes.length.toLocaleString('en-US')} bytes, ops ${ops.join(' → ')}; measuring in QuantLab's runtime…`);
  const runtime = runtimeAccuracy(bytes, test, [CHECK_SUBSET], (done) => process.stdout.write(`\r[${recipe.name}] runtime: ${done}/${test.count}   `));
  process.stdout.write('\n');
  log(`float32 test accuracy in QuantLab's runtime: ${runtime.accuracyPct.toFixed(2)}% (${runtime.correct}/${runtime.samples}); TF.js said ${tfjsTestAccuracyPct.toFixed(2)}%`);

  const sidecar = {
    name: recipe.name,
    description: recipe.description,
    file: `${recipe.name}.tflite`,
    sha256,
    sizeBytes: bytes.length,
    architecture: {
      summary: recipe.summary.join(' → '),
      layers: layerTable(model),
      tfliteOps: ops,
      input: { name: input.name, shape: input.shape, dtype: input.dtype },
      output: { name: output.name, shape: output.shape, dtype: output.dtype, meaning: 'logits (no softmax)' },
      batchNorm: 'not folded: the BatchNormalization is a per-channel MUL then ADD after its convolution, for the quantizer to fold',
    },
    parameters,
    parametersInTflite: floatParameterCount(graph),
    training: {
      data: { spec: train.spec, description: train.description, count: train.count, sha256: train.hash(), preprocess: train.preprocess },
      epochs: recipe.epochs,
      batchSize: recipe.batchSize,
      optimizer: 'adam (β1 0.9, β2 0.999, ε 1e-7)',
      learningRates: recipe.learningRates,
      loss: 'softmax cross-entropy on logits',
      seed: recipe.seed,
      initializers: 'Glorot uniform, seeded per layer (seed·1000 + layer number); biases 0; BatchNorm γ 1, β 0',
      shuffle: 'seededUniform(seed·7919 + epoch) Fisher–Yates permutation per epoch',
      augmentation:
        recipe.maxShiftPx > 0
          ? `random translation of every training image by dx, dy uniform in [-${recipe.maxShiftPx}, ${recipe.maxShiftPx}] pixels (zero fill), drawn from seededUniform(seed·104729 + epoch) in batch order`
          : 'none',
      backend: tf.getBackend(),
      tfjsVersion: tf.version.tfjs,
      seconds: Math.round(trainingSeconds * 10) / 10,
      history,
    },
    test: { spec: test.spec, description: test.description, count: test.count, sha256: test.hash(), preprocess: test.preprocess },
    accuracy: {
      float32Pct: runtime.accuracyPct,
      correct: runtime.correct,
      samples: runtime.samples,
      measuredBy: "QuantLab's runtime (src/core/runtime/interpreter.ts) on the written .tflite, top-1",
      subsets: { [`${test.spec}@${CHECK_SUBSET}`]: (100 * runtime.prefixCorrect[CHECK_SUBSET]) / CHECK_SUBSET },
      tfjsPct: tfjsTestAccuracyPct,
    },
    notes:
      recipe.name === 'mnist-demo'
        ? "The npm 'mnist' package's 10,000 digits are the first 10,000 images of the MNIST *training* set; mnist:train is the first 8,000 of them in round-robin class order, mnist:test the last 2,000. The test accuracy is on held-out digits, but not on MNIST's official test set."
        : 'Fashion-MNIST train (60,000) and t10k (10,000) from the IDX files of Debian’s dataset-fashion-mnist package.',
  };
  fs.mkdirSync(outDir, { recursive: true });
  const tflitePath = path.join(outDir, `${recipe.name}.tflite`);
  const jsonPath = path.join(outDir, `${recipe.name}.json`);
  // Write to temporary names and rename, so an interrupted run leaves no half-written model.
  fs.writeFileSync(`${tflitePath}.tmp`, bytes);
  fs.writeFileSync(`${jsonPath}.tmp`, `${JSON.stringify(sidecar, null, 2)}\n`);
  fs.renameSync(`${tflitePath}.tmp`, tflitePath);
  fs.renameSync(`${jsonPath}.tmp`, jsonPath);
  log(`wrote ${tflitePath} and ${jsonPath} (training ${fmtSeconds(trainingSeconds)})`);
  model.dispose();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      out: { type: 'string', default: path.join(process.cwd(), 'resources', 'models') },
      backend: { type: 'string', default: 'wasm' },
      // Overrides for experiments (the sidecar records what was used): epochs, shift, cosine lr range.
      epochs: { type: 'string' },
      'max-shift': { type: 'string' },
      lr: { type: 'string' },
      'train-limit': { type: 'string' },
      batch: { type: 'string' },
    },
  });
  const backend = values.backend as Backend;
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`--backend is 'wasm' or 'cpu', not '${values.backend}'.`);
  const recipes = values.only ? RECIPES.filter((r) => r.name === values.only) : RECIPES;
  if (recipes.length === 0) throw new Error(`--only names a demo model: ${RECIPES.map((r) => r.name).join(', ')} (got '${values.only}').`);
  await initBackend(backend);
  for (const base of recipes) {
    const r: Recipe = { ...base };
    if (values.epochs) r.epochs = Number(values.epochs);
    if (values.batch) r.batchSize = Number(values.batch);
    if (values['max-shift']) r.maxShiftPx = Number(values['max-shift']);
    if (values['train-limit']) r.trainSpec = `${r.trainSpec}@${Number(values['train-limit'])}`;
    if (values.lr || values.epochs) {
      const [from, to] = (values.lr ?? `${base.learningRates[0]},${base.learningRates[base.learningRates.length - 1]}`).split(',').map(Number);
      r.learningRates = cosineRates(from, to ?? from, r.epochs);
    }
    await trainOne(r, backend, path.resolve(values.out));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
