/**
 * WASM int8 GEMM === the scalar reference, element for element, in every rounding mode:
 * seeded random shapes (M = 1, K not a multiple of 8 or 16, N not a multiple of 4), zero
 * points, per-channel multipliers with power-of-two ties, fused clamps, and the scalar epilogue
 * (positive shifts). The reference itself is checked against a BigInt oracle here too.
 */
import { describe, expect, it } from 'vitest';
import type { RoundingMode } from '../../../../../src/core/runtime/kernel';
import type { Int8Engine } from '../../../../../src/core/runtime/wasm/engine';
import { createInt8Engine } from '../../../../../src/core/runtime/wasm/engine';
import { referenceGemm } from '../../../../../src/core/runtime/wasm/reference';
import type { GemmSpec, Requantization } from '../../../../../src/core/runtime/wasm/spec';
import { expandRequantization } from '../../../../../src/core/runtime/wasm/spec';
import { Mismatches, MODES, oracleRequantize, randInt, randomInt8, randomRequant, rng } from './helpers';

interface Case {
  m: number;
  n: number;
  k: number;
  spec: GemmSpec;
  a: Int8Array;
}

function randomCase(r: () => number, mode: RoundingMode, dims: { m: number; n: number; k: number }, opts: { allowPositiveShift?: boolean; relu?: boolean } = {}): Case {
  const { m, n, k } = dims;
  const weights = randomInt8(r, n * k, -127, 127);
  const bias = new Int32Array(n);
  for (let j = 0; j < n; j++) bias[j] = randInt(r, -20000, 20000);
  const requant: Requantization = randomRequant(r, mode, n, opts);
  return { m, n, k, spec: { weights, outputs: n, depth: k, bias: r() < 0.9 ? bias : null, inputZeroPoint: randInt(r, -128, 127), requant }, a: randomInt8(r, m * k) };
}

/** Runs the engine on a case with the given A/C strides; returns C (m × n). */
function runEngine(engine: Int8Engine, c: Case, aStride = c.k, cStride = c.n): Int8Array {
  const mark = engine.mark();
  const plan = engine.prepareGemm(c.spec);
  const aPtr = engine.alloc((c.m - 1) * aStride + c.k);
  const cPtr = engine.alloc((c.m - 1) * cStride + c.n);
  const a = engine.int8View(aPtr, (c.m - 1) * aStride + c.k);
  for (let i = 0; i < c.m; i++) a.set(c.a.subarray(i * c.k, (i + 1) * c.k), i * aStride);
  const out = engine.int8View(cPtr, (c.m - 1) * cStride + c.n);
  out.fill(77);
  engine.gemm(plan, a, c.m, aStride, out, cStride);
  const dense = new Int8Array(c.m * c.n);
  for (let i = 0; i < c.m; i++) dense.set(out.subarray(i * cStride, i * cStride + c.n), i * c.n);
  // bytes between rows (stride padding) must be untouched
  for (let i = 0; i + 1 < c.m; i++) for (let j = c.n; j < cStride; j++) expect(out[i * cStride + j]).toBe(77);
  engine.release(mark);
  return dense;
}

function runReference(c: Case): Int8Array {
  const out = new Int8Array(c.m * c.n);
  const params = expandRequantization('ref', c.spec.requant, c.n);
  referenceGemm({ weights: c.spec.weights, bias: c.spec.bias ?? new Int32Array(c.n), inputZeroPoint: c.spec.inputZeroPoint, params }, c.n, c.k, c.a, c.m, c.k, out, c.n);
  return out;
}

/** Straight from the definition, with the BigInt oracle: no shared code with reference.ts. */
function runOracle(c: Case): Int8Array {
  const out = new Int8Array(c.m * c.n);
  const { weights, bias, inputZeroPoint: zA, requant } = c.spec;
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let acc = bias ? bias[j] : 0;
      for (let kk = 0; kk < c.k; kk++) acc += (c.a[i * c.k + kk] - zA) * weights[j * c.k + kk];
      out[i * c.n + j] = oracleRequantize(acc | 0, requant, j);
    }
  }
  return out;
}

function compare(bad: Mismatches, what: string, got: Int8Array, want: Int8Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) bad.check(`${what} [${i}]`, got[i], want[i]);
}

const wasm = createInt8Engine({ backend: 'wasm-simd128', initialBytes: 32 << 20 });

describe('int8 GEMM: WebAssembly SIMD128 === scalar reference', () => {
  for (const mode of MODES) {
    it(`${mode}: 150 seeded random shapes, zero mismatches`, () => {
      const r = rng(1000 + MODES.indexOf(mode));
      const bad = new Mismatches();
      let sawSmallK = false;
      for (let t = 0; t < 150; t++) {
        const dims = { m: t % 10 === 0 ? 1 : randInt(r, 1, 9), n: randInt(r, 1, 21), k: t % 7 === 0 ? randInt(r, 100, 700) : randInt(r, 1, 70) };
        sawSmallK ||= dims.k % 16 !== 0;
        const c = randomCase(r, mode, dims, { relu: t % 5 === 0 });
        compare(bad, `t${t} ${JSON.stringify(dims)}`, runEngine(wasm, c), runReference(c));
      }
      expect(sawSmallK).toBe(true);
      bad.expectNone(5000);
    });
  }

  it('the reference itself agrees with the BigInt oracle on the same kind of cases', () => {
    const r = rng(77);
    const bad = new Mismatches();
    for (let t = 0; t < 60; t++) {
      const mode = MODES[t % 3];
      const c = randomCase(r, mode, { m: randInt(r, 1, 5), n: randInt(r, 1, 9), k: randInt(r, 1, 40) }, { allowPositiveShift: t % 4 === 0 });
      compare(bad, `t${t} ${mode}`, runReference(c), runOracle(c));
    }
    bad.expectNone(500);
  });

  it('strided A and C (im2col-like rows, NHWC channel slices), M odd and even', () => {
    const r = rng(5);
    const bad = new Mismatches();
    for (let t = 0; t < 30; t++) {
      const c = randomCase(r, MODES[t % 3], { m: randInt(r, 1, 12), n: randInt(r, 1, 13), k: randInt(r, 1, 50) });
      compare(bad, `t${t}`, runEngine(wasm, c, c.k + randInt(r, 0, 9), c.n + randInt(r, 0, 7)), runReference(c));
    }
    bad.expectNone(300);
  });

  it('positive shifts (multipliers ≥ 1) take the exact scalar epilogue and still match', () => {
    const r = rng(9);
    const bad = new Mismatches();
    for (let t = 0; t < 40; t++) {
      const mode = t % 2 === 0 ? 'double-rounding' : 'single-rounding';
      const c = randomCase(r, mode, { m: randInt(r, 1, 6), n: randInt(r, 1, 10), k: randInt(r, 1, 30) }, { allowPositiveShift: true });
      const plan = wasm.prepareGemm(c.spec);
      const rq = c.spec.requant;
      const shifts = rq.rounding === 'xnnpack' ? [] : Array.from(rq.shift);
      expect(plan.epilogue).toBe(shifts.some((s) => s > 0) ? 'scalar' : 'simd');
      compare(bad, `t${t}`, runEngine(wasm, c), runReference(c));
    }
    bad.expectNone(200);
  });

  it('tie sweep: K = 1, every activation code, power-of-two multipliers; the modes disagree and each matches', () => {
    // acc = (a − zA)·w + bias spans ties of x / 2^e for e = 1..8 in all three modes.
    const n = 24;
    const weights = new Int8Array(n).map((_, j) => (j % 2 ? 1 : -3));
    const bias = new Int32Array(n).map((_, j) => (j - 12) * 37);
    const a = new Int8Array(256).map((_, i) => i - 128);
    const outputs = new Map<RoundingMode, Int8Array>();
    const bad = new Mismatches();
    for (const mode of MODES) {
      const shifts = Array.from({ length: n }, (_, j) => -(j % 8));
      const requant: Requantization = mode === 'xnnpack'
        ? { rounding: mode, scale: shifts.map((s) => 2 ** (s - 1)), outputZeroPoint: 3, outputMin: -128, outputMax: 127 }
        : { rounding: mode, multiplier: [1 << 30], shift: shifts, outputZeroPoint: 3, outputMin: -128, outputMax: 127 };
      const c: Case = { m: 256, n, k: 1, a, spec: { weights, outputs: n, depth: 1, bias, inputZeroPoint: 5, requant } };
      const got = runEngine(wasm, c);
      compare(bad, mode, got, runReference(c));
      compare(bad, `${mode} oracle`, got, runOracle(c));
      outputs.set(mode, got);
    }
    bad.expectNone(3 * 2 * 256 * n);
    const differ = (x: Int8Array, y: Int8Array) => x.reduce((s, v, i) => s + (v !== y[i] ? 1 : 0), 0);
    expect(differ(outputs.get('double-rounding')!, outputs.get('single-rounding')!)).toBeGreaterThan(100);
    expect(differ(outputs.get('single-rounding')!, outputs.get('xnnpack')!)).toBeGreaterThan(100);
  });

  it('extremes: all −128 activations against zero point 127, ±127 weights, deep K, int32 wrap of bias', () => {
    const bad = new Mismatches();
    for (const mode of MODES) {
      for (const [k, zA, wv, biasV] of [[4099, 127, -127, 0], [1000, -128, 127, 2147483647], [33, 127, 127, -2147483648]] as const) {
        const n = 7;
        const requant = randomRequant(rng(k), mode, n);
        const c: Case = { m: 3, n, k, a: new Int8Array(3 * k).fill(-128), spec: { weights: new Int8Array(n * k).fill(wv), outputs: n, depth: k, bias: new Int32Array(n).fill(biasV), inputZeroPoint: zA, requant } };
        compare(bad, `${mode} k${k}`, runEngine(wasm, c), runReference(c));
        compare(bad, `${mode} k${k} oracle`, runEngine(wasm, c), runOracle(c));
      }
    }
    bad.expectNone(100);
  });

  it('per-tensor parameters (one multiplier for all channels) and no bias', () => {
    const r = rng(3);
    const bad = new Mismatches();
    for (const mode of MODES) {
      const c = randomCase(r, mode, { m: 5, n: 9, k: 19 });
      const rq = c.spec.requant;
      c.spec.requant = rq.rounding === 'xnnpack' ? { ...rq, scale: [rq.scale[0]] } : { ...rq, multiplier: [rq.multiplier[0]], shift: [rq.shift[0]] };
      c.spec.bias = null;
      compare(bad, mode, runEngine(wasm, c), runReference(c));
    }
    bad.expectNone(100);
  });

  it('the TypeScript backend gives the same codes', () => {
    const ts = createInt8Engine({ backend: 'typescript' });
    expect(ts.backend).toBe('typescript');
    const r = rng(21);
    const bad = new Mismatches();
    for (let t = 0; t < 20; t++) {
      const c = randomCase(r, MODES[t % 3], { m: randInt(r, 1, 7), n: randInt(r, 1, 11), k: randInt(r, 1, 45) });
      compare(bad, `t${t}`, runEngine(ts, c, c.k + 3, c.n + 2), runEngine(wasm, c));
    }
    bad.expectNone(100);
  });
});
