/**
 * MEAN over the axes given by a constant int32 input (negative axes count from the end,
 * repeats are ignored). keep_dims keeps reduced axes as size 1.
 *
 *   out[k] = (Σ_{r ∈ reduced} in[k ⊕ r]) / |reduced|
 *
 * The kernel precomputes the element offset of every kept position and every reduced
 * position, so `run` is two flat loops.
 */
import { UnsupportedError } from '../../errors';
import { roundHalfAwayFromZero, roundHalfToEven } from '../../quant/fixed-point';
import type { PrepareContext, PrepareResult } from '../kernel';
import { defineKernel } from '../kernel';
import { f32, float32WithIntOperands, requireConstant, requireInput } from '../kernel-util';
import type { QuantData, Requantizer } from '../quantized-util';
import { arithmeticFor, makeRequantizer, quantRange, requantize, tensorQuant } from '../quantized-util';
import { normaliseAxis, shapeToString, stridesOf, toIntArray } from '../tensor-utils';

export interface MeanFloatState {
  keptOffsets: Int32Array;
  reducedOffsets: Int32Array;
}

/** Offsets (in elements) of all index combinations over `dims` with `strides`. */
function offsetsOver(dims: number[], strides: number[]): Int32Array {
  let count = 1;
  for (const d of dims) count *= d;
  const out = new Int32Array(count);
  const counter = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < count; i++) {
    let off = 0;
    for (let k = 0; k < dims.length; k++) off += counter[k] * strides[k];
    out[i] = off;
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++counter[k] < dims[k]) break;
      counter[k] = 0;
    }
  }
  return out;
}

export const meanFloat32 = defineKernel<'MEAN', MeanFloatState>({
  opType: 'MEAN',
  flavour: 'float32',
  accepts: float32WithIntOperands([1]),
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const axesT = requireInput(label, inputs, 1, 'axes');
    const rank = input.shape.length;
    const axes = new Set<number>();
    for (const a of toIntArray(requireConstant(label, axesT, 'axes'))) {
      const n = normaliseAxis(a, rank);
      if (n < 0) throw new UnsupportedError(`${label} reduces over axis ${a}, outside input ${shapeToString(input.shape)}.`);
      axes.add(n);
    }
    const strides = stridesOf(input.shape);
    const keptDims: number[] = [];
    const keptStrides: number[] = [];
    const redDims: number[] = [];
    const redStrides: number[] = [];
    const outShape: number[] = [];
    for (let d = 0; d < rank; d++) {
      if (axes.has(d)) {
        redDims.push(input.shape[d]);
        redStrides.push(strides[d]);
        if (op.options.keepDims) outShape.push(1);
      } else {
        keptDims.push(input.shape[d]);
        keptStrides.push(strides[d]);
        outShape.push(input.shape[d]);
      }
    }
    return {
      outputShapes: [outShape],
      state: { keptOffsets: offsetsOver(keptDims, keptStrides), reducedOffsets: offsetsOver(redDims, redStrides) },
    };
  },
  run({ inputs, outputs }, { keptOffsets, reducedOffsets }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    const n = reducedOffsets.length;
    for (let k = 0; k < keptOffsets.length; k++) {
      const base = keptOffsets[k];
      let acc = 0;
      for (let r = 0; r < n; r++) acc += x[base + reducedOffsets[r]];
      y[k] = acc / n;
    }
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * MEAN of int8 / uint8 values. With S = the sum of the raw quantized values over the reduced
 * axes and n their count, four forms exist, each measured on the interpreter:
 * - XNNPACK (rank 4, axes {1, 2} or {2}, fl(S_x/S_y) in [2^-8, 2^8)): global average pooling,
 *     y = Z_y + round_half_even(fl(fl(S − n·Z_x) · fl(S_x / fl(S_y·n))));
 * - TFLite, same scale and zero point in and out: y = trunc(S / n) (C integer division);
 * - TFLite, rank 4 over {1, 2} with keep_dims (its optimized spatial mean):
 *     y = Z_y − (int) round_half_away(fl(Z_x·S_x / S_y)) + M·S,  M = fl(S_x / fl(n·S_y));
 * - TFLite otherwise, in float32: y = Z_y + round_half_away(fl(fl(fl(S)/n)·s + b)),
 *     s = fl(S_x / S_y), b = fl(−Z_x·s).
 */
export interface MeanQuantState extends MeanFloatState {
  form: 'xnnpack' | 'integer' | 'spatial' | 'float';
  zx: number;
  zy: number;
  qmin: number;
  qmax: number;
  /** xnnpack: fl(S_x / fl(S_y·n)); float: fl(S_x / S_y). */
  scale: number;
  /** float form: fl(−Z_x·s); spatial form: the integer bias. */
  bias: number;
  rq: Requantizer;
}

export const meanQuantized = defineKernel<'MEAN', MeanQuantState>({
  opType: 'MEAN',
  flavour: 'int8',
  accepts: (sig) => (sig.inputs[0] === 'int8' || sig.inputs[0] === 'uint8') && sig.outputs[0] === sig.inputs[0] && (sig.inputs[1] === 'int32' || sig.inputs[1] === 'int64'),
  prepare(ctx) {
    const { op, label, inputs, outputs, rounding } = ctx;
    const input = requireInput(label, inputs, 0, 'data');
    const geometry = meanFloat32.prepare!(ctx as PrepareContext) as PrepareResult<MeanFloatState>;
    const qx = tensorQuant(label, input, 'input');
    const qy = tensorQuant(label, outputs[0], 'output');
    const [qmin, qmax] = quantRange(label, input);
    const f = Math.fround;
    const n = geometry.state.reducedOffsets.length;
    const axes = [...new Set(toIntArray(inputs[1]!.data ?? new Int32Array(0)).map((a) => normaliseAxis(a, input.shape.length)))].sort();
    const spatial = input.shape.length === 4 && axes.length === 2 && axes[0] === 1 && axes[1] === 2;
    const ratio = f(qx.scale / qy.scale);
    const delegated = input.shape.length === 4 && (spatial || (axes.length === 1 && axes[0] === 2)) && ratio >= 2 ** -8 && ratio < 2 ** 8;
    const xnn = arithmeticFor(rounding, delegated, 'double-rounding') === 'xnnpack';
    let form: MeanQuantState['form'];
    if (xnn) form = 'xnnpack';
    else if (qx.scale === qy.scale && qx.zeroPoint === qy.zeroPoint) form = 'integer';
    else if (spatial && op.options.keepDims) form = 'spatial';
    else form = 'float';
    const spatialScale = f(qx.scale / f(n * qy.scale));
    const state: MeanQuantState = {
      ...geometry.state,
      form,
      zx: qx.zeroPoint,
      zy: qy.zeroPoint,
      qmin,
      qmax,
      scale: form === 'xnnpack' ? f(qx.scale / f(qy.scale * n)) : ratio,
      bias: form === 'spatial' ? qy.zeroPoint - roundHalfAwayFromZero(f((qx.zeroPoint * qx.scale) / qy.scale)) : f(-qx.zeroPoint * ratio),
      rq: makeRequantizer(arithmeticFor(rounding, false, 'double-rounding'), [spatialScale], [spatialScale]),
    };
    return { outputShapes: geometry.outputShapes, state };
  },
  run({ inputs, outputs }, s) {
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    const { keptOffsets, reducedOffsets, form, zx, zy, qmin, qmax, scale, bias, rq } = s;
    const n = reducedOffsets.length;
    const f = Math.fround;
    for (let k = 0; k < keptOffsets.length; k++) {
      const base = keptOffsets[k];
      let sum = 0;
      for (let r = 0; r < n; r++) sum += x[base + reducedOffsets[r]];
      let v: number;
      switch (form) {
        case 'xnnpack':
          v = zy + roundHalfToEven(f(f(sum - n * zx) * scale));
          break;
        case 'integer':
          v = Math.trunc(sum / n);
          break;
        case 'spatial':
          v = requantize(sum, rq, 0) + bias;
          break;
        case 'float':
          v = zy + roundHalfAwayFromZero(f(f(f(f(sum) / n) * scale) + bias));
          break;
      }
      y[k] = v < qmin ? qmin : v > qmax ? qmax : v;
    }
  },
});
