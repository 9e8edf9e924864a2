/**
 * RELU: out = max(0, x).
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';

export const reluFloat32 = defineKernel<'RELU', undefined>({
  opType: 'RELU',
  flavour: 'float32',
  accepts: allFloat32,
  run({ inputs, outputs }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = (v + Math.abs(v)) * 0.5; // max(v, 0) without a data-dependent branch
    }
  },
});
