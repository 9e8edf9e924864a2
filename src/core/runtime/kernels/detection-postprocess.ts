/**
 * CUSTOM 'TFLite_Detection_PostProcess': the SSD head's box decoding and non-max suppression.
 *
 * Inputs: box encodings [1, B, ≥4] (y, x, h, w per anchor, extra values ignored), class scores
 * [1, B, C + background] (background, when present, is column 0), anchors [B, 4] (y, x, h, w).
 * Outputs, all float32: boxes [1, N, 4] (ymin, xmin, ymax, xmax), classes [1, N], scores [1, N],
 * count [1], with N = max_detections · max_classes_per_detection.
 *
 * Options: a FlexBuffers map (see ../flexbuffers.ts): max_detections, max_classes_per_detection,
 * detections_per_class (default 100), use_regular_nms (default false), nms_score_threshold,
 * nms_iou_threshold, num_classes, y_scale, x_scale, h_scale, w_scale.
 *
 * Numbers, as TFLite's kernel computes them:
 * - quantized inputs are dequantized to float32, r = fl(S · (q − Z));
 * - decoding runs in double on the float32 values and rounds each of the centre and half size
 *   to float32: yc = fl(y / y_scale · a_h + a_y), hh = fl(0.5 · exp(h / h_scale) · a_h), then
 *   ymin = fl(yc − hh), ymax = fl(yc + hh) (x likewise);
 * - IoU in float32; boxes below the score threshold (score < t) are dropped; a candidate is
 *   suppressed when IoU > the IoU threshold.
 * Orders, which decide ties (quantized scores tie often):
 * - per class, candidates are sorted by a stable sort on decreasing score (ties: lower index first);
 * - the top classes of an anchor (fast NMS) are chosen with std::partial_sort (libc++'s heap
 *   select, not stable), or the first maximum when only one is wanted; `partialSortDecreasing`
 *   below repeats libc++'s steps so ties come out in the same order;
 * - regular NMS merges each class's picks into its running list, the newer class first on ties.
 *
 * Rows past the detections are zero here; TFLite's fast NMS leaves them untouched.
 * TFLite's kernel takes float32 and uint8; int8 is dequantized the same way here (the
 * interpreter used as the test oracle refuses int8 inputs to this op).
 */
import { ModelFormatError, UnsupportedError } from '../../errors';
import type { DType, TensorData } from '../../ir/types';
import { FlexBufferError, readFlexMap } from '../flexbuffers';
import type { FlexScalar } from '../flexbuffers';
import { defineKernel } from '../kernel';
import type { OpSignature, PreparedTensor } from '../kernel';
import { f32, requireInput, requireRank } from '../kernel-util';
import { shapeToString } from '../tensor-utils';

export const DETECTION_POSTPROCESS = 'TFLite_Detection_PostProcess';

export interface DetectionPostProcessParams {
  maxDetections: number;
  maxClassesPerDetection: number;
  detectionsPerClass: number;
  useRegularNms: boolean;
  /** float32 values, as TFLite keeps them. */
  nmsScoreThreshold: number;
  nmsIouThreshold: number;
  numClasses: number;
  yScale: number;
  xScale: number;
  hScale: number;
  wScale: number;
}

/** Decodes the FlexBuffers options map; missing required keys and impossible values are sentences. */
export function parseDetectionPostProcessOptions(bytes: Uint8Array | undefined, label: string): DetectionPostProcessParams {
  if (!bytes || bytes.length === 0) {
    throw new ModelFormatError(`${label} has no custom options; ${DETECTION_POSTPROCESS} needs a FlexBuffers map (max_detections, num_classes, …).`);
  }
  let map: Map<string, FlexScalar>;
  try {
    map = readFlexMap(bytes);
  } catch (e) {
    const why = e instanceof FlexBufferError ? e.message : String(e);
    throw new ModelFormatError(`${label} has custom options that are not a FlexBuffers map (${why}).`, { cause: e });
  }
  const num = (key: string, fallback?: number): number => {
    const v = map.get(key);
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ModelFormatError(`${label} has no '${key}' in its custom options.`);
    }
    if (typeof v === 'string') throw new ModelFormatError(`${label} has '${key}' = '${v}' in its custom options; expected a number.`);
    return Number(v);
  };
  // AsInt32 truncates a float; AsFloat rounds to float32.
  const int = (key: string, fallback?: number): number => Math.trunc(num(key, fallback)) | 0;
  const float = (key: string): number => Math.fround(num(key));
  const regular = map.get('use_regular_nms');
  const params: DetectionPostProcessParams = {
    maxDetections: int('max_detections'),
    maxClassesPerDetection: int('max_classes_per_detection'),
    detectionsPerClass: int('detections_per_class', 100),
    useRegularNms: regular === undefined || regular === null ? false : Boolean(regular),
    nmsScoreThreshold: float('nms_score_threshold'),
    nmsIouThreshold: float('nms_iou_threshold'),
    numClasses: int('num_classes'),
    yScale: float('y_scale'),
    xScale: float('x_scale'),
    hScale: float('h_scale'),
    wScale: float('w_scale'),
  };
  const bad = (what: string, value: number, need: string): never => {
    throw new ModelFormatError(`${label} has ${what} = ${value} in its custom options; it must be ${need}.`);
  };
  if (params.maxDetections < 0) bad('max_detections', params.maxDetections, '≥ 0');
  if (params.maxClassesPerDetection <= 0) bad('max_classes_per_detection', params.maxClassesPerDetection, '> 0');
  if (params.useRegularNms && Math.min(params.detectionsPerClass, params.maxDetections) <= 0) {
    bad('min(detections_per_class, max_detections)', Math.min(params.detectionsPerClass, params.maxDetections), '> 0 with regular NMS');
  }
  if (!(params.nmsIouThreshold > 0 && params.nmsIouThreshold <= 1)) bad('nms_iou_threshold', params.nmsIouThreshold, 'in (0, 1]');
  if (params.numClasses <= 0) bad('num_classes', params.numClasses, '> 0');
  return params;
}

/** How one input maps to float32: r = fl(scale · (q − zeroPoint)); identity for float32. */
interface Dequant {
  scale: number;
  zeroPoint: number;
}

export interface DetectionPostProcessState {
  p: DetectionPostProcessParams;
  numBoxes: number;
  /** Values per box encoding (≥ 4). */
  boxStride: number;
  /** Score columns per anchor, background included. */
  classesWithBackground: number;
  labelOffset: number;
  boxDequant: Dequant | null;
  anchorDequant: Dequant | null;
  scoreDequant: Dequant | null;
  numDetectedBoxes: number;
  // scratch, allocated once
  decoded: Float32Array;
  scores: Float32Array;
  classScores: Float32Array;
  keepScores: Float32Array;
  keepIndices: Int32Array;
  sorted: Int32Array;
  sortTmp: Int32Array;
  active: Uint8Array;
  selected: Int32Array;
  maxScores: Float32Array;
  sortedClassIndices: Int32Array;
  classIdx: Int32Array;
  mergedIndices: Int32Array;
  mergedScores: Float32Array;
  mergeOrder: Int32Array;
  mergeValues: Float32Array;
}

const QUANTIZED: readonly DType[] = ['uint8', 'int8'];

function accepts(sig: OpSignature): boolean {
  const ok = (d: DType | null): boolean => d === 'float32' || (d !== null && QUANTIZED.includes(d));
  return sig.inputs.length === 3 && sig.inputs.every(ok) && sig.outputs.length === 4 && sig.outputs.every((d) => d === 'float32');
}

function dequantOf(label: string, t: PreparedTensor, what: string): Dequant | null {
  if (t.dtype === 'float32') return null;
  if (!QUANTIZED.includes(t.dtype)) {
    throw new UnsupportedError(`${label} has ${what} '${t.name}' of type ${t.dtype}; expected float32, uint8 or int8.`);
  }
  const q = t.quant;
  if (!q || q.scale.length === 0) throw new ModelFormatError(`${label} has ${t.dtype} ${what} '${t.name}' without quantization parameters.`);
  if (q.scale.length > 1) throw new UnsupportedError(`${label} has per-axis quantized ${what} '${t.name}'; ${DETECTION_POSTPROCESS} takes one scale per tensor.`);
  return { scale: Math.fround(q.scale[0]), zeroPoint: q.zeroPoint[0] ?? 0 };
}

export const detectionPostProcessKernel = defineKernel<'CUSTOM', DetectionPostProcessState>({
  opType: 'CUSTOM',
  customCode: DETECTION_POSTPROCESS,
  flavour: 'float32',
  accepts,
  prepare({ op, label, inputs, outputs }) {
    const p = parseDetectionPostProcessOptions(op.customOptions, label);
    const boxes = requireInput(label, inputs, 0, 'box encodings');
    const classScores = requireInput(label, inputs, 1, 'class scores');
    const anchors = requireInput(label, inputs, 2, 'anchors');
    requireRank(label, boxes, 3, 'box encodings tensor');
    requireRank(label, classScores, 3, 'class scores tensor');
    requireRank(label, anchors, 2, 'anchors tensor');
    if (outputs.length !== 4) throw new ModelFormatError(`${label} has ${outputs.length} outputs; ${DETECTION_POSTPROCESS} has 4 (boxes, classes, scores, count).`);
    const [batch, numBoxes, boxStride] = boxes.shape;
    if (batch !== 1) throw new UnsupportedError(`${label} has box encodings of shape ${shapeToString(boxes.shape)}; the batch must be 1.`);
    if (boxStride < 4) throw new ModelFormatError(`${label} has box encodings of shape ${shapeToString(boxes.shape)}; each box needs at least 4 values (y, x, h, w).`);
    const [sBatch, sBoxes, classesWithBackground] = classScores.shape;
    if (sBatch !== 1 || sBoxes !== numBoxes) {
      throw new ModelFormatError(`${label} has class scores of shape ${shapeToString(classScores.shape)} for ${numBoxes} boxes; expected [1, ${numBoxes}, classes].`);
    }
    const labelOffset = classesWithBackground - p.numClasses;
    if (labelOffset < 0 || labelOffset > 1) {
      throw new ModelFormatError(
        `${label} has ${classesWithBackground} score columns for num_classes = ${p.numClasses}; expected num_classes or num_classes + 1 (with background).`,
      );
    }
    if (anchors.shape[0] < numBoxes || anchors.shape[1] !== 4) {
      throw new ModelFormatError(`${label} has anchors of shape ${shapeToString(anchors.shape)} for ${numBoxes} boxes; expected [${numBoxes}, 4].`);
    }
    const boxDequant = dequantOf(label, boxes, 'box encodings');
    const anchorDequant = dequantOf(label, anchors, 'anchors');
    const scoreDequant = dequantOf(label, classScores, 'class scores');
    if ((boxDequant === null) !== (anchorDequant === null)) {
      throw new UnsupportedError(
        `${label} has box encodings of type ${boxes.dtype} and anchors of type ${anchors.dtype}; both must be float32 or both quantized.`,
      );
    }
    const n = numBoxes;
    const mergeLength = p.maxDetections;
    const numDetectedBoxes = p.maxDetections * p.maxClassesPerDetection;
    return {
      outputShapes: [[1, numDetectedBoxes, 4], [1, numDetectedBoxes], [1, numDetectedBoxes], [1]],
      state: {
        p,
        numBoxes: n,
        boxStride,
        classesWithBackground,
        labelOffset,
        boxDequant,
        anchorDequant,
        scoreDequant,
        numDetectedBoxes,
        decoded: new Float32Array(n * 4),
        scores: new Float32Array(scoreDequant ? n * classesWithBackground : 0),
        classScores: new Float32Array(n),
        keepScores: new Float32Array(n),
        keepIndices: new Int32Array(n),
        sorted: new Int32Array(n),
        sortTmp: new Int32Array(n),
        active: new Uint8Array(n),
        selected: new Int32Array(n),
        maxScores: new Float32Array(n),
        sortedClassIndices: new Int32Array(n * p.numClasses),
        classIdx: new Int32Array(p.numClasses),
        mergedIndices: new Int32Array(mergeLength),
        mergedScores: new Float32Array(mergeLength),
        mergeOrder: new Int32Array(mergeLength),
        mergeValues: new Float32Array(mergeLength),
      },
    };
  },
  run({ inputs, outputs }, s) {
    decodeBoxes(s, inputs[0]!.data, inputs[2]!.data);
    let scores: Float32Array;
    if (s.scoreDequant) {
      const q = inputs[1]!.data;
      const { scale, zeroPoint } = s.scoreDequant;
      for (let i = 0; i < s.scores.length; i++) s.scores[i] = (Number(q[i]) - zeroPoint) * scale; // exact product, one rounding
      scores = s.scores;
    } else {
      scores = f32(inputs[1]!.data);
    }
    const outBoxes = f32(outputs[0].data);
    const outClasses = f32(outputs[1].data);
    const outScores = f32(outputs[2].data);
    outBoxes.fill(0);
    outClasses.fill(0);
    outScores.fill(0);
    const count = s.p.useRegularNms ? regularNms(s, scores, outBoxes, outClasses, outScores) : fastNms(s, scores, outBoxes, outClasses, outScores);
    f32(outputs[3].data)[0] = count;
  },
});

// ---- decoding -----------------------------------------------------------------------------------

function decodeBoxes(s: DetectionPostProcessState, boxData: TensorData, anchorData: TensorData): void {
  const { p, boxStride, decoded, boxDequant, anchorDequant } = s;
  for (let i = 0; i < s.numBoxes; i++) {
    const b = i * boxStride;
    const a = i * 4;
    let y: number, x: number, h: number, w: number, ay: number, ax: number, ah: number, aw: number;
    if (boxDequant && anchorDequant) {
      // r = fl(S · (q − Z)): q − Z is a small exact integer
      y = Math.fround((Number(boxData[b]) - boxDequant.zeroPoint) * boxDequant.scale);
      x = Math.fround((Number(boxData[b + 1]) - boxDequant.zeroPoint) * boxDequant.scale);
      h = Math.fround((Number(boxData[b + 2]) - boxDequant.zeroPoint) * boxDequant.scale);
      w = Math.fround((Number(boxData[b + 3]) - boxDequant.zeroPoint) * boxDequant.scale);
      ay = Math.fround((Number(anchorData[a]) - anchorDequant.zeroPoint) * anchorDequant.scale);
      ax = Math.fround((Number(anchorData[a + 1]) - anchorDequant.zeroPoint) * anchorDequant.scale);
      ah = Math.fround((Number(anchorData[a + 2]) - anchorDequant.zeroPoint) * anchorDequant.scale);
      aw = Math.fround((Number(anchorData[a + 3]) - anchorDequant.zeroPoint) * anchorDequant.scale);
    } else {
      const bf = boxData as Float32Array;
      const af = anchorData as Float32Array;
      y = bf[b];
      x = bf[b + 1];
      h = bf[b + 2];
      w = bf[b + 3];
      ay = af[a];
      ax = af[a + 1];
      ah = af[a + 2];
      aw = af[a + 3];
    }
    // double arithmetic on float32 values, one rounding per quantity
    const yc = Math.fround((y / p.yScale) * ah + ay);
    const xc = Math.fround((x / p.xScale) * aw + ax);
    const hh = Math.fround(0.5 * Math.exp(h / p.hScale) * ah);
    const hw = Math.fround(0.5 * Math.exp(w / p.wScale) * aw);
    decoded[a] = yc - hh;
    decoded[a + 1] = xc - hw;
    decoded[a + 2] = yc + hh;
    decoded[a + 3] = xc + hw;
    if (decoded[a] > decoded[a + 2] || decoded[a + 1] > decoded[a + 3]) {
      throw new ModelFormatError(
        `${DETECTION_POSTPROCESS}: box ${i} decodes to ymin ${decoded[a]} > ymax ${decoded[a + 2]} or xmin ${decoded[a + 1]} > xmax ${decoded[a + 3]} (a negative anchor height or width?); TFLite refuses such boxes too.`,
      );
    }
  }
}

/** IoU of decoded boxes i and j in float32, 0 when either has no area. */
function iou(d: Float32Array, i: number, j: number): number {
  const f = Math.fround;
  const a = i * 4;
  const b = j * 4;
  const areaI = f(f(d[a + 2] - d[a]) * f(d[a + 3] - d[a + 1]));
  const areaJ = f(f(d[b + 2] - d[b]) * f(d[b + 3] - d[b + 1]));
  if (areaI <= 0 || areaJ <= 0) return 0;
  const ymin = Math.max(d[a], d[b]);
  const xmin = Math.max(d[a + 1], d[b + 1]);
  const ymax = Math.min(d[a + 2], d[b + 2]);
  const xmax = Math.min(d[a + 3], d[b + 3]);
  const inter = f(Math.max(f(ymax - ymin), 0) * Math.max(f(xmax - xmin), 0));
  return f(inter / f(f(areaI + areaJ) - inter));
}

// ---- sorting ------------------------------------------------------------------------------------

/**
 * Stable sort of idx[0..n) by decreasing values[idx] (ties keep their order), using tmp; what
 * std::stable_sort with `values[i] > values[j]` yields.
 */
function stableSortDecreasing(idx: Int32Array, n: number, values: Float32Array, tmp: Int32Array): void {
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n - width; lo += 2 * width) {
      const mid = lo + width;
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) tmp[k++] = values[idx[j]] > values[idx[i]] ? idx[j++] : idx[i++];
      while (i < mid) tmp[k++] = idx[i++];
      while (j < hi) tmp[k++] = idx[j++];
      for (let t = lo; t < hi; t++) idx[t] = tmp[t];
    }
  }
}

/** `a` goes before `b`: comp(a, b) = values[a] > values[b]. */
function before(values: Float32Array, base: number, a: number, b: number): boolean {
  return values[base + a] > values[base + b];
}

/** libc++'s __sift_down on idx[0..len) from `start`. */
function siftDown(idx: Int32Array, len: number, start: number, values: Float32Array, base: number): void {
  if (len < 2 || ((len - 2) >> 1) < start) return;
  let child = 2 * start + 1;
  if (child + 1 < len && before(values, base, idx[child], idx[child + 1])) child++;
  if (before(values, base, idx[child], idx[start])) return;
  const top = idx[start];
  do {
    idx[start] = idx[child];
    start = child;
    if (((len - 2) >> 1) < child) break;
    child = 2 * child + 1;
    if (child + 1 < len && before(values, base, idx[child], idx[child + 1])) child++;
  } while (!before(values, base, idx[child], top));
  idx[start] = top;
}

/** libc++'s __pop_heap (Floyd's hole descent, then a sift up) on idx[0..len). */
function popHeap(idx: Int32Array, len: number, values: Float32Array, base: number): void {
  if (len <= 1) return;
  const top = idx[0];
  // Floyd: move the hole at 0 down to a leaf along the larger children
  let hole = 0;
  let child = 0;
  for (;;) {
    child = 2 * child + 1;
    if (child + 1 < len && before(values, base, idx[child], idx[child + 1])) child++;
    idx[hole] = idx[child];
    hole = child;
    if (child > (len - 2) >> 1) break;
  }
  const last = len - 1;
  if (hole === last) {
    idx[hole] = top;
    return;
  }
  idx[hole] = idx[last];
  idx[last] = top;
  // sift up the element now at `hole`
  let pos = hole;
  if (pos > 0) {
    let parent = (pos - 1) >> 1;
    if (before(values, base, idx[parent], idx[pos])) {
      const t = idx[pos];
      do {
        idx[pos] = idx[parent];
        pos = parent;
        if (pos === 0) break;
        parent = (pos - 1) >> 1;
      } while (before(values, base, idx[parent], t));
      idx[pos] = t;
    }
  }
}

/**
 * TFLite's DecreasingPartialArgSort: idx[0..k) := the indices of the k largest of
 * values[base .. base + n), in decreasing order. k = 1 is the first maximum; otherwise
 * std::partial_sort as libc++ does it (make_heap on the first k, heap select, sort_heap).
 */
export function partialSortDecreasing(values: Float32Array, base: number, n: number, k: number, idx: Int32Array): void {
  if (k === 1) {
    let best = 0;
    for (let i = 1; i < n; i++) if (values[base + i] > values[base + best]) best = i;
    idx[0] = best;
    return;
  }
  for (let i = 0; i < n; i++) idx[i] = i;
  if (k <= 0) return;
  for (let start = (k - 2) >> 1; start >= 0; start--) siftDown(idx, k, start, values, base);
  for (let i = k; i < n; i++) {
    if (before(values, base, idx[i], idx[0])) {
      const t = idx[i];
      idx[i] = idx[0];
      idx[0] = t;
      siftDown(idx, k, 0, values, base);
    }
  }
  for (let len = k; len > 1; len--) popHeap(idx, len, values, base);
}

// ---- suppression --------------------------------------------------------------------------------

/**
 * Greedy NMS on one score per box; writes the chosen box indices to s.selected and returns how
 * many (at most maxDetections).
 */
function nmsSingleClass(s: DetectionPostProcessState, scores: Float32Array, maxDetections: number): number {
  const { keepScores, keepIndices, sorted, active, selected, decoded, p } = s;
  let kept = 0;
  for (let i = 0; i < s.numBoxes; i++) {
    if (scores[i] >= p.nmsScoreThreshold) {
      keepScores[kept] = scores[i];
      keepIndices[kept] = i;
      kept++;
    }
  }
  for (let i = 0; i < kept; i++) sorted[i] = i;
  stableSortDecreasing(sorted, kept, keepScores, s.sortTmp);
  const outputSize = Math.min(kept, maxDetections);
  active.fill(1, 0, kept);
  let numActive = kept;
  let count = 0;
  for (let i = 0; i < kept; i++) {
    if (numActive === 0 || count >= outputSize) break;
    if (active[i] !== 1) continue;
    const boxI = keepIndices[sorted[i]];
    selected[count++] = boxI;
    active[i] = 0;
    numActive--;
    for (let j = i + 1; j < kept; j++) {
      if (active[j] === 1 && iou(decoded, boxI, keepIndices[sorted[j]]) > p.nmsIouThreshold) {
        active[j] = 0;
        numActive--;
      }
    }
  }
  return count;
}

function writeBox(s: DetectionPostProcessState, out: Float32Array, row: number, box: number): void {
  for (let c = 0; c < 4; c++) out[row * 4 + c] = s.decoded[box * 4 + c];
}

/** Fast NMS: each anchor competes with its best class score; its top classes are all reported. */
function fastNms(s: DetectionPostProcessState, scores: Float32Array, boxes: Float32Array, classes: Float32Array, outScores: Float32Array): number {
  const { p, numBoxes, classesWithBackground, labelOffset, sortedClassIndices, maxScores, classIdx } = s;
  const perAnchor = Math.min(p.maxClassesPerDetection, p.numClasses);
  for (let row = 0; row < numBoxes; row++) {
    const base = row * classesWithBackground + labelOffset;
    partialSortDecreasing(scores, base, p.numClasses, perAnchor, classIdx);
    for (let c = 0; c < perAnchor; c++) sortedClassIndices[row * p.numClasses + c] = classIdx[c];
    maxScores[row] = scores[base + classIdx[0]];
  }
  const count = nmsSingleClass(s, maxScores, p.maxDetections);
  for (let k = 0; k < count; k++) {
    const box = s.selected[k];
    const base = box * classesWithBackground + labelOffset;
    for (let col = 0; col < perAnchor; col++) {
      const row = p.maxClassesPerDetection * k + col;
      const cls = sortedClassIndices[box * p.numClasses + col];
      writeBox(s, boxes, row, box);
      classes[row] = cls;
      outScores[row] = scores[base + cls];
    }
  }
  return count;
}

/**
 * Regular NMS: NMS per class (at most min(detections_per_class, max_detections) each), each
 * class's picks merged into the running top list by score with std::inplace_merge and the
 * comparator `a >= b`, which puts the newer class first on ties; the list is cut to
 * max_detections after every class.
 */
function regularNms(s: DetectionPostProcessState, scores: Float32Array, boxes: Float32Array, classes: Float32Array, outScores: Float32Array): number {
  const { p, numBoxes, classesWithBackground, labelOffset, classScores, mergedIndices, mergedScores, mergeOrder, mergeValues, selected } = s;
  const perClass = Math.min(p.detectionsPerClass, p.maxDetections);
  let size = 0;
  for (let col = 0; col < p.numClasses; col++) {
    for (let row = 0; row < numBoxes; row++) classScores[row] = scores[row * classesWithBackground + col + labelOffset];
    const chosen = nmsSingleClass(s, classScores, perClass);
    if (chosen === 0) continue;
    const keep = Math.min(size + chosen, p.maxDetections);
    let i = 0;
    let j = 0;
    for (let k = 0; k < keep; k++) {
      const takeNew = j < chosen && (i >= size || classScores[selected[j]] >= mergedScores[i]);
      if (takeNew) {
        mergeOrder[k] = selected[j] * classesWithBackground + col + labelOffset;
        mergeValues[k] = classScores[selected[j]];
        j++;
      } else {
        mergeOrder[k] = mergedIndices[i];
        mergeValues[k] = mergedScores[i];
        i++;
      }
    }
    for (let k = 0; k < keep; k++) {
      mergedIndices[k] = mergeOrder[k];
      mergedScores[k] = mergeValues[k];
    }
    size = keep;
  }
  for (let r = 0; r < size; r++) {
    const anchor = Math.floor(mergedIndices[r] / classesWithBackground);
    writeBox(s, boxes, r, anchor);
    classes[r] = mergedIndices[r] - anchor * classesWithBackground - labelOffset;
    outScores[r] = mergedScores[r];
  }
  return size;
}
