/**
 * TANH: out = tanh(x), evaluated in double and rounded once to float32.
 */
import { UnsupportedError } from '../../errors';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import { applyLut, buildLut } from '../lut';
import type { QuantData } from '../quantized-util';
import { arithmeticFor, quantRange, sameQuantizedType, tensorQuant } from '../quantized-util';

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
export interface TanhQuantState {
  table: Int32Array;
  qmin: number;
}

const FIXED_OUTPUT: Record<string, [number, number]> = { int8: [1 / 128, 0], uint8: [1 / 128, 128] };

export const tanhQuantized = defineKernel<'TANH', TanhQuantState>({
  opType: 'TANH',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare({ label, inputs, outputs, rounding }) {
    const input = requireInput(label, inputs, 0, 'data');
    const qx = tensorQuant(label, input, 'input');
    const qy = tensorQuant(label, outputs[0], 'output');
    const [scale, zeroPoint] = FIXED_OUTPUT[input.dtype];
    if (qy.scale !== Math.fround(scale) || qy.zeroPoint !== zeroPoint) {
      throw new UnsupportedError(`${label} writes '${outputs[0].name}' with scale ${qy.scale} and zero point ${qy.zeroPoint}; TFLite's ${input.dtype} TANH needs scale ${scale} and zero point ${zeroPoint}.`);
    }
    const [qmin, qmax] = quantRange(label, input);
    const style = arithmeticFor(rounding, false, 'double-rounding') === 'xnnpack' ? 'xnnpack' : 'tflite';
    return { outputShapes: [[...input.shape]], state: { table: buildLut('tanh', qx, qy, qmin, qmax, style), qmin } };
  },
  run({ inputs, outputs }, { table, qmin }) {
    applyLut(table, qmin, inputs[0]!.data as QuantData, outputs[0].data as QuantData);
  },
});
