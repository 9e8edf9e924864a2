/**
 * TensorFlow.js layers models built and saved by TensorFlow.js itself (cpu backend), imported
 * by QuantLab's own model.json parser, written as .tflite and run in the real TFLite
 * interpreter: the outputs must match `model.predict` on seeded random inputs.
 *
 * Variants of the saved files: as TF.js writes them; with the weights quantized in the manifest
 * (uint8 / uint16 affine and float16, produced here from the float weights the way the TF.js
 * converter does — compared against TF.js predicting with the dequantized weights); and the
 * old converter layout (no `format`, `keras_version`/`backend`, a nested `model_config`,
 * Sequential layers as a bare list, Functional as class 'Model', weights in several groups
 * and shards).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../../../src/core/errors';
import { findFormat, openModel, openModelFile } from '../../../../src/core/formats';
import { matchTfjsLayers, openTfjsLayersFile } from '../../../../src/core/formats/tfjs-layers';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import { inferShapes } from '../../../../src/core/ir/shape-inference';
import type { Model } from '../../../../src/core/ir/types';
import { loadOracle, type TfliteOracle } from '../../../helpers/tflite-oracle';
import { runGraphF64 } from '../keras/ir-float64';
import { BATCH, functionalModel, maxAbsDiff, miscModel, predict, randomInputs, randomizeWeights, save, sequentialModel, withBatch, type Saved } from './models';

const TOLERANCE = 1e-5;

function writeModelDir(dir: string, modelJson: Record<string, unknown>, shards: Record<string, Uint8Array>): string {
  for (const [name, bytes] of Object.entries(shards)) writeFileSync(join(dir, name), bytes);
  const path = join(dir, 'model.json');
  writeFileSync(path, JSON.stringify(modelJson));
  return path;
}

/** The model.json TF.js itself writes for `file://` and `downloads://`. */
function standardModelJson(s: Saved, specs: unknown[] = s.specs): Record<string, unknown> {
  return {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    modelTopology: s.topology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }],
  };
}

/** Imports model.json, runs it in the TFLite interpreter (and the float64 reference), compares with `expected`. */
async function importAndCompare(oracle: TfliteOracle, path: string, inputs: { data: Float32Array; shape: number[] }[], expected: Float32Array[]): Promise<Model> {
  const model = await openTfjsLayersFile(path);
  expect(model.format).toBe('tfjs-layers');
  const graph = model.subgraphs[0];
  const inferred = inferShapes(graph);
  graph.tensors.forEach((t, i) => expect(inferred[i], t.name).toEqual(t.shape));

  const { outputs } = oracle.run(writeTflite(withBatch(model, BATCH)), inputs.map((i) => i.data));
  expect(outputs.length).toBe(expected.length);
  outputs.forEach((o, k) => expect(maxAbsDiff(o as Float32Array, expected[k]), `output ${k}`).toBeLessThanOrEqual(TOLERANCE));

  const ref = runGraphF64(graph, inputs.map((i) => ({ shape: i.shape, data: Float64Array.from(i.data) })));
  ref.forEach((o, k) => expect(maxAbsDiff(o.data, expected[k]), `float64 reference, output ${k}`).toBeLessThanOrEqual(TOLERANCE));
  return model;
}

// ---- the converter's weight quantization, reproduced --------------------------------------

function float32ToFloat16Bits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

function float16BitsToFloat32(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

type QuantDtype = 'uint8' | 'uint16' | 'float16';

/** tensorflowjs' quantization.py: affine with the range nudged so that 0 is exact. */
function quantize(values: Float32Array, dtype: QuantDtype): { bytes: Uint8Array; dequantized: Float32Array; quantization: Record<string, unknown> } {
  const n = values.length;
  if (dtype === 'float16') {
    const bits = new Uint16Array(n);
    const dequantized = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      bits[i] = float32ToFloat16Bits(values[i]);
      dequantized[i] = float16BitsToFloat32(bits[i]);
    }
    return { bytes: new Uint8Array(bits.buffer), dequantized, quantization: { dtype: 'float16', original_dtype: 'float32' } };
  }
  const qmax = dtype === 'uint8' ? 255 : 65535;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  min = Math.min(min, 0);
  max = Math.max(max, 0);
  let scale = (max - min) / qmax;
  if (scale === 0) scale = 1;
  const zero = Math.round(-min / scale);
  const nudgedMin = -zero * scale;
  const nudgedMax = qmax * scale + nudgedMin;
  const q = dtype === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
  const dequantized = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const clipped = Math.min(nudgedMax, Math.max(nudgedMin, values[i]));
    q[i] = Math.round((clipped - nudgedMin) / scale);
    dequantized[i] = q[i] * scale + nudgedMin;
  }
  return { bytes: new Uint8Array(q.buffer), dequantized, quantization: { dtype, min: nudgedMin, scale, original_dtype: 'float32' } };
}

/** Splits bytes into `count` shards of (roughly) equal size. */
function split(bytes: Uint8Array, count: number): Uint8Array[] {
  const size = Math.ceil(bytes.length / count);
  return Array.from({ length: count }, (_, i) => bytes.slice(i * size, Math.min(bytes.length, (i + 1) * size)));
}

// ---- tests ----------------------------------------------------------------------------------

describe('TensorFlow.js layers models saved by TensorFlow.js', () => {
  let oracle: TfliteOracle;
  let dir: string;
  const models: Record<string, { model: tf.LayersModel; saved: Saved; inputs: { data: Float32Array; shape: number[] }[]; expected: Float32Array[] }> = {};

  beforeAll(async () => {
    await tf.setBackend('cpu');
    oracle = await loadOracle();
    dir = mkdtempSync(join(tmpdir(), 'quantlab-tfjs-layers-'));
    for (const [name, build, seed] of [
      ['sequential', sequentialModel, 1],
      ['functional', functionalModel, 2],
      ['misc', miscModel, 3],
    ] as const) {
      const model = build();
      randomizeWeights(model, seed);
      const inputs = randomInputs(model, seed + 100);
      models[name] = { model, saved: await save(model), inputs, expected: predict(model, inputs) };
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const m of Object.values(models)) m.model.dispose();
  });

  const folder = (name: string): string => mkdtempSync(join(dir, `${name}-`));

  it('imports the Sequential model (conv/BN/relu/pool/flatten/dense) and matches model.predict', async () => {
    const { saved, inputs, expected } = models.sequential;
    const path = writeModelDir(folder('seq'), standardModelJson(saved), { 'group1-shard1of1.bin': saved.weightData });
    expect(matchTfjsLayers({ name: 'model.json', bytes: readFileSync(path) })).toBe(true);
    const model = await importAndCompare(oracle, path, inputs, expected);
    const types = model.subgraphs[0].ops.map((o) => o.type);
    // conv(relu fused) → BN as MUL+ADD (its ReLU layer fused into the ADD) → pool → conv → leaky → avg → reshape → fc → softmax
    expect(types).toEqual(['CONV_2D', 'MUL', 'ADD', 'MAX_POOL_2D', 'CONV_2D', 'LEAKY_RELU', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
    expect(model.producer).toContain('TensorFlow.js');
  });

  it('imports the Functional model (Add, Concatenate, depthwise, separable, upsampling, padding, GAP, a shared layer, two outputs)', async () => {
    const { saved, inputs, expected } = models.functional;
    const path = writeModelDir(folder('func'), standardModelJson(saved), { 'group1-shard1of1.bin': saved.weightData });
    const model = await importAndCompare(oracle, path, inputs, expected);
    const types = new Set(model.subgraphs[0].ops.map((o) => o.type));
    for (const t of ['DEPTHWISE_CONV_2D', 'CONV_2D', 'ADD', 'PAD', 'LOGISTIC', 'RESIZE_NEAREST_NEIGHBOR', 'CONCATENATION', 'MEAN', 'FULLY_CONNECTED', 'TANH', 'SOFTMAX']) {
      expect(types, t).toContain(t);
    }
    expect(model.subgraphs[0].outputs.length).toBe(2);
  });

  it('imports the rest of the layer set (bilinear upsampling, Multiply/Average, dilation, rank-4 Dense, Reshape, Concatenate on axis 1)', async () => {
    const { saved, inputs, expected } = models.misc;
    const path = writeModelDir(folder('misc'), standardModelJson(saved), { 'group1-shard1of1.bin': saved.weightData });
    const model = await importAndCompare(oracle, path, inputs, expected);
    const g = model.subgraphs[0];
    const types = g.ops.map((o) => o.type);
    for (const t of ['RESIZE_BILINEAR', 'MUL', 'ADD', 'LOGISTIC', 'CONCATENATION', 'RESHAPE']) expect(types, t).toContain(t);
    const fc = g.ops.find((o) => o.name === 'dense_rank4');
    expect(fc?.type === 'FULLY_CONNECTED' && fc.options.keepNumDims).toBe(true);
  });

  for (const name of ['sequential', 'functional', 'misc'] as const) {
    it(`reads uint8, uint16 and float16 quantized weights of the ${name} model (compared with TF.js on the dequantized weights)`, async () => {
      const { model: tfModel, saved, inputs } = models[name];
      const kinds: QuantDtype[] = ['uint8', 'float16', 'uint16'];
      const chunks: Uint8Array[] = [];
      const specs: unknown[] = [];
      const dequantized: tf.Tensor[] = [];
      let offset = 0;
      saved.specs.forEach((spec, i) => {
        const n = spec.shape.reduce((a, b) => a * b, 1);
        const values = new Float32Array(saved.weightData.slice(offset, offset + 4 * n).buffer);
        offset += 4 * n;
        const q = quantize(values, kinds[i % kinds.length]);
        chunks.push(q.bytes);
        specs.push({ ...spec, quantization: q.quantization });
        dequantized.push(tf.tensor(q.dequantized, spec.shape));
      });
      const bin = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let p = 0;
      for (const c of chunks) {
        bin.set(c, p);
        p += c.length;
      }
      const path = writeModelDir(folder(`${name}-quant`), standardModelJson(saved, specs), { 'group1-shard1of1.bin': bin });

      const original = tfModel.getWeights().map((w) => w.clone());
      tfModel.setWeights(dequantized);
      const expected = predict(tfModel, inputs);
      tfModel.setWeights(original);
      [...original, ...dequantized].forEach((t) => t.dispose());
      await importAndCompare(oracle, path, inputs, expected);
    });
  }

  it('reads the old converter layout: no format, nested model_config, list Sequential config, several groups and shards', async () => {
    const { saved, inputs, expected } = models.sequential;
    const config = saved.topology.config as { layers: unknown[] };
    // Split the weights at an entry boundary into two groups; the first group into two shards.
    const firstGroup = saved.specs.slice(0, 3);
    const firstBytes = firstGroup.reduce((a, s) => a + 4 * s.shape.reduce((x, y) => x * y, 1), 0);
    const [s1, s2] = split(saved.weightData.slice(0, firstBytes), 2);
    const json = {
      modelTopology: {
        keras_version: '2.1.6',
        backend: 'tensorflow',
        model_config: { class_name: 'Sequential', config: config.layers },
        training_config: { optimizer_config: { class_name: 'Adam', config: {} }, loss: 'categorical_crossentropy', metrics: ['accuracy'] },
      },
      weightsManifest: [
        { paths: ['group1-shard1of2', 'group1-shard2of2'], weights: firstGroup },
        { paths: ['group2-shard1of1'], weights: saved.specs.slice(3) },
      ],
    };
    const path = writeModelDir(folder('old-seq'), json, {
      'group1-shard1of2': s1,
      'group1-shard2of2': s2,
      'group2-shard1of1': saved.weightData.slice(firstBytes),
    });
    expect(matchTfjsLayers({ name: 'model.json', bytes: readFileSync(path) })).toBe(true);
    const model = await importAndCompare(oracle, path, inputs, expected);
    expect(model.producer).toContain('2.1.6');
  });

  it("reads the old converter layout of a Functional model (class 'Model')", async () => {
    const { saved, inputs, expected } = models.functional;
    const json = {
      modelTopology: { keras_version: '2.2.4', backend: 'tensorflow', model_config: { class_name: 'Model', config: saved.topology.config } },
      weightsManifest: [{ paths: ['weights.bin'], weights: saved.specs }],
    };
    const path = writeModelDir(folder('old-func'), json, { 'weights.bin': saved.weightData });
    await importAndCompare(oracle, path, inputs, expected);
  });

  it('is registered: found by its bytes, opened from disk with its shards, refused as a lone buffer', async () => {
    const { saved, inputs, expected } = models.sequential;
    const path = writeModelDir(folder('registry'), standardModelJson(saved), { 'group1-shard1of1.bin': saved.weightData });
    const bytes = new Uint8Array(readFileSync(path));
    expect(findFormat({ name: 'anything.txt', bytes })?.id).toBe('tfjs-layers');
    const model = await openModelFile(path);
    expect(model.format).toBe('tfjs-layers');
    const { outputs } = oracle.run(writeTflite(withBatch(model, BATCH)), inputs.map((i) => i.data));
    expect(maxAbsDiff(outputs[0] as Float32Array, expected[0])).toBeLessThanOrEqual(TOLERANCE);
    await expect(openModel({ name: '/some/where/model.json', bytes })).rejects.toThrow(
      'model.json is a TensorFlow.js model.json whose weights sit in separate shard files; open it from its folder so QuantLab can read them.',
    );
  });

  it('says which shard is missing or short, and refuses graph models and paths outside the folder', async () => {
    const { saved } = models.sequential;
    const short = writeModelDir(folder('short'), standardModelJson(saved), { 'group1-shard1of1.bin': saved.weightData.slice(0, 100) });
    await expect(openTfjsLayersFile(short)).rejects.toThrow(ModelFormatError);
    await expect(openTfjsLayersFile(short)).rejects.toThrow(/model\.json: the weight '.+' needs bytes \d+ to \d+ of group 0 \('group1-shard1of1\.bin'\), which holds only 100 bytes/);

    const missing = writeModelDir(folder('missing'), standardModelJson(saved), {});
    await expect(openTfjsLayersFile(missing)).rejects.toThrow(/the weight shard 'group1-shard1of1\.bin' cannot be read/);

    const outside = writeModelDir(folder('outside'), { ...standardModelJson(saved), weightsManifest: [{ paths: ['../secret.bin'], weights: saved.specs }] }, {});
    await expect(openTfjsLayersFile(outside)).rejects.toThrow(/points to '\.\.\/secret\.bin', outside the model's folder/);

    const graphModel = writeModelDir(folder('graph'), { format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, {});
    expect(matchTfjsLayers({ name: 'model.json', bytes: readFileSync(graphModel) })).toBe(false);
    await expect(openTfjsLayersFile(graphModel)).rejects.toThrow(/is a TensorFlow\.js graph model/);

    const badQuant = writeModelDir(
      folder('badquant'),
      standardModelJson(saved, saved.specs.map((s, i) => (i === 0 ? { ...s, quantization: { dtype: 'int4' } } : s))),
      { 'group1-shard1of1.bin': saved.weightData },
    );
    await expect(openTfjsLayersFile(badQuant)).rejects.toThrow(/is quantized to 'int4'; QuantLab reads uint8, uint16 and float16/);
  });
});
