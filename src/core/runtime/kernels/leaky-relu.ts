/** LEAKY_RELU: out = x > 0 ? x : α·x (α a float32 option). */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';

export interface LeakyReluFloatState {
  alpha: number;
}

export const leakyReluFloat32 = defineKernel<'LEAKY_RELU', LeakyReluFloatState>({
  opType: 'LEAKY_RELU',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, inputs }) {
    return { outputShapes: [[...inputs[0]!.shape]], state: { alpha: Math.fround(op.options.alpha) } };
  },
  run({ inputs, outputs }, { alpha }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const abs = Math.abs(v);
      // max(v, 0) + α·min(v, 0), branch-free; one term is always 0, so it rounds once
      y[i] = (v + abs) * 0.5 + (v - abs) * 0.5 * alpha;
    }
  },
});
