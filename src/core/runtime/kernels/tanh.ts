/**
 * TANH: out = tanh(x), evaluated in double and rounded once to float32.
 */
import { defineKernel } from '../kernel';
import { allFloat32, f32 } from '../kernel-util';
import { applyLut, prepareLutKernel, type LutKernelState } from '../lut';
import type { QuantData } from '../quantized-util';
import { sameQuantizedType } from '../quantized-util';

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

// ---- integer flavour ---------------------------------------------------------------------

/**
 * TANH on int8 / uint8 through a 256-entry table built at prepare time (../lut.ts): TFLite's builtin table in every mode (the delegate does not take TANH).
 * The gemmlowp fixed-point form of TFLite's reference kernel is not reproduced: rounding
 * 'double-rounding' and 'single-rounding' give the builtin kernel's table (no multiplier is
 * rounded in it). TFLite fixes the output parameters (int8: scale 1/128, zero point 0).
 */
export type TanhQuantState = LutKernelState;

const FIXED_OUTPUT: Record<string, [number, number]> = { int8: [1 / 128, 0], uint8: [1 / 128, 128] };

export const tanhQuantized = defineKernel<'TANH', TanhQuantState>({
  opType: 'TANH',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare(ctx) {
    return prepareLutKernel('tanh', 'TANH', FIXED_OUTPUT, false, ctx);
  },
  run({ inputs, outputs }, { table, qmin }) {
    applyLut(table, qmin, inputs[0]!.data as QuantData, outputs[0].data as QuantData);
  },
});
