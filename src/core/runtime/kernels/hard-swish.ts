/**
 * HARD_SWISH: out = x · relu6(x + 3) / 6, with float32 rounding after each step as TFLite's
 * reference kernel computes it.
 */
import { UnsupportedError } from '../../errors';
import {
  downScaleInt32ToInt16Multiplier,
  quantizeMultiplier,
  roundingDivideByPOT,
  saturatingDoublingHighMul16,
  saturatingLeftShift16,
  saturatingRoundingDoublingHighMul16,
} from '../../quant/fixed-point';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { QuantData } from '../quantized-util';
import { quantRange, sameQuantizedType, tensorQuant } from '../quantized-util';

export const hardSwishFloat32 = defineKernel<'HARD_SWISH', undefined>({
  opType: 'HARD_SWISH',
  flavour: 'float32',
  accepts: allFloat32,
  run({ inputs, outputs }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    const fround = Math.fround;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const t = fround(v + 3);
      const r = t < 0 ? 0 : t > 6 ? 6 : t;
      y[i] = fround(v * r) / 6;
    }
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * HARD_SWISH on int8 / uint8: TFLite's 16-bit fixed-point kernel (the delegate takes float
 * HARD_SWISH only, so this runs in every mode). With S_hi = S_x / 128:
 *   v  = (x − Z_x)·2^7                                  input on the "hires" scale
 *   p  = SRDHM16(v, m_out)                              ≈ x on the output scale before its shift
 *   r  = v rescaled by m_relu·2^e_relu (saturating), mapped from [−1, 1] to [0, 1]: (r + 2^15) >> 1
 *   y  = clamp(Z_y + RDBPOT(SDHM16(r, p), −e_out))
 * with m_out = fl(S_hi / S_y), m_relu = fl(S_hi / fl(3/32768)) as 16-bit multipliers
 * (QuantizeMultiplier, then (m + 2^15) >> 16).
 */
export interface HardSwishQuantState {
  zx: number;
  zy: number;
  qmin: number;
  qmax: number;
  outMultiplier: number;
  outExponent: number;
  reluMultiplier: number;
  reluExponent: number;
}

export const hardSwishQuantized = defineKernel<'HARD_SWISH', HardSwishQuantState>({
  opType: 'HARD_SWISH',
  flavour: 'int8',
  accepts: sameQuantizedType(['int8', 'uint8']),
  prepare({ label, inputs, outputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const qx = tensorQuant(label, input, 'input');
    const qy = tensorQuant(label, outputs[0], 'output');
    const f = Math.fround;
    const hires = f(qx.scale / 128);
    const out = quantizeMultiplier(f(hires / qy.scale));
    const relu = quantizeMultiplier(f(hires / f(3 / 32768)));
    if (out.shift > 0) {
      throw new UnsupportedError(`${label} maps input scale ${qx.scale} to output scale ${qy.scale}; TFLite's quantized HARD_SWISH needs S_x/128 ≤ S_y.`);
    }
    const [qmin, qmax] = quantRange(label, input);
    return {
      outputShapes: [[...input.shape]],
      state: {
        zx: qx.zeroPoint,
        zy: qy.zeroPoint,
        qmin,
        qmax,
        outMultiplier: downScaleInt32ToInt16Multiplier(out.m0),
        outExponent: out.shift,
        reluMultiplier: downScaleInt32ToInt16Multiplier(relu.m0),
        reluExponent: relu.shift,
      },
    };
  },
  run({ inputs, outputs }, s) {
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    const { zx, zy, qmin, qmax, outMultiplier, outExponent, reluMultiplier, reluExponent } = s;
    for (let i = 0; i < x.length; i++) {
      const v = (x[i] - zx) * 128; // |v| ≤ 255·128 < 2^15
      const preshift = saturatingRoundingDoublingHighMul16(v, outMultiplier);
      let r = v;
      if (reluExponent > 0) r = saturatingLeftShift16(r, reluExponent - 1);
      r = saturatingRoundingDoublingHighMul16(r, reluMultiplier);
      if (reluExponent > 0) r = saturatingLeftShift16(r, 1);
      if (reluExponent < 0) r = roundingDivideByPOT(r, -reluExponent);
      r = (r + 32768) >> 1; // [−1, 1] → [0, 1] in Q15
      const o = roundingDivideByPOT(saturatingDoublingHighMul16(r, preshift), -outExponent) + zy;
      y[i] = o < qmin ? qmin : o > qmax ? qmax : o;
    }
  },
});
