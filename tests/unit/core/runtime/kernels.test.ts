/**
 * Every float kernel against the float64 references in ./reference.ts, through the
 * interpreter on one-op graphs, with seeded random shapes and parameters.
 * Error measure: norm-wise relative error max|a − b| / max|b| (see maxRelError).
 */
import { describe, expect, it } from 'vitest';
import type { FusedActivation, Graph, Padding, TensorData } from '../../../../src/core/ir/types';
import { Interpreter } from '../../../../src/core/runtime/interpreter';
import {
  CONVOLUTION_2D_TRANSPOSE_BIAS,
  transposeConvBiasGeometry,
} from '../../../../src/core/runtime/kernels/convolution-2d-transpose-bias';
import {
  act,
  maxRelError,
  oneOpGraph,
  pick,
  randInt,
  randomFloats,
  refBinary,
  refConv2d,
  refDepthwise,
  refPool,
  refResizeBilinear,
  refResizeNearest,
  refTransposeConv,
  rng,
  size,
  tfWindow,
  toFloat16Bits,
  unravel,
} from './reference';

const TOL = 1e-6;
const ACTS: FusedActivation[] = ['NONE', 'RELU', 'RELU6', 'RELU_N1_TO_1'];
const PADS: Padding[] = ['SAME', 'VALID'];

function run1(graph: Graph, inputs: TensorData[]): { out: TensorData; shape: number[] } {
  const it = Interpreter.prepare(graph);
  const { outputs } = it.run(inputs);
  return { out: outputs[0], shape: it.outputs[0].shape };
}

function f64(a: TensorData): number[] {
  return Array.from(a as Float32Array);
}

describe('CONV_2D float32', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`seed ${seed}`, () => {
      const r = rng(seed);
      const p = {
        padding: pick(r, PADS),
        strideH: randInt(r, 1, 3),
        strideW: randInt(r, 1, 3),
        dilationH: randInt(r, 1, 2),
        dilationW: randInt(r, 1, 2),
        act: pick(r, ACTS) as 'NONE',
      };
      const xs = [randInt(r, 1, 2), randInt(r, 5, 12), randInt(r, 5, 12), randInt(r, 1, 6)];
      const ws = [randInt(r, 1, 7), randInt(r, 1, 3), randInt(r, 1, 3), xs[3]];
      const x = randomFloats(r, size(xs));
      const w = randomFloats(r, size(ws));
      const b = r() < 0.7 ? randomFloats(r, ws[0]) : null;
      const ref = refConv2d(x, xs, w, ws, b, p);
      const g = oneOpGraph(
        'CONV_2D',
        { padding: p.padding, strideH: p.strideH, strideW: p.strideW, dilationHFactor: p.dilationH, dilationWFactor: p.dilationW, fusedActivationFunction: p.act },
        [{ shape: xs }, { shape: ws, data: w }, b ? { shape: [ws[0]], data: b } : null],
        [{ shape: ref.shape }],
      );
      const { out, shape } = run1(g, [x]);
      expect(shape).toEqual(ref.shape);
      expect(maxRelError(f64(out), ref.data)).toBeLessThanOrEqual(TOL);
    });
  }
});

describe('DEPTHWISE_CONV_2D float32', () => {
  for (let seed = 1; seed <= 10; seed++) {
    it(`seed ${seed}`, () => {
      const r = rng(100 + seed);
      const p = {
        padding: pick(r, PADS),
        strideH: randInt(r, 1, 2),
        strideW: randInt(r, 1, 2),
        dilationH: randInt(r, 1, 2),
        dilationW: randInt(r, 1, 2),
        act: pick(r, ACTS) as 'NONE',
      };
      const xs = [1, randInt(r, 5, 11), randInt(r, 5, 11), randInt(r, 1, 8)];
      const m = pick(r, [1, 1, 2, 3]);
      const ws = [1, randInt(r, 1, 5), randInt(r, 1, 5), xs[3] * m];
      const x = randomFloats(r, size(xs));
      const w = randomFloats(r, size(ws));
      const b = randomFloats(r, ws[3]);
      const ref = refDepthwise(x, xs, w, ws, b, p);
      const g = oneOpGraph(
        'DEPTHWISE_CONV_2D',
        { padding: p.padding, strideH: p.strideH, strideW: p.strideW, depthMultiplier: m, dilationHFactor: p.dilationH, dilationWFactor: p.dilationW, fusedActivationFunction: p.act },
        [{ shape: xs }, { shape: ws, data: w }, { shape: [ws[3]], data: b }],
        [{ shape: ref.shape }],
      );
      const { out, shape } = run1(g, [x]);
      expect(shape).toEqual(ref.shape);
      expect(maxRelError(f64(out), ref.data)).toBeLessThanOrEqual(TOL);
    });
  }
});

describe('FULLY_CONNECTED float32', () => {
  for (const keepNumDims of [false, true]) {
    for (let seed = 1; seed <= 4; seed++) {
      it(`keepNumDims=${keepNumDims} seed ${seed}`, () => {
        const r = rng(200 + seed);
        const inD = randInt(r, 1, 40);
        const outD = randInt(r, 1, 20);
        const xs = [randInt(r, 1, 3), randInt(r, 1, 3), inD];
        const x = randomFloats(r, size(xs));
        const w = randomFloats(r, outD * inD);
        const b = seed % 2 ? randomFloats(r, outD) : null;
        const a = pick(r, ACTS);
        const rows = size(xs) / inD;
        const ref = new Float64Array(rows * outD);
        for (let i = 0; i < rows; i++)
          for (let o = 0; o < outD; o++) {
            let s = b ? b[o] : 0;
            for (let k = 0; k < inD; k++) s += x[i * inD + k] * w[o * inD + k];
            ref[i * outD + o] = act(s, a as 'NONE');
          }
        const outShape = keepNumDims ? [xs[0], xs[1], outD] : [rows, outD];
        const g = oneOpGraph(
          'FULLY_CONNECTED',
          { fusedActivationFunction: a, keepNumDims, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false },
          [{ shape: xs }, { shape: [outD, inD], data: w }, b ? { shape: [outD], data: b } : null],
          [{ shape: outShape }],
        );
        const { out, shape } = run1(g, [x]);
        expect(shape).toEqual(outShape);
        expect(maxRelError(f64(out), ref)).toBeLessThanOrEqual(TOL);
      });
    }
  }
});

describe('TRANSPOSE_CONV float32', () => {
  for (let seed = 1; seed <= 10; seed++) {
    it(`seed ${seed}`, () => {
      const r = rng(300 + seed);
      const padding = pick(r, PADS);
      const sh = randInt(r, 1, 3);
      const sw = randInt(r, 1, 3);
      const xs = [1, randInt(r, 2, 7), randInt(r, 2, 7), randInt(r, 1, 5)];
      const ws = [randInt(r, 1, 5), randInt(r, 1, 4), randInt(r, 1, 4), xs[3]];
      // an output size whose forward conv gives back the input size
      const outH = padding === 'SAME' ? xs[1] * sh - randInt(r, 0, sh - 1) : (xs[1] - 1) * sh + ws[1] + randInt(r, 0, sh - 1);
      const outW = padding === 'SAME' ? xs[2] * sw - randInt(r, 0, sw - 1) : (xs[2] - 1) * sw + ws[2] + randInt(r, 0, sw - 1);
      expect(tfWindow(padding, outH, ws[1], sh, 1).out).toBe(xs[1]);
      const x = randomFloats(r, size(xs));
      const w = randomFloats(r, size(ws));
      const b = seed % 2 ? randomFloats(r, ws[0]) : null;
      const ref = refTransposeConv(x, xs, w, ws, b, outH, outW, sh, sw, tfWindow(padding, outH, ws[1], sh, 1).before, tfWindow(padding, outW, ws[2], sw, 1).before);
      const outShape = [1, outH, outW, ws[0]];
      // fused activations need TRANSPOSE_CONV version 4 (newer than the test interpreter): checked here only
      const actName = pick(r, ACTS);
      for (let i = 0; i < ref.length; i++) ref[i] = act(ref[i], actName as 'NONE');
      const g = oneOpGraph(
        'TRANSPOSE_CONV',
        { padding, strideH: sh, strideW: sw, fusedActivationFunction: actName },
        [{ shape: [4], dtype: 'int32', data: Int32Array.from(outShape) }, { shape: ws, data: w }, { shape: xs }, b ? { shape: [ws[0]], data: b } : null],
        [{ shape: outShape }],
      );
      const { out } = run1(g, [x]);
      expect(maxRelError(f64(out), ref)).toBeLessThanOrEqual(TOL);
    });
  }
});

describe(`CUSTOM ${CONVOLUTION_2D_TRANSPOSE_BIAS} float32`, () => {
  for (let seed = 1; seed <= 8; seed++) {
    it(`seed ${seed}`, () => {
      const r = rng(400 + seed);
      const padding = pick(r, PADS);
      const sh = randInt(r, 1, 3);
      const sw = randInt(r, 1, 3);
      const xs = [1, randInt(r, 2, 8), randInt(r, 2, 8), randInt(r, 1, 6)];
      const ws = [randInt(r, 1, 4), randInt(r, 1, 4), randInt(r, 1, 4), xs[3]];
      const x = randomFloats(r, size(xs));
      const w = randomFloats(r, size(ws));
      const b = randomFloats(r, ws[0]);
      const gh = transposeConvBiasGeometry(xs[1], ws[1], sh, padding);
      const gw = transposeConvBiasGeometry(xs[2], ws[2], sw, padding);
      const ref = refTransposeConv(x, xs, w, ws, b, gh.outSize, gw.outSize, sh, sw, gh.padBefore, gw.padBefore);
      const opts = new Uint8Array(12);
      const dv = new DataView(opts.buffer);
      dv.setInt32(0, padding === 'SAME' ? 1 : 2, true);
      dv.setInt32(4, sw, true);
      dv.setInt32(8, sh, true);
      const g: Graph = {
        name: 'custom',
        tensors: [
          { name: 'x', dtype: 'float32', shape: xs },
          { name: 'w', dtype: 'float32', shape: ws, data: w },
          { name: 'b', dtype: 'float32', shape: [ws[0]], data: b },
          { name: 'y', dtype: 'float32', shape: [1, gh.outSize, gw.outSize, ws[0]] },
        ],
        ops: [{ type: 'CUSTOM', code: CONVOLUTION_2D_TRANSPOSE_BIAS, customOptions: opts, inputs: [0, 1, 2], outputs: [3] }],
        inputs: [0],
        outputs: [3],
      };
      const { out } = run1(g, [x]);
      expect(maxRelError(f64(out), ref)).toBeLessThanOrEqual(TOL);
    });
  }

  it("MediaPipe's output size rule (not TF's SAME: 5 → 9, not 10, for k=3, s=2)", () => {
    // p = max(0, k − (in − 1) mod s − 1); out = s·(in − 1) + k − p; pad before = floor(p / 2)
    expect(transposeConvBiasGeometry(128, 2, 2, 'SAME')).toEqual({ outSize: 256, padBefore: 0 }); // selfie
    expect(transposeConvBiasGeometry(5, 3, 2, 'SAME')).toEqual({ outSize: 9, padBefore: 1 });
    expect(transposeConvBiasGeometry(6, 3, 2, 'SAME')).toEqual({ outSize: 12, padBefore: 0 });
    expect(transposeConvBiasGeometry(5, 4, 2, 'SAME')).toEqual({ outSize: 9, padBefore: 1 });
    expect(transposeConvBiasGeometry(5, 3, 1, 'SAME')).toEqual({ outSize: 5, padBefore: 1 });
    expect(transposeConvBiasGeometry(5, 3, 2, 'VALID')).toEqual({ outSize: 11, padBefore: 0 });
  });
});

describe('pools float32', () => {
  for (const kind of ['avg', 'max'] as const) {
    for (let seed = 1; seed <= 6; seed++) {
      it(`${kind} seed ${seed}`, () => {
        const r = rng(500 + seed);
        const padding = pick(r, PADS);
        const xs = [randInt(r, 1, 2), randInt(r, 4, 10), randInt(r, 4, 10), randInt(r, 1, 5)];
        const fh = randInt(r, 1, 4);
        const fw = randInt(r, 1, 4);
        const sh = randInt(r, 1, 3);
        const sw = randInt(r, 1, 3);
        const a = pick(r, ACTS);
        const x = randomFloats(r, size(xs), -3, 3);
        const ref = refPool(kind, x, xs, fh, fw, sh, sw, padding, a as 'NONE');
        const opts = { padding, strideH: sh, strideW: sw, filterHeight: fh, filterWidth: fw, fusedActivationFunction: a };
        const g = kind === 'avg'
          ? oneOpGraph('AVERAGE_POOL_2D', opts, [{ shape: xs }], [{ shape: ref.shape }])
          : oneOpGraph('MAX_POOL_2D', opts, [{ shape: xs }], [{ shape: ref.shape }]);
        const { out } = run1(g, [x]);
        expect(maxRelError(f64(out), ref.data)).toBeLessThanOrEqual(TOL);
      });
    }
  }
});

describe('ADD / SUB / MUL float32 with broadcasting', () => {
  const fns = { ADD: (a: number, b: number) => a + b, SUB: (a: number, b: number) => a - b, MUL: (a: number, b: number) => a * b };
  const shapes: [number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4]],
    [[1, 5, 5, 8], [8]],
    [[1, 5, 5, 8], [1, 1, 1, 8]],
    [[4, 1, 3], [1, 5, 1]],
    [[3], [2, 1, 3]],
    [[1], [2, 3]],
    [[2, 3, 1, 4], [3, 5, 1]],
    [[], [3, 2]],
  ];
  for (const type of ['ADD', 'SUB', 'MUL'] as const) {
    shapes.forEach(([as, bs], k) => {
      it(`${type} ${JSON.stringify(as)} ∘ ${JSON.stringify(bs)}`, () => {
        const r = rng(600 + k);
        const a = randomFloats(r, size(as), -4, 4);
        const b = randomFloats(r, size(bs), -4, 4);
        const actName = pick(r, ACTS);
        const ref = refBinary((p, q) => act(fns[type](p, q), actName as 'NONE'), a, as, b, bs);
        const g = type === 'MUL'
          ? oneOpGraph('MUL', { fusedActivationFunction: actName }, [{ shape: as }, { shape: bs }], [{ shape: ref.shape }])
          : oneOpGraph(type, { fusedActivationFunction: actName, potScaleInt16: false }, [{ shape: as }, { shape: bs }], [{ shape: ref.shape }]);
        const { out, shape } = run1(g, [a, b]);
        expect(shape).toEqual(ref.shape);
        // float32 arithmetic on float32 operands: exactly the rounded float64 result
        expect(f64(out)).toEqual(Array.from(Float32Array.from(ref.data)));
      });
    });
  }
});

describe('elementwise activations float32', () => {
  const x = randomFloats(rng(7), 3 * 4 * 5, -8, 8);
  const cases: [string, (v: number) => number, Graph][] = [
    ['RELU', (v) => Math.max(0, v), oneOpGraph('RELU', {}, [{ shape: [3, 4, 5] }], [{ shape: [3, 4, 5] }])],
    ['RELU6', (v) => Math.min(6, Math.max(0, v)), oneOpGraph('RELU6', {}, [{ shape: [3, 4, 5] }], [{ shape: [3, 4, 5] }])],
    ['LEAKY_RELU', (v) => (v > 0 ? v : Math.fround(0.2) * v), oneOpGraph('LEAKY_RELU', { alpha: 0.2 }, [{ shape: [3, 4, 5] }], [{ shape: [3, 4, 5] }])],
    ['HARD_SWISH', (v) => (v * Math.min(6, Math.max(0, v + 3))) / 6, oneOpGraph('HARD_SWISH', {}, [{ shape: [3, 4, 5] }], [{ shape: [3, 4, 5] }])],
    ['LOGISTIC', (v) => 1 / (1 + Math.exp(-v)), oneOpGraph('LOGISTIC', {}, [{ shape: [3, 4, 5] }], [{ shape: [3, 4, 5] }])],
    ['TANH', (v) => Math.tanh(v), oneOpGraph('TANH', {}, [{ shape: [3, 4, 5] }], [{ shape: [3, 4, 5] }])],
  ];
  for (const [name, f, g] of cases) {
    it(name, () => {
      const { out } = run1(g, [x]);
      expect(maxRelError(f64(out), Array.from(x, f))).toBeLessThanOrEqual(TOL);
    });
  }

  it('PRELU with per-channel and full alpha', () => {
    const r = rng(8);
    for (const alphaShape of [[5], [1, 1, 5], [4, 5], [3, 4, 5]]) {
      const alpha = randomFloats(r, size(alphaShape), 0, 0.5);
      const ref = refBinary((v, a) => (v >= 0 ? v : v * a), x, [3, 4, 5], alpha, alphaShape);
      const g = oneOpGraph('PRELU', {}, [{ shape: [3, 4, 5] }, { shape: alphaShape, data: alpha }], [{ shape: [3, 4, 5] }]);
      const { out } = run1(g, [x]);
      expect(maxRelError(f64(out), ref.data)).toBeLessThanOrEqual(TOL);
    }
  });

  it('SOFTMAX with beta', () => {
    for (const beta of [1, 0.5, 2.5]) {
      const g = oneOpGraph('SOFTMAX', { beta }, [{ shape: [12, 5] }], [{ shape: [12, 5] }]);
      const { out } = run1(g, [x]);
      const ref: number[] = [];
      for (let row = 0; row < 12; row++) {
        const v = Array.from(x.subarray(row * 5, row * 5 + 5));
        const m = Math.max(...v);
        const e = v.map((q) => Math.exp(beta * (q - m)));
        const s = e.reduce((p, q) => p + q, 0);
        ref.push(...e.map((q) => q / s));
      }
      expect(maxRelError(f64(out), ref)).toBeLessThanOrEqual(TOL);
    }
  });
});

describe('shape and data movement ops', () => {
  it('MEAN over constant axes, keepDims both ways, negative and repeated axes', () => {
    const r = rng(9);
    const xs = [2, 3, 4, 5];
    const x = randomFloats(r, size(xs));
    for (const [axes, keepDims] of [[[1, 2], true], [[1, 2], false], [[-1], false], [[0, 3, -1], true], [[0, 1, 2, 3], false]] as [number[], boolean][]) {
      const norm = new Set(axes.map((a) => (a < 0 ? a + 4 : a)));
      const outShape = xs.flatMap((d, i) => (norm.has(i) ? (keepDims ? [1] : []) : [d]));
      const keptShape = xs.map((d, i) => (norm.has(i) ? 1 : d));
      const sums = new Float64Array(size(keptShape));
      const count = size(xs) / size(keptShape);
      for (let i = 0; i < x.length; i++) {
        const idx = unravel(i, xs).map((v, d) => (norm.has(d) ? 0 : v));
        let off = 0;
        for (let d = 0; d < 4; d++) off = off * keptShape[d] + idx[d];
        sums[off] += x[i];
      }
      const g = oneOpGraph('MEAN', { keepDims }, [{ shape: xs }, { shape: [axes.length], dtype: 'int32', data: Int32Array.from(axes) }], [{ shape: outShape }]);
      const { out, shape } = run1(g, [x]);
      expect(shape).toEqual(outShape);
      expect(maxRelError(f64(out), Array.from(sums, (s) => s / count))).toBeLessThanOrEqual(TOL);
    }
  });

  it('PAD with int32 and int64 paddings', () => {
    const r = rng(10);
    const xs = [1, 3, 4, 2];
    const x = randomFloats(r, size(xs));
    const pads = [0, 1, 2, 0, 1, 3, 0, 2];
    const os = xs.map((d, i) => d + pads[2 * i] + pads[2 * i + 1]);
    const ref = new Float64Array(size(os));
    for (let i = 0; i < x.length; i++) {
      const idx = unravel(i, xs).map((v, d) => v + pads[2 * d]);
      let off = 0;
      for (let d = 0; d < 4; d++) off = off * os[d] + idx[d];
      ref[off] = x[i];
    }
    for (const padData of [Int32Array.from(pads), BigInt64Array.from(pads.map(BigInt))]) {
      const g = oneOpGraph('PAD', {}, [{ shape: xs }, { shape: [4, 2], dtype: padData instanceof Int32Array ? 'int32' : 'int64', data: padData }], [{ shape: os }]);
      const { out } = run1(g, [x]);
      expect(f64(out)).toEqual(Array.from(ref));
    }
  });

  it('CONCATENATION along every axis; a fused activation is refused as TFLite does', () => {
    const r = rng(11);
    for (let axis = -3; axis < 3; axis++) {
      const ax = axis < 0 ? axis + 3 : axis;
      const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s, k) => s.map((d, i) => (i === ax ? d + k : d)));
      const xs = shapes.map((s) => randomFloats(r, size(s), -2, 2));
      const outShape = [...shapes[0]];
      outShape[ax] = shapes.reduce((a, s) => a + s[ax], 0);
      const ref = new Float64Array(size(outShape));
      let base = 0;
      shapes.forEach((s, k) => {
        for (let i = 0; i < xs[k].length; i++) {
          const idx = unravel(i, s);
          idx[ax] += base;
          let off = 0;
          for (let d = 0; d < 3; d++) off = off * outShape[d] + idx[d];
          ref[off] = xs[k][i];
        }
        base += s[ax];
      });
      const g = oneOpGraph('CONCATENATION', { axis, fusedActivationFunction: 'NONE' }, shapes.map((s) => ({ shape: s })), [{ shape: outShape }]);
      const { out } = run1(g, xs);
      expect(f64(out)).toEqual(Array.from(ref));
      const relu = oneOpGraph('CONCATENATION', { axis, fusedActivationFunction: 'RELU6' }, shapes.map((s) => ({ shape: s })), [{ shape: outShape }]);
      expect(() => Interpreter.prepare(relu)).toThrowError(/TFLite's CONCATENATION accepts only NONE/);
    }
  });

  it('RESHAPE from a shape tensor, from options, with -1; SQUEEZE', () => {
    const x = randomFloats(rng(12), 24);
    const g1 = oneOpGraph('RESHAPE', { newShape: [] }, [{ shape: [2, 3, 4] }, { shape: [2], dtype: 'int32', data: Int32Array.from([-1, 6]) }], [{ shape: [4, 6] }]);
    expect(run1(g1, [x]).shape).toEqual([4, 6]);
    expect(f64(run1(g1, [x]).out)).toEqual(Array.from(x));
    const g2 = oneOpGraph('RESHAPE', { newShape: [3, -1] }, [{ shape: [2, 3, 4] }], [{ shape: [3, 8] }]);
    expect(run1(g2, [x]).shape).toEqual([3, 8]);
    const g3 = oneOpGraph('SQUEEZE', { squeezeDims: [] }, [{ shape: [1, 24, 1] }], [{ shape: [24] }]);
    expect(run1(g3, [x]).shape).toEqual([24]);
    const g4 = oneOpGraph('SQUEEZE', { squeezeDims: [-1] }, [{ shape: [1, 24, 1] }], [{ shape: [1, 24] }]);
    expect(f64(run1(g4, [x]).out)).toEqual(Array.from(x));
  });

  it('DEPTH_TO_SPACE and SPACE_TO_DEPTH are inverse and follow the NHWC formula', () => {
    const xs = [2, 3, 4, 8];
    const x = randomFloats(rng(13), size(xs));
    const b = 2;
    const d2s = oneOpGraph('DEPTH_TO_SPACE', { blockSize: b }, [{ shape: xs }], [{ shape: [2, 6, 8, 2] }]);
    const y = run1(d2s, [x]).out as Float32Array;
    for (let i = 0; i < x.length; i++) {
      const [n, h, w, c] = unravel(i, xs);
      const dy = Math.floor(c / (b * 2));
      const dx = Math.floor(c / 2) % b;
      const oc = c % 2;
      expect(y[((n * 6 + h * b + dy) * 8 + w * b + dx) * 2 + oc]).toBe(x[i]);
    }
    const s2d = oneOpGraph('SPACE_TO_DEPTH', { blockSize: b }, [{ shape: [2, 6, 8, 2] }], [{ shape: xs }]);
    expect(f64(run1(s2d, [y]).out)).toEqual(Array.from(x));
  });

  it('RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR in every coordinate mode', () => {
    const r = rng(14);
    for (const [ih, iw, oh, ow] of [[4, 5, 8, 10], [5, 7, 3, 4], [3, 3, 7, 5], [6, 4, 6, 4], [1, 4, 3, 2]]) {
      const xs = [1, ih, iw, 3];
      const x = randomFloats(r, size(xs));
      for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]]) {
        const sizeT = { shape: [2], dtype: 'int32' as const, data: Int32Array.from([oh, ow]) };
        const gb = oneOpGraph('RESIZE_BILINEAR', { alignCorners, halfPixelCenters }, [{ shape: xs }, sizeT], [{ shape: [1, oh, ow, 3] }]);
        expect(maxRelError(f64(run1(gb, [x]).out), refResizeBilinear(x, xs, oh, ow, alignCorners, halfPixelCenters))).toBeLessThanOrEqual(TOL);
        const gn = oneOpGraph('RESIZE_NEAREST_NEIGHBOR', { alignCorners, halfPixelCenters }, [{ shape: xs }, sizeT], [{ shape: [1, oh, ow, 3] }]);
        expect(f64(run1(gn, [x]).out)).toEqual(Array.from(refResizeNearest(x, xs, oh, ow, alignCorners, halfPixelCenters)));
      }
    }
  });
});

describe('DEQUANTIZE / QUANTIZE', () => {
  it('float16 → float32 is exact, including subnormals, infinities and signed zero', () => {
    const values = [0, -0, 1, -2.5, 65504, 6.1e-5, 5.96e-8, 1e-6, 3.14159, Infinity, -Infinity, 0.1];
    const bits = Uint16Array.from(values.map(toFloat16Bits));
    const g = oneOpGraph('DEQUANTIZE', {}, [{ shape: [values.length], dtype: 'float16' }], [{ shape: [values.length] }]);
    const out = run1(g, [bits]).out as Float32Array;
    // decode independently: sign · 2^(e−15) · (1 + m/1024), subnormal 2^−14 · m/1024
    const decode = (h: number) => {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 31;
      const m = h & 1023;
      return e === 0 ? s * 2 ** -14 * (m / 1024) : e === 31 ? s * Infinity : s * 2 ** (e - 15) * (1 + m / 1024);
    };
    expect(Array.from(out)).toEqual(Array.from(bits, decode));
    expect(Object.is(out[1], -0)).toBe(true);
  });

  it('int8 / uint8 per tensor and int8 per axis → float32', () => {
    const q = Int8Array.from([-128, -1, 0, 1, 127, 5]);
    const g = oneOpGraph('DEQUANTIZE', {}, [{ shape: [6], dtype: 'int8', quant: { scale: [0.05], zeroPoint: [3] } }], [{ shape: [6] }]);
    expect(Array.from(run1(g, [q]).out as Float32Array)).toEqual(Array.from(q, (v) => Math.fround(Math.fround(0.05) * (v - 3))));
    const u = Uint8Array.from([0, 128, 255]);
    const gu = oneOpGraph('DEQUANTIZE', {}, [{ shape: [3], dtype: 'uint8', quant: { scale: [0.5], zeroPoint: [128] } }], [{ shape: [3] }]);
    expect(Array.from(run1(gu, [u]).out as Float32Array)).toEqual([-64, 0, 63.5]);
    const qa = Int8Array.from([1, 2, 3, 4, 5, 6]);
    const ga = oneOpGraph('DEQUANTIZE', {}, [{ shape: [2, 3], dtype: 'int8', quant: { scale: [1, 2, 4], zeroPoint: [0, 0, 0], axis: 1 } }], [{ shape: [2, 3] }]);
    expect(Array.from(run1(ga, [qa]).out as Float32Array)).toEqual([1, 4, 12, 4, 10, 24]);
  });

  it('QUANTIZE rounds half away from zero, adds the zero point and clamps', () => {
    const x = Float32Array.from([0, 0.25, 0.75, -0.25, -0.75, 1.25, 100, -100, 0.1, -0.3]);
    const g = oneOpGraph('QUANTIZE', {}, [{ shape: [x.length] }], [{ shape: [x.length], dtype: 'int8', quant: { scale: [0.5], zeroPoint: [-1] } }]);
    // x/0.5 = 0, .5, 1.5, −.5, −1.5, 2.5, 200, −200, .2, −.6 → round away: 0, 1, 2, −1, −2, 3, … then −1
    expect(Array.from(run1(g, [x]).out as Int8Array)).toEqual([-1, 0, 1, -2, -3, 2, 127, -128, -1, -2]);
    // XNNPACK: x · fl(1/S), ties to even: 0, 1 (.5 → 0), 2 (1.5), −1 (−.5 → 0), −2 (−1.5), 2 (2.5) …
    const xnn = Interpreter.prepare(g, { rounding: 'xnnpack' }).run([x]).outputs[0] as Int8Array;
    expect(Array.from(xnn)).toEqual([-1, -1, 1, -1, -3, 1, 127, -128, -1, -2]);
    const gu = oneOpGraph('QUANTIZE', {}, [{ shape: [x.length] }], [{ shape: [x.length], dtype: 'uint8', quant: { scale: [0.5], zeroPoint: [128] } }]);
    expect(Array.from(run1(gu, [x]).out as Uint8Array)).toEqual([128, 129, 130, 127, 126, 131, 255, 0, 128, 127]);
  });
});
