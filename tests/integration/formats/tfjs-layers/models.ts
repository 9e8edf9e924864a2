/**
 * Small TensorFlow.js models for the importer tests, built with TensorFlow.js itself, and the
 * helpers to randomize, save (through a custom IOHandler) and run them.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { Model } from '../../../../src/core/ir/types';

export const BATCH = 3;

/** mulberry32 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Saved {
  topology: Record<string, unknown>;
  specs: tf.io.WeightsManifestEntry[];
  weightData: Uint8Array;
}

/** Saves through a custom IOHandler, the way `model.save('file://…')` would lay the files out. */
export async function save(model: tf.LayersModel): Promise<Saved> {
  let saved: Saved | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const parts = Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData ?? new ArrayBuffer(0)];
      const total = parts.reduce((a, p) => a + p.byteLength, 0);
      const weightData = new Uint8Array(total);
      let off = 0;
      for (const p of parts) {
        weightData.set(new Uint8Array(p), off);
        off += p.byteLength;
      }
      saved = { topology: artifacts.modelTopology as Record<string, unknown>, specs: artifacts.weightSpecs ?? [], weightData };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('save handler not called');
  return saved;
}

/** Sets random weights (BN variances positive) so nothing is trivially 0 or 1. */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const r = rng(seed);
  const values = model.weights.map((w) => {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const isVariance = w.originalName.endsWith('moving_variance');
    const data = Float32Array.from({ length: n }, () => (isVariance ? 0.3 + r() : (r() - 0.5) * 0.8));
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  values.forEach((t) => t.dispose());
}

export function randomInputs(model: tf.LayersModel, seed: number): { data: Float32Array; shape: number[] }[] {
  const r = rng(seed);
  return model.inputs.map((input) => {
    const shape = [BATCH, ...(input.shape.slice(1) as number[])];
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
    return { data, shape };
  });
}

export function predict(model: tf.LayersModel, inputs: { data: Float32Array; shape: number[] }[]): Float32Array[] {
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
  const ys = model.predict(xs.length === 1 ? xs[0] : xs);
  const list = Array.isArray(ys) ? ys : [ys];
  const out = list.map((y) => y.dataSync() as Float32Array);
  [...xs, ...list].forEach((t) => t.dispose());
  return out;
}

export function withBatch(model: Model, batch: number): Model {
  return {
    ...model,
    subgraphs: model.subgraphs.map((g) => ({
      ...g,
      tensors: g.tensors.map((t) => (t.data || t.shape[0] !== -1 ? t : { ...t, shape: [batch, ...t.shape.slice(1)] })),
    })),
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function sequentialModel(): tf.LayersModel {
  const m = tf.sequential({ name: 'seq_cnn' });
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 2], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.batchNormalization({}));
  m.add(tf.layers.reLU({}));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 5, kernelSize: [3, 2], strides: [2, 1], padding: 'valid', useBias: false }));
  m.add(tf.layers.leakyReLU({ alpha: 0.1 }));
  m.add(tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }));
  m.add(tf.layers.dropout({ rate: 0.3 }));
  m.add(tf.layers.flatten({}));
  m.add(tf.layers.dense({ units: 7, activation: 'softmax' }));
  return m;
}

export function functionalModel(): tf.LayersModel {
  const input = tf.input({ shape: [10, 10, 3], name: 'image' });
  const ap = <T extends tf.SymbolicTensor | tf.SymbolicTensor[]>(layer: tf.layers.Layer, x: T): tf.SymbolicTensor => layer.apply(x) as tf.SymbolicTensor;
  const stem = ap(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'stem' }), input);
  const bn = ap(tf.layers.batchNormalization({ name: 'stem_bn' }), stem);
  const r6 = ap(tf.layers.reLU({ maxValue: 6, name: 'stem_relu6' }), bn);
  const dw = ap(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu', name: 'dw' }), r6);
  const sep = ap(tf.layers.separableConv2d({ filters: 16, kernelSize: 3, padding: 'same', name: 'sep' }), r6);
  const sum = ap(tf.layers.add({ name: 'sum' }), [dw, sep]);
  const padded = ap(tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]], name: 'pad' }), sum);
  const down = ap(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'sigmoid', name: 'down' }), padded);
  const up = ap(tf.layers.upSampling2d({ size: [2, 2], name: 'up' }), down);
  const cat = ap(tf.layers.concatenate({ name: 'cat' }), [up, r6]);
  const gap = ap(tf.layers.globalAveragePooling2d({ name: 'gap' }), cat);
  const shared = tf.layers.dense({ units: 16, activation: 'relu', name: 'shared' });
  const twice = ap(shared, ap(shared, gap)); // one layer called twice: node indices 0 and 1
  const logits = ap(tf.layers.dense({ units: 6, activation: 'tanh', name: 'fc' }), twice);
  const probs = ap(tf.layers.softmax({ name: 'probs' }), logits);
  const gate = ap(tf.layers.activation({ activation: 'hardSigmoid', name: 'gate' }), gap);
  return tf.model({ inputs: input, outputs: [probs, gate], name: 'func' });
}


/**
 * The rest of the layer set: dilated conv with relu6, strided depthwise without bias and with
 * swish, separable with depth multiplier 2, bilinear upsampling, Multiply / Average,
 * Dense on a rank-4 tensor, Reshape, Concatenate on axis 1. (TF.js 4.22 leaves depth_multiplier
 * out of its SeparableConv2D config; the importer reads it from the kernel shape.)
 */
export function miscModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'x' });
  const ap = <T extends tf.SymbolicTensor | tf.SymbolicTensor[]>(layer: tf.layers.Layer, x: T): tf.SymbolicTensor => layer.apply(x) as tf.SymbolicTensor;
  const a = ap(tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu6', name: 'dilated' }), input);
  const b = ap(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: false, activation: 'swish', name: 'dw_s2' }), a);
  const c = ap(tf.layers.separableConv2d({ filters: 8, kernelSize: 3, depthMultiplier: 2, padding: 'valid', name: 'sep_m2' }), input);
  const d = ap(tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up_bilinear' }), b);
  const e = ap(tf.layers.multiply({ name: 'mul' }), [a, d]);
  const g = ap(tf.layers.average({ name: 'avg' }), [a, e, d]);
  const h = ap(tf.layers.dense({ units: 6, activation: 'tanh', name: 'dense_rank4' }), g); // [8, 8, 6]
  const i = ap(tf.layers.reshape({ targetShape: [8, 48], name: 'rows' }), h);
  const j = ap(tf.layers.reshape({ targetShape: [6, 48], name: 'rows_c' }), c);
  const k = ap(tf.layers.concatenate({ axis: 1, name: 'cat_rows' }), [i, j]); // [14, 48]
  const l = ap(tf.layers.flatten({ name: 'flat' }), k);
  const out = ap(tf.layers.dense({ units: 3, activation: 'softmax', name: 'head' }), l);
  return tf.model({ inputs: input, outputs: out, name: 'misc' });
}
