/**
 * LOGISTIC: out = 1 / (1 + e^(−x)), evaluated in double and rounded once to float32.
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';

export const logisticFloat32 = defineKernel<'LOGISTIC', undefined>({
  opType: 'LOGISTIC',
  flavour: 'float32',
  accepts: allFloat32,
  run({ inputs, outputs }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = 1 / (1 + Math.exp(-v));
    }
  },
});
