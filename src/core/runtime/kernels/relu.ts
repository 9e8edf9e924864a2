/**
 * RELU: out = max(0, x).
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { QuantizedReluState } from '../quantized-activation';
import { prepareQuantizedRelu, runQuantizedRelu } from '../quantized-activation';
import type { QuantData } from '../quantized-util';
import { sameQuantizedType } from '../quantized-util';

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

// ---- integer flavour ---------------------------------------------------------------------

/** RELU on int8 / uint8: a requantization clamped to the quantized range (../quantized-activation.ts). */
export const reluQuantized = defineKernel<'RELU', QuantizedReluState>({
  opType: 'RELU',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare({ label, inputs, outputs, rounding }) {
    const input = requireInput(label, inputs, 0, 'data');
    return { outputShapes: [[...input.shape]], state: prepareQuantizedRelu(label, input, outputs[0], 0, Infinity, rounding) };
  },
  run({ inputs, outputs }, s) {
    runQuantizedRelu(s, inputs[0]!.data as QuantData, outputs[0].data as QuantData);
  },
});
