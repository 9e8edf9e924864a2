/**
 * Post-training quantization of the benchmark nets, TFLite's int8 scheme (notes/int8.md):
 * activations int8 asymmetric per tensor from min/max over seeded calibration inputs,
 * weights int8 symmetric per output channel in [-127, 127], bias int32 at S_in·S_w[c];
 * MAX_POOL / AVERAGE_POOL / RESHAPE keep their input's parameters. Produces the quantized
 * description every int8 twin is built from, and the int8 IR graph for the interpreter.
 */
import type { Graph, Tensor } from '../src/core/ir/types';
import { Interpreter } from '../src/core/runtime/interpreter';
import type { Layer, NetSpec } from './models';
import { floatGraph, inputs, layerShapes } from './models';

export interface TensorQ {
  scale: number;
  zeroPoint: number;
}

export interface QLayer {
  layer: Layer;
  inQ: TensorQ;
  outQ: TensorQ;
  /** int8 weights in the float layer's layout, and their per-channel scales. */
  wq?: Int8Array;
  wScale?: number[];
  bq?: Int32Array;
  /** Fused activation clamp in output codes. */
  actMin: number;
  actMax: number;
}

export interface QNet {
  net: NetSpec;
  inQ: TensorQ;
  layers: QLayer[];
}

export function chooseQ(min: number, max: number): TensorQ {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.min(127, Math.max(-128, Math.round(-128 - lo / scale)));
  return { scale: Math.fround(scale), zeroPoint };
}

/** Observed [min, max] of the input and of every layer's output over `samples` seeded inputs. */
export function calibrate(net: NetSpec, samples = 16): [number, number][] {
  const g = floatGraph(net, 1);
  const it = Interpreter.prepare(g, { preserveIntermediates: true });
  const idx = [g.inputs[0], ...net.layers.map((l) => g.tensors.findIndex((t) => t.name === l.name))];
  const ranges = idx.map((): [number, number] => [Infinity, -Infinity]);
  const data = inputs(net, samples, 12345);
  const per = data.length / samples;
  for (let s = 0; s < samples; s++) {
    it.run([data.subarray(s * per, (s + 1) * per)]);
    idx.forEach((t, i) => {
      const v = it.readTensor(t) as Float32Array;
      for (const x of v) {
        if (x < ranges[i][0]) ranges[i][0] = x;
        if (x > ranges[i][1]) ranges[i][1] = x;
      }
    });
  }
  return ranges;
}

function quantizeWeights(w: Float32Array, channels: number, channelOf: (i: number) => number): { wq: Int8Array; wScale: number[] } {
  const maxAbs = new Array<number>(channels).fill(0);
  for (let i = 0; i < w.length; i++) maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)], Math.abs(w[i]));
  const wScale = maxAbs.map((m) => Math.fround(m > 0 ? m / 127 : 1));
  const wq = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) wq[i] = Math.max(-127, Math.min(127, Math.round(w[i] / wScale[channelOf(i)])));
  return { wq, wScale };
}

function activationRange(act: string, q: TensorQ): [number, number] {
  const lo = act === 'RELU' || act === 'RELU6' ? Math.max(-128, q.zeroPoint) : -128;
  const hi = act === 'RELU6' ? Math.min(127, q.zeroPoint + Math.round(6 / q.scale)) : 127;
  return [lo, hi];
}

export function quantizeNet(net: NetSpec, samples = 16): QNet {
  const ranges = calibrate(net, samples);
  const inQ = chooseQ(ranges[0][0], ranges[0][1]);
  let cur = inQ;
  const layers: QLayer[] = net.layers.map((layer, i) => {
    const inLayerQ = cur;
    let outQ: TensorQ;
    const q: Partial<QLayer> = {};
    if (layer.kind === 'maxpool' || layer.kind === 'avgpool' || layer.kind === 'flatten') {
      outQ = inLayerQ;
    } else {
      outQ = chooseQ(ranges[i + 1][0], ranges[i + 1][1]);
      const channels = layer.kind === 'conv' ? layer.outC : layer.kind === 'dw' ? layer.channels : layer.outF;
      const perOut = layer.weights.length / channels;
      const { wq, wScale } = layer.kind === 'dw' ? quantizeWeights(layer.weights, channels, (j) => j % channels) : quantizeWeights(layer.weights, channels, (j) => Math.floor(j / perOut));
      const bq = new Int32Array(channels).map((_, c) => Math.round(layer.bias[c] / (inLayerQ.scale * wScale[c])));
      Object.assign(q, { wq, wScale, bq });
    }
    const act = layer.kind === 'conv' || layer.kind === 'dw' || layer.kind === 'dense' ? layer.act : 'NONE';
    const [actMin, actMax] = activationRange(act, outQ);
    cur = outQ;
    return { layer, inQ: inLayerQ, outQ, actMin, actMax, ...q };
  });
  return { net, inQ, layers };
}

/** The int8 IR graph: QUANTIZE → int8 ops → DEQUANTIZE, float in and out (batch `batch`). */
export function int8Graph(q: QNet, batch = 1): Graph {
  const net = q.net;
  const shapes = layerShapes(net);
  const tensors: Tensor[] = [];
  const add = (t: Tensor) => tensors.push(t) - 1;
  const x = add({ name: 'input', dtype: 'float32', shape: [batch, ...net.inputShape] });
  const qx = add({ name: 'input/q', dtype: 'int8', shape: [batch, ...net.inputShape], quant: { scale: [q.inQ.scale], zeroPoint: [q.inQ.zeroPoint] } });
  const ops: Graph['ops'] = [{ type: 'QUANTIZE', options: {}, inputs: [x], outputs: [qx] }];
  let cur = qx;
  q.layers.forEach((ql, i) => {
    const l = ql.layer;
    const out = add({ name: l.name, dtype: 'int8', shape: [batch, ...shapes[i]], quant: { scale: [ql.outQ.scale], zeroPoint: [ql.outQ.zeroPoint] } });
    const wQuant = (axis: number) => ({ scale: ql.wScale!, zeroPoint: ql.wScale!.map(() => 0), axis });
    const bias = (n: number) => add({ name: `${l.name}/b`, dtype: 'int32', shape: [n], data: ql.bq!, quant: { scale: ql.wScale!.map((s) => ql.inQ.scale * s), zeroPoint: ql.wScale!.map(() => 0), axis: 0 } });
    switch (l.kind) {
      case 'conv': {
        const w = add({ name: `${l.name}/w`, dtype: 'int8', shape: [l.outC, l.kH, l.kW, l.inC], data: ql.wq!, quant: wQuant(0) });
        ops.push({ type: 'CONV_2D', inputs: [cur, w, bias(l.outC)], outputs: [out], options: { padding: l.padding, strideW: l.stride, strideH: l.stride, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: l.act } });
        break;
      }
      case 'dw': {
        const w = add({ name: `${l.name}/w`, dtype: 'int8', shape: [1, l.k, l.k, l.channels], data: ql.wq!, quant: wQuant(3) });
        ops.push({ type: 'DEPTHWISE_CONV_2D', inputs: [cur, w, bias(l.channels)], outputs: [out], options: { padding: l.padding, strideW: l.stride, strideH: l.stride, depthMultiplier: 1, dilationWFactor: 1, dilationHFactor: 1, fusedActivationFunction: l.act } });
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
        const w = add({ name: `${l.name}/w`, dtype: 'int8', shape: [l.outF, l.inF], data: ql.wq!, quant: wQuant(0) });
        ops.push({ type: 'FULLY_CONNECTED', inputs: [cur, w, bias(l.outF)], outputs: [out], options: { fusedActivationFunction: l.act, keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false } });
        break;
      }
    }
    cur = out;
  });
  const y = add({ name: 'output', dtype: 'float32', shape: tensors[cur].shape });
  ops.push({ type: 'DEQUANTIZE', options: {}, inputs: [cur], outputs: [y] });
  return { name: `${net.name}-int8`, tensors, ops, inputs: [x], outputs: [y] };
}

/** TFLite's QuantizeMultiplier (frexp, round, shift < −31 → 0). */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0) return { multiplier: 0, shift: 0 };
  let shift = Math.floor(Math.log2(real)) + 1;
  let m = real / 2 ** shift;
  if (m >= 1) {
    m /= 2;
    shift++;
  } else if (m < 0.5) {
    m *= 2;
    shift--;
  }
  let q = Math.round(m * 2 ** 31);
  if (q === 2 ** 31) {
    q /= 2;
    shift++;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: q, shift };
}
