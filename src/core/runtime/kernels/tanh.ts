/**
 * TANH: out = tanh(x), evaluated in double and rounded once to float32.
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';

export const tanhFloat32 = defineKernel<'TANH', undefined>({
  opType: 'TANH',
  flavour: 'float32',
  accepts: allFloat32,
  run({ inputs, outputs }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = Math.tanh(v);
    }
  },
});
