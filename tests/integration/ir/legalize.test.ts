/**
 * Legalization of MediaPipe's Convolution2DTransposeBias into builtin TRANSPOSE_CONV, judged by
 * the real TFLite interpreter: the rewritten graph must load there and compute what QuantLab's
 * implementation of the custom op (MediaPipe's rule, checked in tests/integration/runtime) does.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import {
  inferShapesWithCustomOps,
  legalizeGraph,
  legalizeModel,
  tfliteTransposeConvGeometry,
  withInputShapes,
} from '../../../src/core/ir/legalize';
import type { Graph, Model, Padding } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import { transposeConvBiasGeometry } from '../../../src/core/runtime/kernels/convolution-2d-transpose-bias';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';
import { randomFloats, relL2Error, rng, size } from '../../unit/core/runtime/reference';

const require = createRequire(import.meta.url);
const selfieBytes = new Uint8Array(
  readFileSync(join(dirname(require.resolve('@mediapipe/selfie_segmentation/package.json')), 'selfie_segmentation.tflite')),
);

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
});

function customOptions(padding: Padding | 'code0', sw: number, sh: number): Uint8Array {
  const bytes = new Uint8Array(12);
  const dv = new DataView(bytes.buffer);
  dv.setInt32(0, padding === 'SAME' ? 1 : padding === 'VALID' ? 2 : 0, true);
  dv.setInt32(4, sw, true);
  dv.setInt32(8, sh, true);
  return bytes;
}

/** input → Convolution2DTransposeBias → RELU (so the custom op's output is an intermediate). */
function customModel(xs: number[], ws: number[], padding: Padding, sh: number, sw: number, seed: number): Model {
  const r = rng(seed);
  const gh = transposeConvBiasGeometry(xs[1], ws[1], sh, padding);
  const gw = transposeConvBiasGeometry(xs[2], ws[2], sw, padding);
  const out = [xs[0], gh.outSize, gw.outSize, ws[0]];
  const g: Graph = {
    name: 'main',
    tensors: [
      { name: 'input', dtype: 'float32', shape: xs },
      { name: 'weights', dtype: 'float32', shape: ws, data: randomFloats(r, size(ws)) },
      { name: 'bias', dtype: 'float32', shape: [ws[0]], data: randomFloats(r, ws[0]) },
      { name: 'tconv', dtype: 'float32', shape: out },
      { name: 'output', dtype: 'float32', shape: out },
    ],
    ops: [
      { type: 'CUSTOM', code: 'Convolution2DTransposeBias', inputs: [0, 1, 2], outputs: [3], customOptions: customOptions(padding, sw, sh) },
      { type: 'LEAKY_RELU', options: { alpha: 0.5 }, inputs: [3], outputs: [4] },
    ],
    inputs: [0],
    outputs: [4],
  };
  return { format: 'tflite', subgraphs: [g], description: 'legalize test' };
}

describe("TFLite's TRANSPOSE_CONV padding rule reproduces MediaPipe's output size rule", () => {
  it('for every input size 1..16, kernel 1..7, stride 1..4, SAME and VALID (the proof in legalize.ts, checked)', () => {
    let differsFromTfSame = 0;
    let cases = 0;
    for (const padding of ['SAME', 'VALID'] as const) {
      for (let n = 1; n <= 16; n++) {
        for (let k = 1; k <= 7; k++) {
          for (let s = 1; s <= 4; s++) {
            const mp = transposeConvBiasGeometry(n, k, s, padding);
            const tf = tfliteTransposeConvGeometry(mp.outSize, k, s, padding);
            expect({ n, k, s, padding, inSize: tf.inSize, padBefore: tf.padBefore }).toEqual({ n, k, s, padding, inSize: n, padBefore: mp.padBefore });
            if (padding === 'SAME' && mp.outSize !== n * s) differsFromTfSame++;
            cases++;
          }
        }
      }
    }
    expect(cases).toBe(2 * 16 * 7 * 4);
    // MediaPipe's SAME is not TensorFlow's SAME transpose convolution (out = n·s) in many of them
    expect(differsFromTfSame).toBeGreaterThan(100);
  });
});

const paths = { xnnpack: 0, builtin: 0 };

describe('legalized Convolution2DTransposeBias in the TFLite interpreter equals QuantLab running the custom op', () => {
  // [input shape, weights shape [O,kH,kW,I], padding, strideH, strideW]
  const cases: [number[], number[], Padding, number, number][] = [
    [[1, 8, 8, 4], [3, 2, 2, 4], 'SAME', 2, 2], // selfie's geometry: out = 2n = TF SAME
    [[1, 5, 5, 2], [2, 3, 3, 2], 'SAME', 2, 2], // odd n, k = 3: MediaPipe 9, TF SAME 10
    [[1, 6, 5, 3], [2, 3, 3, 3], 'SAME', 2, 2], // even/odd mix: 12 × 9
    [[1, 4, 4, 2], [2, 1, 1, 2], 'SAME', 2, 2], // k < s: MediaPipe 7, TF SAME 8
    [[1, 7, 4, 3], [4, 4, 4, 3], 'SAME', 2, 2], // k = 4 > s
    [[1, 5, 6, 2], [2, 5, 2, 2], 'SAME', 3, 1], // non-square, padding only in H
    [[1, 4, 3, 2], [3, 3, 2, 2], 'SAME', 3, 3], // k ≤ (n−1) mod s in W: no padding
    [[1, 4, 4, 2], [2, 3, 3, 2], 'VALID', 2, 2],
    [[1, 3, 5, 1], [2, 2, 5, 1], 'VALID', 1, 3],
    [[2, 5, 5, 2], [2, 3, 3, 2], 'SAME', 2, 2], // batch 2
  ];
  cases.forEach(([xs, ws, padding, sh, sw], k) => {
    for (const bias of ['operand', 'add'] as const) {
      it(`x ${JSON.stringify(xs)}, w ${JSON.stringify(ws)}, ${padding}, stride ${sh}×${sw}, bias as ${bias}`, () => {
        const model = customModel(xs, ws, padding, sh, sw, 100 + k);
        const original = model.subgraphs[0];
        const { graph, legalized, remaining } = legalizeGraph(original, { transposeConvBias: bias });
        expect(remaining).toEqual([]);
        expect(legalized).toEqual([{ subgraph: 0, opIndex: 0, name: 'tconv', from: "CUSTOM 'Convolution2DTransposeBias'", to: bias === 'add' ? ['TRANSPOSE_CONV', 'ADD'] : ['TRANSPOSE_CONV'] }]);
        expect(graph.ops.map((o) => o.type)).toEqual(bias === 'add' ? ['TRANSPOSE_CONV', 'ADD', 'LEAKY_RELU'] : ['TRANSPOSE_CONV', 'LEAKY_RELU']);
        // the original is untouched
        expect(original.ops[0].type).toBe('CUSTOM');
        expect(original.tensors.length).toBe(5);

        const x = randomFloats(rng(200 + k), size(xs));
        const ours = Interpreter.prepare(original).run([x]).outputs[0] as Float32Array;
        const bytes = writeTflite({ ...model, subgraphs: [graph] });
        const run = oracle.run(bytes, [x]);
        const theirs = run.outputs[0] as Float32Array;
        // constant weights: XNNPACK takes the TRANSPOSE_CONV unless a kernel dimension is smaller
        // than its stride, then the builtin kernel runs it (an empty profile says nothing)
        if (run.profile.length) paths[run.profile[0].nodeType === 'TfLiteXNNPackDelegate' ? 'xnnpack' : 'builtin']++;
        expect(theirs.length).toBe(ours.length);
        const err = relL2Error(ours, theirs);
        expect(err, `relative L2 ${err}`).toBeLessThanOrEqual(1e-6);
        // QuantLab's own TRANSPOSE_CONV kernel on the rewritten graph: the same bits with the bias
        // operand (the same accumulation); with a separate ADD the sum is rounded to float32 once more
        const again = Interpreter.prepare(graph).run([x]).outputs[0] as Float32Array;
        if (bias === 'operand') expect(Array.from(again)).toEqual(Array.from(ours));
        else expect(relL2Error(again, ours)).toBeLessThanOrEqual(1e-7);
      });
    }
  });
});

describe('interpreter paths', () => {
  it('the constant-weight cases above ran through XNNPACK and through the builtin kernel (when the profiler recorded them)', () => {
    if (paths.xnnpack + paths.builtin === 0) return; // this wasm build's profiler recorded nothing
    expect(paths.xnnpack).toBeGreaterThan(0);
    expect(paths.builtin).toBeGreaterThan(0);
  });
});

describe("TFLite's builtin TRANSPOSE_CONV kernel too (weights fed as a graph input, so XNNPACK does not take the op)", () => {
  const cases: [number[], number[], Padding, number, number][] = [
    [[1, 5, 5, 2], [2, 3, 3, 2], 'SAME', 2, 2],
    [[1, 4, 4, 2], [2, 1, 1, 2], 'SAME', 2, 2],
    [[1, 4, 3, 2], [3, 3, 2, 2], 'VALID', 3, 1],
  ];
  cases.forEach(([xs, ws, padding, sh, sw], k) => {
    it(`x ${JSON.stringify(xs)}, w ${JSON.stringify(ws)}, ${padding}, stride ${sh}×${sw}`, () => {
      const model = customModel(xs, ws, padding, sh, sw, 300 + k);
      const g = model.subgraphs[0];
      const w = g.tensors[1].data as Float32Array;
      const dynamic: Graph = { ...g, tensors: g.tensors.map((t, i) => (i === 1 ? { name: t.name, dtype: t.dtype, shape: t.shape } : t)), inputs: [0, 1] };
      const { graph, remaining } = legalizeGraph(dynamic);
      expect(remaining).toEqual([]);
      const x = randomFloats(rng(400 + k), size(xs));
      const ours = Interpreter.prepare(dynamic).run([x, w]).outputs[0] as Float32Array;
      const theirs = oracle.run(writeTflite({ ...model, subgraphs: [graph] }), [x, w]);
      // (an empty profile is "unknown" in this build; when there is one it names the builtin kernel)
      if (theirs.profile.length) expect(theirs.profile[0].nodeType).toBe('TRANSPOSE_CONV');
      expect(relL2Error(ours, theirs.outputs[0] as Float32Array)).toBeLessThanOrEqual(1e-6);
    });
  });
});

describe('what stays custom, and why', () => {
  it('a custom op with no builtin equivalent is kept and named', () => {
    const m = customModel([1, 4, 4, 2], [2, 2, 2, 2], 'SAME', 2, 2, 1);
    const g = m.subgraphs[0];
    g.ops[0] = { ...g.ops[0], code: 'MaxPoolingWithArgmax2D' } as typeof g.ops[0];
    const r = legalizeGraph(g);
    expect(r.legalized).toEqual([]);
    expect(r.remaining).toEqual([{ subgraph: 0, opIndex: 0, name: 'tconv', code: 'MaxPoolingWithArgmax2D', reason: "QuantLab knows no builtin equivalent of the custom op 'MaxPoolingWithArgmax2D'." }]);
    expect(r.graph.ops[0]).toBe(g.ops[0]);
  });

  it('an unknown batch must be fixed first: the output shape becomes a constant', () => {
    const m = customModel([1, 4, 4, 2], [2, 2, 2, 2], 'SAME', 2, 2, 2);
    const g: Graph = { ...m.subgraphs[0], tensors: m.subgraphs[0].tensors.map((t) => (t.data ? t : { ...t, shape: [-1, ...t.shape.slice(1)] })) };
    const r = legalizeGraph(g);
    expect(r.remaining.map((x) => x.reason)).toEqual([
      "op 0 (CUSTOM Convolution2DTransposeBias 'tconv') reads input 'input' of shape [?,4,4,2]; TRANSPOSE_CONV needs its output shape as a constant, so fix the input's unknown dimensions first (--input-shape or --batch).",
    ]);
    // fix the batch (3): the shape rule runs through the custom op, then the rewrite works
    const fixed = withInputShapes(g, new Map([[0, [3, 4, 4, 2]]]));
    expect(fixed.unknown).toEqual([]);
    expect(fixed.graph.tensors[3].shape).toEqual([3, 8, 8, 2]);
    const r2 = legalizeGraph(fixed.graph);
    expect(r2.remaining).toEqual([]);
    const x = randomFloats(rng(3), 3 * 4 * 4 * 2);
    const theirs = oracle.run(writeTflite({ ...m, subgraphs: [r2.graph] }), [x]).outputs[0] as Float32Array;
    const ours = Interpreter.prepare(g, { inputShapes: [[3, 4, 4, 2]] }).run([x]).outputs[0] as Float32Array;
    expect(relL2Error(ours, theirs)).toBeLessThanOrEqual(1e-6);
  });

  it('bad custom options and non-float tensors are reasons, not crashes', () => {
    const m = customModel([1, 4, 4, 2], [2, 2, 2, 2], 'SAME', 2, 2, 4);
    const g = m.subgraphs[0];
    const badOptions = { ...g, ops: [{ ...g.ops[0], customOptions: customOptions('code0', 2, 2) }, g.ops[1]] } as Graph;
    expect(legalizeGraph(badOptions).remaining[0].reason).toBe(
      "op 0 (CUSTOM Convolution2DTransposeBias 'tconv') has padding code 0 in its custom options; expected 1 (SAME) or 2 (VALID).",
    );
    const short = { ...g, ops: [{ ...g.ops[0], customOptions: new Uint8Array(4) }, g.ops[1]] } as Graph;
    expect(legalizeGraph(short).remaining[0].reason).toMatch(/has 4 bytes of custom options; Convolution2DTransposeBias needs 12/);
    const int8 = { ...g, tensors: g.tensors.map((t, i) => (i === 2 ? { ...t, dtype: 'int32' as const, data: new Int32Array(2) } : t)) };
    expect(legalizeGraph(int8).remaining[0].reason).toBe(
      "op 0 (CUSTOM Convolution2DTransposeBias 'tconv') has int32 tensor 'bias'; MediaPipe's op (and this rewrite) is float32 only.",
    );
  });
});

describe('selfie_segmentation.tflite', () => {
  it('legalized, it loads and runs in the TFLite interpreter and matches QuantLab on the original (logits ≤ 1e-5)', () => {
    const model = readTflite(selfieBytes, 'selfie_segmentation.tflite');
    const g = model.subgraphs[0];
    expect(() => oracle.describe(selfieBytes)).toThrow(/Convolution2DTransposeBias/);
    const { model: legal, legalized, remaining } = legalizeModel(model);
    expect(remaining).toEqual([]);
    expect(legalized).toHaveLength(1);
    expect(legal.subgraphs[0].ops.filter((o) => o.type === 'CUSTOM')).toEqual([]);
    // logits: the custom op's output (the last op before the final LOGISTIC)
    const custom = g.ops.find((o) => o.type === 'CUSTOM')!;
    const logitsT = custom.outputs[0];
    const withLogits = (x: Graph): Graph => ({ ...x, outputs: [logitsT, ...x.outputs] });
    const bytes = writeTflite({ ...legal, subgraphs: [withLogits(legal.subgraphs[0])] });
    expect(oracle.describe(bytes).inputs).toEqual([{ name: 'input_1', shape: [1, 256, 256, 3], dataType: 'float32' }]);
    const ours = Interpreter.prepare(withLogits(g));
    for (const seed of [7, 8]) {
      const x = randomFloats(rng(seed), 256 * 256 * 3, 0, 1);
      const [myLogits, myMask] = ours.run([x]).outputs as Float32Array[];
      const [theirLogits, theirMask] = oracle.run(bytes, [x]).outputs as Float32Array[];
      expect(relL2Error(myLogits, theirLogits)).toBeLessThanOrEqual(1e-5);
      expect(theirMask.length).toBe(256 * 256);
      expect(myMask.length).toBe(256 * 256);
    }
  });

  it('shape inference runs through the custom op: batch 2 reaches the mask', () => {
    const g = readTflite(selfieBytes, 'selfie_segmentation.tflite').subgraphs[0];
    const shapes = inferShapesWithCustomOps(g, new Map([[g.inputs[0], [2, 256, 256, 3]]]));
    expect(shapes[g.outputs[0]]).toEqual([2, 256, 256, 1]);
    const custom = g.ops.find((o) => o.type === 'CUSTOM')!;
    expect(shapes[custom.outputs[0]][0]).toBe(2);
  });
});
