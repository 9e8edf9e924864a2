/**
 * QUANTIZE / DEQUANTIZE on the engine === the reference === the interpreter's own QUANTIZE and
 * DEQUANTIZE kernels (the runtime's definition), in every rounding mode, ties and specials included.
 */
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../../../src/core/ir/types';
import { Interpreter } from '../../../../../src/core/runtime/interpreter';
import { createInt8Engine } from '../../../../../src/core/runtime/wasm/engine';
import { referenceDequantize, referenceQuantize } from '../../../../../src/core/runtime/wasm/reference';
import { Mismatches, MODES, randInt, rng } from './helpers';

function values(r: () => number, scale: number, n: number): Float32Array {
  const s = Math.fround(scale);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    if (kind === 0) out[i] = (randInt(r, -300, 300) + 0.5) * s; // ties of x / S
    else if (kind === 1) out[i] = (r() * 2 - 1) * 200 * s;
    else if (kind === 2) out[i] = randInt(r, -130, 130) * s;
    else if (kind === 3) out[i] = (r() - 0.5) * 1e-3;
    else out[i] = [NaN, Infinity, -Infinity, -0, 0, 3e38, -3e38, 1e-45][randInt(r, 0, 7)];
  }
  return out;
}

function quantizeGraph(n: number, scale: number, zp: number): Graph {
  return {
    name: 'q',
    tensors: [
      { name: 'x', dtype: 'float32', shape: [n] },
      { name: 'q', dtype: 'int8', shape: [n], quant: { scale: [scale], zeroPoint: [zp] } },
      { name: 'y', dtype: 'float32', shape: [n] },
    ],
    ops: [
      { type: 'QUANTIZE', options: {}, inputs: [0], outputs: [1] },
      { type: 'DEQUANTIZE', options: {}, inputs: [1], outputs: [2] },
    ],
    inputs: [0],
    outputs: [1, 2],
  };
}

describe('int8 engine: quantize and dequantize', () => {
  const engine = createInt8Engine({ backend: 'wasm-simd128', initialBytes: 8 << 20 });

  for (const mode of MODES) {
    it(`${mode}: WASM === reference === the interpreter's QUANTIZE/DEQUANTIZE kernels`, () => {
      const r = rng(40 + MODES.indexOf(mode));
      const bad = new Mismatches();
      for (let t = 0; t < 12; t++) {
        const n = randInt(r, 1, 300);
        const scale = [0.1, 1 / 3, 0.0078125, 2 ** -10, 0.05 * r() + 1e-4, 3.7][t % 6];
        const zp = randInt(r, -128, 127);
        const x = values(r, scale, n);
        const mark = engine.mark();
        const xin = engine.float32View(engine.alloc(4 * n), n);
        const q = engine.allocInt8(n);
        const y = engine.float32View(engine.alloc(4 * n), n);
        xin.set(x);
        engine.quantize(xin, q, scale, zp, mode);
        engine.dequantize(q, y, scale, zp);
        const qRef = new Int8Array(n);
        const yRef = new Float32Array(n);
        referenceQuantize(x, qRef, n, scale, zp, mode);
        referenceDequantize(qRef, yRef, n, scale, zp);
        const [qInt, yInt] = Interpreter.prepare(quantizeGraph(n, scale, zp), { rounding: mode }).run([x]).outputs as [Int8Array, Float32Array];
        for (let i = 0; i < n; i++) {
          bad.check(`t${t} q[${i}] x=${x[i]}`, q[i], qRef[i]);
          bad.check(`t${t} y[${i}]`, y[i], yRef[i]);
          // NaN has no canonical code (x86 and ARM casts differ); the engine gives the zero point.
          if (Number.isNaN(x[i])) continue;
          bad.check(`t${t} interpreter q[${i}] x=${x[i]}`, qRef[i], qInt[i]);
          bad.check(`t${t} interpreter y[${i}]`, yRef[i], yInt[i]);
        }
        engine.release(mark);
      }
      bad.expectNone(1000);
    });
  }

  it('the two roundings differ on ties, as they should', () => {
    const x = new Float32Array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5]);
    const a = new Int8Array(6);
    const b = new Int8Array(6);
    referenceQuantize(x, a, 6, 1, 0, 'double-rounding');
    referenceQuantize(x, b, 6, 1, 0, 'xnnpack');
    expect([...a]).toEqual([1, 2, 3, -1, -2, -3]);
    expect([...b]).toEqual([0, 2, 2, 0, -2, -2]);
  });
});
