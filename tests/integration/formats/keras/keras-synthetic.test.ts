/**
 * The TensorFlow.js test models (conv/BN/ReLU/pools/flatten/dense; depthwise, separable, Add,
 * Concatenate, ZeroPadding2D, UpSampling2D, GlobalAveragePooling2D, a shared layer, two outputs)
 * re-written in the three Keras layouts, the way each Keras writes them:
 * - Keras 2 `.h5` (tf.keras 2.4: `name:0` weight names) and Keras 2.2.4 (fixed-length names);
 * - Keras 3 `.h5` (legacy writer: Keras 3 config syntax, `layer/kernel` weight paths);
 * - Keras 3 `.keras` (zip; generic `layers/<class>_<n>/vars/<i>` weight paths).
 * Each is imported, written as .tflite, run in the TFLite interpreter and compared with
 * TensorFlow.js's own predictions. Keras 3's hard_sigmoid is relu6(x + 3) / 6 (Keras 2 and
 * TF.js: clip(0.2x + 0.5, 0, 1)); the expected value is derived accordingly.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { openKeras } from '../../../../src/core/formats/keras';
import { kerasSnakeCase } from '../../../../src/core/formats/keras/reader';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import { inferShapes } from '../../../../src/core/ir/shape-inference';
import { loadOracle, type TfliteOracle } from '../../../helpers/tflite-oracle';
import { kerasArchive, kerasH5, keras3WeightsH5, type FixtureWeight } from '../../../unit/core/formats/keras/fixtures';
import { BATCH, functionalModel, maxAbsDiff, predict, randomInputs, randomizeWeights, save, sequentialModel, withBatch, type Saved } from '../tfjs-layers/models';

type Json = Record<string, unknown>;
const TOLERANCE = 1e-5;

const snakeActivation = (a: unknown): unknown => (typeof a === 'string' ? a.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : a);

interface TopoLayer {
  class_name: string;
  name?: string;
  config: Json;
  inbound_nodes?: [string, number, number, Json][][];
}

/** Layer name → its weights, in manifest order (= Keras order), from the TF.js save. */
function weightsByLayer(saved: Saved): Map<string, { role: string; shape: number[]; data: Float32Array }[]> {
  const out = new Map<string, { role: string; shape: number[]; data: Float32Array }[]>();
  let offset = 0;
  for (const spec of saved.specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(saved.weightData.slice(offset, offset + 4 * n).buffer);
    offset += 4 * n;
    const cut = spec.name.lastIndexOf('/');
    const layer = spec.name.slice(0, cut);
    out.set(layer, [...(out.get(layer) ?? []), { role: spec.name.slice(cut + 1), shape: spec.shape, data }]);
  }
  return out;
}

function layersOf(saved: Saved): TopoLayer[] {
  return (saved.topology.config as { layers: TopoLayer[] }).layers;
}

/** Keras 2 syntax: the TF.js topology with Python activation names. */
function keras2Config(saved: Saved): Json {
  const cfg = saved.topology.config as Json;
  return {
    class_name: saved.topology.class_name === 'Sequential' ? 'Sequential' : 'Functional',
    config: { ...cfg, layers: layersOf(saved).map((l) => ({ ...l, config: { ...l.config, activation: snakeActivation(l.config.activation) } })) },
  };
}

/** Keras 3 syntax: InputLayer batch_shape, dtype policies, {args, kwargs} inbound nodes of __keras_tensor__s. */
function keras3Config(saved: Saved): Json {
  const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const tensor = (ref: [string, number, number, Json]): Json => ({
    class_name: '__keras_tensor__',
    config: { shape: null, dtype: 'float32', keras_history: [ref[0], ref[1], ref[2]] },
  });
  const convert = (l: TopoLayer): Json => {
    const { batch_input_shape: _drop, ...rest } = l.config;
    const config: Json = { ...rest, dtype: policy, activation: snakeActivation(l.config.activation) };
    if (l.class_name === 'LeakyReLU') {
      config.negative_slope = config.alpha;
      delete config.alpha;
    }
    if (config.activation === undefined) delete config.activation;
    return { module: 'keras.layers', class_name: l.class_name, config, registered_name: null };
  };
  const input = (name: string, batchShape: unknown): Json => ({
    module: 'keras.layers',
    class_name: 'InputLayer',
    config: { batch_shape: batchShape, dtype: 'float32', sparse: false, name },
    registered_name: null,
  });
  if (saved.topology.class_name === 'Sequential') {
    const layers = layersOf(saved);
    return {
      module: 'keras',
      class_name: 'Sequential',
      config: { name: 'seq_cnn', trainable: true, dtype: policy, layers: [input('input_layer', layers[0].config.batch_input_shape), ...layers.map(convert)] },
      registered_name: null,
    };
  }
  const cfg = saved.topology.config as Json;
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: cfg.name,
      trainable: true,
      layers: layersOf(saved).map((l) => ({
        ...(l.class_name === 'InputLayer' ? input(l.name as string, l.config.batch_input_shape) : convert(l)),
        name: l.name,
        inbound_nodes: (l.inbound_nodes ?? []).map((node) => ({ args: [node.length === 1 ? tensor(node[0]) : node.map(tensor)], kwargs: {} })),
      })),
      input_layers: cfg.input_layers,
      output_layers: cfg.output_layers,
    },
    registered_name: 'Functional',
  };
}

function layerNames(saved: Saved): string[] {
  return layersOf(saved).map((l) => (l.name ?? l.config.name) as string);
}

async function kerasH5From(saved: Saved, flavor: '2.2.4' | '2.4.0' | '3.8.0'): Promise<Uint8Array> {
  const weights = weightsByLayer(saved);
  const k3 = flavor.startsWith('3');
  return kerasH5({
    modelConfig: k3 ? keras3Config(saved) : keras2Config(saved),
    kerasVersion: flavor,
    fixedLengthNames: flavor === '2.2.4',
    layers: layerNames(saved).map((name) => ({
      name,
      weights: (weights.get(name) ?? []).map((w): FixtureWeight => ({ name: k3 ? `${name}/${w.role}` : `${name}/${w.role}:0`, shape: w.shape, data: w.data })),
    })),
  });
}

async function kerasArchiveFrom(saved: Saved, recordNames: boolean): Promise<Uint8Array> {
  const weights = weightsByLayer(saved);
  const config = keras3Config(saved);
  const counters = new Map<string, number>();
  const groups = ((config.config as Json).layers as Json[]).map((l) => {
    const snake = kerasSnakeCase(l.class_name as string);
    const n = counters.get(snake) ?? 0;
    counters.set(snake, n + 1);
    const name = (l.name ?? (l.config as Json).name) as string;
    return {
      path: `layers/${n === 0 ? snake : `${snake}_${n}`}`,
      layerName: name,
      vars: (weights.get(name) ?? []).map((w, i): FixtureWeight => ({ name: String(i), shape: w.shape, data: w.data })),
    };
  });
  return kerasArchive(config, await keras3WeightsH5(groups, recordNames));
}

describe('Keras files written from TensorFlow.js models', () => {
  let oracle: TfliteOracle;
  const cases: Record<string, { saved: Saved; inputs: { data: Float32Array; shape: number[] }[]; expected: Float32Array[]; expectedKeras3: Float32Array[] }> = {};

  beforeAll(async () => {
    await tf.setBackend('cpu');
    oracle = await loadOracle();
    for (const [name, build, seed] of [
      ['sequential', sequentialModel, 21],
      ['functional', functionalModel, 22],
    ] as const) {
      const model = build();
      randomizeWeights(model, seed);
      const inputs = randomInputs(model, seed + 100);
      const expected = predict(model, inputs);
      let expectedKeras3 = expected;
      if (name === 'functional') {
        // Second output: hard_sigmoid(gap). Keras 3 defines it as relu6(x + 3) / 6.
        const gapModel = tf.model({ inputs: model.inputs, outputs: model.getLayer('gap').output as tf.SymbolicTensor });
        const [gap] = predict(gapModel, inputs);
        expectedKeras3 = [expected[0], gap.map((x) => Math.min(6, Math.max(0, x + 3)) / 6)];
      }
      cases[name] = { saved: await save(model), inputs, expected, expectedKeras3 };
      model.dispose();
    }
  });

  async function check(fileName: string, bytes: Uint8Array, inputs: { data: Float32Array }[], expected: Float32Array[]): Promise<void> {
    const model = await openKeras({ name: fileName, bytes });
    const graph = model.subgraphs[0];
    const inferred = inferShapes(graph);
    graph.tensors.forEach((t, i) => expect(inferred[i], t.name).toEqual(t.shape));
    const { outputs } = oracle.run(writeTflite(withBatch(model, BATCH)), inputs.map((i) => i.data));
    expect(outputs.length).toBe(expected.length);
    outputs.forEach((o, k) => expect(maxAbsDiff(o as Float32Array, expected[k]), `${fileName} output ${k}`).toBeLessThanOrEqual(TOLERANCE));
  }

  for (const name of ['sequential', 'functional'] as const) {
    it(`${name}: Keras 2 .h5 (tf.keras 2.4 and standalone 2.2.4 layouts)`, async () => {
      const c = cases[name];
      await check(`${name}-2.4.h5`, await kerasH5From(c.saved, '2.4.0'), c.inputs, c.expected);
      await check(`${name}-2.2.4.h5`, await kerasH5From(c.saved, '2.2.4'), c.inputs, c.expected);
    });

    it(`${name}: Keras 3 .h5`, async () => {
      const c = cases[name];
      await check(`${name}-k3.h5`, await kerasH5From(c.saved, '3.8.0'), c.inputs, c.expectedKeras3);
    });

    it(`${name}: Keras 3 .keras, weights matched by layer order (with and without recorded names)`, async () => {
      const c = cases[name];
      await check(`${name}.keras`, await kerasArchiveFrom(c.saved, true), c.inputs, c.expectedKeras3);
      await check(`${name}-unnamed.keras`, await kerasArchiveFrom(c.saved, false), c.inputs, c.expectedKeras3);
    });
  }
});
