/**
 * Keras model files → IR Model.
 *
 * - Keras 2 `.h5` (standalone Keras 2.x, tf.keras 2.x): the root attribute `model_config`
 *   holds the architecture; weights live in `model_weights/<layer>/<weight name>`, listed per
 *   layer by the `weight_names` attribute (fixed-length byte strings in Keras 2.2.4).
 * - Keras 3 `.h5` (legacy writer): same layout, Keras 3 configuration syntax.
 * - Keras 3 `.keras`: a zip with `config.json`, `metadata.json` and `model.weights.h5`, whose
 *   weights sit at generic paths (`layers/conv2d_1/vars/0`) named after the layer class and
 *   its rank among layers of that class, in model order: they are matched by that order
 *   (and checked against the `name` attribute recent Keras versions add to each `vars`).
 *
 * Optimizer state in any of these files is ignored.
 */
import { ArchiveError, ModelFormatError } from '../../errors';
import type { Model } from '../../ir/types';
import { type Hdf5File, withHdf5 } from './hdf5';
import { kerasToGraph, type KerasFlavor, type KerasWeight } from './layers';
import { parseJsonObject, parseTopology, type KerasLayer, type KerasTopology } from './topology';
import { ZipArchive } from '../../zip/reader';

/** Reads a Keras `.h5` (Keras 2 or 3). */
export async function readKerasH5(bytes: Uint8Array, fileName: string): Promise<Model> {
  return withHdf5(bytes, fileName, (h5) => {
    const configText = h5.stringAttr('', 'model_config');
    if (!configText) {
      if (h5.hasAttr('', 'layer_names')) {
        throw new ModelFormatError(
          `${fileName} holds only weights (it was written by save_weights), not the architecture; save the model with model.save() to import it.`,
        );
      }
      if (h5.group('layers') || h5.group('vars')) {
        throw new ModelFormatError(`${fileName} is a Keras 3 weights file (.weights.h5) without the architecture; import the .keras file instead.`);
      }
      throw new ModelFormatError(`${fileName} is an HDF5 file but not a Keras model: it has no 'model_config' attribute.`);
    }
    const topology = parseTopology(parseJsonObject(configText, fileName, "the 'model_config' attribute"), fileName);
    const weightsRoot = h5.group('model_weights') ? 'model_weights' : '';
    const kerasVersion = h5.stringAttr('', 'keras_version') ?? h5.stringAttr(weightsRoot, 'keras_version');
    const backend = h5.stringAttr('', 'backend') ?? h5.stringAttr(weightsRoot, 'backend');

    const weightsOf = (layer: KerasLayer): KerasWeight[] => {
      const group = weightsRoot ? `${weightsRoot}/${layer.name}` : layer.name;
      const names = h5.group(group) ? h5.stringsAttr(group, 'weight_names') : undefined;
      if (names === undefined) {
        throw new ModelFormatError(`${fileName}: the weights of layer '${layer.name}' (${layer.className}) are missing (no group '${group}' with 'weight_names').`);
      }
      return names.map((n) => {
        const w = h5.floatDataset(`${group}/${n}`);
        return { name: n, shape: w.shape, data: w.data };
      });
    };
    return toModel(topology, fileName, flavorOf(kerasVersion), weightsOf, kerasVersion, backend);
  });
}

/** An unreadable archive is an unreadable model here. */
function asModelFormat<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ArchiveError) throw new ModelFormatError(e.message, { cause: e });
    throw e;
  }
}

/** Reads a Keras 3 `.keras` archive. */
export async function readKerasArchive(bytes: Uint8Array, fileName: string): Promise<Model> {
  const zip = asModelFormat(() => ZipArchive.open(bytes, fileName));
  if (!zip.has('config.json')) {
    throw new ModelFormatError(`${fileName} is a zip archive but not a Keras model: it has no 'config.json'.`);
  }
  const decoder = new TextDecoder('utf-8');
  const config = parseJsonObject(decoder.decode(asModelFormat(() => zip.read('config.json'))), fileName, "'config.json'");
  let kerasVersion: string | undefined;
  if (zip.has('metadata.json')) {
    const meta = parseJsonObject(decoder.decode(asModelFormat(() => zip.read('metadata.json'))), fileName, "'metadata.json'");
    if (typeof meta.keras_version === 'string') kerasVersion = meta.keras_version;
  }
  const topology = parseTopology(config, fileName);
  if (!zip.has('model.weights.h5')) {
    const other = zip.has('model.weights.npz') ? " (it stores them as 'model.weights.npz', which QuantLab does not read)" : '';
    throw new ModelFormatError(`${fileName} has no 'model.weights.h5'${other}.`);
  }
  const weightsName = `${fileName}/model.weights.h5`;
  return withHdf5(asModelFormat(() => zip.read('model.weights.h5')), weightsName, (h5) => {
    const paths = genericWeightPaths(h5, topology);
    const weightsOf = (layer: KerasLayer): KerasWeight[] => {
      const group = paths.get(layer.name);
      if (!group) throw new ModelFormatError(`${weightsName}: the weights of layer '${layer.name}' (${layer.className}) are missing.`);
      const vars = `${group}/vars`;
      const keys = h5.keys(vars).filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
      return keys.map((k) => {
        const w = h5.floatDataset(`${vars}/${k}`);
        return { name: k, shape: w.shape, data: w.data };
      });
    };
    const flavor = kerasVersion && !/^3\./.test(kerasVersion) ? flavorOf(kerasVersion) : 'keras3';
    return toModel(topology, fileName, flavor, weightsOf, kerasVersion, undefined);
  });
}

function toModel(
  topology: KerasTopology,
  fileName: string,
  flavor: KerasFlavor,
  weightsOf: (layer: KerasLayer) => KerasWeight[],
  kerasVersion: string | undefined,
  backend: string | undefined,
): Model {
  const graph = kerasToGraph(topology, { fileName, flavor, kerasVersion, weightsOf });
  const producer = `Keras ${kerasVersion ?? '(version unknown)'}${backend ? ` (${backend} backend)` : ''}`;
  return { format: 'keras', subgraphs: [graph], producer, description: `${topology.className} model '${topology.name}'` };
}

function flavorOf(version: string | undefined): KerasFlavor {
  const major = Number(/^(\d+)/.exec(version ?? '')?.[1] ?? '2');
  return major >= 3 ? 'keras3' : 'keras2';
}

/** Keras 3's `naming.to_snake_case`, which names the weight groups. */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Layer name → weight group (`layers/conv2d_1`). Keras 3 names each layer's group after its
 * class (snake case) plus a counter per class, in model order; layers that recorded their own
 * name (`vars` attribute `name`) are matched by it when the order disagrees.
 */
function genericWeightPaths(h5: Hdf5File, topology: KerasTopology): Map<string, string> {
  const container = ['layers', '_layer_checkpoint_dependencies'].find((c) => h5.group(c));
  const out = new Map<string, string>();
  // Without a container no layer has weights; a layer that needs some says so when asked.
  if (!container) return out;
  const byRecordedName = new Map<string, string>();
  for (const key of h5.keys(container)) {
    const recorded = h5.stringAttr(`${container}/${key}/vars`, 'name');
    if (recorded) byRecordedName.set(recorded, `${container}/${key}`);
  }
  const counters = new Map<string, number>();
  for (const layer of topology.layers) {
    const snake = kerasSnakeCase(layer.className);
    const n = counters.get(snake) ?? 0;
    counters.set(snake, n + 1);
    let path = `${container}/${n === 0 ? snake : `${snake}_${n}`}`;
    const recordedHere = h5.group(path) ? h5.stringAttr(`${path}/vars`, 'name') : undefined;
    if (recordedHere !== undefined && recordedHere !== layer.name && byRecordedName.has(layer.name)) {
      path = byRecordedName.get(layer.name) as string;
    }
    if (h5.group(path)) out.set(layer.name, path);
  }
  return out;
}
