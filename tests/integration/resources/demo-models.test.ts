/**
 * The demo float models shipped in resources/models (issue 6, item 6; trained by
 * tools/train-demo/train-demo.ts): each file is what its sidecar says it is (SHA-256, size,
 * architecture, parameter count, static shapes, BatchNorm left unfolded), and on the first 500
 * test images the real TFLite interpreter (@tensorflow/tfjs-tflite's wasm build) predicts what
 * QuantLab's runtime predicts, with the accuracy the sidecar records for those images.
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../../src/core/data/dataset';
import { readTflite } from '../../../src/core/formats/tflite/reader';
import { foldBatchNorm } from '../../../src/core/ir/transforms';
import type { Graph, Op } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import { loadOracle, type TfliteOracle } from '../../helpers/tflite-oracle';

const MODELS = fileURLToPath(new URL('../../../resources/models/', import.meta.url));
const SUBSET = 500;

interface Sidecar {
  name: string;
  file: string;
  sha256: string;
  sizeBytes: number;
  parameters: number;
  parametersInTflite: number;
  architecture: { tfliteOps: string[] };
  test: { spec: string; count: number };
  accuracy: { float32Pct: number; samples: number; subsets: Record<string, number> };
}

/** The documented architectures: op type and fused activation, in execution order. */
const EXPECTED: Record<string, { ops: string[]; parameters: number; parametersInTflite: number; batchNorms: number }> = {
  'mnist-demo': {
    ops: ['CONV_2D/RELU', 'MAX_POOL_2D/NONE', 'RESHAPE', 'FULLY_CONNECTED/NONE'],
    parameters: 20_410,
    parametersInTflite: 20_410,
    batchNorms: 0,
  },
  'fashion-demo': {
    // conv1 (no bias) → BatchNorm as MUL + ADD (ReLU fused into the ADD) → pool → conv2 → conv3 → pool → dense → logits.
    ops: ['CONV_2D/NONE', 'MUL/NONE', 'ADD/RELU', 'MAX_POOL_2D/NONE', 'CONV_2D/RELU', 'CONV_2D/RELU', 'MAX_POOL_2D/NONE', 'RESHAPE', 'FULLY_CONNECTED/RELU', 'FULLY_CONNECTED/NONE'],
    // Keras counts BatchNorm's γ, β, moving mean and variance (64); the file holds its scale and shift (32),
    // and the reader gives the bias-free conv1 a zero bias (16): 115,162 − 64 + 32 + 16.
    parameters: 115_162,
    parametersInTflite: 115_146,
    batchNorms: 1,
  },
};

function opLabel(op: Op): string {
  const opts = (op as { options?: { fusedActivationFunction?: string } }).options;
  return opts?.fusedActivationFunction !== undefined ? `${op.type}/${opts.fusedActivationFunction}` : op.type;
}

function floatParameters(g: Graph): number {
  return g.tensors.filter((t) => t.data && t.dtype === 'float32').reduce((n, t) => n + (t.data?.length ?? 0), 0);
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k] > v[best]) best = k;
  return best;
}

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
});

for (const name of Object.keys(EXPECTED)) {
  describe(`resources/models/${name}.tflite`, () => {
    const expected = EXPECTED[name];
    const sidecar = JSON.parse(readFileSync(`${MODELS}${name}.json`, 'utf8')) as Sidecar;
    const bytes = new Uint8Array(readFileSync(`${MODELS}${name}.tflite`));

    it('is the file its sidecar describes (SHA-256, size)', () => {
      expect(sidecar.name).toBe(name);
      expect(sidecar.file).toBe(`${name}.tflite`);
      expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(sidecar.sha256);
      expect(bytes.length).toBe(sidecar.sizeBytes);
    });

    it("loads with QuantLab's reader: documented ops, parameter count, static float32 [1,28,28,1] → [1,10]", () => {
      const model = readTflite(bytes, `${name}.tflite`);
      expect(model.subgraphs).toHaveLength(1);
      const g = model.subgraphs[0];
      expect(g.ops.map(opLabel)).toEqual(expected.ops);
      expect(sidecar.architecture.tfliteOps).toEqual(g.ops.map((o) => o.type));
      expect(sidecar.parameters).toBe(expected.parameters);
      expect(floatParameters(g)).toBe(expected.parametersInTflite);
      expect(sidecar.parametersInTflite).toBe(expected.parametersInTflite);
      expect(g.inputs).toHaveLength(1);
      expect(g.outputs).toHaveLength(1);
      const input = g.tensors[g.inputs[0]];
      const output = g.tensors[g.outputs[0]];
      expect([input.dtype, input.shape]).toEqual(['float32', [1, 28, 28, 1]]);
      expect([output.dtype, output.shape]).toEqual(['float32', [1, 10]]);
      for (const t of g.tensors) {
        expect(t.shape.every((d) => d > 0), `tensor '${t.name}' has shape [${t.shape.join(', ')}]`).toBe(true);
        expect(t.quant, `tensor '${t.name}' is quantized`).toBeUndefined();
        expect(['float32', 'int32']).toContain(t.dtype);
      }
    });

    it('ships its BatchNorm unfolded, and folding it changes nothing but the op count', () => {
      const g = readTflite(bytes, `${name}.tflite`).subgraphs[0];
      const { graph: folded, folded: count } = foldBatchNorm(g);
      expect(count).toBe(expected.batchNorms);
      expect(folded.ops.length).toBe(g.ops.length - 2 * expected.batchNorms);
      const sample = new Float32Array(28 * 28).map((_, i) => (i % 13) / 13);
      const a = Interpreter.prepare(g).run([sample]).outputs[0] as Float32Array;
      const b = Interpreter.prepare(folded).run([sample]).outputs[0] as Float32Array;
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k] - b[k])).toBeLessThan(1e-4 * (1 + Math.abs(a[k])));
    });

    it(`agrees with the real TFLite interpreter on the first ${SUBSET} test images, at the sidecar's accuracy`, async () => {
      const ds = await openDataset(`${sidecar.test.spec}@${SUBSET}`);
      const labels = ds.labels;
      if (!labels) throw new Error(`${ds.spec} has no labels`);
      const graph = readTflite(bytes, `${name}.tflite`).subgraphs[0];
      const interpreter = Interpreter.prepare(graph);
      const sample = new Float32Array(28 * 28);
      let same = 0;
      let oursCorrect = 0;
      let tfliteCorrect = 0;
      for (let i = 0; i < ds.count; i++) {
        ds.sample(i, sample);
        const ours = argmax(interpreter.run([sample]).outputs[0] as Float32Array);
        const theirs = argmax(oracle.run(bytes, [sample]).outputs[0] as Float32Array);
        if (ours === theirs) same++;
        if (ours === labels[i]) oursCorrect++;
        if (theirs === labels[i]) tfliteCorrect++;
      }
      expect(same / ds.count).toBeGreaterThanOrEqual(0.998);
      const recorded = sidecar.accuracy.subsets[ds.spec];
      expect(recorded, `the sidecar records no accuracy for '${ds.spec}'`).toBeTypeOf('number');
      expect(Math.abs((100 * tfliteCorrect) / ds.count - recorded)).toBeLessThanOrEqual(1);
      expect((100 * oursCorrect) / ds.count).toBeCloseTo(recorded, 6);
      // The full test set's figure, for the record: the subset may sit a little above or below it.
      expect(sidecar.accuracy.samples).toBe(sidecar.test.count);
    });
  });
}
