/**
 * Real mobile float models that nobody here wrote, run end to end in the QuantLab runtime:
 *
 * - face_detection_short_range / full_range (@mediapipe/face_detection; float16 weights behind
 *   DEQUANTIZE): outputs must match the TFLite interpreter to a relative L2 error ≤ 1e-5
 *   (‖ours − tflite‖₂ / ‖tflite‖₂, per output) on seeded random inputs in [−1, 1].
 * - selfie_segmentation (@mediapipe/selfie_segmentation) uses MediaPipe's custom
 *   Convolution2DTransposeBias, which the interpreter lacks. QuantLab runs it as is; to check
 *   the numbers, the same graph with that one op rewritten as a builtin TRANSPOSE_CONV (with
 *   the bias operand and the output shape MediaPipe derives) runs in the interpreter.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import { inferShapes } from '../../../src/core/ir/shape-inference';
import type { Graph, OpaqueOp } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import {
  CONVOLUTION_2D_TRANSPOSE_BIAS,
  parseTransposeConvBiasOptions,
  transposeConvBiasGeometry,
} from '../../../src/core/runtime/kernels/convolution-2d-transpose-bias';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';
import { randomFloats, relL2Error, rng } from '../../unit/core/runtime/reference';

const require = createRequire(import.meta.url);
function packageFile(pkg: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), file)));
}

const TOL = 1e-5;

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
});

function opCounts(g: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const op of g.ops) {
    const k = op.type === 'CUSTOM' ? `CUSTOM ${op.code}` : op.type;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

for (const file of ['face_detection_short_range.tflite', 'face_detection_full_range.tflite']) {
  describe(file, () => {
    const bytes = packageFile('@mediapipe/face_detection', file);
    const graph = readTflite(bytes, file).subgraphs[0];

    it('prepares: float16 weights folded once, arena = planned peak, shapes as declared', () => {
      const counts = opCounts(graph);
      expect(counts.DEQUANTIZE).toBeGreaterThan(0);
      const it = Interpreter.prepare(graph);
      expect(it.foldedOps.length).toBe(counts.DEQUANTIZE);
      expect(it.steps.some((s) => s.type === 'DEQUANTIZE')).toBe(false);
      expect(it.arenaBytes).toBe(it.peakActivationBytes);
      expect(it.peakActivationBytes).toBeLessThan(it.memoryPlan.naiveBytes / 2);
      expect(it.outputs.map((o) => o.shape)).toEqual(graph.outputs.map((t) => graph.tensors[t].shape));
      // the kernels' own shape rules agree with ir/shape-inference on every tensor
      const inferred = inferShapes(graph);
      graph.tensors.forEach((_, t) => expect(it.tensorShape(t), graph.tensors[t].name).toEqual(inferred[t]));
    });

    for (const seed of [1, 2, 3]) {
      it(`matches the TFLite interpreter on random input (seed ${seed}), relative L2 ≤ ${TOL}`, () => {
        const it = Interpreter.prepare(graph);
        const x = randomFloats(rng(seed), it.inputs[0].shape.reduce((a, b) => a * b, 1), -1, 1);
        const ours = it.run([x]).outputs;
        const theirs = oracle.run(bytes, [x]).outputs;
        expect(ours.length).toBe(theirs.length);
        ours.forEach((o, i) => {
          expect(o.length).toBe(theirs[i].length);
          const err = relL2Error(o as Float32Array, theirs[i] as Float32Array);
          expect(err, `output ${i} '${it.outputs[i].name}': relative L2 ${err}`).toBeLessThanOrEqual(TOL);
        });
      });
    }

    it('gives the same answer on every run (no state leaks through the reused arena)', () => {
      const it = Interpreter.prepare(graph);
      const n = it.inputs[0].shape.reduce((a, b) => a * b, 1);
      const a = randomFloats(rng(10), n, -1, 1);
      const b = randomFloats(rng(11), n, -1, 1);
      const first = it.run([a]).outputs;
      it.run([b]);
      const again = it.run([a]).outputs;
      first.forEach((o, i) => expect(Array.from(again[i] as Float32Array)).toEqual(Array.from(o as Float32Array)));
    });
  });
}

describe('selfie_segmentation.tflite (custom Convolution2DTransposeBias)', () => {
  const bytes = packageFile('@mediapipe/selfie_segmentation', 'selfie_segmentation.tflite');
  const graph = readTflite(bytes, 'selfie_segmentation.tflite').subgraphs[0];
  const customIndex = graph.ops.findIndex((op) => op.type === 'CUSTOM');
  const custom = graph.ops[customIndex] as OpaqueOp;

  it('the interpreter refuses it; QuantLab runs it to a [1, 256, 256, 1] mask in [0, 1]', () => {
    expect(custom.code).toBe(CONVOLUTION_2D_TRANSPOSE_BIAS);
    expect(() => oracle.run(bytes, [new Float32Array(256 * 256 * 3)])).toThrowError(/Convolution2DTransposeBias/);
    // the custom options are the packed TfLiteTransposeConvParams: SAME, stride 2×2
    expect(parseTransposeConvBiasOptions(custom.customOptions, 'selfie')).toEqual({ padding: 'SAME', strideW: 2, strideH: 2 });
    const it = Interpreter.prepare(graph);
    expect(it.outputs[0].shape).toEqual([1, 256, 256, 1]);
    const x = randomFloats(rng(4), 256 * 256 * 3, 0, 1);
    const mask = it.run([x]).outputs[0] as Float32Array;
    expect(mask.length).toBe(256 * 256);
    expect(mask.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
  });

  it(`matches the interpreter running the same graph with the custom op as TRANSPOSE_CONV (logits: relative L2 ≤ ${TOL})`, () => {
    const [inputT, weightsT, biasT] = custom.inputs;
    const params = parseTransposeConvBiasOptions(custom.customOptions, 'selfie');
    const qlShapes = Interpreter.prepare(graph);
    const inShape = qlShapes.tensorShape(inputT);
    const wShape = qlShapes.tensorShape(weightsT);
    const h = transposeConvBiasGeometry(inShape[1], wShape[1], params.strideH, params.padding);
    const w = transposeConvBiasGeometry(inShape[2], wShape[2], params.strideW, params.padding);
    const outShape = [inShape[0], h.outSize, w.outSize, wShape[0]];
    const rewritten: Graph = {
      ...graph,
      tensors: [...graph.tensors, { name: 'segment/output_shape', dtype: 'int32', shape: [4], data: Int32Array.from(outShape) }],
      ops: graph.ops.map((op, i) =>
        i === customIndex
          ? {
              type: 'TRANSPOSE_CONV' as const,
              options: { padding: params.padding, strideH: params.strideH, strideW: params.strideW, fusedActivationFunction: 'NONE' as const },
              inputs: [graph.tensors.length, weightsT, inputT, biasT],
              outputs: [...op.outputs],
            }
          : op,
      ),
    };
    // Random pixels are no person: the logits before the final LOGISTIC come out in about
    // [−900, −17], so the mask is ≈ 1e−8 … 0 and the sigmoid turns a logit error δ into a
    // relative mask error ≈ |logit|·δ (the interpreter's own sigmoid of its own logits is exact
    // here). So the logits are held to relative L2 ≤ 1e-5, and the mask to what that implies.
    const logitsT = custom.outputs[0];
    const maskT = graph.outputs[0];
    const withLogits = (g: Graph): Graph => ({ ...g, outputs: [logitsT, maskT] });
    const ours = Interpreter.prepare(withLogits(graph));
    const theirsBytes = writeTflite({ format: 'tflite', subgraphs: [withLogits(rewritten)] });
    for (const seed of [5, 6]) {
      const x = randomFloats(rng(seed), 256 * 256 * 3, 0, 1);
      const [myLogits, myMask] = ours.run([x]).outputs as Float32Array[];
      const [theirLogits, theirMask] = oracle.run(theirsBytes, [x]).outputs as Float32Array[];
      const err = relL2Error(myLogits, theirLogits);
      expect(err, `logits: relative L2 ${err}`).toBeLessThanOrEqual(TOL);
      let worst = 0;
      for (let i = 0; i < myMask.length; i++) {
        // allowed: the logit difference carried through the sigmoid, plus float32 rounding
        const allowed = theirMask[i] * (1 - theirMask[i]) * (Math.abs(myLogits[i] - theirLogits[i]) * 1.01 + 1e-6) + 1e-7 * theirMask[i] + 1e-30;
        worst = Math.max(worst, Math.abs(myMask[i] - theirMask[i]) / allowed);
      }
      expect(worst, 'mask error beyond what the logit error explains').toBeLessThanOrEqual(1);
    }
  });
});
