/**
 * Post-training quantization benchmark: for each model and calibration method, the end-to-end
 * quantize time, the calibration throughput (calibration samples ÷ calibration-stage seconds), the
 * size ratio, and the quality of the int8 model: top-1 accuracy against float on labelled data
 * (integer runtime, 'xnnpack' rounding), SQNR of every output against the float model on held-out
 * synthetic images for the MediaPipe models (which have no labelled data here).
 *
 *   npx tsx bench/ptq.ts [--json] [--quick] [--model NAME]
 *
 * Writes bench/results/ptq.json. Times depend on the machine and its load; the quality figures do not.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { openDataset } from '../src/core/data/dataset';
import type { Dataset } from '../src/core/data/dataset';
import { syntheticImage } from '../src/core/data/synthetic';
import { openModelFile } from '../src/core/formats';
import { readTflite } from '../src/core/formats/tflite/reader';
import { writeTflite } from '../src/core/formats/tflite/writer';
import { legalizeModel } from '../src/core/ir/legalize';
import type { Graph, Model } from '../src/core/ir/types';
import { parseCalibration } from '../src/core/quant/observers';
import { defaultPtqOptions, quantizeModel } from '../src/core/quant/ptq';
import type { CalibrationData } from '../src/core/quant/ptq';
import { Interpreter } from '../src/core/runtime/interpreter';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const QUICK = args.includes('--quick');
const ONLY = args.includes('--model') ? args[args.indexOf('--model') + 1] : null;
const METHODS = ['minmax', 'ema', 'percentile:99.99', 'kl', 'mse'];
const log = (s: string) => {
  if (!JSON_OUT) console.log(s);
};
const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

interface Case {
  name: string;
  load: () => Promise<Model>;
  /** Labelled: calibration and test specs. Unlabelled: synthetic images in [-1, 1]. */
  calib: string | 'synthetic';
  test: string | null;
  samples: number;
}

const CASES: Case[] = [
  { name: 'mnist-demo', load: () => openModelFile(path.join(root, 'resources/models/mnist-demo.tflite')), calib: 'mnist:train', test: 'mnist:test', samples: 500 },
  { name: 'fashion-demo', load: () => openModelFile(path.join(root, 'resources/models/fashion-demo.tflite')), calib: 'fashion-mnist:train', test: 'fashion-mnist:test', samples: 500 },
  {
    name: 'face_detection_short_range',
    load: async () => readTflite(new Uint8Array(fs.readFileSync(path.join(path.dirname(require.resolve('@mediapipe/face_detection/package.json')), 'face_detection_short_range.tflite'))), 'face'),
    calib: 'synthetic',
    test: null,
    samples: 32,
  },
  {
    name: 'selfie_segmentation',
    load: async () => legalizeModel(readTflite(new Uint8Array(fs.readFileSync(path.join(path.dirname(require.resolve('@mediapipe/selfie_segmentation/package.json')), 'selfie_segmentation.tflite'))), 'selfie')).model,
    calib: 'synthetic',
    test: null,
    samples: 32,
  },
];

function argmax(a: ArrayLike<number | bigint>): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (Number(a[i]) > Number(a[b])) b = i;
  return b;
}

function accuracy(g: Graph, ds: Dataset, n: number): number {
  const interp = Interpreter.prepare(g, { rounding: 'xnnpack', inputShapes: [[1, ...g.tensors[g.inputs[0]].shape.slice(1)]] });
  const x = new Float32Array(ds.sampleShape.reduce((a, b) => a * b, 1));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    ds.sample(i, x);
    if (argmax(interp.run([x]).outputs[0]) === ds.labels?.[i]) correct++;
  }
  return (100 * correct) / n;
}

function sqnr(floatGraph: Graph, q: Graph, shape: [number, number, number], n: number): number[] {
  const f = Interpreter.prepare(floatGraph);
  const i8 = Interpreter.prepare(q, { rounding: 'xnnpack' });
  const x = new Float32Array(shape[0] * shape[1] * shape[2]);
  const signal = floatGraph.outputs.map(() => 0);
  const noise = floatGraph.outputs.map(() => 0);
  for (let s = 0; s < n; s++) {
    syntheticImage(5000 + s, { shape, range: [-1, 1] }, x);
    const a = f.run([x]).outputs;
    const b = i8.run([x]).outputs;
    a.forEach((o, k) => {
      for (let e = 0; e < o.length; e++) {
        signal[k] += Number(o[e]) ** 2;
        noise[k] += (Number(o[e]) - Number(b[k][e])) ** 2;
      }
    });
  }
  return signal.map((s, k) => 10 * Math.log10(s / noise[k]));
}

interface Row {
  model: string;
  method: string;
  samples: number;
  quantizeSeconds: number;
  calibrationSamplesPerSecond: number;
  sizeBytes: number;
  floatSizeBytes: number;
  floatAccuracy?: number;
  int8Accuracy?: number;
  sqnrDb?: number[];
}

const rows: Row[] = [];
for (const c of CASES) {
  if (ONLY && c.name !== ONLY) continue;
  let model: Model;
  try {
    model = await c.load();
  } catch (e) {
    log(`${c.name}: skipped (${(e as Error).message})`);
    continue;
  }
  const g = model.subgraphs[0];
  const inShape = g.tensors[g.inputs[0]].shape;
  const shape = inShape.slice(1) as [number, number, number];
  let data: CalibrationData;
  let test: Dataset | null = null;
  if (c.calib === 'synthetic') {
    data = { count: 100_000, name: 'synthetic', sample: (i, out) => syntheticImage(i, { shape, range: [-1, 1] }, out) };
  } else {
    const ds = await openDataset(c.calib, { inputShape: inShape });
    data = { count: ds.count, name: ds.spec, sample: (i, out) => ds.sample(i, out) };
    if (c.test) test = await openDataset(c.test, { inputShape: inShape });
  }
  const floatSizeBytes = writeTflite(model).length;
  const testCount = test ? (QUICK ? Math.min(500, test.count) : test.count) : 0;
  let floatAccuracy: number | undefined;
  for (const method of QUICK ? ['minmax', 'percentile:99.99'] : METHODS) {
    const { model: q, report, floatGraph } = await quantizeModel(model, data, defaultPtqOptions({ samples: c.samples, calibration: parseCalibration(method) }));
    const bytes = writeTflite(q);
    const row: Row = {
      model: c.name,
      method,
      samples: report.samples,
      quantizeSeconds: report.seconds,
      calibrationSamplesPerSecond: report.samples / report.stageSeconds.calibrate,
      sizeBytes: bytes.length,
      floatSizeBytes,
    };
    if (test) {
      floatAccuracy ??= accuracy(floatGraph, test, testCount);
      row.floatAccuracy = floatAccuracy;
      row.int8Accuracy = accuracy(q.subgraphs[0], test, testCount);
    } else {
      row.sqnrDb = sqnr(floatGraph, q.subgraphs[0], shape, QUICK ? 4 : 10);
    }
    rows.push(row);
    const quality = row.int8Accuracy !== undefined ? `float ${row.floatAccuracy?.toFixed(2)}% → int8 ${row.int8Accuracy.toFixed(2)}% (${(row.int8Accuracy - (row.floatAccuracy ?? 0)).toFixed(2)})` : `SQNR ${row.sqnrDb?.map((d) => `${d.toFixed(1)} dB`).join(', ')}`;
    log(`${c.name.padEnd(28)} ${method.padEnd(17)} ${row.quantizeSeconds.toFixed(1).padStart(6)} s  ${row.calibrationSamplesPerSecond.toFixed(0).padStart(6)} samples/s  ${(100 * row.sizeBytes / floatSizeBytes).toFixed(1)}% size  ${quality}`);
  }
}
const out = { date: new Date().toISOString(), machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, Node ${process.version}`, quick: QUICK, rows };
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench/results/ptq.json'), JSON.stringify(out, null, 2) + '\n');
if (JSON_OUT) console.log(JSON.stringify(out, null, 2));
