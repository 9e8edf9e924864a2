/**
 * ONNX twins of the benchmark nets (NCHW, batch dimension symbolic):
 *  - float32: Conv / depthwise Conv (group = C) / Relu / Clip(0, 6) / MaxPool / GlobalAveragePool /
 *    Flatten / Gemm, the same weights as the IR graph;
 *  - QDQ: QuantizeLinear → DequantizeLinear around every activation, int8 per-channel weights
 *    (axis 0, zero point 0) and int32 biases behind DequantizeLinear, the parameters of
 *    bench/quantize.ts. Activations int8 (TFLite's scheme) or uint8 (zero point + 128: the
 *    uint8×int8 path onnxruntime has its fastest kernels for). ORT fuses these into QLinearConv
 *    etc.; `ortNodeTypes` reports what it actually ran.
 */
import onnxProto from 'onnx-proto';
import type { Layer, NetSpec } from './models';
import { layerShapes, pads } from './models';
import type { OnnxGraphSpec, OnnxInit, OnnxNode } from './onnx-writer';
import { encodeModel } from './onnx-writer';
import type { QLayer, QNet } from './quantize';

const { onnx } = onnxProto;

type Act = 'int8' | 'uint8';

/** OHWI → OIHW. */
function ohwiToOihw(w: ArrayLike<number>, o: number, kh: number, kw: number, c: number, out: Float32Array | Int8Array): void {
  for (let a = 0; a < o; a++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let k = 0; k < c; k++) out[((a * c + k) * kh + y) * kw + x] = w[((a * kh + y) * kw + x) * c + k];
}

/** Depthwise [kh][kw][C] → [C][1][kh][kw]. */
function dwToOihw(w: ArrayLike<number>, kh: number, kw: number, c: number, out: Float32Array | Int8Array): void {
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let k = 0; k < c; k++) out[(k * kh + y) * kw + x] = w[(y * kw + x) * c + k];
}

/** Dense [out][in] with `in` in NHWC flatten order → NCHW flatten order (c·H·W + h·W + w). */
function denseToNchwOrder(w: ArrayLike<number>, outF: number, h: number, wd: number, c: number, out: Float32Array | Int8Array): void {
  const inF = h * wd * c;
  for (let o = 0; o < outF; o++) for (let hw = 0; hw < h * wd; hw++) for (let k = 0; k < c; k++) out[o * inF + k * h * wd + hw] = w[o * inF + hw * c + k];
}

interface Builder {
  nodes: OnnxNode[];
  inits: OnnxInit[];
  n: number;
  name(prefix: string): string;
}

function builder(): Builder {
  const b: Builder = { nodes: [], inits: [], n: 0, name: (p) => `${p}_${b.n++}` };
  return b;
}

/** Emits one layer in float; `weight`/`bias` give the tensor names to use (plain or dequantized). */
function floatLayer(b: Builder, l: Layer, x: string, inShape: number[], weight: () => string, bias: () => string): string {
  const [h, w] = inShape;
  const y = b.name(l.name);
  switch (l.kind) {
    case 'conv':
    case 'dw': {
      const k = l.kind === 'conv' ? l.kH : l.k;
      const [t, le, bo, r] = pads(l.padding, h, w, k, l.stride);
      b.nodes.push({ op: 'Conv', inputs: [x, weight(), bias()], outputs: [y], attrs: { kernel_shape: [k, k], strides: [l.stride, l.stride], pads: [t, le, bo, r], group: l.kind === 'dw' ? l.channels : 1, dilations: [1, 1] } });
      return activation(b, l.act, y);
    }
    case 'maxpool':
      b.nodes.push({ op: 'MaxPool', inputs: [x], outputs: [y], attrs: { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride] } });
      return y;
    case 'avgpool':
      b.nodes.push({ op: 'GlobalAveragePool', inputs: [x], outputs: [y] });
      return y;
    case 'flatten':
      b.nodes.push({ op: 'Flatten', inputs: [x], outputs: [y], attrs: { axis: 1 } });
      return y;
    case 'dense':
      b.nodes.push({ op: 'Gemm', inputs: [x, weight(), bias()], outputs: [y], attrs: { transB: 1 } });
      return activation(b, l.act, y);
  }
}

function activation(b: Builder, act: string, x: string): string {
  if (act === 'NONE') return x;
  const y = b.name('act');
  if (act === 'RELU') b.nodes.push({ op: 'Relu', inputs: [x], outputs: [y] });
  else if (act === 'RELU6') {
    if (!b.inits.some((i) => i.name === 'six')) {
      b.inits.push({ name: 'zero', type: 'float32', dims: [], data: new Float32Array([0]) });
      b.inits.push({ name: 'six', type: 'float32', dims: [], data: new Float32Array([6]) });
    }
    b.nodes.push({ op: 'Clip', inputs: [x, 'zero', 'six'], outputs: [y] });
  } else throw new Error(`activation ${act}`);
  return y;
}

function weightsOnnxLayout(l: Layer, inShape: number[], w: Float32Array | Int8Array, make: (n: number) => Float32Array | Int8Array): { data: Float32Array | Int8Array; dims: number[] } {
  if (l.kind === 'conv') {
    const out = make(w.length);
    ohwiToOihw(w, l.outC, l.kH, l.kW, l.inC, out);
    return { data: out, dims: [l.outC, l.inC, l.kH, l.kW] };
  }
  if (l.kind === 'dw') {
    const out = make(w.length);
    dwToOihw(w, l.k, l.k, l.channels, out);
    return { data: out, dims: [l.channels, 1, l.k, l.k] };
  }
  if (l.kind === 'dense') {
    const out = make(w.length);
    if (inShape.length === 3 || inShape.length === 1) {
      // the dense input is the flatten of the previous NHWC tensor
      const [h, wd, c] = inShape.length === 3 ? inShape : [1, 1, inShape[0]];
      denseToNchwOrder(w, l.outF, h, wd, c, out);
    }
    return { data: out, dims: [l.outF, l.inF] };
  }
  throw new Error('no weights');
}

function io(net: NetSpec, outF: number): Pick<OnnxGraphSpec, 'inputs' | 'outputs'> {
  const [h, w, c] = net.inputShape;
  return { inputs: [{ name: 'input', type: 'float32', dims: [-1, c, h, w] }], outputs: [{ name: 'output', type: 'float32', dims: [-1, outF] }] };
}

/** The shape a dense layer's input had before flatten (for the weight reordering). */
function preFlattenShapes(net: NetSpec): number[][] {
  const shapes = layerShapes(net);
  return net.layers.map((l, i) => (l.kind === 'dense' && i >= 2 && net.layers[i - 1].kind === 'flatten' ? shapes[i - 2] : i > 0 ? shapes[i - 1] : [...net.inputShape]));
}

export function onnxFloat(net: NetSpec): Uint8Array {
  const b = builder();
  const shapes = layerShapes(net);
  const pre = preFlattenShapes(net);
  let x = 'input';
  let inShape: number[] = [...net.inputShape];
  net.layers.forEach((l, i) => {
    const weight = () => {
      const { data, dims } = weightsOnnxLayout(l, pre[i], (l as { weights: Float32Array }).weights, (n) => new Float32Array(n));
      const name = `${l.name}/w`;
      b.inits.push({ name, type: 'float32', dims, data });
      return name;
    };
    const bias = () => {
      const bb = (l as { bias: Float32Array }).bias;
      b.inits.push({ name: `${l.name}/b`, type: 'float32', dims: [bb.length], data: bb });
      return `${l.name}/b`;
    };
    x = floatLayer(b, l, x, inShape, weight, bias);
    inShape = shapes[i];
  });
  b.nodes.push({ op: 'Identity', inputs: [x], outputs: ['output'] });
  const last = shapes[shapes.length - 1];
  return encodeModel({ name: `${net.name}-float32`, ...io(net, last[0]), nodes: b.nodes, initializers: b.inits });
}

export function onnxQdq(q: QNet, act: Act): Uint8Array {
  const net = q.net;
  const b = builder();
  const shapes = layerShapes(net);
  const pre = preFlattenShapes(net);
  const shift = act === 'uint8' ? 128 : 0;
  const qparams = (name: string, scale: number, zp: number) => {
    if (!b.inits.some((i) => i.name === `${name}/s`)) {
      b.inits.push({ name: `${name}/s`, type: 'float32', dims: [], data: new Float32Array([scale]) });
      b.inits.push({ name: `${name}/z`, type: act, dims: [], data: act === 'int8' ? new Int8Array([zp]) : new Uint8Array([zp + shift]) });
    }
    return [`${name}/s`, `${name}/z`];
  };
  /** Q then DQ of a float tensor with these parameters. */
  const qdq = (x: string, name: string, scale: number, zp: number) => {
    const [s, z] = qparams(name, scale, zp);
    const xq = b.name(`${name}/q`);
    const xd = b.name(`${name}/dq`);
    b.nodes.push({ op: 'QuantizeLinear', inputs: [x, s, z], outputs: [xq] });
    b.nodes.push({ op: 'DequantizeLinear', inputs: [xq, s, z], outputs: [xd] });
    return xd;
  };
  let x = qdq('input', 'input', q.inQ.scale, q.inQ.zeroPoint);
  let inShape: number[] = [...net.inputShape];
  q.layers.forEach((ql: QLayer, i) => {
    const l = ql.layer;
    const weight = () => {
      const { data, dims } = weightsOnnxLayout(l, pre[i], ql.wq!, (n) => new Int8Array(n));
      const name = `${l.name}/wq`;
      const o = dims[0];
      b.inits.push({ name, type: 'int8', dims, data });
      b.inits.push({ name: `${name}/s`, type: 'float32', dims: [o], data: Float32Array.from(ql.wScale!) });
      b.inits.push({ name: `${name}/z`, type: 'int8', dims: [o], data: new Int8Array(o) });
      const out = `${l.name}/w`;
      b.nodes.push({ op: 'DequantizeLinear', inputs: [name, `${name}/s`, `${name}/z`], outputs: [out], attrs: { axis: 0 } });
      return out;
    };
    const bias = () => {
      const o = ql.bq!.length;
      const name = `${l.name}/bq`;
      b.inits.push({ name, type: 'int32', dims: [o], data: ql.bq! });
      b.inits.push({ name: `${name}/s`, type: 'float32', dims: [o], data: Float32Array.from(ql.wScale!.map((s) => ql.inQ.scale * s)) });
      b.inits.push({ name: `${name}/z`, type: 'int32', dims: [o], data: new Int32Array(o) });
      const out = `${l.name}/b`;
      b.nodes.push({ op: 'DequantizeLinear', inputs: [name, `${name}/s`, `${name}/z`], outputs: [out], attrs: { axis: 0 } });
      return out;
    };
    const y = floatLayer(b, l, x, inShape, weight, bias);
    x = qdq(y, l.name, ql.outQ.scale, ql.outQ.zeroPoint);
    inShape = shapes[i];
  });
  b.nodes.push({ op: 'Identity', inputs: [x], outputs: ['output'] });
  const last = shapes[shapes.length - 1];
  return encodeModel({ name: `${net.name}-qdq-${act}`, ...io(net, last[0]), nodes: b.nodes, initializers: b.inits });
}

/** Op types (with counts) of an ONNX model file, e.g. ORT's optimized graph. */
export function nodeTypes(bytes: Uint8Array): Record<string, number> {
  const m = onnx.ModelProto.decode(bytes);
  const counts: Record<string, number> = {};
  for (const n of m.graph?.node ?? []) counts[n.opType ?? '?'] = (counts[n.opType ?? '?'] ?? 0) + 1;
  return counts;
}
