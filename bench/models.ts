/**
 * The benchmark's two networks as float IR graphs (NHWC, TFLite-like ops) with seeded random
 * weights, and the description of their layers that the ONNX, TF.js and int8 twins are built
 * from, so every engine computes the same function:
 *
 *  (a) mnist: the seed's example, Conv2D(12, 3×3, relu) → MaxPool 2×2 → Flatten → Dense(10), 28×28×1;
 *  (b) mobilenet: MobileNet v1, width 0.25, 96×96×3: conv 3×3/2 (8) → 13 depthwise-separable
 *      blocks (dw 3×3 + pw 1×1, relu6; strides 1,2,1,2,1,2,1,1,1,1,1,2,1) → 3×3 average pool →
 *      Dense(1000).
 */
import type { FusedActivation, Graph, Padding, Tensor } from '../src/core/ir/types';
import { convOutputSize, paddingBefore } from '../src/core/runtime/padding';

export type Layer =
  | { kind: 'conv'; name: string; kH: number; kW: number; stride: number; padding: Padding; inC: number; outC: number; act: FusedActivation; weights: Float32Array /* OHWI */; bias: Float32Array }
  | { kind: 'dw'; name: string; k: number; stride: number; padding: Padding; channels: number; act: FusedActivation; weights: Float32Array /* [kH][kW][C] */; bias: Float32Array }
  | { kind: 'maxpool'; name: string; k: number; stride: number }
  | { kind: 'avgpool'; name: string; k: number }
  | { kind: 'flatten'; name: string }
  | { kind: 'dense'; name: string; inF: number; outF: number; act: FusedActivation; weights: Float32Array /* [out][in] */; bias: Float32Array };

export interface NetSpec {
  name: string;
  /** NHWC input of one image. */
  inputShape: [number, number, number];
  layers: Layer[];
  /** Input values are drawn uniformly from this range. */
  inputRange: [number, number];
}

/** Shapes after every layer (NHWC without batch, or [features]). */
export function layerShapes(net: NetSpec): number[][] {
  const shapes: number[][] = [];
  let s: number[] = [...net.inputShape];
  for (const l of net.layers) {
    switch (l.kind) {
      case 'conv':
        s = [convOutputSize(l.padding, s[0], l.kH, l.stride, 1), convOutputSize(l.padding, s[1], l.kW, l.stride, 1), l.outC];
        break;
      case 'dw':
        s = [convOutputSize(l.padding, s[0], l.k, l.stride, 1), convOutputSize(l.padding, s[1], l.k, l.stride, 1), l.channels];
        break;
      case 'maxpool':
        s = [convOutputSize('VALID', s[0], l.k, l.stride, 1), convOutputSize('VALID', s[1], l.k, l.stride, 1), s[2]];
        break;
      case 'avgpool':
        s = [convOutputSize('VALID', s[0], l.k, l.k, 1), convOutputSize('VALID', s[1], l.k, l.k, 1), s[2]];
        break;
      case 'flatten':
        s = [s.reduce((a, b) => a * b, 1)];
        break;
      case 'dense':
        s = [l.outF];
        break;
    }
    shapes.push(s);
  }
  return shapes;
}

/** TFLite padding (top, left, bottom, right) of a window layer on an input of h×w. */
export function pads(padding: Padding, h: number, w: number, k: number, stride: number): [number, number, number, number] {
  if (padding === 'VALID') return [0, 0, 0, 0];
  const oh = convOutputSize('SAME', h, k, stride, 1);
  const ow = convOutputSize('SAME', w, k, stride, 1);
  const top = paddingBefore(h, k, stride, 1, oh);
  const left = paddingBefore(w, k, stride, 1, ow);
  return [top, left, Math.max((oh - 1) * stride + k - h, 0) - top, Math.max((ow - 1) * stride + k - w, 0) - left];
}

/** Seeded uniform [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** He-style uniform weights, with per-output-channel gains in [0.5, 2] (so per-channel quantization matters). */
function weights(r: () => number, outC: number, perOut: number, fanIn: number, layout: 'out-major' | 'channel-last'): Float32Array {
  const w = new Float32Array(outC * perOut);
  const limit = Math.sqrt(6 / fanIn);
  const gain = Array.from({ length: outC }, () => 0.5 * 4 ** r());
  for (let i = 0; i < w.length; i++) {
    const c = layout === 'out-major' ? Math.floor(i / perOut) : i % outC;
    w[i] = (2 * r() - 1) * limit * gain[c];
  }
  return w;
}

function biases(r: () => number, n: number, amp: number): Float32Array {
  return new Float32Array(n).map(() => (2 * r() - 1) * amp);
}

export function mnistNet(seed = 1): NetSpec {
  const r = rng(seed);
  return {
    name: 'mnist',
    inputShape: [28, 28, 1],
    inputRange: [0, 1],
    layers: [
      { kind: 'conv', name: 'conv', kH: 3, kW: 3, stride: 1, padding: 'VALID', inC: 1, outC: 12, act: 'RELU', weights: weights(r, 12, 9, 9, 'out-major'), bias: biases(r, 12, 0.1) },
      { kind: 'maxpool', name: 'pool', k: 2, stride: 2 },
      { kind: 'flatten', name: 'flatten' },
      { kind: 'dense', name: 'dense', inF: 13 * 13 * 12, outF: 10, act: 'NONE', weights: weights(r, 10, 2028, 2028, 'out-major'), bias: biases(r, 10, 0.1) },
    ],
  };
}

export function mobilenetNet(seed = 2, width = 0.25, size = 96): NetSpec {
  const r = rng(seed);
  const ch = (c: number) => Math.max(8, Math.round(c * width));
  const layers: Layer[] = [];
  let inC = 3;
  const c0 = ch(32);
  layers.push({ kind: 'conv', name: 'conv0', kH: 3, kW: 3, stride: 2, padding: 'SAME', inC, outC: c0, act: 'RELU6', weights: weights(r, c0, 27, 27, 'out-major'), bias: biases(r, c0, 0.2) });
  inC = c0;
  const blocks: [number, number][] = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1]];
  blocks.forEach(([c, s], i) => {
    const outC = ch(c);
    layers.push({ kind: 'dw', name: `dw${i + 1}`, k: 3, stride: s, padding: 'SAME', channels: inC, act: 'RELU6', weights: weights(r, inC, 9, 9, 'channel-last'), bias: biases(r, inC, 0.2) });
    layers.push({ kind: 'conv', name: `pw${i + 1}`, kH: 1, kW: 1, stride: 1, padding: 'VALID', inC, outC, act: 'RELU6', weights: weights(r, outC, inC, inC, 'out-major'), bias: biases(r, outC, 0.2) });
    inC = outC;
  });
  const last = Math.ceil(size / 32);
  layers.push({ kind: 'avgpool', name: 'avgpool', k: last });
  layers.push({ kind: 'flatten', name: 'flatten' });
  layers.push({ kind: 'dense', name: 'logits', inF: inC, outF: 1000, act: 'NONE', weights: weights(r, 1000, inC, inC, 'out-major'), bias: biases(r, 1000, 0.1) });
  return { name: `mobilenet-v1-${width}-${size}`, inputShape: [size, size, 3], inputRange: [-1, 1], layers };
}

/** The float IR graph of a net (batch `batch`). */
export function floatGraph(net: NetSpec, batch = 1): Graph {
  const tensors: Tensor[] = [];
  const add = (t: Tensor) => tensors.push(t) - 1;
  const input = add({ name: 'input', dtype: 'float32', shape: [batch, ...net.inputShape] });
  const ops: Graph['ops'] = [];
  let cur = input;
  const shapes = layerShapes(net);
  net.layers.forEach((l, i) => {
    const outShape = shapes[i].length === 1 ? [batch, ...shapes[i]] : [batch, ...shapes[i]];
    const out = add({ name: l.name, dtype: 'float32', shape: outShape });
    switch (l.kind) {
      case 'conv': {
        const w = add({ name: `${l.name}/w`, dtype: 'float32', shape: [l.outC, l.kH, l.kW, l.inC], data: l.weights });
        const b = add({ name: `${l.name}/b`, dtype: 'float32', shape: [l.outC], data: l.bias });
        ops.push({ type: 'CONV_2D', inputs: [cur, w, b], outputs: [out], options: { padding: l.padding, strideW: l.stride, strideH: l.stride, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: l.act } });
        break;
      }
      case 'dw': {
        const w = add({ name: `${l.name}/w`, dtype: 'float32', shape: [1, l.k, l.k, l.channels], data: l.weights });
        const b = add({ name: `${l.name}/b`, dtype: 'float32', shape: [l.channels], data: l.bias });
        ops.push({ type: 'DEPTHWISE_CONV_2D', inputs: [cur, w, b], outputs: [out], options: { padding: l.padding, strideW: l.stride, strideH: l.stride, depthMultiplier: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: l.act } });
        break;
      }
      case 'maxpool':
        ops.push({ type: 'MAX_POOL_2D', inputs: [cur], outputs: [out], options: { padding: 'VALID', strideW: l.stride, strideH: l.stride, filterWidth: l.k, filterHeight: l.k, fusedActivationFunction: 'NONE' } });
        break;
      case 'avgpool':
        ops.push({ type: 'AVERAGE_POOL_2D', inputs: [cur], outputs: [out], options: { padding: 'VALID', strideW: l.k, strideH: l.k, filterWidth: l.k, filterHeight: l.k, fusedActivationFunction: 'NONE' } });
        break;
      case 'flatten': {
        const shape = add({ name: `${l.name}/shape`, dtype: 'int32', shape: [2], data: new Int32Array([batch, shapes[i][0]]) });
        ops.push({ type: 'RESHAPE', inputs: [cur, shape], outputs: [out], options: { newShape: [batch, shapes[i][0]] } });
        break;
      }
      case 'dense': {
        const w = add({ name: `${l.name}/w`, dtype: 'float32', shape: [l.outF, l.inF], data: l.weights });
        const b = add({ name: `${l.name}/b`, dtype: 'float32', shape: [l.outF], data: l.bias });
        ops.push({ type: 'FULLY_CONNECTED', inputs: [cur, w, b], outputs: [out], options: { fusedActivationFunction: l.act, keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } });
        break;
      }
    }
    cur = out;
  });
  return { name: net.name, tensors, ops, inputs: [input], outputs: [cur] };
}

/** Seeded inputs, NHWC, `count` images. */
export function inputs(net: NetSpec, count: number, seed = 99): Float32Array {
  const r = rng(seed);
  const n = net.inputShape.reduce((a, b) => a * b, 1) * count;
  const [lo, hi] = net.inputRange;
  return new Float32Array(n).map(() => lo + (hi - lo) * r());
}

/** NHWC → NCHW for `count` images. */
export function toNchw(net: NetSpec, x: Float32Array, count: number): Float32Array {
  const [h, w, c] = net.inputShape;
  const out = new Float32Array(x.length);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let k = 0; k < c; k++) out[((n * c + k) * h + y) * w + xx] = x[((n * h + y) * w + xx) * c + k];
  }
  return out;
}
