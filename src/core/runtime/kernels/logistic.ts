/**
 * LOGISTIC: out = 1 / (1 + e^(−x)), evaluated in double and rounded once to float32.
 */
import { UnsupportedError } from '../../errors';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import { applyLut, buildLut } from '../lut';
import type { QuantData } from '../quantized-util';
import { arithmeticFor, quantRange, sameQuantizedType, tensorQuant } from '../quantized-util';

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
export interface LogisticQuantState {
  table: Int32Array;
  qmin: number;
}

const FIXED_OUTPUT: Record<string, [number, number]> = { int8: [1 / 256, -128], uint8: [1 / 256, 0] };

export const logisticQuantized = defineKernel<'LOGISTIC', LogisticQuantState>({
  opType: 'LOGISTIC',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare({ label, inputs, outputs, rounding }) {
    const input = requireInput(label, inputs, 0, 'data');
    const qx = tensorQuant(label, input, 'input');
    const qy = tensorQuant(label, outputs[0], 'output');
    const [scale, zeroPoint] = FIXED_OUTPUT[input.dtype];
    if (qy.scale !== Math.fround(scale) || qy.zeroPoint !== zeroPoint) {
      throw new UnsupportedError(`${label} writes '${outputs[0].name}' with scale ${qy.scale} and zero point ${qy.zeroPoint}; TFLite's ${input.dtype} LOGISTIC needs scale ${scale} and zero point ${zeroPoint}.`);
    }
    const [qmin, qmax] = quantRange(label, input);
    const style = arithmeticFor(rounding, true, 'double-rounding') === 'xnnpack' ? 'xnnpack' : 'tflite';
    return { outputShapes: [[...input.shape]], state: { table: buildLut('logistic', qx, qy, qmin, qmax, style), qmin } };
  },
  run({ inputs, outputs }, { table, qmin }) {
    applyLut(table, qmin, inputs[0]!.data as QuantData, outputs[0].data as QuantData);
  },
});
