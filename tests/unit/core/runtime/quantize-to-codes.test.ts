/**
 * quantizeToCodes (how eval, quantize, bias correction, layer error and explain feed float samples
 * to an integer input) equals the interpreter's own QUANTIZE op in TFLite's reference rounding, for
 * int8, uint8 and int16, ties and out-of-range values included; and it is the float32 division of
 * TFLite, not a double one (the test finds values where the two differ, so it would notice).
 */
import { describe, expect, it } from 'vitest';
import type { DType, Graph } from '../../../../src/core/ir/types';
import { Interpreter } from '../../../../src/core/runtime/interpreter';
import { quantizeToCodes } from '../../../../src/core/runtime/quantized-util';
import { seededUniform } from '../../../../src/core/random';

function quantizeOp(n: number, dtype: DType, scale: number, zeroPoint: number): Graph {
  return {
    name: 'q',
    tensors: [
      { name: 'x', dtype: 'float32', shape: [n] },
      { name: 'q', dtype, shape: [n], quant: { scale: [scale], zeroPoint: [zeroPoint] } },
    ],
    ops: [{ type: 'QUANTIZE', options: {}, inputs: [0], outputs: [1] }],
    inputs: [0],
    outputs: [1],
  };
}

/** Independent: x / S rounded in float32, half away from zero, + Z, clamped. */
function expected(x: number, s: number, z: number, lo: number, hi: number): number {
  const r = Math.fround(x / Math.fround(s));
  const k = Math.sign(r) * Math.floor(Math.abs(r) + 0.5);
  return Math.min(hi, Math.max(lo, k + z));
}

describe('quantizeToCodes', () => {
  const cases: [DType, number, number, number, number][] = [
    ['int8', 0.0392157, -3, -128, 127],
    ['uint8', 1 / 255, 0, 0, 255],
    ['int16', 0.000123, 0, -32768, 32767],
    ['int8', 0.1, 7, -128, 127],
  ];
  for (const [dtype, scale, zp, lo, hi] of cases) {
    it(`${dtype}, S=${scale}, Z=${zp}: equals the interpreter's QUANTIZE (double-rounding) and an independent float32 definition`, () => {
      const u = seededUniform(7);
      const s = Math.fround(scale);
      const n = 4000;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const kind = i % 4;
        if (kind === 0) x[i] = Math.fround((Math.floor(u() * 600) - 300 + 0.5) * s); // near ties
        else if (kind === 1) x[i] = (u() * 2 - 1) * s * (hi - lo); // beyond the range too
        else if (kind === 2) x[i] = Math.fround((Math.floor(u() * 200) - 100) * s);
        else x[i] = (u() - 0.5) * s * 4;
      }
      const got = quantizeToCodes(x, dtype, scale, zp);
      const interp = Interpreter.prepare(quantizeOp(n, dtype, scale, zp), { rounding: 'double-rounding', int8Backend: 'typescript' }).run([x]).outputs[0] as ArrayLike<number>;
      let viaDouble = 0;
      for (let i = 0; i < n; i++) {
        expect(got[i], `x[${i}] = ${x[i]}`).toBe(expected(x[i], scale, zp, lo, hi));
        expect(got[i], `x[${i}] = ${x[i]} against the interpreter`).toBe(interp[i]);
        const d = x[i] / s;
        if (Math.min(hi, Math.max(lo, Math.sign(d) * Math.floor(Math.abs(d) + 0.5) + zp)) !== got[i]) viaDouble++;
      }
      if (dtype === 'int8' && scale === 0.1) expect(viaDouble, 'values where a double division would round differently').toBeGreaterThan(0);
    });
  }

  it('refuses a type that is not an integer code', () => {
    expect(() => quantizeToCodes([1], 'float32', 1, 0)).toThrow(/cannot be quantized to float32/);
  });
});
