/**
 * Convolutions on the WASM engine === the scalar reference: CONV_2D by im2col + GEMM (and the
 * direct 1×1 path), depthwise 3×3 stride 1/2 (and other window sizes), SAME/VALID padding,
 * channel counts off the vector width, batches; im2col and max pooling on their own.
 */
import { describe, expect, it } from 'vitest';
import type { RoundingMode } from '../../../../../src/core/runtime/kernel';
import { createInt8Engine } from '../../../../../src/core/runtime/wasm/engine';
import type { Graph } from '../../../../../src/core/ir/types';
import { Interpreter } from '../../../../../src/core/runtime/interpreter';
import { referenceAveragePool, referenceConv2d, referenceDepthwiseConv2d, referenceIm2col, referenceMaxPool } from '../../../../../src/core/runtime/wasm/reference';
import type { Conv2dSpec, DepthwiseConv2dSpec, WindowGeometry } from '../../../../../src/core/runtime/wasm/spec';
import { expandRequantization } from '../../../../../src/core/runtime/wasm/spec';
import { Mismatches, MODES, randInt, randomInt8, randomRequant, rng } from './helpers';

/** TFLite padding: SAME pads (total − 1)/2 before, VALID none. */
function window(inH: number, inW: number, channels: number, kH: number, kW: number, s: number, padding: 'SAME' | 'VALID', dilation = 1): WindowGeometry {
  const ekH = (kH - 1) * dilation + 1;
  const ekW = (kW - 1) * dilation + 1;
  const outH = padding === 'SAME' ? Math.ceil(inH / s) : Math.floor((inH - ekH) / s) + 1;
  const outW = padding === 'SAME' ? Math.ceil(inW / s) : Math.floor((inW - ekW) / s) + 1;
  const padTop = padding === 'SAME' ? Math.max(0, Math.floor(((outH - 1) * s + ekH - inH) / 2)) : 0;
  const padLeft = padding === 'SAME' ? Math.max(0, Math.floor(((outW - 1) * s + ekW - inW) / 2)) : 0;
  return { inH, inW, channels, kernelH: kH, kernelW: kW, strideH: s, strideW: s, padTop, padLeft, outH, outW };
}

function bias(r: () => number, n: number): Int32Array {
  return new Int32Array(n).map(() => randInt(r, -30000, 30000));
}

// A heap large enough that no test grows it (growth detaches views made before it).
const wasm = createInt8Engine({ backend: 'wasm-simd128', initialBytes: 32 << 20 });

function copyIn(data: Int8Array, slack = 0): Int8Array {
  const v = wasm.allocInt8(data.length + slack);
  v.set(data);
  return v.subarray(0, data.length);
}

function check(bad: Mismatches, what: string, got: Int8Array, want: Int8Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) bad.check(`${what} [${i}]`, got[i], want[i]);
}

describe('int8 convolutions: WebAssembly SIMD128 === scalar reference', () => {
  for (const mode of MODES) {
    it(`CONV_2D (${mode}): im2col and direct 1×1, strides, padding, dilation, batches`, () => {
      const r = rng(300 + MODES.indexOf(mode));
      const bad = new Mismatches();
      const methods = new Set<string>();
      for (let t = 0; t < 40; t++) {
        const mark = wasm.mark();
        const k = [1, 1, 3, 3, 5, 2][t % 6];
        const s = t % 3 === 0 ? 2 : 1;
        const dilation = t % 11 === 5 ? 2 : 1;
        const inC = randInt(r, 1, 19);
        const outC = randInt(r, 1, 17);
        const size = randInt(r, Math.max(k * dilation, 2), 12);
        const g = window(size, size + randInt(r, 0, 3), inC, k, k, s, t % 2 ? 'SAME' : 'VALID', dilation);
        const spec: Conv2dSpec = {
          ...g, inC, outC, dilationH: dilation, dilationW: dilation, weights: randomInt8(r, outC * k * k * inC, -127, 127), bias: bias(r, outC),
          inputZeroPoint: randInt(r, -128, 127), requant: randomRequant(r, mode, outC, { relu: t % 4 === 0 }),
        };
        const batches = t % 9 === 0 ? 3 : 1;
        const plan = wasm.prepareConv2d(spec);
        methods.add(plan.method);
        const inLen = g.inH * g.inW * inC;
        const outLen = g.outH * g.outW * outC;
        const input = randomInt8(r, batches * inLen);
        const out = wasm.allocInt8(batches * outLen);
        wasm.conv2d(plan, copyIn(input), out, batches);
        const params = expandRequantization('ref', spec.requant, outC);
        for (let b = 0; b < batches; b++) {
          const want = new Int8Array(outLen);
          referenceConv2d({ weights: spec.weights, bias: spec.bias!, inputZeroPoint: spec.inputZeroPoint, params }, { ...g, inC, outC, dilationH: dilation, dilationW: dilation }, input.subarray(b * inLen), want);
          check(bad, `t${t} b${b}`, out.subarray(b * outLen, (b + 1) * outLen), want);
        }
        wasm.release(mark);
      }
      expect([...methods].sort()).toEqual(['direct', 'im2col', 'implicit']);
      bad.expectNone(3000);
    });

    it(`DEPTHWISE_CONV_2D (${mode}): 3×3 stride 1 and 2, SAME and VALID, other sizes`, () => {
      const r = rng(400 + MODES.indexOf(mode));
      const bad = new Mismatches();
      for (let t = 0; t < 48; t++) {
        const mark = wasm.mark();
        const k = t % 8 === 7 ? [1, 2, 5][t % 3] : 3;
        const s = t % 2 ? 2 : 1;
        const C = [1, 3, 8, 16, 17, 24, 31, 5][t % 8] + (t > 40 ? 64 : 0);
        const size = randInt(r, k, 13);
        const g = window(size, randInt(r, k, 13), C, k, k, s, t % 4 < 2 ? 'SAME' : 'VALID');
        const spec: DepthwiseConv2dSpec = {
          ...g, weights: randomInt8(r, k * k * C, -127, 127), bias: bias(r, C), inputZeroPoint: randInt(r, -128, 127),
          requant: randomRequant(r, mode, C, { relu: t % 3 === 0 }),
        };
        const batches = t % 10 === 0 ? 2 : 1;
        const plan = wasm.prepareDepthwiseConv2d(spec);
        const inLen = g.inH * g.inW * C;
        const outLen = g.outH * g.outW * C;
        const input = randomInt8(r, batches * inLen);
        const out = wasm.allocInt8(batches * outLen + 8).subarray(0, batches * outLen);
        const guard = new Int8Array(out.buffer, out.byteOffset + out.length, 8);
        guard.fill(99);
        wasm.depthwiseConv2d(plan, copyIn(input), out, batches);
        expect([...guard]).toEqual(new Array(8).fill(99));
        const params = expandRequantization('ref', spec.requant, C);
        for (let b = 0; b < batches; b++) {
          const want = new Int8Array(outLen);
          referenceDepthwiseConv2d({ weights: spec.weights, bias: spec.bias!, inputZeroPoint: spec.inputZeroPoint, params }, g, input.subarray(b * inLen), want);
          check(bad, `t${t} C${C} k${k} s${s} b${b}`, out.subarray(b * outLen, (b + 1) * outLen), want);
        }
        wasm.release(mark);
      }
      bad.expectNone(5000);
    });
  }

  it('im2col rows, with padding filled by the zero point, dilation and row stride', () => {
    const r = rng(500);
    const bad = new Mismatches();
    for (let t = 0; t < 30; t++) {
      const mark = wasm.mark();
      const k = [1, 2, 3, 5][t % 4];
      const dilation = t % 5 === 4 ? 2 : 1;
      const C = randInt(r, 1, 11);
      const size = randInt(r, (k - 1) * dilation + 1, 10);
      const g = window(size, size, C, k, k, 1 + (t % 2), t % 3 ? 'SAME' : 'VALID', dilation);
      const depth = k * k * C;
      const stride = depth + randInt(r, 0, 5);
      const input = randomInt8(r, g.inH * g.inW * C);
      const zp = randInt(r, -128, 127);
      const rows = g.outH * g.outW;
      const out = wasm.allocInt8((rows - 1) * stride + depth);
      wasm.im2col(g, zp, copyIn(input), out, stride, dilation, dilation);
      const want = new Int8Array(out.length);
      referenceIm2col(g, dilation, dilation, zp, input, want, stride);
      for (let row = 0; row < rows; row++) check(bad, `t${t} row ${row}`, out.subarray(row * stride, row * stride + depth), want.subarray(row * stride, row * stride + depth));
      wasm.release(mark);
    }
    bad.expectNone(1000);
  });

  it('max pooling with clamp, channels not a multiple of 16', () => {
    const r = rng(600);
    const bad = new Mismatches();
    for (let t = 0; t < 24; t++) {
      const mark = wasm.mark();
      const k = [2, 3][t % 2];
      const C = [1, 12, 16, 17, 33, 40][t % 6];
      const g = window(randInt(r, k, 14), randInt(r, k, 14), C, k, k, t % 3 === 0 ? 1 : 2, t % 4 < 2 ? 'SAME' : 'VALID');
      const input = randomInt8(r, g.inH * g.inW * C);
      const lo = t % 2 ? -128 : randInt(r, -128, 0);
      const out = wasm.allocInt8(g.outH * g.outW * C);
      wasm.maxPool(g, lo, 127, copyIn(input), out);
      const want = new Int8Array(out.length);
      referenceMaxPool(g, lo, 127, input, want);
      check(bad, `t${t}`, out, want);
      wasm.release(mark);
    }
    bad.expectNone(1000);
  });

  it('average pooling (TFLite integer rounding, border windows with fewer taps) === reference === the interpreter kernel', () => {
    const r = rng(650);
    const bad = new Mismatches();
    for (let t = 0; t < 24; t++) {
      const mark = wasm.mark();
      const k = [2, 3, 5][t % 3];
      const C = [1, 7, 8, 12, 17, 40][t % 6];
      const g = window(randInt(r, k, 12), randInt(r, k, 12), C, k, k, t % 4 === 0 ? 1 : 2, t % 2 ? 'SAME' : 'VALID');
      const input = randomInt8(r, g.inH * g.inW * C);
      const lo = t % 3 === 0 ? randInt(r, -128, 0) : -128;
      const out = wasm.allocInt8(g.outH * g.outW * C);
      wasm.averagePool(g, lo, 127, copyIn(input), out);
      const want = new Int8Array(out.length);
      referenceAveragePool(g, lo, 127, input, want);
      check(bad, `t${t}`, out, want);
      if (lo === -128) {
        // the interpreter's AVERAGE_POOL_2D int8 kernel: the runtime's definition
        const graph: Graph = {
          name: 'avg',
          tensors: [
            { name: 'x', dtype: 'int8', shape: [1, g.inH, g.inW, C], quant: { scale: [0.05], zeroPoint: [3] } },
            { name: 'y', dtype: 'int8', shape: [1, g.outH, g.outW, C], quant: { scale: [0.05], zeroPoint: [3] } },
          ],
          ops: [{ type: 'AVERAGE_POOL_2D', inputs: [0], outputs: [1], options: { padding: t % 2 ? 'SAME' : 'VALID', strideW: g.strideW, strideH: g.strideH, filterWidth: k, filterHeight: k, fusedActivationFunction: 'NONE' } }],
          inputs: [0],
          outputs: [1],
        };
        check(bad, `t${t} interpreter`, want, Interpreter.prepare(graph).run([input]).outputs[0] as Int8Array);
      }
      wasm.release(mark);
    }
    bad.expectNone(1000);
  });

  it('the TypeScript backend gives the same codes for conv, depthwise and pooling', () => {
    const ts = createInt8Engine({ backend: 'typescript' });
    const r = rng(700);
    const bad = new Mismatches();
    const mode: RoundingMode = 'double-rounding';
    const g = window(9, 9, 5, 3, 3, 2, 'SAME');
    const conv: Conv2dSpec = { ...g, inC: 5, outC: 6, weights: randomInt8(r, 6 * 9 * 5), bias: bias(r, 6), inputZeroPoint: 3, requant: randomRequant(r, mode, 6) };
    const dw: DepthwiseConv2dSpec = { ...g, weights: randomInt8(r, 9 * 5), bias: bias(r, 5), inputZeroPoint: -7, requant: randomRequant(r, mode, 5) };
    const input = randomInt8(r, 9 * 9 * 5);
    for (const [name, run] of [
      ['conv', (e: typeof ts, inp: Int8Array, out: Int8Array) => e.conv2d(e.prepareConv2d(conv), inp, out)],
      ['depthwise', (e: typeof ts, inp: Int8Array, out: Int8Array) => e.depthwiseConv2d(e.prepareDepthwiseConv2d(dw), inp, out)],
      ['maxpool', (e: typeof ts, inp: Int8Array, out: Int8Array) => e.maxPool(g, -100, 100, inp, out)],
      ['avgpool', (e: typeof ts, inp: Int8Array, out: Int8Array) => e.averagePool(g, -100, 100, inp, out)],
    ] as const) {
      const len = name === 'conv' ? g.outH * g.outW * 6 : g.outH * g.outW * 5;
      const a = new Int8Array(len);
      run(ts, input, a);
      const b = wasm.allocInt8(len);
      run(wasm, copyIn(input), b);
      check(bad, name, a, b);
    }
    bad.expectNone(100);
  });
});
