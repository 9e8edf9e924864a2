/** LEAKY_RELU: out = x > 0 ? x : α·x (α a float32 option). */
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { QuantizedLeakyReluState } from '../quantized-activation';
import { prepareQuantizedLeakyRelu, runQuantizedLeakyRelu } from '../quantized-activation';
import type { QuantData } from '../quantized-util';
import { sameQuantizedType } from '../quantized-util';

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

// ---- integer flavour ---------------------------------------------------------------------

/** LEAKY_RELU on int8 / uint8: two multipliers, one per sign (../quantized-activation.ts). */
export const leakyReluQuantized = defineKernel<'LEAKY_RELU', QuantizedLeakyReluState>({
  opType: 'LEAKY_RELU',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare({ op, label, inputs, outputs, rounding }) {
    const input = requireInput(label, inputs, 0, 'data');
    return { outputShapes: [[...input.shape]], state: prepareQuantizedLeakyRelu(label, input, outputs[0], op.options.alpha, rounding) };
  },
  run({ inputs, outputs }, s) {
    runQuantizedLeakyRelu(s, inputs[0]!.data as QuantData, outputs[0].data as QuantData);
  },
});
