/**
 * Keras layers → IR graph. Shared by the Keras reader (`.h5`, `.keras`) and the TensorFlow.js
 * layers-model reader: both hand over a normalized topology (topology.ts) and a function that
 * returns a layer's weights; this module owns every layer mapping and every layout change.
 *
 * Layout and mapping decisions:
 * - Everything is NHWC with the batch dimension -1. Conv2D kernels go from Keras HWIO to
 *   OHWI, Dense kernels from [in, out] to [out, in], DepthwiseConv2D kernels from
 *   [H, W, C, M] to [1, H, W, C·M] (the same bytes: channel c·M + m), SeparableConv2D becomes
 *   DEPTHWISE_CONV_2D (zero bias) + 1×1 CONV_2D.
 * - Every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED gets a bias tensor (zeros when the
 *   layer has `use_bias: false`), as the TFLite converter does.
 * - BatchNormalization (inference form) is emitted as a per-channel MUL then ADD after the
 *   producing layer: y = x · s + t with s = γ / √(σ² + ε), t = β − μ · s (computed in float64).
 *   It is NOT folded into the convolution here, so the imported graph stays one op per Keras
 *   layer; folding is a quantization-time transform (quant/).
 * - ReLU and ReLU6 (inside a layer's `activation`, or as their own Activation/ReLU layer) are
 *   fused into the producing CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, SUB or MUL
 *   when that op has no fused activation yet and nothing else reads its output; otherwise they
 *   are RELU / RELU6 ops. Other activations are separate ops: sigmoid → LOGISTIC, tanh → TANH,
 *   softmax → SOFTMAX (β = 1, last axis), hard_swish → HARD_SWISH, swish → LOGISTIC + MUL,
 *   leaky_relu → LEAKY_RELU, hard_sigmoid → [MUL] + ADD(3, fused RELU6) + MUL(1/6)
 *   (Keras 3: relu6(x + 3) / 6; Keras 2 and TF.js: clip(0.2·x + 0.5, 0, 1) = relu6(1.2·x + 3) / 6).
 * - Flatten (channels_last) is a RESHAPE to [-1, H·W·C]: NHWC memory order is exactly the
 *   H, W, C order Keras flattens in. Reshape likewise; both carry the shape as an int32
 *   constant input and in the options.
 * - Dropout and the other training-only noise layers are dropped (their output is their input).
 * - ZeroPadding2D → PAD, GlobalAveragePooling2D → MEAN over axes 1, 2, UpSampling2D → RESIZE_
 *   NEAREST_NEIGHBOR (or RESIZE_BILINEAR, with the half-pixel convention of the writer).
 */
import { ModelFormatError } from '../../errors';
import type { BuiltinOp, BuiltinOpType, FusedActivation, Graph, Op, OpOptionsMap, Padding, Tensor } from '../../ir/types';
import { declaredBatchShape, isObject, type JsonObject, type KerasLayer, type KerasTensorRef, type KerasTopology } from './topology';

/** Who wrote the configuration: decides the few places where the semantics differ. */
export type KerasFlavor = 'keras2' | 'keras3' | 'tfjs';

export interface KerasWeight {
  /** The name the file gives the weight ('conv2d/kernel:0', 'dense/bias', or just '0'). */
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface KerasConvertOptions {
  /** Used in every error message. */
  fileName: string;
  flavor: KerasFlavor;
  /** The Keras version that wrote the file, if known ('2.2.4', '3.8.0', 'tfjs-layers 4.22.0'). */
  kerasVersion?: string;
  /** The weights of a layer in Keras order (`layer.weights`); asked once per layer that has weights. */
  weightsOf: (layer: KerasLayer) => KerasWeight[];
}

/** The layer classes this module maps, for error messages and documentation. */
export const SUPPORTED_LAYER_CLASSES = [
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Dense',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'Softmax',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Add',
  'Subtract',
  'Multiply',
  'Average',
  'Concatenate',
  'ZeroPadding2D',
  'UpSampling2D',
  'Dropout',
] as const;

const SUPPORTED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'hard_sigmoid', 'hard_swish', 'swish', 'leaky_relu'];

/** Layers whose output is their input at inference time. */
const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization']);

/** Class-name spellings Keras accepts for the same layer. */
const ALIASES: Record<string, string> = {
  Convolution2D: 'Conv2D',
  SeparableConvolution2D: 'SeparableConv2D',
  MaxPool2D: 'MaxPooling2D',
  AvgPool2D: 'AveragePooling2D',
  GlobalAvgPool2D: 'GlobalAveragePooling2D',
  BatchNormalizationV1: 'BatchNormalization',
  BatchNormalizationV2: 'BatchNormalization',
};

type ActivationKind = 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'tanh' | 'softmax' | 'hard_sigmoid' | 'hard_swish' | 'swish' | 'leaky_relu';

const FUSABLE_PRODUCERS = new Set<BuiltinOpType>(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'SUB', 'MUL']);

/** Converts a Keras topology with its weights into one IR graph (NHWC, batch -1). */
export function kerasToGraph(topology: KerasTopology, options: KerasConvertOptions): Graph {
  return new Converter(topology, options).run();
}

function refKey(r: KerasTensorRef): string {
  return `${r.layer}\u0000${r.node}\u0000${r.index}`;
}

class Converter {
  private readonly tensors: Tensor[] = [];
  private readonly ops: Op[] = [];
  private readonly names = new Set<string>();
  private readonly values = new Map<string, number>();
  private readonly weightCache = new Map<string, Map<string, number>>();
  private readonly layers = new Map<string, KerasLayer>();
  private readonly file: string;

  constructor(
    private readonly topology: KerasTopology,
    private readonly options: KerasConvertOptions,
  ) {
    this.file = options.fileName;
    for (const layer of topology.layers) {
      if (this.layers.has(layer.name)) throw this.error(`two layers are named '${layer.name}'`);
      this.layers.set(layer.name, layer);
    }
  }

  private error(sentence: string): ModelFormatError {
    return new ModelFormatError(`${this.file}: ${sentence}.`);
  }

  layerError(layer: KerasLayer, sentence: string): ModelFormatError {
    return this.error(`layer '${layer.name}' (${layer.className}) ${sentence}`);
  }

  run(): Graph {
    const inputs = this.topology.inputs.map((ref) => this.addInput(ref));

    // Convert the calls (layer, node) that the outputs depend on, in dependency order.
    const needed = this.reachableCalls();
    const pending = [...needed.values()];
    while (pending.length > 0) {
      const before = pending.length;
      for (let i = 0; i < pending.length; ) {
        const call = pending[i];
        const ins = call.layer.inboundNodes[call.node];
        if (ins.every((r) => this.values.has(refKey(r)))) {
          this.convertCall(call.layer, call.node, ins.map((r) => this.values.get(refKey(r)) as number));
          pending.splice(i, 1);
        } else {
          i++;
        }
      }
      if (pending.length === before) {
        const call = pending[0];
        const missing = call.layer.inboundNodes[call.node].find((r) => !this.values.has(refKey(r)));
        throw this.layerError(call.layer, `waits for the output of '${missing?.layer}', which is never computed (the model's connections are inconsistent)`);
      }
    }

    const outputs = this.topology.outputs.map((ref) => {
      const t = this.values.get(refKey(ref));
      if (t === undefined) throw this.error(`the model output '${ref.layer}' is never computed`);
      return t;
    });
    const graph: Graph = { name: this.topology.name, tensors: this.tensors, ops: this.ops, inputs, outputs };
    fuseActivations(graph);
    return compact(graph);
  }

  private reachableCalls(): Map<string, { layer: KerasLayer; node: number }> {
    const calls = new Map<string, { layer: KerasLayer; node: number }>();
    const inputKeys = new Set(this.topology.inputs.map(refKey));
    const stack = [...this.topology.outputs];
    while (stack.length > 0) {
      const ref = stack.pop() as KerasTensorRef;
      if (inputKeys.has(refKey(ref))) continue;
      const layer = this.layers.get(ref.layer);
      if (!layer) throw this.error(`a connection refers to a layer '${ref.layer}' that the model does not have`);
      const key = `${layer.name}\u0000${ref.node}`;
      if (calls.has(key)) continue;
      if (layer.className === 'InputLayer') throw this.error(`the InputLayer '${layer.name}' is used but is not one of the model's inputs`);
      if (ref.node >= layer.inboundNodes.length) {
        throw this.layerError(layer, `is referenced as call ${ref.node}, but the file records ${layer.inboundNodes.length} call(s)`);
      }
      calls.set(key, { layer, node: ref.node });
      stack.push(...layer.inboundNodes[ref.node]);
    }
    return calls;
  }

  // ---------------------------------------------------------------- tensors and ops

  private uniqueName(name: string): string {
    let n = name;
    for (let i = 1; this.names.has(n); i++) n = `${name}_${i}`;
    this.names.add(n);
    return n;
  }

  private addTensor(t: Tensor): number {
    this.tensors.push({ ...t, name: this.uniqueName(t.name) });
    return this.tensors.length - 1;
  }

  private activation(name: string, shape: number[]): number {
    return this.addTensor({ name, dtype: 'float32', shape });
  }

  private constFloat(name: string, shape: number[], data: Float32Array): number {
    return this.addTensor({ name, dtype: 'float32', shape, data });
  }

  private constInt(name: string, shape: number[], values: number[]): number {
    return this.addTensor({ name, dtype: 'int32', shape, data: Int32Array.from(values) });
  }

  private op<K extends BuiltinOpType>(type: K, inputs: number[], outputs: number[], options: OpOptionsMap[K], name: string): void {
    this.ops.push({ type, inputs, outputs, options, name } as unknown as BuiltinOp);
  }

  private shape(t: number): number[] {
    return this.tensors[t].shape;
  }

  private addInput(ref: KerasTensorRef): number {
    const layer = this.layers.get(ref.layer);
    if (!layer) throw this.error(`the model input '${ref.layer}' is not one of its layers`);
    if (layer.className !== 'InputLayer') throw this.layerError(layer, 'is listed as a model input but is not an InputLayer');
    const batchShape = declaredBatchShape(layer.config);
    if (!batchShape) throw this.layerError(layer, 'does not declare its shape (no batch_input_shape / batch_shape)');
    const dtype = dtypeName(layer.config.dtype);
    if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'float64') {
      throw this.layerError(layer, `takes '${dtype}' input; QuantLab imports models with float input`);
    }
    const shape = batchShape.map((d, i) => (i === 0 || d === null ? -1 : d));
    const t = this.activation(layer.name, shape);
    this.values.set(refKey(ref), t);
    return t;
  }

  // ---------------------------------------------------------------- weights

  /** Looks a layer's weights up by role (by their names when the file has meaningful names, else by order). */
  private weights(layer: KerasLayer, roles: string[]): Record<string, KerasWeight> {
    const list = this.options.weightsOf(layer);
    const byName = new Map<string, KerasWeight>();
    for (const w of list) {
      const role = w.name.split('/').pop()?.replace(/:\d+$/, '') ?? '';
      if (roles.includes(role)) byName.set(role, w);
    }
    const out: Record<string, KerasWeight> = {};
    if (byName.size === roles.length && list.length === roles.length) {
      for (const r of roles) out[r] = byName.get(r) as KerasWeight;
    } else if (list.length === roles.length) {
      roles.forEach((r, i) => (out[r] = list[i]));
    } else {
      const found = list.length === 0 ? 'no weights' : `${list.length} weight(s) (${list.map((w) => `'${w.name}'`).join(', ')})`;
      throw this.layerError(layer, `has ${found}; QuantLab expected ${roles.length} (${roles.join(', ')})`);
    }
    return out;
  }

  private expectShape(layer: KerasLayer, role: string, w: KerasWeight, shape: number[]): void {
    const same = w.shape.length === shape.length && w.shape.every((d, i) => d === shape[i]);
    const count = shape.reduce((a, b) => a * b, 1);
    if (!same || w.data.length !== count) {
      throw this.layerError(layer, `has a ${role} of shape [${w.shape.join(', ')}], but its configuration and input need [${shape.join(', ')}]`);
    }
  }

  /** Creates (once per layer, shared layers reuse them) the constant tensors of a layer. */
  private cachedConsts(layer: KerasLayer, make: () => Record<string, number>): Record<string, number> {
    let cache = this.weightCache.get(layer.name);
    if (!cache) {
      cache = new Map(Object.entries(make()));
      this.weightCache.set(layer.name, cache);
    }
    return Object.fromEntries(cache);
  }

  // ---------------------------------------------------------------- layers

  private convertCall(layer: KerasLayer, node: number, inputs: number[]): void {
    const className = ALIASES[layer.className] ?? layer.className;
    const name = node === 0 ? layer.name : `${layer.name}/call_${node}`;
    const outputs = this.convertLayer(className, layer, name, inputs);
    outputs.forEach((t, index) => this.values.set(refKey({ layer: layer.name, node, index }), t));
  }

  private convertLayer(className: string, layer: KerasLayer, name: string, inputs: number[]): number[] {
    const cfg = layer.config;
    const one = (): number => {
      if (inputs.length !== 1) throw this.layerError(layer, `is called with ${inputs.length} inputs; it takes one`);
      return inputs[0];
    };
    if (IDENTITY_LAYERS.has(className)) return [one()];
    if (cfg.data_format === 'channels_first') {
      throw this.layerError(layer, "uses data_format 'channels_first'; QuantLab imports channels_last (NHWC) models");
    }
    switch (className) {
      case 'InputLayer':
        throw this.layerError(layer, 'is called on a tensor; an InputLayer can only start a model');
      case 'Conv2D':
        return [this.conv2d(layer, name, one())];
      case 'DepthwiseConv2D':
        return [this.depthwise(layer, name, one())];
      case 'SeparableConv2D':
        return [this.separable(layer, name, one())];
      case 'Dense':
        return [this.dense(layer, name, one())];
      case 'BatchNormalization':
        return [this.batchNorm(layer, name, one())];
      case 'Activation':
        return [this.emitActivation(this.activationKind(layer, cfg.activation), one(), name, layer)];
      case 'ReLU':
        return [this.reluLayer(layer, name, one())];
      case 'LeakyReLU': {
        const alpha = num(cfg.alpha ?? cfg.negative_slope ?? 0.3, 'alpha', layer, this);
        const out = this.activation(name, this.shape(one()));
        this.op('LEAKY_RELU', [one()], [out], { alpha }, name);
        return [out];
      }
      case 'Softmax': {
        const axis = Array.isArray(cfg.axis) && cfg.axis.length === 1 ? cfg.axis[0] : (cfg.axis ?? -1);
        const rank = this.shape(one()).length;
        if (axis !== -1 && axis !== rank - 1) throw this.layerError(layer, `applies softmax over axis ${JSON.stringify(cfg.axis)}; QuantLab imports softmax over the last axis`);
        return [this.emitActivation('softmax', one(), name, layer)];
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        return [this.pool(className === 'MaxPooling2D' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', layer, name, one())];
      case 'GlobalAveragePooling2D':
        return [this.globalAverage(layer, name, one())];
      case 'Flatten':
        return [this.flatten(layer, name, one())];
      case 'Reshape':
        return [this.reshape(layer, name, one())];
      case 'Add':
      case 'Subtract':
      case 'Multiply':
      case 'Average':
        return [this.merge(className, layer, name, inputs)];
      case 'Concatenate':
        return [this.concatenate(layer, name, inputs)];
      case 'ZeroPadding2D':
        return [this.zeroPadding(layer, name, one())];
      case 'UpSampling2D':
        return [this.upSampling(layer, name, one())];
      default: {
        const nested = ['Sequential', 'Functional', 'Model'].includes(className) ? ' (a model nested as a layer)' : '';
        throw new ModelFormatError(
          `${this.file}: layer '${layer.name}' is ${layer.className}${nested}, which QuantLab cannot import (supported: ${SUPPORTED_LAYER_CLASSES.join(', ')}).`,
        );
      }
    }
  }

  private requireRank(layer: KerasLayer, input: number, rank: number): number[] {
    const shape = this.shape(input);
    if (shape.length !== rank) {
      throw this.layerError(layer, `receives a tensor of shape ${fmtShape(shape)}; it needs rank ${rank} (batch, height, width, channels)`);
    }
    return shape;
  }

  private conv2d(layer: KerasLayer, name: string, input: number): number {
    const cfg = layer.config;
    const [n, h, w, cin] = this.requireRank(layer, input, 4);
    const [kh, kw] = pair(cfg.kernel_size, 'kernel_size', layer, this);
    const [sh, sw] = pair(cfg.strides ?? 1, 'strides', layer, this);
    const [dh, dw] = pair(cfg.dilation_rate ?? 1, 'dilation_rate', layer, this);
    const padding = this.padding(layer, cfg.padding);
    const filters = int(cfg.filters, 'filters', layer, this);
    const groups = cfg.groups ?? 1;
    if (groups !== 1) throw this.layerError(layer, `is a grouped convolution (groups = ${JSON.stringify(groups)}); QuantLab imports groups = 1`);
    const useBias = cfg.use_bias !== false;
    const c = this.cachedConsts(layer, () => {
      const ws = this.weights(layer, useBias ? ['kernel', 'bias'] : ['kernel']);
      this.expectShape(layer, 'kernel', ws.kernel, [kh, kw, cin, filters]);
      if (useBias) this.expectShape(layer, 'bias', ws.bias, [filters]);
      return {
        kernel: this.constFloat(`${layer.name}/kernel`, [filters, kh, kw, cin], hwioToOhwi(ws.kernel.data, kh, kw, cin, filters)),
        bias: this.constFloat(`${layer.name}/bias`, [filters], useBias ? ws.bias.data.slice() : new Float32Array(filters)),
      };
    });
    const kind = this.activationKind(layer, cfg.activation);
    const outShape = [n, convOut(h, kh, sh, dh, padding), convOut(w, kw, sw, dw, padding), filters];
    const pre = this.activation(kind === 'linear' ? name : `${name}/pre_activation`, outShape);
    this.op('CONV_2D', [input, c.kernel, c.bias], [pre], { padding, strideH: sh, strideW: sw, dilationHFactor: dh, dilationWFactor: dw, fusedActivationFunction: 'NONE' }, name);
    return this.emitActivation(kind, pre, name, layer);
  }

  private depthwise(layer: KerasLayer, name: string, input: number): number {
    const cfg = layer.config;
    const [n, h, w, cin] = this.requireRank(layer, input, 4);
    const [kh, kw] = pair(cfg.kernel_size, 'kernel_size', layer, this);
    const [sh, sw] = pair(cfg.strides ?? 1, 'strides', layer, this);
    const [dh, dw] = pair(cfg.dilation_rate ?? 1, 'dilation_rate', layer, this);
    const padding = this.padding(layer, cfg.padding);
    const useBias = cfg.use_bias !== false;
    const c = this.cachedConsts(layer, () => {
      const ws = this.weights(layer, useBias ? ['depthwise_kernel', 'bias'] : ['depthwise_kernel']);
      const m = this.depthMultiplier(layer, ws.depthwise_kernel);
      this.expectShape(layer, 'depthwise kernel', ws.depthwise_kernel, [kh, kw, cin, m]);
      if (useBias) this.expectShape(layer, 'bias', ws.bias, [cin * m]);
      return {
        kernel: this.constFloat(`${layer.name}/depthwise_kernel`, [1, kh, kw, cin * m], ws.depthwise_kernel.data.slice()),
        bias: this.constFloat(`${layer.name}/bias`, [cin * m], useBias ? ws.bias.data.slice() : new Float32Array(cin * m)),
      };
    });
    const m = this.shape(c.kernel)[3] / cin;
    const kind = this.activationKind(layer, cfg.activation);
    const outShape = [n, convOut(h, kh, sh, dh, padding), convOut(w, kw, sw, dw, padding), cin * m];
    const pre = this.activation(kind === 'linear' ? name : `${name}/pre_activation`, outShape);
    this.op(
      'DEPTHWISE_CONV_2D',
      [input, c.kernel, c.bias],
      [pre],
      { padding, strideH: sh, strideW: sw, depthMultiplier: m, dilationHFactor: dh, dilationWFactor: dw, fusedActivationFunction: 'NONE' },
      name,
    );
    return this.emitActivation(kind, pre, name, layer);
  }

  private separable(layer: KerasLayer, name: string, input: number): number {
    const cfg = layer.config;
    const [n, h, w, cin] = this.requireRank(layer, input, 4);
    const [kh, kw] = pair(cfg.kernel_size, 'kernel_size', layer, this);
    const [sh, sw] = pair(cfg.strides ?? 1, 'strides', layer, this);
    const [dh, dw] = pair(cfg.dilation_rate ?? 1, 'dilation_rate', layer, this);
    const padding = this.padding(layer, cfg.padding);
    const filters = int(cfg.filters, 'filters', layer, this);
    const useBias = cfg.use_bias !== false;
    const c = this.cachedConsts(layer, () => {
      const ws = this.weights(layer, useBias ? ['depthwise_kernel', 'pointwise_kernel', 'bias'] : ['depthwise_kernel', 'pointwise_kernel']);
      const m = this.depthMultiplier(layer, ws.depthwise_kernel);
      this.expectShape(layer, 'depthwise kernel', ws.depthwise_kernel, [kh, kw, cin, m]);
      this.expectShape(layer, 'pointwise kernel', ws.pointwise_kernel, [1, 1, cin * m, filters]);
      if (useBias) this.expectShape(layer, 'bias', ws.bias, [filters]);
      return {
        dwKernel: this.constFloat(`${layer.name}/depthwise_kernel`, [1, kh, kw, cin * m], ws.depthwise_kernel.data.slice()),
        dwBias: this.constFloat(`${layer.name}/depthwise_bias`, [cin * m], new Float32Array(cin * m)),
        pwKernel: this.constFloat(`${layer.name}/pointwise_kernel`, [filters, 1, 1, cin * m], hwioToOhwi(ws.pointwise_kernel.data, 1, 1, cin * m, filters)),
        bias: this.constFloat(`${layer.name}/bias`, [filters], useBias ? ws.bias.data.slice() : new Float32Array(filters)),
      };
    });
    const m = this.shape(c.dwKernel)[3] / cin;
    const oh = convOut(h, kh, sh, dh, padding);
    const ow = convOut(w, kw, sw, dw, padding);
    const mid = this.activation(`${name}/depthwise`, [n, oh, ow, cin * m]);
    this.op(
      'DEPTHWISE_CONV_2D',
      [input, c.dwKernel, c.dwBias],
      [mid],
      { padding, strideH: sh, strideW: sw, depthMultiplier: m, dilationHFactor: dh, dilationWFactor: dw, fusedActivationFunction: 'NONE' },
      `${name}/depthwise`,
    );
    const kind = this.activationKind(layer, cfg.activation);
    const pre = this.activation(kind === 'linear' ? name : `${name}/pre_activation`, [n, oh, ow, filters]);
    this.op('CONV_2D', [mid, c.pwKernel, c.bias], [pre], { padding: 'VALID', strideH: 1, strideW: 1, dilationHFactor: 1, dilationWFactor: 1, fusedActivationFunction: 'NONE' }, name);
    return this.emitActivation(kind, pre, name, layer);
  }

  private dense(layer: KerasLayer, name: string, input: number): number {
    const cfg = layer.config;
    const inShape = this.shape(input);
    if (inShape.length < 2) throw this.layerError(layer, `receives a tensor of shape ${fmtShape(inShape)}; Dense needs at least (batch, features)`);
    const cin = inShape[inShape.length - 1];
    if (cin < 0) throw this.layerError(layer, `receives a tensor of shape ${fmtShape(inShape)} whose last dimension is unknown`);
    const units = int(cfg.units, 'units', layer, this);
    const useBias = cfg.use_bias !== false;
    const c = this.cachedConsts(layer, () => {
      const ws = this.weights(layer, useBias ? ['kernel', 'bias'] : ['kernel']);
      this.expectShape(layer, 'kernel', ws.kernel, [cin, units]);
      if (useBias) this.expectShape(layer, 'bias', ws.bias, [units]);
      return {
        kernel: this.constFloat(`${layer.name}/kernel`, [units, cin], transpose2d(ws.kernel.data, cin, units)),
        bias: this.constFloat(`${layer.name}/bias`, [units], useBias ? ws.bias.data.slice() : new Float32Array(units)),
      };
    });
    const kind = this.activationKind(layer, cfg.activation);
    const pre = this.activation(kind === 'linear' ? name : `${name}/pre_activation`, [...inShape.slice(0, -1), units]);
    this.op('FULLY_CONNECTED', [input, c.kernel, c.bias], [pre], { fusedActivationFunction: 'NONE', keepNumDims: inShape.length > 2, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false }, name);
    return this.emitActivation(kind, pre, name, layer);
  }

  private batchNorm(layer: KerasLayer, name: string, input: number): number {
    const cfg = layer.config;
    const shape = this.shape(input);
    const rank = shape.length;
    const axisRaw = Array.isArray(cfg.axis) ? (cfg.axis.length === 1 ? cfg.axis[0] : cfg.axis) : (cfg.axis ?? -1);
    if (axisRaw !== -1 && axisRaw !== rank - 1) {
      throw this.layerError(layer, `normalizes over axis ${JSON.stringify(cfg.axis)}; QuantLab imports BatchNormalization over the last (channel) axis`);
    }
    const channels = shape[rank - 1];
    const scale = cfg.scale !== false;
    const center = cfg.center !== false;
    const eps = num(cfg.epsilon ?? 1e-3, 'epsilon', layer, this);
    const c = this.cachedConsts(layer, () => {
      const roles = [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
      const ws = this.weights(layer, roles);
      for (const r of roles) this.expectShape(layer, r, ws[r], [channels]);
      const mul = new Float32Array(channels);
      const add = new Float32Array(channels);
      for (let i = 0; i < channels; i++) {
        const gamma = scale ? ws.gamma.data[i] : 1;
        const beta = center ? ws.beta.data[i] : 0;
        const s = gamma / Math.sqrt(ws.moving_variance.data[i] + eps);
        mul[i] = s;
        add[i] = beta - ws.moving_mean.data[i] * s;
      }
      return { mul: this.constFloat(`${layer.name}/scale`, [channels], mul), add: this.constFloat(`${layer.name}/offset`, [channels], add) };
    });
    const scaled = this.activation(`${name}/scaled`, shape);
    this.op('MUL', [input, c.mul], [scaled], { fusedActivationFunction: 'NONE' }, `${name}/scale`);
    const out = this.activation(name, shape);
    this.op('ADD', [scaled, c.add], [out], { fusedActivationFunction: 'NONE', potScaleInt16: false }, name);
    return out;
  }

  private reluLayer(layer: KerasLayer, name: string, input: number): number {
    const cfg = layer.config;
    const maxValue = cfg.max_value ?? cfg.maxValue ?? null;
    const slope = cfg.negative_slope ?? 0;
    const threshold = cfg.threshold ?? 0;
    if (threshold === 0 && slope === 0 && maxValue === null) return this.emitActivation('relu', input, name, layer);
    if (threshold === 0 && slope === 0 && maxValue === 6) return this.emitActivation('relu6', input, name, layer);
    if (threshold === 0 && typeof slope === 'number' && slope > 0 && maxValue === null) {
      const out = this.activation(name, this.shape(input));
      this.op('LEAKY_RELU', [input], [out], { alpha: slope }, name);
      return out;
    }
    throw this.layerError(
      layer,
      `has max_value ${JSON.stringify(maxValue)}, negative_slope ${JSON.stringify(slope)}, threshold ${JSON.stringify(threshold)}; QuantLab imports ReLU, ReLU(max_value=6) and ReLU(negative_slope>0)`,
    );
  }

  private pool(type: 'MAX_POOL_2D' | 'AVERAGE_POOL_2D', layer: KerasLayer, name: string, input: number): number {
    const cfg = layer.config;
    const [n, h, w, ch] = this.requireRank(layer, input, 4);
    const [fh, fw] = pair(cfg.pool_size ?? 2, 'pool_size', layer, this);
    const [sh, sw] = cfg.strides === null || cfg.strides === undefined ? [fh, fw] : pair(cfg.strides, 'strides', layer, this);
    const padding = this.padding(layer, cfg.padding);
    const out = this.activation(name, [n, convOut(h, fh, sh, 1, padding), convOut(w, fw, sw, 1, padding), ch]);
    this.op(type, [input], [out], { padding, strideH: sh, strideW: sw, filterHeight: fh, filterWidth: fw, fusedActivationFunction: 'NONE' }, name);
    return out;
  }

  private globalAverage(layer: KerasLayer, name: string, input: number): number {
    const [n, , , ch] = this.requireRank(layer, input, 4);
    const keepDims = layer.config.keepdims === true;
    const axes = this.constInt(`${name}/axes`, [2], [1, 2]);
    const out = this.activation(name, keepDims ? [n, 1, 1, ch] : [n, ch]);
    this.op('MEAN', [input, axes], [out], { keepDims }, name);
    return out;
  }

  private reshapeTo(name: string, input: number, target: number[]): number {
    const shapeConst = this.constInt(`${name}/shape`, [target.length], target);
    const out = this.activation(name, target);
    this.op('RESHAPE', [input, shapeConst], [out], { newShape: target.slice() }, name);
    return out;
  }

  private flatten(layer: KerasLayer, name: string, input: number): number {
    const shape = this.shape(input);
    if (shape.length <= 2) return input;
    const rest = shape.slice(1);
    if (rest.some((d) => d < 0)) throw this.layerError(layer, `flattens a tensor of shape ${fmtShape(shape)}, whose size is unknown`);
    return this.reshapeTo(name, input, [-1, rest.reduce((a, b) => a * b, 1)]);
  }

  private reshape(layer: KerasLayer, name: string, input: number): number {
    const shape = this.shape(input);
    const target = layer.config.target_shape;
    if (!Array.isArray(target) || !target.every((d) => typeof d === 'number' && Number.isInteger(d))) {
      throw this.layerError(layer, `has target_shape ${JSON.stringify(target)}, which is not a list of integers`);
    }
    const size = shape.slice(1).reduce((a, b) => a * b, 1);
    if (shape.slice(1).some((d) => d < 0)) throw this.layerError(layer, `reshapes a tensor of shape ${fmtShape(shape)}, whose size is unknown`);
    const dims = (target as number[]).slice();
    const unknown = dims.filter((d) => d === -1).length;
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (unknown > 1 || (unknown === 1 && size % known !== 0) || (unknown === 0 && known !== size)) {
      throw this.layerError(layer, `cannot reshape ${fmtShape(shape)} to target_shape ${JSON.stringify(target)}`);
    }
    if (unknown === 1) dims[dims.indexOf(-1)] = size / known;
    return this.reshapeTo(name, input, [-1, ...dims]);
  }

  private merge(className: string, layer: KerasLayer, name: string, inputs: number[]): number {
    if (inputs.length < 2 || (className === 'Subtract' && inputs.length !== 2)) {
      throw this.layerError(layer, `is called with ${inputs.length} input(s); it needs ${className === 'Subtract' ? 'exactly two' : 'at least two'}`);
    }
    let acc = inputs[0];
    const type = className === 'Subtract' ? 'SUB' : className === 'Multiply' ? 'MUL' : 'ADD';
    for (let i = 1; i < inputs.length; i++) {
      const shape = this.broadcast(layer, this.shape(acc), this.shape(inputs[i]));
      const last = i === inputs.length - 1 && className !== 'Average';
      const out = this.activation(last ? name : `${name}/partial_${i}`, shape);
      if (type === 'MUL') this.op('MUL', [acc, inputs[i]], [out], { fusedActivationFunction: 'NONE' }, name);
      else this.op(type, [acc, inputs[i]], [out], { fusedActivationFunction: 'NONE', potScaleInt16: false }, name);
      acc = out;
    }
    if (className === 'Average') {
      const k = this.constFloat(`${name}/reciprocal`, [1], Float32Array.of(1 / inputs.length));
      const out = this.activation(name, this.shape(acc));
      this.op('MUL', [acc, k], [out], { fusedActivationFunction: 'NONE' }, name);
      acc = out;
    }
    return acc;
  }

  private broadcast(layer: KerasLayer, a: number[], b: number[]): number[] {
    const rank = Math.max(a.length, b.length);
    const out: number[] = [];
    for (let i = 0; i < rank; i++) {
      const x = a[a.length - rank + i] ?? 1;
      const y = b[b.length - rank + i] ?? 1;
      if (x === y || y === 1) out.push(x);
      else if (x === 1) out.push(y);
      else if (x === -1 || y === -1) out.push(-1);
      else throw this.layerError(layer, `combines tensors of shapes ${fmtShape(a)} and ${fmtShape(b)}, which do not broadcast`);
    }
    return out;
  }

  private concatenate(layer: KerasLayer, name: string, inputs: number[]): number {
    if (inputs.length < 1) throw this.layerError(layer, 'is called without inputs');
    const shapes = inputs.map((t) => this.shape(t));
    const rank = shapes[0].length;
    const axisRaw = layer.config.axis ?? -1;
    if (typeof axisRaw !== 'number' || !Number.isInteger(axisRaw)) throw this.layerError(layer, `has axis ${JSON.stringify(axisRaw)}, which is not an integer`);
    const axis = axisRaw < 0 ? rank + axisRaw : axisRaw;
    if (axis <= 0 || axis >= rank) throw this.layerError(layer, `concatenates over axis ${axisRaw} of rank-${rank} tensors; QuantLab imports concatenation over a non-batch axis`);
    const out = shapes[0].slice();
    for (let i = 1; i < shapes.length; i++) {
      const s = shapes[i];
      if (s.length !== rank || s.some((d, j) => j !== axis && j !== 0 && d !== out[j])) {
        throw this.layerError(layer, `concatenates tensors of shapes ${shapes.map(fmtShape).join(' and ')} over axis ${axisRaw}, which do not fit together`);
      }
      out[axis] = out[axis] < 0 || s[axis] < 0 ? -1 : out[axis] + s[axis];
    }
    const t = this.activation(name, out);
    this.op('CONCATENATION', inputs, [t], { axis, fusedActivationFunction: 'NONE' }, name);
    return t;
  }

  private zeroPadding(layer: KerasLayer, name: string, input: number): number {
    const [n, h, w, ch] = this.requireRank(layer, input, 4);
    const p = layer.config.padding ?? 1;
    let top: number, bottom: number, left: number, right: number;
    const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
    if (isInt(p)) {
      top = bottom = left = right = p;
    } else if (Array.isArray(p) && p.length === 2 && isInt(p[0]) && isInt(p[1])) {
      [top, bottom, left, right] = [p[0], p[0], p[1], p[1]];
    } else if (Array.isArray(p) && p.length === 2 && Array.isArray(p[0]) && Array.isArray(p[1]) && [...p[0], ...p[1]].length === 4 && [...p[0], ...p[1]].every(isInt)) {
      [top, bottom, left, right] = [p[0][0], p[0][1], p[1][0], p[1][1]];
    } else {
      throw this.layerError(layer, `has padding ${JSON.stringify(p)}; QuantLab reads an integer, (h, w) or ((top, bottom), (left, right))`);
    }
    const paddings = this.constInt(`${name}/paddings`, [4, 2], [0, 0, top, bottom, left, right, 0, 0]);
    const out = this.activation(name, [n, h < 0 ? -1 : h + top + bottom, w < 0 ? -1 : w + left + right, ch]);
    this.op('PAD', [input, paddings], [out], {}, name);
    return out;
  }

  private upSampling(layer: KerasLayer, name: string, input: number): number {
    const [n, h, w, ch] = this.requireRank(layer, input, 4);
    const [sh, sw] = pair(layer.config.size ?? 2, 'size', layer, this);
    const interpolation = layer.config.interpolation ?? 'nearest';
    if (h < 0 || w < 0) throw this.layerError(layer, `upsamples a tensor of shape ${fmtShape([n, h, w, ch])} whose height or width is unknown`);
    const size = this.constInt(`${name}/size`, [2], [h * sh, w * sw]);
    const out = this.activation(name, [n, h * sh, w * sw, ch]);
    if (interpolation === 'nearest') {
      // For integer factors every nearest-neighbour convention picks the same source pixel.
      this.op('RESIZE_NEAREST_NEIGHBOR', [input, size], [out], { alignCorners: false, halfPixelCenters: false }, name);
    } else if (interpolation === 'bilinear') {
      // tf.keras 2.3+ and Keras 3 resize with half-pixel centres; TF.js and Keras ≤ 2.2 (TF 1) do not.
      const halfPixelCenters = this.options.flavor === 'keras3' || (this.options.flavor === 'keras2' && !isOldKeras2(this.options.kerasVersion));
      this.op('RESIZE_BILINEAR', [input, size], [out], { alignCorners: false, halfPixelCenters }, name);
    } else {
      throw this.layerError(layer, `uses interpolation '${String(interpolation)}'; QuantLab imports 'nearest' and 'bilinear'`);
    }
    return out;
  }

  /**
   * The depth multiplier from the configuration, or, when the configuration leaves it out (TF.js
   * 4.x drops it from SeparableConv2D configs), from the kernel's last dimension.
   */
  private depthMultiplier(layer: KerasLayer, kernel: KerasWeight): number {
    const v = layer.config.depth_multiplier;
    if (v === undefined || v === null) return kernel.shape.length === 4 && kernel.shape[3] > 0 ? kernel.shape[3] : 1;
    return int(v, 'depth_multiplier', layer, this);
  }

  private padding(layer: KerasLayer, v: unknown): Padding {
    const p = typeof v === 'string' ? v.toLowerCase() : 'valid';
    if (p === 'same') return 'SAME';
    if (p === 'valid') return 'VALID';
    throw this.layerError(layer, `has padding ${JSON.stringify(v)}; QuantLab imports 'same' and 'valid'`);
  }

  // ---------------------------------------------------------------- activations

  private activationKind(layer: KerasLayer, v: unknown): ActivationKind {
    let raw: unknown = v ?? 'linear';
    if (isObject(raw)) raw = raw.class_name ?? (isObject(raw.config) ? raw.config.name : undefined);
    if (typeof raw !== 'string') throw this.layerError(layer, `has activation ${JSON.stringify(v)}, which QuantLab cannot read`);
    const key = raw.toLowerCase().replace(/_/g, '');
    const map: Record<string, ActivationKind> = {
      linear: 'linear',
      none: 'linear',
      relu: 'relu',
      relu6: 'relu6',
      sigmoid: 'sigmoid',
      logistic: 'sigmoid',
      tanh: 'tanh',
      softmax: 'softmax',
      hardsigmoid: 'hard_sigmoid',
      hardswish: 'hard_swish',
      hardsilu: 'hard_swish',
      swish: 'swish',
      silu: 'swish',
      leakyrelu: 'leaky_relu',
    };
    const kind = map[key];
    if (!kind) throw this.layerError(layer, `uses activation '${raw}', which QuantLab cannot import (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
    return kind;
  }

  /** Applies an activation to `input`; the result is named `name`. */
  private emitActivation(kind: ActivationKind, input: number, name: string, layer: KerasLayer): number {
    const shape = this.shape(input);
    const unary = (type: 'RELU' | 'RELU6' | 'LOGISTIC' | 'TANH' | 'HARD_SWISH', outName = name): number => {
      const out = this.activation(outName, shape);
      this.op(type, [input], [out], {}, outName);
      return out;
    };
    switch (kind) {
      case 'linear':
        return input;
      case 'relu':
        return unary('RELU'); // fused into its producer by fuseActivations when possible
      case 'relu6':
        return unary('RELU6');
      case 'sigmoid':
        return unary('LOGISTIC');
      case 'tanh':
        return unary('TANH');
      case 'hard_swish':
        return unary('HARD_SWISH');
      case 'softmax': {
        if (shape.length < 2) throw this.layerError(layer, `applies softmax to a tensor of shape ${fmtShape(shape)}`);
        const out = this.activation(name, shape);
        this.op('SOFTMAX', [input], [out], { beta: 1 }, name);
        return out;
      }
      case 'leaky_relu': {
        // Keras 3's string activation 'leaky_relu' uses negative_slope 0.2.
        const out = this.activation(name, shape);
        this.op('LEAKY_RELU', [input], [out], { alpha: 0.2 }, name);
        return out;
      }
      case 'swish': {
        const sig = unary('LOGISTIC', `${name}/sigmoid`);
        const out = this.activation(name, shape);
        this.op('MUL', [input, sig], [out], { fusedActivationFunction: 'NONE' }, name);
        return out;
      }
      case 'hard_sigmoid': {
        // relu6(a·x + 3) / 6 with a = 1 (Keras 3) or 1.2 (Keras 2, TF.js: clip(0.2·x + 0.5, 0, 1)).
        let x = input;
        if (this.options.flavor !== 'keras3') {
          const a = this.constFloat(`${name}/slope`, [1], Float32Array.of(1.2));
          x = this.activation(`${name}/scaled`, shape);
          this.op('MUL', [input, a], [x], { fusedActivationFunction: 'NONE' }, `${name}/scaled`);
        }
        const three = this.constFloat(`${name}/three`, [1], Float32Array.of(3));
        const clipped = this.activation(`${name}/relu6`, shape);
        this.op('ADD', [x, three], [clipped], { fusedActivationFunction: 'RELU6', potScaleInt16: false }, `${name}/relu6`);
        const sixth = this.constFloat(`${name}/one_sixth`, [1], Float32Array.of(1 / 6));
        const out = this.activation(name, shape);
        this.op('MUL', [clipped, sixth], [out], { fusedActivationFunction: 'NONE' }, name);
        return out;
      }
    }
  }
}

// -------------------------------------------------------------------- graph passes

/**
 * Folds a RELU / RELU6 op into the op producing its input when that op can carry a fused
 * activation, has none yet, and its output feeds nothing else (and is not a graph output).
 */
function fuseActivations(graph: Graph): void {
  const consumers = new Map<number, number>();
  for (const op of graph.ops) for (const t of op.inputs) consumers.set(t, (consumers.get(t) ?? 0) + 1);
  const producer = new Map<number, Op>();
  for (const op of graph.ops) for (const t of op.outputs) producer.set(t, op);
  const outputs = new Set(graph.outputs);
  const removed = new Set<Op>();
  for (const op of graph.ops) {
    if (op.type !== 'RELU' && op.type !== 'RELU6') continue;
    const x = op.inputs[0];
    const p = producer.get(x);
    if (!p || removed.has(p) || !FUSABLE_PRODUCERS.has(p.type as BuiltinOpType) || consumers.get(x) !== 1 || outputs.has(x)) continue;
    const opts = (p as BuiltinOp).options as { fusedActivationFunction?: FusedActivation };
    if (opts.fusedActivationFunction !== 'NONE') continue;
    opts.fusedActivationFunction = op.type;
    p.outputs = p.outputs.map((t) => (t === x ? op.outputs[0] : t));
    producer.set(op.outputs[0], p);
    removed.add(op);
  }
  graph.ops = graph.ops.filter((op) => !removed.has(op));
}

/** Drops tensors nothing refers to and renumbers the rest. */
function compact(graph: Graph): Graph {
  const used = new Set<number>([...graph.inputs, ...graph.outputs]);
  for (const op of graph.ops) for (const t of [...op.inputs, ...op.outputs]) if (t >= 0) used.add(t);
  const remap = new Map<number, number>();
  const tensors: Tensor[] = [];
  graph.tensors.forEach((t, i) => {
    if (used.has(i)) {
      remap.set(i, tensors.length);
      tensors.push(t);
    }
  });
  const m = (i: number): number => (i < 0 ? i : (remap.get(i) as number));
  return {
    name: graph.name,
    tensors,
    ops: graph.ops.map((op) => ({ ...op, inputs: op.inputs.map(m), outputs: op.outputs.map(m) })),
    inputs: graph.inputs.map(m),
    outputs: graph.outputs.map(m),
  };
}

// -------------------------------------------------------------------- helpers

interface ErrorSource {
  layerError(layer: KerasLayer, sentence: string): ModelFormatError;
}

function int(v: unknown, what: string, layer: KerasLayer, src: ErrorSource): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  throw src.layerError(layer, `has ${what} ${JSON.stringify(v)}, which is not a positive integer`);
}

function num(v: unknown, what: string, layer: KerasLayer, src: ErrorSource): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw src.layerError(layer, `has ${what} ${JSON.stringify(v)}, which is not a number`);
}

function pair(v: unknown, what: string, layer: KerasLayer, src: ErrorSource): [number, number] {
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  throw src.layerError(layer, `has ${what} ${JSON.stringify(v)}; QuantLab expects a positive integer or a pair of them`);
}

function convOut(size: number, k: number, stride: number, dilation: number, padding: Padding): number {
  if (size < 0) return -1;
  if (padding === 'SAME') return Math.ceil(size / stride);
  const effective = dilation * (k - 1) + 1;
  return Math.max(0, Math.floor((size - effective) / stride) + 1);
}

function hwioToOhwi(src: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < cin; i++) {
        const s = ((h * kw + w) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * kh + h) * kw + w) * cin + i] = src[s + o];
      }
    }
  }
  return out;
}

function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

function fmtShape(shape: number[]): string {
  return `[${shape.map((d) => (d < 0 ? '?' : String(d))).join(', ')}]`;
}

function dtypeName(v: unknown): string {
  if (typeof v === 'string') return v;
  // Keras 3 dtype policies: {class_name: 'DTypePolicy', config: {name: 'float32'}}
  if (isObject(v) && isObject(v.config) && typeof v.config.name === 'string') return v.config.name.replace(/^mixed_/, '');
  return 'float32';
}

function isOldKeras2(version: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  return !!m && Number(m[1]) === 2 && Number(m[2]) < 3;
}

export type { JsonObject };
