/**
 * SOFTMAX over the last axis with inverse temperature β:
 *   out_i = e^{β(x_i − max x)} / Σ_j e^{β(x_j − max x)}
 * evaluated in double and rounded once to float32.
 */
import { UnsupportedError } from '../../errors';
import { roundHalfAwayFromZero } from '../../quant/fixed-point';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { QuantData } from '../quantized-util';
import { quantRange, sameQuantizedType, tensorQuant } from '../quantized-util';

export interface SoftmaxFloatState {
  beta: number;
  depth: number;
  exps: Float64Array;
}

export const softmaxFloat32 = defineKernel<'SOFTMAX', SoftmaxFloatState>({
  opType: 'SOFTMAX',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    const x = requireInput(label, inputs, 0, 'data');
    if (x.shape.length === 0) throw new UnsupportedError(`${label} needs an input of rank 1 or more, not a scalar.`);
    const depth = x.shape[x.shape.length - 1];
    return { outputShapes: [[...x.shape]], state: { beta: Math.fround(op.options.beta), depth, exps: new Float64Array(depth) } };
  },
  run({ inputs, outputs }, { beta, depth, exps }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    for (let base = 0; base < x.length; base += depth) {
      let max = -Infinity;
      for (let i = 0; i < depth; i++) if (x[base + i] > max) max = x[base + i];
      let sum = 0;
      for (let i = 0; i < depth; i++) {
        const e = Math.exp((x[base + i] - max) * beta);
        exps[i] = e;
        sum += e;
      }
      for (let i = 0; i < depth; i++) y[base + i] = exps[i] / sum;
    }
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * SOFTMAX on int8 / uint8 input, as TFLite's builtin (optimized) kernel computes it (the
 * delegate takes float SOFTMAX only):
 *   e[d] = expf(fl(fl(−S_x·β)·d)) for d = max − x in [0, 255], a table built at prepare time;
 *   per row: sum = Σ e (float32, in order), inv = fl(1 / fl(sum·S_y)), p = fl(e·inv),
 *   y = clamp(Z_y + round_half_away(p))  (uint8 output: (int) fl(p + 0.5)).
 * TFLite fixes the output to scale 1/256 with zero point −128 (int8) or 0 (uint8).
 */
export interface SoftmaxQuantState {
  depth: number;
  table: Float64Array;
  outScale: number;
  zy: number;
  qmin: number;
  qmax: number;
  uint8: boolean;
}

export const softmaxQuantized = defineKernel<'SOFTMAX', SoftmaxQuantState>({
  opType: 'SOFTMAX',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare({ op, label, inputs, outputs }) {
    const x = requireInput(label, inputs, 0, 'data');
    if (x.shape.length === 0) throw new UnsupportedError(`${label} needs an input of rank 1 or more, not a scalar.`);
    const qx = tensorQuant(label, x, 'input');
    const qy = tensorQuant(label, outputs[0], 'output');
    const uint8 = x.dtype === 'uint8';
    const wantZp = uint8 ? 0 : -128;
    if (qy.scale !== 1 / 256 || qy.zeroPoint !== wantZp) {
      throw new UnsupportedError(`${label} writes '${outputs[0].name}' with scale ${qy.scale} and zero point ${qy.zeroPoint}; TFLite's ${x.dtype} SOFTMAX needs scale 0.00390625 and zero point ${wantZp}.`);
    }
    const f = Math.fround;
    const scale = f(-qx.scale * f(op.options.beta));
    const table = new Float64Array(256);
    for (let d = 0; d < 256; d++) table[d] = f(Math.exp(f(scale * d)));
    const [qmin, qmax] = quantRange(label, x);
    return { outputShapes: [[...x.shape]], state: { depth: x.shape[x.shape.length - 1], table, outScale: qy.scale, zy: qy.zeroPoint, qmin, qmax, uint8 } };
  },
  run({ inputs, outputs }, s) {
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    const { depth, table, outScale, zy, qmin, qmax, uint8 } = s;
    const f = Math.fround;
    for (let base = 0; base < x.length; base += depth) {
      let max = qmin;
      for (let i = 0; i < depth; i++) if (x[base + i] > max) max = x[base + i];
      let sum = 0;
      for (let i = 0; i < depth; i++) sum = f(sum + table[max - x[base + i]]);
      const inv = f(1 / f(sum * outScale));
      for (let i = 0; i < depth; i++) {
        const p = f(table[max - x[base + i]] * inv);
        const q = uint8 ? Math.trunc(f(p + 0.5)) : roundHalfAwayFromZero(p);
        const v = q + zy;
        y[base + i] = v < qmin ? qmin : v > qmax ? qmax : v;
      }
    }
  },
});
