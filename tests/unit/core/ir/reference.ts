/**
 * A deliberately naive float64 evaluator for the few ops the transform tests use, written
 * independently of QuantLab's runtime and transforms, so that a transform can be checked by
 * running the graph before and after it.
 */

import type { FusedActivation, Graph, Padding } from '../../../../src/core/ir/types';

function act(v: number, a: FusedActivation): number {
  if (a === 'RELU') return Math.max(0, v);
  if (a === 'RELU6') return Math.min(6, Math.max(0, v));
  if (a === 'RELU_N1_TO_1') return Math.min(1, Math.max(-1, v));
  return v;
}

function half(bits: number): number {
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  const s = bits >> 15 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

function padBefore(inSize: number, outSize: number, k: number, stride: number, dilation: number, padding: Padding): number {
  if (padding === 'VALID') return 0;
  const effective = (k - 1) * dilation + 1;
  return Math.max(0, Math.floor(((outSize - 1) * stride + effective - inSize) / 2));
}

/** Runs `graph` on the given inputs (by graph input order); returns every tensor's values. */
export function evaluate(graph: Graph, inputs: Float64Array[]): Float64Array[] {
  const values: (Float64Array | undefined)[] = graph.tensors.map((t) => {
    if (!t.data) return undefined;
    if (t.dtype === 'float16') return Float64Array.from(t.data as Uint16Array, half);
    return Float64Array.from(t.data as Float32Array);
  });
  graph.inputs.forEach((t, i) => (values[t] = inputs[i]));
  const get = (t: number) => {
    const v = values[t];
    if (!v) throw new Error(`reference: tensor ${t} has no value yet`);
    return v;
  };
  for (const op of graph.ops) {
    const out = graph.tensors[op.outputs[0]];
    const y = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
    switch (op.type) {
      case 'DEQUANTIZE':
        y.set(get(op.inputs[0]));
        break;
      case 'RELU':
        get(op.inputs[0]).forEach((v, i) => (y[i] = Math.max(0, v)));
        break;
      case 'ADD':
      case 'MUL': {
        const a = get(op.inputs[0]);
        const b = get(op.inputs[1]);
        // Broadcast only what the tests need: equal sizes, a scalar, or a per-last-axis vector.
        for (let i = 0; i < y.length; i++) {
          const av = a.length === y.length ? a[i] : a[i % a.length];
          const bv = b.length === y.length ? b[i] : b[i % b.length];
          y[i] = act(op.type === 'ADD' ? av + bv : av * bv, op.options.fusedActivationFunction);
        }
        break;
      }
      case 'FULLY_CONNECTED': {
        const x = get(op.inputs[0]);
        const w = get(op.inputs[1]);
        const wShape = graph.tensors[op.inputs[1]].shape;
        const [units, depth] = wShape;
        const bias = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? get(op.inputs[2]) : undefined;
        const rows = x.length / depth;
        for (let r = 0; r < rows; r++)
          for (let u = 0; u < units; u++) {
            let s = bias ? bias[u] : 0;
            for (let d = 0; d < depth; d++) s += x[r * depth + d] * w[u * depth + d];
            y[r * units + u] = act(s, op.options.fusedActivationFunction);
          }
        break;
      }
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D': {
        const x = get(op.inputs[0]);
        const w = get(op.inputs[1]);
        const [n, h, wd, c] = graph.tensors[op.inputs[0]].shape;
        const wShape = graph.tensors[op.inputs[1]].shape;
        const [, oh, ow, oc] = out.shape;
        const kh = wShape[1];
        const kw = wShape[2];
        const o = op.options;
        const bias = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? get(op.inputs[2]) : undefined;
        const pt = padBefore(h, oh, kh, o.strideH, o.dilationHFactor, o.padding);
        const pl = padBefore(wd, ow, kw, o.strideW, o.dilationWFactor, o.padding);
        for (let b = 0; b < n; b++)
          for (let yy = 0; yy < oh; yy++)
            for (let xx = 0; xx < ow; xx++)
              for (let k = 0; k < oc; k++) {
                let s = bias ? bias[k] : 0;
                for (let i = 0; i < kh; i++)
                  for (let j = 0; j < kw; j++) {
                    const iy = yy * o.strideH - pt + i * o.dilationHFactor;
                    const ix = xx * o.strideW - pl + j * o.dilationWFactor;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                    if (op.type === 'CONV_2D') {
                      for (let ci = 0; ci < c; ci++) s += x[((b * h + iy) * wd + ix) * c + ci] * w[((k * kh + i) * kw + j) * c + ci];
                    } else {
                      const ci = Math.floor(k / (oc / c));
                      s += x[((b * h + iy) * wd + ix) * c + ci] * w[(i * kw + j) * oc + k];
                    }
                  }
                y[((b * oh + yy) * ow + xx) * oc + k] = act(s, o.fusedActivationFunction);
              }
        break;
      }
      default:
        throw new Error(`reference: no ${op.type}`);
    }
    values[op.outputs[0]] = y;
  }
  return values.map((v) => v ?? new Float64Array(0));
}
