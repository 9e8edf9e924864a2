/**
 * The reference requantization (reference.ts) against BigInt transcriptions of gemmlowp /
 * TFLite / XNNPACK, and the module's scalar epilogue functions against the reference.
 */
import { describe, expect, it } from 'vitest';
import { engineModule } from '../../../../../src/core/runtime/wasm/engine';
import {
  multiplyDoubleRounding, multiplySingleRounding, requantize, roundHalfToEven, roundingDivideByPOT, saturatingRoundingDoublingHighMul,
} from '../../../../../src/core/runtime/wasm/reference';
import { expandRequantization } from '../../../../../src/core/runtime/wasm/spec';
import { wasmApi } from '../../../../../src/core/runtime/wasm/wasm-api';
import { doubleRoundingBig, INT32_MAX, INT32_MIN, Mismatches, randInt, rdivpotBig, rng, singleRoundingBig, srdhmBig, xnnpackOracle } from './helpers';

/** Accumulators that hit edges and ties: extremes, multiples of powers of two ± 0/1. */
function accumulators(r: () => number, n: number): number[] {
  const out = [0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN + 1, INT32_MAX - 1, 1 << 30, -(1 << 30)];
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    if (kind === 0) out.push(randInt(r, INT32_MIN, INT32_MAX));
    else if (kind === 1) out.push(randInt(r, -100000, 100000));
    else {
      const p = 2 ** randInt(r, 0, 20);
      out.push((randInt(r, -5000, 5000) * p + (kind === 2 ? p / 2 : 0)) | 0);
    }
  }
  return out;
}

function multipliers(r: () => number, n: number): number[] {
  const out = [0, 1, 1 << 30, INT32_MAX, (1 << 30) + 1, 0x60000000];
  for (let i = 0; i < n; i++) out.push(i % 3 === 0 ? 1 << 30 : randInt(r, 1 << 30, INT32_MAX));
  return out;
}

describe('reference requantization matches the C definitions', () => {
  const r = rng(7);
  const accs = accumulators(r, 400);
  const mults = multipliers(r, 12);

  it('SaturatingRoundingDoublingHighMul, including negative multipliers and the saturating case', () => {
    const bad = new Mismatches();
    for (const a of accs) for (const b of [...mults, -(1 << 30), INT32_MIN, -123456789]) bad.check(`${a}·${b}`, saturatingRoundingDoublingHighMul(a, b), srdhmBig(a, b));
    bad.expectNone(5000);
  });

  it('RoundingDivideByPOT for every exponent 0..31', () => {
    const bad = new Mismatches();
    for (const x of accs) for (let e = 0; e <= 31; e++) bad.check(`${x}/2^${e}`, roundingDivideByPOT(x, e), rdivpotBig(x, e));
    bad.expectNone(10000);
  });

  it('double and single rounding for every shift in [-31, 30]', () => {
    const bad = new Mismatches();
    for (const x of accs) {
      for (const m of mults) {
        for (let s = -31; s <= 30; s++) {
          bad.check(`double ${x} ${m} ${s}`, multiplyDoubleRounding(x, m, s), doubleRoundingBig(x, m, s));
          bad.check(`single ${x} ${m} ${s}`, multiplySingleRounding(x, m, s), singleRoundingBig(x, m, s));
        }
      }
    }
    bad.expectNone(100000);
  });

  it('the two integer modes really differ on ties (the tests can tell them apart)', () => {
    // x·2^-2 for x = -6: double rounding -2 (half away from zero), single rounding -1 (half up)
    expect(multiplyDoubleRounding(-6, 1 << 30, -1)).toBe(-2);
    expect(multiplySingleRounding(-6, 1 << 30, -1)).toBe(-1);
    let differ = 0;
    for (let x = -1000; x <= 1000; x++) if (multiplyDoubleRounding(x, 1 << 30, -3) !== multiplySingleRounding(x, 1 << 30, -3)) differ++;
    expect(differ).toBeGreaterThan(50);
  });

  it('round half to even', () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999, -3.5, 1e7 + 0.5].map(roundHalfToEven)).toEqual([-2, -2, -0, 0, 2, 2, 4, 2, -4, 1e7]);
  });

  it('xnnpack requantization against a Float32Array transcription, ties included', () => {
    const bad = new Mismatches();
    for (const scale of [2 ** -1, 2 ** -3, 2 ** -7, 0.0123, 1 / 3, 1.5, 300, 2 ** -20]) {
      const p = expandRequantization('t', { rounding: 'xnnpack', scale: [scale], outputZeroPoint: 5, outputMin: -128, outputMax: 127 }, 1);
      for (const acc of accs) bad.check(`${acc}·${scale}`, requantize(acc, p, 0), xnnpackOracle(acc, scale, 5, -128, 127));
    }
    bad.expectNone(3000);
  });
});

describe('the module\'s scalar epilogue functions', () => {
  const api = wasmApi()!;
  const exports = new api.Instance(engineModule(), { env: { memory: new (api.Memory)({ initial: 1 }) } }).exports as {
    mulDoubleRounding(x: number, m: number, s: number): number;
    mulSingleRounding(x: number, m: number, s: number): number;
  };

  it('match the reference for every shift', () => {
    const r = rng(11);
    const accs = accumulators(r, 300);
    const mults = multipliers(r, 8);
    const bad = new Mismatches();
    for (const x of accs) {
      for (const m of mults) {
        for (let s = -31; s <= 30; s++) {
          bad.check(`double ${x} ${m} ${s}`, exports.mulDoubleRounding(x, m, s), multiplyDoubleRounding(x, m, s));
          bad.check(`single ${x} ${m} ${s}`, exports.mulSingleRounding(x, m, s), multiplySingleRounding(x, m, s));
        }
      }
    }
    bad.expectNone(100000);
  });
});
