/**
 * Normalizes the Keras model configurations found in the wild into one shape:
 *
 * - Keras 2 / tf.keras (`model_config` of an `.h5`, TensorFlow.js `modelTopology`):
 *   Sequential with `config: [layers…]` (Keras ≤ 2.1) or `config: {name, layers}`;
 *   Functional / Model with `inbound_nodes: [[[layer, node, tensor, kwargs], …], …]`.
 * - Keras 3 (`config.json` of a `.keras`, or a Keras 3 `.h5`): `inbound_nodes:
 *   [{args: […], kwargs: {}}]` whose arguments hold `__keras_tensor__` objects with a
 *   `keras_history: [layer, node, tensor]`; InputLayer `batch_shape`; dtype policies as objects.
 *
 * A Sequential model becomes a Functional one (a chain), with an implicit input layer when
 * the first layer only carries `batch_input_shape`, as Keras itself does.
 */
import { ModelFormatError } from '../../errors';

export interface KerasTensorRef {
  layer: string;
  /** Which call of the layer (shared layers are called several times). */
  node: number;
  /** Which output of that call. */
  index: number;
}

export type JsonObject = { [key: string]: unknown };

export interface KerasLayer {
  className: string;
  name: string;
  config: JsonObject;
  /** One entry per call of the layer; each lists the tensors passed in that call. */
  inboundNodes: KerasTensorRef[][];
}

export interface KerasTopology {
  /** 'Sequential' or 'Functional' (Keras 2 'Model' is reported as 'Functional'). */
  className: 'Sequential' | 'Functional';
  name: string;
  layers: KerasLayer[];
  inputs: KerasTensorRef[];
  outputs: KerasTensorRef[];
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses JSON text (the `model_config` attribute, `config.json`, …) into an object. */
export function parseJsonObject(text: string, fileName: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${fileName}: ${what} is not valid JSON (${(e as Error).message}).`, { cause: e });
  }
  if (!isObject(value)) throw new ModelFormatError(`${fileName}: ${what} is not a JSON object.`);
  return value;
}

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** The input shape a layer config declares, batch included (null for unknown dimensions). */
export function declaredBatchShape(config: JsonObject): (number | null)[] | undefined {
  for (const key of ['batch_input_shape', 'batch_shape', 'batchInputShape']) {
    const v = config[key];
    if (Array.isArray(v)) return v.map((d) => (typeof d === 'number' ? d : null));
  }
  for (const key of ['input_shape', 'inputShape']) {
    const v = config[key];
    if (Array.isArray(v)) return [null, ...v.map((d) => (typeof d === 'number' ? d : null))];
  }
  return undefined;
}

/**
 * `root` is the whole model object: `{class_name, config}` (Keras) — a TF.js `modelTopology`
 * may wrap it as `{model_config: {class_name, config}, keras_version, backend}`.
 */
export function parseTopology(root: JsonObject, fileName: string): KerasTopology {
  let model: JsonObject = root;
  if (!('class_name' in model) && isObject(model.model_config)) model = model.model_config;
  const className = model.class_name;
  if (typeof className !== 'string') {
    throw new ModelFormatError(`${fileName}: the model configuration has no 'class_name'; it does not look like a Keras model.`);
  }
  if (!MODEL_CLASSES.has(className)) {
    throw new ModelFormatError(
      `${fileName}: the model is a '${className}', which QuantLab cannot import (it imports Sequential and Functional models; subclassed models keep no architecture in the file).`,
    );
  }
  const config = model.config;
  if (className === 'Sequential') return parseSequential(config, fileName);
  if (!isObject(config)) throw new ModelFormatError(`${fileName}: the ${className} model has no 'config' object.`);
  return parseFunctional(config, fileName);
}

function layerOf(entry: unknown, i: number, fileName: string): { className: string; name: string; config: JsonObject; raw: JsonObject } {
  if (!isObject(entry)) throw new ModelFormatError(`${fileName}: layer entry ${i} of the model configuration is not an object.`);
  const className = entry.class_name;
  const config = isObject(entry.config) ? entry.config : {};
  const name = typeof entry.name === 'string' ? entry.name : typeof config.name === 'string' ? config.name : undefined;
  if (typeof className !== 'string') throw new ModelFormatError(`${fileName}: layer entry ${i} of the model configuration has no 'class_name'.`);
  if (!name) throw new ModelFormatError(`${fileName}: layer entry ${i} ('${className}') has no name.`);
  return { className, name, config, raw: entry };
}

function parseSequential(config: unknown, fileName: string): KerasTopology {
  let list: unknown;
  let name = 'sequential';
  let buildShape: unknown;
  if (Array.isArray(config)) {
    list = config;
  } else if (isObject(config)) {
    list = config.layers;
    if (typeof config.name === 'string') name = config.name;
    buildShape = config.build_input_shape;
  }
  if (!Array.isArray(list)) throw new ModelFormatError(`${fileName}: the Sequential model has no list of layers.`);
  if (list.length === 0) throw new ModelFormatError(`${fileName}: the Sequential model has no layers.`);

  const layers: KerasLayer[] = [];
  const parsed = list.map((e, i) => layerOf(e, i, fileName));
  let start = 0;
  let input: KerasLayer;
  if (parsed[0].className === 'InputLayer') {
    input = { className: 'InputLayer', name: parsed[0].name, config: parsed[0].config, inboundNodes: [] };
    start = 1;
  } else {
    const shape = declaredBatchShape(parsed[0].config) ?? (Array.isArray(buildShape) ? buildShape.map((d) => (typeof d === 'number' ? d : null)) : undefined);
    if (!shape) {
      throw new ModelFormatError(
        `${fileName}: the Sequential model does not say its input shape (no InputLayer and no 'batch_input_shape' on layer '${parsed[0].name}').`,
      );
    }
    const dtype = typeof parsed[0].config.dtype === 'string' ? parsed[0].config.dtype : 'float32';
    input = { className: 'InputLayer', name: `${parsed[0].name}_input`, config: { batch_input_shape: shape, dtype }, inboundNodes: [] };
  }
  layers.push(input);
  let prev: KerasTensorRef = { layer: input.name, node: 0, index: 0 };
  for (let i = start; i < parsed.length; i++) {
    const p = parsed[i];
    if (p.className === 'InputLayer') throw new ModelFormatError(`${fileName}: the Sequential model has a second InputLayer ('${p.name}').`);
    layers.push({ className: p.className, name: p.name, config: p.config, inboundNodes: [[prev]] });
    prev = { layer: p.name, node: 0, index: 0 };
  }
  return { className: 'Sequential', name, layers, inputs: [{ layer: input.name, node: 0, index: 0 }], outputs: [prev] };
}

function parseFunctional(config: JsonObject, fileName: string): KerasTopology {
  const list = config.layers;
  if (!Array.isArray(list)) throw new ModelFormatError(`${fileName}: the Functional model has no list of layers.`);
  const layers: KerasLayer[] = list.map((entry, i) => {
    const p = layerOf(entry, i, fileName);
    const inbound = p.raw.inbound_nodes;
    const inboundNodes: KerasTensorRef[][] = [];
    if (Array.isArray(inbound)) {
      for (const node of inbound) inboundNodes.push(parseInboundNode(node, p.name, fileName));
    }
    return { className: p.className, name: p.name, config: p.config, inboundNodes };
  });
  const ends = (key: string): KerasTensorRef[] => {
    const v = config[key];
    if (!Array.isArray(v)) throw new ModelFormatError(`${fileName}: the Functional model has no '${key}'.`);
    // Keras 3 writes a single endpoint as a flat [name, node, index].
    const list = typeof v[0] === 'string' ? [v] : v;
    return list.map((e) => {
      const ref = parseRefTriple(e);
      if (!ref) throw new ModelFormatError(`${fileName}: an entry of '${key}' is not [layer, node, tensor]: ${JSON.stringify(e)}.`);
      return ref;
    });
  };
  return {
    className: 'Functional',
    name: typeof config.name === 'string' ? config.name : 'model',
    layers,
    inputs: ends('input_layers'),
    outputs: ends('output_layers'),
  };
}

function parseRefTriple(v: unknown): KerasTensorRef | undefined {
  if (!Array.isArray(v) || typeof v[0] !== 'string') return undefined;
  const node = typeof v[1] === 'number' ? v[1] : 0;
  const index = typeof v[2] === 'number' ? v[2] : 0;
  return { layer: v[0], node, index };
}

function parseInboundNode(node: unknown, layerName: string, fileName: string): KerasTensorRef[] {
  // Keras 2 / TF.js: a list of [layer, node, tensor, kwargs].
  if (Array.isArray(node)) {
    return node.map((e) => {
      const ref = parseRefTriple(e);
      if (!ref) throw new ModelFormatError(`${fileName}: layer '${layerName}' has an inbound node entry that is not [layer, node, tensor]: ${JSON.stringify(e)}.`);
      return ref;
    });
  }
  // Keras 3: {args: [...], kwargs: {...}} holding __keras_tensor__ objects, possibly in lists.
  if (isObject(node)) {
    const refs: KerasTensorRef[] = [];
    collectKerasTensors(node.args, refs);
    return refs;
  }
  throw new ModelFormatError(`${fileName}: layer '${layerName}' has an inbound node that is neither a list nor an object.`);
}

function collectKerasTensors(v: unknown, out: KerasTensorRef[]): void {
  if (Array.isArray(v)) {
    for (const e of v) collectKerasTensors(e, out);
  } else if (isObject(v) && v.class_name === '__keras_tensor__' && isObject(v.config)) {
    const ref = parseRefTriple(v.config.keras_history);
    if (ref) out.push(ref);
  }
}
