/**
 * The training loop of quantization-aware training: seeded shuffles (and optional random
 * translations), mini-batches of softmax cross-entropy on the fake-quantized logits against the
 * labels and/or the float model's own predictions (distillation: the default, since QAT's aim is
 * an integer model that behaves like the float one; fine-tuning a converged model on hard labels
 * mostly overfits them), Adam or SGD with a constant or cosine learning rate, the moving-average
 * ranges stepped after every batch, validation (fake-quantized, in TF.js) after every epoch,
 * early stopping on validation accuracy with the best epoch restored.
 *
 * A loss that stops being finite (a learning rate that diverges) stops training: the weights and
 * ranges of the last step whose loss was finite are put back, and the result says so in a
 * sentence. Progress goes to an async callback every few steps; a callback that throws (a job
 * being cancelled) ends training there, and the caller disposes the network.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { seededPermutation, seededUniform } from '../random';
import type { KeptState, QatNetwork } from './network';
import { disposeKept } from './network';

/** Labelled samples (a Dataset fits). */
export interface LabelledData {
  name: string;
  count: number;
  labels: Int32Array | null;
  classes: string[] | null;
  sample(i: number, out: Float32Array): void;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule: 'constant' | 'cosine';
  optimizer: 'adam' | 'sgd';
  seed: number;
  /** Stop after this many epochs without a better validation accuracy (0: never). */
  patience: number;
  /** Put back the epoch with the best validation accuracy at the end (the state before training counts as epoch 0). */
  restoreBest: boolean;
  /**
   * Augmentation: translate every training image by dx, dy drawn uniformly from [−shift, shift]
   * pixels (zero fill), as the demo models were trained. 0: none. Images are [H, W, C].
   */
  shiftPx: number;
  /**
   * Distillation weight d in [0, 1]: the loss is (1 − d)·CE(labels, logits) + d·CE(p_float,
   * logits), p_float the float model's softmax on the same batch (needs a teacher network).
   * 0: labels only.
   */
  distill: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  epochs: 2,
  batchSize: 32,
  learningRate: 1e-4,
  schedule: 'cosine',
  optimizer: 'adam',
  seed: 0,
  patience: 3,
  restoreBest: true,
  shiftPx: 0,
  distill: 1,
};

export interface QatProgress {
  phase: 'train' | 'validate';
  epoch: number;
  epochs: number;
  /** Step within the epoch (1-based) and steps per epoch. */
  step: number;
  steps: number;
  /** Steps done and to do over the whole run. */
  globalStep: number;
  totalSteps: number;
  /** Mean training loss and accuracy (fake-quantized) over the epoch so far. */
  loss: number;
  accuracy: number;
  learningRate: number;
  etaSeconds: number | null;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  learningRate: number;
  seconds: number;
}

export interface TrainResult {
  history: EpochRecord[];
  /** Validation of the fake-quantized network before training (the calibrated start). */
  initial: { valLoss: number; valAccuracy: number };
  /** Epoch whose weights the network holds at the end (0: the start). */
  keptEpoch: number;
  stopReason: 'completed' | 'early-stopping' | 'non-finite-loss';
  /** Sentences for the user (non-finite loss, restored epoch). */
  notes: string[];
  steps: number;
  seconds: number;
}


/** Checks the data is labelled and its labels fit the network's classes; throws a sentence otherwise. */
export function checkLabels(data: LabelledData, classes: number, role: string): Int32Array {
  if (!data.labels) {
    throw new UserError('bad-input', `The ${role} set '${data.name}' has no labels; quantization-aware training needs labelled data (e.g. mnist:train, idx:IMAGES,LABELS or folder:DIR).`);
  }
  if (data.count === 0) throw new UserError('bad-input', `The ${role} set '${data.name}' is empty.`);
  if (data.classes && data.classes.length !== classes) {
    throw new UserError('bad-input', `The ${role} set '${data.name}' has ${data.classes.length} classes but the model outputs ${classes} scores; they must match.`);
  }
  for (let i = 0; i < data.labels.length; i++) {
    const l = data.labels[i];
    if (l < 0 || l >= classes) {
      throw new UserError('bad-input', `Sample ${i} of the ${role} set '${data.name}' has label ${l}, outside the model's ${classes} classes (0…${classes - 1}).`);
    }
  }
  return data.labels;
}

/** Copies a [H, W, C] image into `out` translated by (dx, dy) pixels, zeros where nothing is shifted in. */
function shiftInto(src: Float32Array, out: Float32Array, h: number, w: number, c: number, dx: number, dy: number): void {
  out.fill(0);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(w, w + dx);
  for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
    const sy = y - dy;
    out.set(src.subarray((sy * w + (x0 - dx)) * c, (sy * w + (x1 - dx)) * c), (y * w + x0) * c);
  }
}

interface Shift {
  px: number;
  rand: () => number;
  scratch: Float32Array;
}

function batchTensor(data: LabelledData, indices: ArrayLike<number>, from: number, size: number, perSample: number, shape: number[], buffer: Float32Array, shift?: Shift): tf.Tensor {
  for (let k = 0; k < size; k++) {
    const out = buffer.subarray(k * perSample, (k + 1) * perSample);
    if (!shift) {
      data.sample(indices[from + k], out);
      continue;
    }
    data.sample(indices[from + k], shift.scratch);
    const span = 2 * shift.px + 1;
    const dx = Math.floor(shift.rand() * span) - shift.px;
    const dy = Math.floor(shift.rand() * span) - shift.px;
    shiftInto(shift.scratch, out, shape[0], shape[1], shape[2], dx, dy);
  }
  return tf.tensor(buffer.subarray(0, size * perSample), [size, ...shape]);
}

/**
 * Accuracy, mean loss and top-1 predictions of the network on `data` (fake-quantized unless
 * `quantize` is false), in TF.js. `onBatch` is awaited after every batch (cancellation).
 */
export async function evaluateNetwork(
  net: QatNetwork,
  data: LabelledData,
  options: { quantize?: boolean; batchSize?: number; onBatch?: (done: number, total: number) => void | Promise<void> } = {},
): Promise<{ accuracy: number; loss: number; predictions: Int32Array }> {
  const quantize = options.quantize ?? true;
  const batch = options.batchSize ?? 256;
  const perSample = net.inputShape.reduce((a, b) => a * b, 1);
  const buffer = new Float32Array(batch * perSample);
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  const predictions = new Int32Array(data.count);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < data.count; start += batch) {
    const size = Math.min(batch, data.count - start);
    const x = batchTensor(data, order, start, size, perSample, net.inputShape, buffer);
    const [pred, loss] = tf.tidy(() => {
      const r = net.forward(x, quantize);
      const p = tf.argMax(tf.reshape(r.output, [size, -1]), 1);
      const l = data.labels
        ? tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(data.labels.subarray(start, start + size), 'int32'), net.classes), tf.reshape(r.logits, [size, -1]), undefined, undefined, tf.Reduction.SUM)
        : tf.scalar(0);
      return [p, l];
    });
    x.dispose();
    const p = pred.dataSync();
    lossSum += loss.dataSync()[0];
    pred.dispose();
    loss.dispose();
    for (let k = 0; k < size; k++) {
      predictions[start + k] = p[k];
      if (data.labels && p[k] === data.labels[start + k]) correct++;
    }
    await options.onBatch?.(start + size, data.count);
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count, predictions };
}

function makeOptimizer(o: TrainOptions): tf.Optimizer {
  return o.optimizer === 'sgd' ? tf.train.momentum(o.learningRate, 0.9) : tf.train.adam(o.learningRate);
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // Both optimizers read this field at every step; it is public in the JS, typed protected.
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

export async function trainNetwork(
  net: QatNetwork,
  train: LabelledData,
  val: LabelledData,
  options: TrainOptions,
  progress?: (p: QatProgress) => void | Promise<void>,
  teacher?: QatNetwork,
): Promise<TrainResult> {
  const t0 = performance.now();
  const trainLabels = checkLabels(train, net.classes, 'training');
  checkLabels(val, net.classes, 'validation');
  if (!(options.epochs >= 1) || !Number.isInteger(options.epochs)) throw new UserError('bad-input', `The epoch count ${options.epochs} is not a positive whole number.`);
  if (!(options.batchSize >= 1) || !Number.isInteger(options.batchSize)) throw new UserError('bad-input', `The batch size ${options.batchSize} is not a positive whole number.`);
  if (!(options.distill >= 0 && options.distill <= 1)) throw new UserError('bad-input', `The distillation weight ${options.distill} is not between 0 and 1.`);
  if (options.distill > 0 && !teacher) throw new Error('internal: distillation needs the float teacher network');
  if (!(options.shiftPx >= 0) || !Number.isInteger(options.shiftPx)) throw new UserError('bad-input', `The shift ${options.shiftPx} is not a whole number of pixels ≥ 0.`);
  if (options.shiftPx > 0 && net.inputShape.length !== 3) {
    throw new UserError('bad-input', `Shift augmentation needs image inputs [H, W, C]; this model takes [${net.inputShape.join(', ')}] per sample.`);
  }
  const perSample = net.inputShape.reduce((a, b) => a * b, 1);
  const steps = Math.ceil(train.count / options.batchSize);
  const totalSteps = steps * options.epochs;
  const buffer = new Float32Array(options.batchSize * perSample);
  const labels = new Int32Array(options.batchSize);
  const optimizer = makeOptimizer(options);
  const variables = net.trainableVariables;
  const notes: string[] = [];
  const history: EpochRecord[] = [];
  let stopReason: TrainResult['stopReason'] = 'completed';
  const validate = (epoch: number) =>
    evaluateNetwork(net, val, {
      onBatch: async (done, total) => {
        await progress?.({ phase: 'validate', epoch, epochs: options.epochs, step: done, steps: total, globalStep: epoch * steps, totalSteps, loss: NaN, accuracy: NaN, learningRate: NaN, etaSeconds: null });
      },
    });

  const start = await validate(0);
  const initial = { valLoss: start.loss, valAccuracy: start.accuracy };
  let best: KeptState | null = options.restoreBest ? net.keep() : null;
  let bestEpoch = 0;
  let bestAccuracy = start.accuracy;
  let bestLoss = start.loss;
  let sinceBest = 0;
  let lastGood: KeptState | null = null;
  let globalStep = 0;
  let trainSeconds = 0;
  let lastProgressMs = performance.now();
  try {
    for (let epoch = 1; epoch <= options.epochs && stopReason === 'completed'; epoch++) {
      const e0 = performance.now();
      const order = seededPermutation(train.count, options.seed * 7919 + epoch);
      const shift = options.shiftPx > 0 ? { px: options.shiftPx, rand: seededUniform(options.seed * 104729 + epoch), scratch: new Float32Array(perSample) } : undefined;
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lr = options.learningRate;
      for (let step = 0; step < steps; step++) {
        lr = options.schedule === 'cosine' ? 0.5 * options.learningRate * (1 + Math.cos((Math.PI * globalStep) / totalSteps)) : options.learningRate;
        setLearningRate(optimizer, lr);
        const from = step * options.batchSize;
        const size = Math.min(options.batchSize, train.count - from);
        for (let k = 0; k < size; k++) labels[k] = trainLabels[order[from + k]];
        const x = batchTensor(train, order, from, size, perSample, net.inputShape, buffer, shift);
        const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels.subarray(0, size), 'int32'), net.classes));
        const soft = teacher && options.distill > 0 ? tf.tidy(() => tf.softmax(tf.reshape(teacher.forward(x, false).logits, [size, -1]))) : null;
        let ranges: tf.Tensor | null = null;
        let hits: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const r = net.forward(x, true, true);
          const logits = tf.reshape(r.logits, [size, -1]);
          if (r.ranges) ranges = tf.keep(r.ranges);
          hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'int32')));
          const hard = tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
          if (!soft) return hard;
          const d = options.distill;
          return tf.add(tf.mul(hard, 1 - d), tf.mul(tf.losses.softmaxCrossEntropy(soft, logits), d)) as tf.Scalar;
        }, variables);
        x.dispose();
        y.dispose();
        soft?.dispose();
        const loss = value.dataSync()[0];
        value.dispose();
        const batchRanges = ranges ? (ranges as tf.Tensor).dataSync() as Float32Array : null;
        const batchHits = hits ? (hits as tf.Tensor).dataSync()[0] : 0;
        (ranges as tf.Tensor | null)?.dispose();
        (hits as tf.Tensor | null)?.dispose();
        const finite = Number.isFinite(loss) && (!batchRanges || batchRanges.every(Number.isFinite));
        if (!finite) {
          tf.dispose(grads);
          stopReason = 'non-finite-loss';
          if (lastGood) {
            net.restoreKept(lastGood);
            lastGood = null;
          }
          // NaN weights can hide behind the final fake-quant clamp (a finite loss of NaN logits), so the batch ranges count too.
          const what = Number.isFinite(loss) ? 'the activations became NaN or infinite' : `the loss became ${loss}`;
          notes.push(
            `Training diverged at epoch ${epoch}, step ${step + 1} (learning rate ${lr}): ${what}. Training stopped there and kept the weights and ranges of the last step with a finite loss; try a smaller learning rate (--lr).`,
          );
          break;
        }
        // This step's weights gave a finite loss: keep them until the next step is known to be finite too.
        if (lastGood) disposeKept(lastGood);
        lastGood = net.keep();
        optimizer.applyGradients(grads as Record<string, tf.Tensor>);
        tf.dispose(grads);
        if (batchRanges) net.updateRanges(batchRanges);
        if (net.options.ranges === 'lsq') net.clampLearned();
        lossSum += loss * size;
        correct += batchHits;
        seen += size;
        globalStep++;
        // Every 10 steps, and at least every 200 ms: the callback is where a cancel arrives (a job
        // runner terminates a worker that has not stopped 5 s after a cancel; a 'cpu' step can take 1 s).
        const now = performance.now();
        if (progress && (step % 10 === 9 || step === steps - 1 || now - lastProgressMs > 200)) {
          lastProgressMs = now;
          const elapsed = trainSeconds + (now - e0) / 1000;
          await progress({
            phase: 'train',
            epoch,
            epochs: options.epochs,
            step: step + 1,
            steps,
            globalStep,
            totalSteps,
            loss: lossSum / seen,
            accuracy: correct / seen,
            learningRate: lr,
            etaSeconds: (elapsed / globalStep) * (totalSteps - globalStep),
          });
        }
      }
      trainSeconds += (performance.now() - e0) / 1000;
      if (stopReason !== 'completed' && seen === 0) break;
      if (stopReason !== 'completed' && !net.isFinite()) break;
      const v = await validate(epoch);
      history.push({ epoch, loss: seen ? lossSum / seen : NaN, accuracy: seen ? correct / seen : NaN, valLoss: v.loss, valAccuracy: v.accuracy, learningRate: lr, seconds: (performance.now() - e0) / 1000 });
      if (v.accuracy > bestAccuracy || (v.accuracy === bestAccuracy && v.loss < bestLoss)) {
        bestAccuracy = v.accuracy;
        bestLoss = v.loss;
        bestEpoch = epoch;
        sinceBest = 0;
        if (best) {
          disposeKept(best);
          best = net.keep();
        }
      } else {
        sinceBest++;
        if (options.patience > 0 && sinceBest >= options.patience && epoch < options.epochs && stopReason === 'completed') {
          stopReason = 'early-stopping';
          notes.push(`Validation accuracy did not improve for ${sinceBest} epochs after epoch ${bestEpoch}; training stopped early after epoch ${epoch}.`);
        }
      }
    }
    const lastEpoch = history.length;
    let keptEpoch = lastEpoch;
    if (best && bestEpoch !== lastEpoch) {
      net.restoreKept(best);
      best = null;
      keptEpoch = bestEpoch;
      notes.push(
        bestEpoch === 0
          ? `No epoch beat the calibrated starting point on validation accuracy (${(100 * initial.valAccuracy).toFixed(2)}%), so its weights and ranges were kept.`
          : `The weights and ranges of epoch ${bestEpoch}, best on validation accuracy (${(100 * bestAccuracy).toFixed(2)}%), were kept.`,
      );
    }
    return { history, initial, keptEpoch, stopReason, notes, steps: globalStep, seconds: (performance.now() - t0) / 1000 };
  } finally {
    if (best) disposeKept(best);
    if (lastGood) disposeKept(lastGood);
    optimizer.dispose();
  }
}
