/**
 * CUSTOM 'TFLite_Detection_PostProcess' against the real TFLite interpreter (it ships this op):
 * seeded random anchors, box encodings and scores, fast and regular NMS, float32 and uint8
 * inputs (uint8 scores tie often, which exercises the libc++ partial_sort order), with and
 * without a background column. Classes, scores and counts must be equal; boxes within 1e-6.
 *
 * The interpreter refuses int8 inputs to this op (its kernel takes float32 and uint8 only);
 * QuantLab's int8 path is checked by shifting uint8 cases to int8 (q − 128, Z − 128: the same
 * reals), which must give identical outputs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import type { DType, Model, QuantParams, TensorData } from '../../../src/core/ir/types';
import { encodeFlexMap, readFlexMap } from '../../../src/core/runtime/flexbuffers';
import type { FlexMapValue } from '../../../src/core/runtime/flexbuffers';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import { DETECTION_POSTPROCESS, parseDetectionPostProcessOptions } from '../../../src/core/runtime/kernels/detection-postprocess';
import { singleOpModel } from '../../helpers/tflite-model';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';
import { rng } from '../../unit/core/runtime/reference';

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
});

interface Case {
  numBoxes: number;
  numClasses: number;
  background: boolean;
  maxDetections: number;
  maxClassesPerDetection: number;
  detectionsPerClass: number;
  regular: boolean;
  scoreThreshold: number;
  iouThreshold: number;
  quantized: boolean;
  /** Extra values per box encoding past y, x, h, w (keypoints), ignored by the op. */
  extra: number;
  /** uint8 scores on a grid of 1/8 (nine levels), so that an anchor's classes tie. */
  coarseScores?: boolean;
}

const SCALES = { y_scale: 10, x_scale: 10, h_scale: 5, w_scale: 5 };

function options(c: Case, width: 4 | 8): Uint8Array {
  const entries: Record<string, FlexMapValue> = {
    max_detections: { int: c.maxDetections },
    max_classes_per_detection: { int: c.maxClassesPerDetection },
    detections_per_class: { int: c.detectionsPerClass },
    use_regular_nms: { bool: c.regular },
    nms_score_threshold: { float: c.scoreThreshold },
    nms_iou_threshold: { float: c.iouThreshold },
    num_classes: { int: c.numClasses },
    y_scale: { float: SCALES.y_scale },
    x_scale: { float: SCALES.x_scale },
    h_scale: { float: SCALES.h_scale },
    w_scale: { float: SCALES.w_scale },
  };
  return encodeFlexMap(entries, width);
}

interface Built {
  model: Model;
  inputs: TensorData[];
  anchors: TensorData;
}

const BOX_Q: QuantParams = { scale: [0.05], zeroPoint: [128] };
const ANCHOR_Q: QuantParams = { scale: [1 / 256], zeroPoint: [0] };
const SCORE_Q: QuantParams = { scale: [1 / 256], zeroPoint: [0] };
const COARSE_SCORE_Q: QuantParams = { scale: [1 / 8], zeroPoint: [0] };

/** Anchors clustered around a few centres so that decoded boxes overlap and NMS has work to do. */
function build(c: Case, seed: number, width: 4 | 8 = 8): Built {
  const r = rng(seed);
  const B = c.numBoxes;
  const cols = c.numClasses + (c.background ? 1 : 0);
  const stride = 4 + c.extra;
  const centres = Array.from({ length: 4 }, () => [0.2 + 0.6 * r(), 0.2 + 0.6 * r()]);
  const anchorsF = new Float32Array(B * 4);
  for (let i = 0; i < B; i++) {
    const [cy, cx] = centres[i % centres.length];
    anchorsF.set([cy + 0.1 * (r() - 0.5), cx + 0.1 * (r() - 0.5), 0.1 + 0.3 * r(), 0.1 + 0.3 * r()], i * 4);
  }
  const boxesF = Float32Array.from({ length: B * stride }, () => 4 * (r() - 0.5));
  const scoresF = Float32Array.from({ length: B * cols }, () => r());
  const opts = options(c, width);
  const outputs = (n: number) => [
    { dtype: 'float32' as DType, shape: [1, n, 4] },
    { dtype: 'float32' as DType, shape: [1, n] },
    { dtype: 'float32' as DType, shape: [1, n] },
    { dtype: 'float32' as DType, shape: [1] },
  ];
  const N = c.maxDetections * c.maxClassesPerDetection;
  if (!c.quantized) {
    const model = singleOpModel({
      type: 'CUSTOM',
      code: DETECTION_POSTPROCESS,
      customOptions: opts,
      inputs: [
        { name: 'box_encodings', dtype: 'float32', shape: [1, B, stride] },
        { name: 'class_predictions', dtype: 'float32', shape: [1, B, cols] },
        { name: 'anchors', dtype: 'float32', shape: [B, 4], data: anchorsF },
      ],
      outputs: outputs(N),
    });
    return { model, inputs: [boxesF, scoresF], anchors: anchorsF };
  }
  const q = (x: Float32Array, p: QuantParams) => Uint8Array.from(x, (v) => Math.max(0, Math.min(255, Math.round(v / p.scale[0]) + p.zeroPoint[0])));
  const anchorsQ = q(anchorsF, ANCHOR_Q);
  const scoreQ = c.coarseScores ? COARSE_SCORE_Q : SCORE_Q;
  const model = singleOpModel({
    type: 'CUSTOM',
    code: DETECTION_POSTPROCESS,
    customOptions: opts,
    inputs: [
      { name: 'box_encodings', dtype: 'uint8', shape: [1, B, stride], quant: BOX_Q },
      { name: 'class_predictions', dtype: 'uint8', shape: [1, B, cols], quant: scoreQ },
      { name: 'anchors', dtype: 'uint8', shape: [B, 4], quant: ANCHOR_Q, data: anchorsQ },
    ],
    outputs: outputs(N),
  });
  return { model, inputs: [q(boxesF, BOX_Q), q(scoresF, scoreQ)], anchors: anchorsQ };
}

/** Rows the interpreter writes: fast NMS leaves the rest untouched, regular NMS zero-fills up to max_detections. */
function writtenRows(c: Case, count: number): number[] {
  if (c.regular) return Array.from({ length: c.maxDetections }, (_, i) => i);
  const perAnchor = Math.min(c.maxClassesPerDetection, c.numClasses);
  const rows: number[] = [];
  for (let k = 0; k < count; k++) for (let col = 0; col < perAnchor; col++) rows.push(k * c.maxClassesPerDetection + col);
  return rows;
}

function runOurs(model: Model, inputs: TensorData[]): Float32Array[] {
  const it = Interpreter.prepare(model.subgraphs[0]);
  return it.run(inputs).outputs as Float32Array[];
}

interface Comparison {
  count: number;
  maxBoxDiff: number;
  exactBoxes: boolean;
  tiedScores: boolean;
}

function compare(c: Case, ours: Float32Array[], theirs: Float32Array[], what: string): Comparison {
  const count = theirs[3][0];
  expect(ours[3][0], `${what}: number of detections`).toBe(count);
  let maxBoxDiff = 0;
  let exactBoxes = true;
  const rows = writtenRows(c, count);
  for (const row of rows) {
    expect(ours[1][row], `${what}: class of row ${row}`).toBe(theirs[1][row]);
    expect(ours[2][row], `${what}: score of row ${row}`).toBe(theirs[2][row]);
    for (let k = 0; k < 4; k++) {
      const d = Math.abs(ours[0][row * 4 + k] - theirs[0][row * 4 + k]);
      maxBoxDiff = Math.max(maxBoxDiff, d);
      if (d !== 0) exactBoxes = false;
    }
  }
  expect(maxBoxDiff, `${what}: largest box coordinate difference`).toBeLessThanOrEqual(1e-6);
  const reported = rows.slice(0, c.regular ? count : rows.length).map((row) => theirs[2][row]);
  const tiedScores = new Set(reported).size < reported.length;
  return { count, maxBoxDiff, exactBoxes, tiedScores };
}

const BASE: Case = {
  numBoxes: 40,
  numClasses: 4,
  background: true,
  maxDetections: 10,
  maxClassesPerDetection: 1,
  detectionsPerClass: 5,
  regular: false,
  scoreThreshold: 0.3,
  iouThreshold: 0.5,
  quantized: false,
  extra: 0,
};

const CASES: [string, Partial<Case>][] = [
  ['fast NMS, float32', {}],
  ['fast NMS, float32, 3 classes per detection, no background, keypoints', { maxClassesPerDetection: 3, background: false, extra: 4 }],
  ['fast NMS, float32, more classes per detection than classes', { maxClassesPerDetection: 6, numClasses: 3 }],
  ['fast NMS, uint8', { quantized: true }],
  ['fast NMS, uint8, 3 classes per detection', { quantized: true, maxClassesPerDetection: 3, numClasses: 6 }],
  // an anchor's classes tie: the reported class order is libc++'s partial_sort order, not a stable one
  ['fast NMS, uint8 on 9 levels, 4 of 7 classes per detection', { quantized: true, coarseScores: true, maxClassesPerDetection: 4, numClasses: 7 }],
  ['fast NMS, uint8 on 9 levels, all 5 classes per detection', { quantized: true, coarseScores: true, maxClassesPerDetection: 5, numClasses: 5 }],
  ['regular NMS, uint8 on 9 levels', { regular: true, quantized: true, coarseScores: true, numClasses: 6, maxDetections: 15 }],
  ['regular NMS, float32', { regular: true }],
  ['regular NMS, float32, many boxes, low threshold', { regular: true, numBoxes: 120, scoreThreshold: 0.05, maxDetections: 25, detectionsPerClass: 12 }],
  ['regular NMS, uint8 (tied scores across classes)', { regular: true, quantized: true, numBoxes: 80, numClasses: 8, maxDetections: 20, detectionsPerClass: 10 }],
  ['regular NMS, uint8, one detection', { regular: true, quantized: true, maxDetections: 1 }],
  ['regular NMS, uint8, tight IoU, no background', { regular: true, quantized: true, background: false, iouThreshold: 0.2, scoreThreshold: 0.1, maxDetections: 30 }],
];

describe('TFLite_Detection_PostProcess against the TFLite interpreter', () => {
  for (const [name, override] of CASES) {
    const c: Case = { ...BASE, ...override };
    it(name, () => {
      let detections = 0;
      let exact = 0;
      let ties = 0;
      const seeds = [1, 2, 3, 4, 5, 6];
      for (const seed of seeds) {
        const { model, inputs } = build(c, seed);
        const theirs = oracle.run(writeTflite(model), inputs).outputs as Float32Array[];
        const ours = runOurs(model, inputs);
        const r = compare(c, ours, theirs, `seed ${seed}`);
        detections += r.count;
        if (r.exactBoxes) exact++;
        if (r.tiedScores) ties++;
      }
      expect(detections, 'the cases must detect something').toBeGreaterThan(0);
      // Decoding repeats TFLite's double arithmetic, so boxes are in fact bit-equal.
      expect(exact).toBe(seeds.length);
      if (c.quantized && (c.regular || c.maxClassesPerDetection > 1) && c.maxDetections > 1) {
        expect(ties, 'uint8 scores should produce tied reported scores').toBeGreaterThan(0);
      }
    });
  }

  it('reads options written with 4-byte slots (float32 and int32 values) the same way', () => {
    const c: Case = { ...BASE, regular: true };
    const { model, inputs } = build(c, 9, 4);
    const theirs = oracle.run(writeTflite(model), inputs).outputs as Float32Array[];
    compare(c, runOurs(model, inputs), theirs, 'width 4');
  });

  it('int8 inputs (which the interpreter refuses) give the same detections as the same reals in uint8', () => {
    for (const regular of [false, true]) {
      const c: Case = { ...BASE, quantized: true, regular, maxClassesPerDetection: regular ? 1 : 2 };
      const { model, inputs } = build(c, 11);
      const g = model.subgraphs[0];
      const int8Graph = structuredClone(g);
      for (const t of int8Graph.tensors) {
        if (t.dtype !== 'uint8') continue;
        t.dtype = 'int8';
        t.quant = { ...t.quant!, zeroPoint: t.quant!.zeroPoint.map((z) => z - 128) };
        if (t.data) t.data = Int8Array.from(t.data as Uint8Array, (v) => v - 128);
      }
      const shifted = inputs.map((x) => Int8Array.from(x as Uint8Array, (v) => v - 128));
      const int8Model: Model = { ...model, subgraphs: [int8Graph] };
      expect(() => oracle.run(writeTflite(int8Model), shifted)).toThrow(/TFLite_Detection_PostProcess/);
      const a = runOurs(model, inputs);
      const b = runOurs(int8Model, shifted);
      expect(b[3][0]).toBeGreaterThan(0);
      b.forEach((out, i) => expect(Array.from(out), `output ${i}`).toEqual(Array.from(a[i])));
    }
  });
});

describe('TFLite_Detection_PostProcess options', () => {
  const label = "Op 0 'det' (CUSTOM 'TFLite_Detection_PostProcess')";

  it('round-trips a map through encodeFlexMap / readFlexMap at both slot widths', () => {
    for (const width of [4, 8] as const) {
      const m = readFlexMap(encodeFlexMap({ b: { int: -3 }, a: { float: 0.25 }, c: { bool: true } }, width));
      expect([...m.entries()]).toEqual([
        ['a', 0.25],
        ['b', -3],
        ['c', true],
      ]);
    }
  });

  it('applies TFLite defaults and float32 rounding', () => {
    const p = parseDetectionPostProcessOptions(
      encodeFlexMap({
        max_detections: { int: 10 },
        max_classes_per_detection: { int: 1 },
        nms_score_threshold: { float: 0.1 },
        nms_iou_threshold: { float: 0.6 },
        num_classes: { int: 90 },
        y_scale: { float: 10 },
        x_scale: { float: 10 },
        h_scale: { float: 5 },
        w_scale: { float: 5 },
      }),
      label,
    );
    expect(p.detectionsPerClass).toBe(100);
    expect(p.useRegularNms).toBe(false);
    expect(p.nmsScoreThreshold).toBe(Math.fround(0.1));
  });

  it('names a missing key, a bad IoU threshold and bytes that are not a map', () => {
    expect(() => parseDetectionPostProcessOptions(encodeFlexMap({ max_detections: { int: 3 } }), label)).toThrow(
      `${label} has no 'max_classes_per_detection' in its custom options.`,
    );
    const bad = options({ ...BASE, iouThreshold: 1.5 }, 8);
    expect(() => parseDetectionPostProcessOptions(bad, label)).toThrow(/nms_iou_threshold = 1\.5 .* must be in \(0, 1\]/);
    expect(() => parseDetectionPostProcessOptions(new Uint8Array([1, 2, 3, 4]), label)).toThrow(/not a FlexBuffers map/);
    expect(() => parseDetectionPostProcessOptions(undefined, label)).toThrow(/has no custom options/);
  });
});
