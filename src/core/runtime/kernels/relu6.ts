/**
 * RELU6: out = min(max(0, x), 6).
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { QuantizedReluState } from '../quantized-activation';
import { prepareQuantizedRelu, runQuantizedRelu } from '../quantized-activation';
import type { QuantData } from '../quantized-util';
import { sameQuantizedType } from '../quantized-util';

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

// ---- integer flavour ---------------------------------------------------------------------

/** RELU6 on int8 / uint8: a requantization clamped to the quantized range (../quantized-activation.ts). */
export const relu6Quantized = defineKernel<'RELU6', QuantizedReluState>({
  opType: 'RELU6',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare({ label, inputs, outputs, rounding }) {
    const input = requireInput(label, inputs, 0, 'data');
    return { outputShapes: [[...input.shape]], state: prepareQuantizedRelu(label, input, outputs[0], 0, 6, rounding) };
  },
  run({ inputs, outputs }, s) {
    runQuantizedRelu(s, inputs[0]!.data as QuantData, outputs[0].data as QuantData);
  },
});
