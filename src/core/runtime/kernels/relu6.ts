/**
 * RELU6: out = min(max(0, x), 6).
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';

export const relu6Float32 = defineKernel<'RELU6', undefined>({
  opType: 'RELU6',
  flavour: 'float32',
  accepts: allFloat32,
  run({ inputs, outputs }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = Math.min(Math.max(v, 0), 6);
    }
  },
});
