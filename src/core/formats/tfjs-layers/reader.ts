/**
 * TensorFlow.js layers models (`model.json` + binary weight shards) → IR Model, parsed here
 * without TensorFlow.js.
 *
 * model.json variants met in the wild:
 * - `{format: 'layers-model', generatedBy, convertedBy, modelTopology, weightsManifest}`
 *   (tfjs ≥ 1.x and the converters), or the same without `format` (older writers);
 * - `modelTopology` as the Keras model object `{class_name, config, keras_version, backend}`,
 *   or wrapped: `{keras_version, backend, model_config: {class_name, config}, training_config}`
 *   (tfjs-converter 0.x from Keras .h5);
 * - Sequential configs as a list of layers or as `{name, layers}`; class names Sequential,
 *   Model (Keras 2 / old tfjs) and Functional.
 *
 * The weights manifest is a list of groups `{paths: [shards…], weights: [entries…]}`: a group's
 * shards are concatenated and its entries laid out one after the other in that byte stream.
 * Entries are float32 or int32, or quantized: `quantization: {dtype: 'uint8' | 'uint16', min,
 * scale}` (value = q · scale + min) or `{dtype: 'float16'}`; all become float32 here.
 *
 * The Keras topology is converted by the same code as Keras files (../keras/layers.ts).
 */
import { ModelFormatError } from '../../errors';
import type { Model } from '../../ir/types';
import { float16ToFloat32 } from '../keras/hdf5';
import { kerasToGraph, type KerasWeight } from '../keras/layers';
import { isObject, parseTopology, type JsonObject, type KerasLayer } from '../keras/topology';

export interface TfjsLayersSource {
  /** The model.json file name or path, used in messages. */
  name: string;
  /** The bytes of model.json. */
  bytes: Uint8Array;
  /** Reads a weight shard given by its path relative to model.json. */
  readFile(relativePath: string): Promise<Uint8Array>;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/** Parses model.json text; undefined when it is not a TF.js layers model. */
export function parseModelJson(bytes: Uint8Array): JsonObject | undefined {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09 || bytes[i] === 0xef || bytes[i] === 0xbb || bytes[i] === 0xbf)) i++;
  if (bytes[i] !== 0x7b) return undefined; // '{'
  try {
    const v: unknown = JSON.parse(new TextDecoder('utf-8').decode(bytes));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function isTfjsLayersModel(json: JsonObject): boolean {
  if (json.format !== undefined && json.format !== 'layers-model') return false;
  const topo = json.modelTopology;
  return isObject(topo) && ('class_name' in topo || isObject(topo.model_config)) && !('node' in topo);
}

export async function readTfjsLayers(source: TfjsLayersSource): Promise<Model> {
  const file = source.name;
  const json = parseModelJson(source.bytes);
  if (!json) throw new ModelFormatError(`${file} is not a JSON object, so not a TensorFlow.js model.json.`);
  if (json.format === 'graph-model' || (isObject(json.modelTopology) && 'node' in json.modelTopology)) {
    throw new ModelFormatError(`${file} is a TensorFlow.js graph model; QuantLab imports TensorFlow.js layers models (format 'layers-model').`);
  }
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new ModelFormatError(`${file} has format '${String(json.format)}'; QuantLab imports TensorFlow.js layers models (format 'layers-model').`);
  }
  if (!isObject(json.modelTopology)) throw new ModelFormatError(`${file} has no 'modelTopology' object.`);
  const topologyJson = json.modelTopology;
  const topology = parseTopology(topologyJson, file);

  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new ModelFormatError(`${file} has no 'weightsManifest' list.`);
  const weights = new Map<string, KerasWeight>();
  const order: string[] = [];
  for (let g = 0; g < manifest.length; g++) {
    for (const w of await readGroup(source, manifest[g], g)) {
      weights.set(w.name, w);
      order.push(w.name);
    }
  }

  // Entries are named '<layer>/<weight>'; converters of nested tf.keras models may prefix the
  // model's scope ('model/conv2d/kernel'), so a scoped match is the fallback.
  const weightsOf = (layer: KerasLayer): KerasWeight[] => {
    const prefix = `${layer.name}/`;
    let names = order.filter((n) => n.startsWith(prefix));
    if (names.length === 0) names = order.filter((n) => n.includes(`/${prefix}`));
    return names.map((n) => weights.get(n) as KerasWeight);
  };
  const kerasVersion = stringField(topologyJson.keras_version) ?? stringField(isObject(topologyJson.model_config) ? topologyJson.model_config.keras_version : undefined);
  const graph = kerasToGraph(topology, { fileName: file, flavor: 'tfjs', kerasVersion, weightsOf });
  const facts = [stringField(json.generatedBy) ?? kerasVersion, stringField(json.convertedBy)].filter(Boolean);
  return {
    format: 'tfjs-layers',
    subgraphs: [graph],
    producer: `TensorFlow.js layers model${facts.length ? ` (${facts.join(', ')})` : ''}`,
    description: `${topology.className} model '${topology.name}'`,
  };
}

function stringField(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function readGroup(source: TfjsLayersSource, group: unknown, g: number): Promise<KerasWeight[]> {
  const file = source.name;
  if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
    throw new ModelFormatError(`${file}: weights manifest group ${g} is not {paths: [...], weights: [...]}.`);
  }
  const paths = group.paths.map((p) => {
    if (typeof p !== 'string' || p === '') throw new ModelFormatError(`${file}: weights manifest group ${g} has a shard path ${JSON.stringify(p)}, which is not a file name.`);
    if (p.startsWith('/') || /^[a-z]+:/i.test(p) || p.split(/[\\/]/).includes('..')) {
      throw new ModelFormatError(`${file}: weights manifest group ${g} points to '${p}', outside the model's folder; QuantLab reads shards next to model.json only.`);
    }
    return p;
  });
  const entries = group.weights.map((e, i) => parseEntry(e, file, g, i));
  const shards: Uint8Array[] = [];
  for (const p of paths) {
    try {
      shards.push(await source.readFile(p));
    } catch (e) {
      throw new ModelFormatError(`${file}: the weight shard '${p}' cannot be read (${(e as Error).message}).`, { cause: e });
    }
  }
  const total = shards.reduce((a, s) => a + s.length, 0);
  const stream = new Uint8Array(total);
  let off = 0;
  for (const s of shards) {
    stream.set(s, off);
    off += s.length;
  }

  const out: KerasWeight[] = [];
  let pos = 0;
  for (const e of entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    const stored = e.quantization?.dtype ?? e.dtype;
    const bytesPer = STORED_BYTES[stored];
    const end = pos + count * bytesPer;
    if (end > stream.length) {
      throw new ModelFormatError(
        `${file}: the weight '${e.name}' needs bytes ${pos} to ${end} of group ${g} (${paths.map((p) => `'${p}'`).join(', ')}), which holds only ${stream.length} bytes; a shard is missing or truncated.`,
      );
    }
    out.push({ name: e.name, shape: e.shape, data: decode(stream.subarray(pos, end), count, e) });
    pos = end;
  }
  return out;
}

function parseEntry(e: unknown, file: string, g: number, i: number): ManifestEntry {
  const where = `${file}: entry ${i} of weights manifest group ${g}`;
  if (!isObject(e) || typeof e.name !== 'string') throw new ModelFormatError(`${where} has no name.`);
  const name = e.name;
  if (!Array.isArray(e.shape) || !e.shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new ModelFormatError(`${where} ('${name}') has shape ${JSON.stringify(e.shape)}, which is not a list of sizes.`);
  }
  const dtype = typeof e.dtype === 'string' ? e.dtype : 'float32';
  let quantization: ManifestEntry['quantization'];
  if (e.quantization !== undefined && e.quantization !== null) {
    const q = e.quantization;
    if (!isObject(q) || typeof q.dtype !== 'string') throw new ModelFormatError(`${where} ('${name}') has a quantization without a dtype.`);
    if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      if (typeof q.scale !== 'number' || typeof q.min !== 'number' || !Number.isFinite(q.scale) || !Number.isFinite(q.min)) {
        throw new ModelFormatError(`${where} ('${name}') is quantized to ${q.dtype} but its scale ${JSON.stringify(q.scale)} or min ${JSON.stringify(q.min)} is not a number.`);
      }
      quantization = { dtype: q.dtype, min: q.min, scale: q.scale };
    } else if (q.dtype === 'float16') {
      quantization = { dtype: 'float16' };
    } else {
      throw new ModelFormatError(`${where} ('${name}') is quantized to '${q.dtype}'; QuantLab reads uint8, uint16 and float16 weight quantization.`);
    }
  } else if (dtype !== 'float32' && dtype !== 'int32') {
    throw new ModelFormatError(`${where} ('${name}') has dtype '${dtype}'; QuantLab reads float32 and int32 weights (and quantized ones).`);
  }
  return { name, shape: e.shape as number[], dtype, quantization };
}

function decode(bytes: Uint8Array, count: number, e: ManifestEntry): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const q = e.quantization;
  if (q?.dtype === 'uint8') {
    for (let i = 0; i < count; i++) out[i] = bytes[i] * (q.scale as number) + (q.min as number);
  } else if (q?.dtype === 'uint16') {
    for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true) * (q.scale as number) + (q.min as number);
  } else if (q?.dtype === 'float16') {
    for (let i = 0; i < count; i++) out[i] = float16ToFloat32(view.getUint16(2 * i, true));
  } else if (e.dtype === 'int32') {
    for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
  } else {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}
