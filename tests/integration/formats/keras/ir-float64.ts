/**
 * An independent float64 forward pass over an IR graph, for the importer tests: it reads the
 * IR contract only (NHWC, CONV_2D weights OHWI, DEPTHWISE_CONV_2D [1, H, W, C·M],
 * FULLY_CONNECTED [out, in]), written from the TFLite op definitions, and shares no code with
 * the importers or the runtime. Slow and simple on purpose; covers the ops the Keras mapping
 * emits.
 */
import type { FusedActivation, Graph, Op, Padding } from '../../../../src/core/ir/types';

export interface F64Tensor {
  shape: number[];
  data: Float64Array;
}

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function act(v: number, f: FusedActivation): number {
  switch (f) {
    case 'NONE':
      return v;
    case 'RELU':
      return v < 0 ? 0 : v;
    case 'RELU6':
      return v < 0 ? 0 : v > 6 ? 6 : v;
    case 'RELU_N1_TO_1':
      return v < -1 ? -1 : v > 1 ? 1 : v;
    case 'TANH':
      return Math.tanh(v);
    default:
      throw new Error(`fused activation ${f} not in the reference`);
  }
}

/** TFLite's padding arithmetic: total padding split with the extra pixel at the end. */
function pads(inSize: number, k: number, stride: number, dil: number, padding: Padding): { out: number; before: number } {
  const eff = (k - 1) * dil + 1;
  if (padding === 'VALID') return { out: Math.floor((inSize - eff) / stride) + 1, before: 0 };
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + eff - inSize);
  return { out, before: Math.floor(total / 2) };
}

export function runGraphF64(graph: Graph, inputs: F64Tensor[]): F64Tensor[] {
  const values = new Map<number, F64Tensor>();
  graph.inputs.forEach((t, i) => values.set(t, inputs[i]));
  const get = (t: number): F64Tensor => {
    const v = values.get(t);
    if (v) return v;
    const tensor = graph.tensors[t];
    if (!tensor.data) throw new Error(`tensor '${tensor.name}' has no value`);
    if (tensor.data instanceof BigInt64Array || tensor.data instanceof Uint16Array) throw new Error('dtype not in the reference');
    const c = { shape: tensor.shape, data: Float64Array.from(tensor.data as ArrayLike<number>) };
    values.set(t, c);
    return c;
  };
  for (const op of graph.ops) {
    const out = runOp(op, op.inputs.map((t) => (t < 0 ? undefined : get(t))));
    values.set(op.outputs[0], out);
  }
  return graph.outputs.map(get);
}

function runOp(op: Op, ins: (F64Tensor | undefined)[]): F64Tensor {
  const x = ins[0] as F64Tensor;
  switch (op.type) {
    case 'CONV_2D': {
      const o = op.options;
      const w = ins[1] as F64Tensor;
      const b = ins[2];
      const [n, h, wd, cin] = x.shape;
      const [cout, kh, kw] = w.shape;
      const py = pads(h, kh, o.strideH, o.dilationHFactor, o.padding);
      const px = pads(wd, kw, o.strideW, o.dilationWFactor, o.padding);
      const res = new Float64Array(n * py.out * px.out * cout);
      const xd = x.data;
      const wdata = w.data;
      const K = kh * kw * cin;
      const patch = new Float64Array(K);
      for (let bi = 0; bi < n; bi++)
        for (let oy = 0; oy < py.out; oy++)
          for (let ox = 0; ox < px.out; ox++) {
            // im2col row: the receptive field in (ky, kx, c) order, zeros outside the image
            patch.fill(0);
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * o.strideH - py.before + ky * o.dilationHFactor;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * o.strideW - px.before + kx * o.dilationWFactor;
                if (ix < 0 || ix >= wd) continue;
                const xi = ((bi * h + iy) * wd + ix) * cin;
                patch.set(xd.subarray(xi, xi + cin), (ky * kw + kx) * cin);
              }
            }
            const base = ((bi * py.out + oy) * px.out + ox) * cout;
            for (let co = 0; co < cout; co++) {
              let s = 0;
              const wi = co * K;
              for (let k = 0; k < K; k++) s += patch[k] * wdata[wi + k];
              res[base + co] = act(s + (b ? b.data[co] : 0), o.fusedActivationFunction);
            }
          }
      return { shape: [n, py.out, px.out, cout], data: res };
    }
    case 'DEPTHWISE_CONV_2D': {
      const o = op.options;
      const w = ins[1] as F64Tensor;
      const b = ins[2];
      const [n, h, wd, cin] = x.shape;
      const [, kh, kw, cout] = w.shape;
      const m = o.depthMultiplier;
      const py = pads(h, kh, o.strideH, o.dilationHFactor, o.padding);
      const px = pads(wd, kw, o.strideW, o.dilationWFactor, o.padding);
      const res = new Float64Array(n * py.out * px.out * cout);
      for (let bi = 0; bi < n; bi++)
        for (let oy = 0; oy < py.out; oy++)
          for (let ox = 0; ox < px.out; ox++)
            for (let co = 0; co < cout; co++) {
              const ci = Math.floor(co / m);
              let s = b ? b.data[co] : 0;
              for (let ky = 0; ky < kh; ky++) {
                const iy = oy * o.strideH - py.before + ky * o.dilationHFactor;
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < kw; kx++) {
                  const ix = ox * o.strideW - px.before + kx * o.dilationWFactor;
                  if (ix < 0 || ix >= wd) continue;
                  s += x.data[((bi * h + iy) * wd + ix) * cin + ci] * w.data[(ky * kw + kx) * cout + co];
                }
              }
              res[((bi * py.out + oy) * px.out + ox) * cout + co] = act(s, o.fusedActivationFunction);
            }
      return { shape: [n, py.out, px.out, cout], data: res };
    }
    case 'FULLY_CONNECTED': {
      const w = ins[1] as F64Tensor;
      const b = ins[2];
      const [units, cin] = w.shape;
      const rows = x.data.length / cin;
      const res = new Float64Array(rows * units);
      for (let r = 0; r < rows; r++)
        for (let u = 0; u < units; u++) {
          let s = b ? b.data[u] : 0;
          for (let c = 0; c < cin; c++) s += x.data[r * cin + c] * w.data[u * cin + c];
          res[r * units + u] = act(s, op.options.fusedActivationFunction);
        }
      const shape = op.options.keepNumDims ? [...x.shape.slice(0, -1), units] : [rows, units];
      return { shape, data: res };
    }
    case 'MAX_POOL_2D':
    case 'AVERAGE_POOL_2D': {
      const o = op.options;
      const [n, h, wd, c] = x.shape;
      const py = pads(h, o.filterHeight, o.strideH, 1, o.padding);
      const px = pads(wd, o.filterWidth, o.strideW, 1, o.padding);
      const res = new Float64Array(n * py.out * px.out * c);
      for (let bi = 0; bi < n; bi++)
        for (let oy = 0; oy < py.out; oy++)
          for (let ox = 0; ox < px.out; ox++)
            for (let ch = 0; ch < c; ch++) {
              let s = op.type === 'MAX_POOL_2D' ? -Infinity : 0;
              let count = 0;
              for (let ky = 0; ky < o.filterHeight; ky++) {
                const iy = oy * o.strideH - py.before + ky;
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < o.filterWidth; kx++) {
                  const ix = ox * o.strideW - px.before + kx;
                  if (ix < 0 || ix >= wd) continue;
                  const v = x.data[((bi * h + iy) * wd + ix) * c + ch];
                  s = op.type === 'MAX_POOL_2D' ? Math.max(s, v) : s + v;
                  count++;
                }
              }
              res[((bi * py.out + oy) * px.out + ox) * c + ch] = act(op.type === 'MAX_POOL_2D' ? s : s / count, o.fusedActivationFunction);
            }
      return { shape: [n, py.out, px.out, c], data: res };
    }
    case 'RESHAPE': {
      const target = op.options.newShape.slice();
      const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const i = target.indexOf(-1);
      if (i >= 0) target[i] = x.data.length / known;
      return { shape: target, data: x.data };
    }
    case 'SOFTMAX': {
      const c = x.shape[x.shape.length - 1];
      const res = new Float64Array(x.data.length);
      for (let r = 0; r < x.data.length / c; r++) {
        let mx = -Infinity;
        for (let i = 0; i < c; i++) mx = Math.max(mx, x.data[r * c + i]);
        let sum = 0;
        for (let i = 0; i < c; i++) sum += (res[r * c + i] = Math.exp(op.options.beta * (x.data[r * c + i] - mx)));
        for (let i = 0; i < c; i++) res[r * c + i] /= sum;
      }
      return { shape: x.shape, data: res };
    }
    case 'RELU':
      return { shape: x.shape, data: x.data.map((v) => Math.max(0, v)) };
    case 'RELU6':
      return { shape: x.shape, data: x.data.map((v) => Math.min(6, Math.max(0, v))) };
    case 'LOGISTIC':
      return { shape: x.shape, data: x.data.map((v) => 1 / (1 + Math.exp(-v))) };
    case 'TANH':
      return { shape: x.shape, data: x.data.map(Math.tanh) };
    case 'HARD_SWISH':
      return { shape: x.shape, data: x.data.map((v) => (v * Math.min(6, Math.max(0, v + 3))) / 6) };
    case 'LEAKY_RELU': {
      const a = op.options.alpha;
      return { shape: x.shape, data: x.data.map((v) => (v < 0 ? a * v : v)) };
    }
    case 'ADD':
    case 'SUB':
    case 'MUL': {
      const y = ins[1] as F64Tensor;
      const f = op.type === 'ADD' ? (a: number, b: number) => a + b : op.type === 'SUB' ? (a: number, b: number) => a - b : (a: number, b: number) => a * b;
      return broadcast(x, y, f, op.options.fusedActivationFunction);
    }
    case 'CONCATENATION': {
      const parts = ins as F64Tensor[];
      const axis = op.options.axis < 0 ? x.shape.length + op.options.axis : op.options.axis;
      const outer = size(x.shape.slice(0, axis));
      const inners = parts.map((p) => size(p.shape.slice(axis)));
      const total = inners.reduce((a, b) => a + b, 0);
      const res = new Float64Array(outer * total);
      for (let o = 0; o < outer; o++) {
        let off = 0;
        parts.forEach((p, k) => {
          res.set(p.data.subarray(o * inners[k], (o + 1) * inners[k]), o * total + off);
          off += inners[k];
        });
      }
      const shape = x.shape.slice();
      shape[axis] = parts.reduce((a, p) => a + p.shape[axis], 0);
      return { shape, data: res.map((v) => act(v, op.options.fusedActivationFunction)) };
    }
    case 'PAD': {
      const p = (ins[1] as F64Tensor).data;
      const [n, h, w, c] = x.shape;
      const [oh, ow] = [h + p[2] + p[3], w + p[4] + p[5]];
      const res = new Float64Array(n * oh * ow * c);
      for (let b = 0; b < n; b++)
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < w; xx++)
            for (let ch = 0; ch < c; ch++) res[((b * oh + y + p[2]) * ow + xx + p[4]) * c + ch] = x.data[((b * h + y) * w + xx) * c + ch];
      return { shape: [n, oh, ow, c], data: res };
    }
    case 'MEAN': {
      const axes = Array.from((ins[1] as F64Tensor).data);
      if (axes.join() !== '1,2') throw new Error('MEAN reference covers axes 1,2');
      const [n, h, w, c] = x.shape;
      const res = new Float64Array(n * c);
      for (let b = 0; b < n; b++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let i = 0; i < h * w; i++) s += x.data[(b * h * w + i) * c + ch];
          res[b * c + ch] = s / (h * w);
        }
      return { shape: op.options.keepDims ? [n, 1, 1, c] : [n, c], data: res };
    }
    case 'RESIZE_NEAREST_NEIGHBOR':
    case 'RESIZE_BILINEAR': {
      const [oh, ow] = Array.from((ins[1] as F64Tensor).data);
      const [n, h, w, c] = x.shape;
      const res = new Float64Array(n * oh * ow * c);
      const { alignCorners, halfPixelCenters } = op.options;
      const sy = alignCorners && oh > 1 ? (h - 1) / (oh - 1) : h / oh;
      const sx = alignCorners && ow > 1 ? (w - 1) / (ow - 1) : w / ow;
      for (let b = 0; b < n; b++)
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++)
            for (let ch = 0; ch < c; ch++) {
              const at = (yy: number, xv: number): number => x.data[((b * h + yy) * w + xv) * c + ch];
              let v: number;
              if (op.type === 'RESIZE_NEAREST_NEIGHBOR') {
                const off = halfPixelCenters ? 0.5 : 0;
                const r = (q: number, s: number, lim: number): number => Math.min(lim - 1, alignCorners ? Math.round(q * s) : Math.floor((q + off) * s));
                v = at(r(y, sy, h), r(xx, sx, w));
              } else {
                const fy = halfPixelCenters ? (y + 0.5) * sy - 0.5 : y * sy;
                const fx = halfPixelCenters ? (xx + 0.5) * sx - 0.5 : xx * sx;
                const y0 = Math.max(0, Math.floor(fy));
                const x0 = Math.max(0, Math.floor(fx));
                const y1 = Math.min(h - 1, Math.ceil(fy));
                const x1 = Math.min(w - 1, Math.ceil(fx));
                const dy = fy - Math.floor(fy);
                const dx = fx - Math.floor(fx);
                v = at(y0, x0) * (1 - dy) * (1 - dx) + at(y0, x1) * (1 - dy) * dx + at(y1, x0) * dy * (1 - dx) + at(y1, x1) * dy * dx;
              }
              res[((b * oh + y) * ow + xx) * c + ch] = v;
            }
      return { shape: [n, oh, ow, c], data: res };
    }
    default:
      throw new Error(`op ${op.type} not in the float64 reference`);
  }
}

function broadcast(x: F64Tensor, y: F64Tensor, f: (a: number, b: number) => number, fused: FusedActivation): F64Tensor {
  const rank = Math.max(x.shape.length, y.shape.length);
  const xs = [...Array(rank - x.shape.length).fill(1), ...x.shape];
  const ys = [...Array(rank - y.shape.length).fill(1), ...y.shape];
  const shape = xs.map((d, i) => Math.max(d, ys[i]));
  const n = size(shape);
  const res = new Float64Array(n);
  const idx = new Array(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let r = i;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    let xi = 0;
    let yi = 0;
    for (let d = 0; d < rank; d++) {
      xi = xi * xs[d] + (xs[d] === 1 ? 0 : idx[d]);
      yi = yi * ys[d] + (ys[d] === 1 ? 0 : idx[d]);
    }
    res[i] = act(f(x.data[xi], y.data[yi]), fused);
  }
  return { shape, data: res };
}
