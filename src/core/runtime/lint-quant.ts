/**
 * Checks a quantized graph against TFLite's quantization scheme before anything runs.
 *
 * The TFLite interpreter validates the file format strictly but not every rule of the scheme
 * (it silently ignores a nonzero int8 weight zero point, for one), and a broken parameter then
 * shows up as quietly wrong numbers. Each finding is one sentence naming the tensor and the value:
 *  - scales must be positive finite numbers (no zero, NaN, negative or infinite scale);
 *  - zero points must lie in the range of the tensor's type (int8 [-128, 127], uint8 [0, 255],
 *    int16 [-32768, 32767]; int32 biases use 0);
 *  - per-axis parameters: one scale (and zero point) per slice of the quantized dimension;
 *  - int8 weights of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV are
 *    symmetric (zero point 0), and so are int16 activations and int32/int64 biases;
 *  - a bias is quantized with scale = input scale × weight scale (per output channel), within a
 *    relative tolerance of 1e-6: |S_bias − S_in·S_w| ≤ 1e-6 · max(S_bias, S_in·S_w).
 */
import { ModelFormatError } from '../errors';
import type { DType, Graph, Op, Tensor } from '../ir/types';

export interface QuantLintIssue {
  /** Tensor index in `graph.tensors`. */
  tensor: number;
  /** A stable kind for tests and tools. */
  kind: 'bad-scale' | 'zero-point-range' | 'per-axis-count' | 'nonzero-zero-point' | 'bias-scale' | 'missing-quantization';
  message: string;
}

const ZERO_POINT_RANGES: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  int32: [0, 0],
  int64: [0, 0],
};

const INTEGER_ACTIVATIONS: ReadonlySet<DType> = new Set(['int8', 'uint8', 'int16']);

/** Op type → [input slot, weight slot, bias slot, quantized dimension of per-channel weights]. */
const CONV_LIKE: Partial<Record<Op['type'], [number, number, number, number]>> = {
  CONV_2D: [0, 1, 2, 0],
  DEPTHWISE_CONV_2D: [0, 1, 2, 3],
  FULLY_CONNECTED: [0, 1, 2, 0],
  TRANSPOSE_CONV: [2, 1, 3, 0],
};

function name(t: Tensor, i: number): string {
  return `Tensor ${i} '${t.name}'`;
}

/** True when the graph has integer activations or quantization parameters anywhere. */
export function isQuantizedGraph(graph: Graph): boolean {
  return graph.tensors.some((t) => t.quant !== undefined || (INTEGER_ACTIVATIONS.has(t.dtype) && t.data === undefined));
}

/** Every finding, in tensor order, then per op. */
export function lintQuantization(graph: Graph): QuantLintIssue[] {
  const issues: QuantLintIssue[] = [];
  graph.tensors.forEach((t, i) => {
    const q = t.quant;
    if (!q) return;
    q.scale.forEach((s, k) => {
      if (!(Number.isFinite(s) && s > 0)) {
        const where = q.scale.length > 1 ? ` for slice ${k}` : '';
        issues.push({ tensor: i, kind: 'bad-scale', message: `${name(t, i)} has scale ${s}${where}; quantization scales must be positive finite numbers.` });
      }
    });
    if (q.scale.length > 1 || q.zeroPoint.length > 1) {
      const axis = q.axis ?? 0;
      const dim = t.shape[axis < 0 ? axis + t.shape.length : axis];
      if (dim === undefined || (dim >= 0 && q.scale.length !== dim)) {
        issues.push({
          tensor: i,
          kind: 'per-axis-count',
          message: `${name(t, i)} has ${q.scale.length} scales along dimension ${axis} of shape [${t.shape.join(', ')}]; per-axis quantization needs one per slice (${dim ?? 'no such dimension'}).`,
        });
      } else if (q.zeroPoint.length !== q.scale.length) {
        issues.push({
          tensor: i,
          kind: 'per-axis-count',
          message: `${name(t, i)} has ${q.scale.length} scales but ${q.zeroPoint.length} zero points; per-axis quantization needs one of each per slice.`,
        });
      }
    }
    const range = ZERO_POINT_RANGES[t.dtype];
    if (range) {
      q.zeroPoint.forEach((z, k) => {
        const where = q.zeroPoint.length > 1 ? ` for slice ${k}` : '';
        if (!Number.isInteger(z) || z < range[0] || z > range[1]) {
          const rule = range[0] === range[1] ? `${t.dtype} tensors use zero point ${range[0]}` : `${t.dtype} zero points lie in [${range[0]}, ${range[1]}]`;
          issues.push({ tensor: i, kind: 'zero-point-range', message: `${name(t, i)} has zero point ${z}${where}; ${rule}.` });
        }
      });
    }
    if (t.dtype === 'int16') {
      q.zeroPoint.forEach((z) => {
        if (z !== 0 && Number.isInteger(z) && z >= -32768 && z <= 32767) {
          issues.push({ tensor: i, kind: 'nonzero-zero-point', message: `${name(t, i)} is int16 with zero point ${z}; TFLite's int16 scheme is symmetric (zero point 0).` });
        }
      });
    }
  });
  for (let t = 0; t < graph.tensors.length; t++) {
    const tensor = graph.tensors[t];
    if (INTEGER_ACTIVATIONS.has(tensor.dtype) && (!tensor.quant || tensor.quant.scale.length === 0)) {
      const used = graph.ops.some((op) => op.inputs.includes(t) || op.outputs.includes(t));
      if (used) issues.push({ tensor: t, kind: 'missing-quantization', message: `${name(tensor, t)} is ${tensor.dtype} but has no quantization parameters (scale and zero point).` });
    }
  }
  for (const op of graph.ops) {
    const slots = CONV_LIKE[op.type];
    if (!slots) continue;
    const [inSlot, wSlot, bSlot] = slots;
    const input = graph.tensors[op.inputs[inSlot]];
    const wi = op.inputs[wSlot];
    const weights = graph.tensors[wi];
    if (!input || !weights) continue;
    if (weights.dtype === 'int8' && weights.quant) {
      const bad = weights.quant.zeroPoint.findIndex((z) => z !== 0);
      if (bad >= 0) {
        const where = weights.quant.zeroPoint.length > 1 ? ` for output channel ${bad}` : '';
        issues.push({
          tensor: wi,
          kind: 'nonzero-zero-point',
          message: `${name(weights, wi)} (int8 weights of ${op.type}) has zero point ${weights.quant.zeroPoint[bad]}${where}; TFLite's int8 scheme needs symmetric weights (zero point 0), and its interpreter would silently ignore it.`,
        });
      }
    }
    const bi = op.inputs[bSlot];
    const bias = bi !== undefined && bi >= 0 ? graph.tensors[bi] : undefined;
    if (!bias || !bias.quant || !input.quant || !weights.quant) continue;
    if (bias.dtype !== 'int32' && bias.dtype !== 'int64') continue;
    const si = input.quant.scale[0];
    const channels = bias.quant.scale.length;
    for (let c = 0; c < channels; c++) {
      const sw = weights.quant.scale.length > 1 ? weights.quant.scale[c] : weights.quant.scale[0];
      if (sw === undefined) continue;
      const want = si * sw;
      const got = bias.quant.scale[c];
      if (!(Number.isFinite(want) && want > 0 && Number.isFinite(got) && got > 0)) continue; // reported as bad scales
      if (Math.abs(got - want) > 1e-6 * Math.max(got, want)) {
        const where = channels > 1 ? ` for output channel ${c}` : '';
        issues.push({
          tensor: bi,
          kind: 'bias-scale',
          message: `${name(bias, bi)} (bias of ${op.type}) has scale ${got}${where}, but input scale × weight scale is ${want} (${si} × ${sw}); TFLite needs them equal.`,
        });
        break;
      }
    }
  }
  return issues;
}

/** Throws a ModelFormatError (a UserError) with the first finding when the graph breaks the scheme. */
export function assertQuantizationValid(graph: Graph): void {
  const issues = lintQuantization(graph);
  if (issues.length === 0) return;
  const more = issues.length > 1 ? ` (${issues.length - 1} more ${issues.length === 2 ? 'problem' : 'problems'} in the graph '${graph.name}')` : '';
  throw new ModelFormatError(`${issues[0].message}${more}`);
}
