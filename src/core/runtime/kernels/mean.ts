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
import { defineKernel } from '../kernel';
import { f32, float32WithIntOperands, requireConstant, requireInput } from '../kernel-util';
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
