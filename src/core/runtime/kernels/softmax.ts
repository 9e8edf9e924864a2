/**
 * SOFTMAX over the last axis with inverse temperature β:
 *   out_i = e^{β(x_i − max x)} / Σ_j e^{β(x_j − max x)}
 * evaluated in double and rounded once to float32.
 */
import { UnsupportedError } from '../../errors';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';

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
