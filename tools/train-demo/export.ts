/**
 * A trained TF.js layers model → float32 .tflite through QuantLab's own formats, and the float
 * accuracy of that file measured in QuantLab's runtime.
 *
 * Route: model.save(withSaveHandler) gives the model.json topology, weight specs and weight
 * bytes; `readTfjsLayers` turns them into the IR (BatchNorm stays a per-channel MUL + ADD, not
 * folded: folding is the quantizer's job); `setBatchSize(…, 1)` makes every shape static (TF.js
 * writes batch -1; delegates need static shapes); `writeTflite` serialises it.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/core/data/dataset';
import { readTfjsLayers } from '../../src/core/formats/tfjs-layers/reader';
import { readTflite } from '../../src/core/formats/tflite/reader';
import { writeTflite } from '../../src/core/formats/tflite/writer';
import { setBatchSize } from '../../src/core/ir/transforms';
import type { Graph, Model } from '../../src/core/ir/types';
import { Interpreter } from '../../src/core/runtime/interpreter';

export interface TfjsArtifacts {
  modelJson: Uint8Array;
  weights: Uint8Array;
}

/** model.json (format 'layers-model', one weight group in 'weights.bin') and the weight bytes. */
export async function saveTfjsArtifacts(model: tf.LayersModel): Promise<TfjsArtifacts> {
  let out: TfjsArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      if (!artifacts.weightSpecs || !artifacts.weightData) throw new Error('TensorFlow.js saved no weights.');
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      out = { modelJson: new TextEncoder().encode(JSON.stringify(json)), weights };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    }),
  );
  if (!out) throw new Error('TensorFlow.js did not call the save handler.');
  return out;
}

/** The IR of the saved model with batch 1 everywhere (BatchNorm left as MUL + ADD). */
export async function toIr(artifacts: TfjsArtifacts, name: string): Promise<Model> {
  const model = await readTfjsLayers({
    name: `${name}/model.json`,
    bytes: artifacts.modelJson,
    readFile: async (p) => {
      if (p !== 'weights.bin') throw new Error(`unexpected shard '${p}'`);
      return artifacts.weights;
    },
  });
  const graph = setBatchSize(model.subgraphs[0], 1);
  graph.name = name;
  return { ...model, subgraphs: [graph, ...model.subgraphs.slice(1)], description: `QuantLab demo model '${name}' (${model.description ?? 'TF.js layers model'})` };
}

export function toTflite(model: Model): Uint8Array {
  return writeTflite(model);
}

/** Elements of the float32 constant tensors: the model's parameters as stored in the graph. */
export function floatParameterCount(graph: Graph): number {
  return graph.tensors.filter((t) => t.data && t.dtype === 'float32').reduce((n, t) => n + (t.data?.length ?? 0), 0);
}

export interface RuntimeAccuracy {
  samples: number;
  correct: number;
  accuracyPct: number;
  /** Correct answers among the first `prefix` samples (for checks on a subset). */
  prefixCorrect: Record<number, number>;
  msPerSample: number;
}

/** Top-1 accuracy of a float .tflite over a labelled dataset in QuantLab's interpreter. */
export function runtimeAccuracy(tfliteBytes: Uint8Array, ds: Dataset, prefixes: readonly number[], onProgress?: (done: number) => void): RuntimeAccuracy {
  if (!ds.labels) throw new Error(`Dataset '${ds.spec}' has no labels.`);
  const graph = readTflite(tfliteBytes, 'model.tflite').subgraphs[0];
  const interpreter = Interpreter.prepare(graph);
  const sample = new Float32Array(ds.sampleShape.reduce((a, b) => a * b, 1));
  let correct = 0;
  const prefixCorrect: Record<number, number> = {};
  const t0 = performance.now();
  for (let i = 0; i < ds.count; i++) {
    ds.sample(i, sample);
    const out = interpreter.run([sample]).outputs[0] as Float32Array;
    let best = 0;
    for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
    if (best === ds.labels[i]) correct++;
    for (const p of prefixes) if (i + 1 === p) prefixCorrect[p] = correct;
    if (onProgress && (i + 1) % 500 === 0) onProgress(i + 1);
  }
  const ms = performance.now() - t0;
  return { samples: ds.count, correct, accuracyPct: (100 * correct) / ds.count, prefixCorrect, msPerSample: ms / ds.count };
}
