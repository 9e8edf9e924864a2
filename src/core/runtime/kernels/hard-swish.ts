/**
 * HARD_SWISH: out = x · relu6(x + 3) / 6, with float32 rounding after each step as TFLite's
 * reference kernel computes it.
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';

export const hardSwishFloat32 = defineKernel<'HARD_SWISH', undefined>({
  opType: 'HARD_SWISH',
  flavour: 'float32',
  accepts: allFloat32,
  run({ inputs, outputs }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    const fround = Math.fround;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const t = fround(v + 3);
      const r = t < 0 ? 0 : t > 6 ? 6 : t;
      y[i] = fround(v * r) / 6;
    }
  },
});
