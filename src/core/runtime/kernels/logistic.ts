/**
 * LOGISTIC: out = 1 / (1 + e^(−x)), evaluated in double and rounded once to float32.
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';
import { applyLut, prepareLutKernel, type LutKernelState } from '../lut';
import type { QuantData } from '../quantized-util';
import { sameQuantizedType } from '../quantized-util';

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

// ---- integer flavour ---------------------------------------------------------------------

/**
 * LOGISTIC on int8 / uint8 through a 256-entry table built at prepare time (../lut.ts): XNNPACK's sigmoid table in rounding 'xnnpack' (the delegate takes int8 and uint8 LOGISTIC), TFLite's builtin table otherwise.
 * The gemmlowp fixed-point form of TFLite's reference kernel is not reproduced: rounding
 * 'double-rounding' and 'single-rounding' give the builtin kernel's table (no multiplier is
 * rounded in it). TFLite fixes the output parameters (int8: scale 1/256, zero point -128).
 */
export type LogisticQuantState = LutKernelState;

const FIXED_OUTPUT: Record<string, [number, number]> = { int8: [1 / 256, -128], uint8: [1 / 256, 0] };

export const logisticQuantized = defineKernel<'LOGISTIC', LogisticQuantState>({
  opType: 'LOGISTIC',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare(ctx) {
    return prepareLutKernel('logistic', 'LOGISTIC', FIXED_OUTPUT, true, ctx);
  },
  run({ inputs, outputs }, { table, qmin }) {
    applyLut(table, qmin, inputs[0]!.data as QuantData, outputs[0].data as QuantData);
  },
});
