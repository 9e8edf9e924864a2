/**
 * PAD with zeros. Paddings: a constant int32/int64 [rank, 2] tensor of (before, after) per
 * dimension. out[i + before] = in[i]; everything else is 0.
 */
import { UnsupportedError } from '../../errors';
import type { PrepareContext, PrepareResult } from '../kernel';
import { defineKernel } from '../kernel';
import type { QuantData } from '../quantized-util';
import { requireSameQuant } from '../quantized-util';
import { f32, float32WithIntOperands, requireConstant, requireInput } from '../kernel-util';
import { numElements, shapeToString, stridesOf, toIntArray } from '../tensor-utils';

export interface PadFloatState {
  inShape: number[];
  /** Output offset of input element 0 (the sum of before·outStride). */
  baseOffset: number;
  outStrides: number[];
  rowLength: number;
  rows: number;
  counter: Int32Array;
}

export const padFloat32 = defineKernel<'PAD', PadFloatState>({
  opType: 'PAD',
  flavour: 'float32',
  accepts: float32WithIntOperands([1]),
  prepare({ label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const padT = requireInput(label, inputs, 1, 'paddings');
    const pads = toIntArray(requireConstant(label, padT, 'paddings'));
    const rank = input.shape.length;
    if (pads.length !== rank * 2) {
      throw new UnsupportedError(`${label} has ${pads.length / 2} padding pairs for input ${shapeToString(input.shape)}.`);
    }
    if (pads.some((p) => p < 0)) throw new UnsupportedError(`${label} has negative paddings ${shapeToString(pads)}.`);
    const outShape = input.shape.map((d, i) => d + pads[2 * i] + pads[2 * i + 1]);
    const outStrides = stridesOf(outShape);
    let baseOffset = 0;
    for (let i = 0; i < rank; i++) baseOffset += pads[2 * i] * outStrides[i];
    const rowLength = rank === 0 ? 1 : input.shape[rank - 1];
    const total = numElements(input.shape);
    return {
      outputShapes: [outShape],
      state: {
        inShape: [...input.shape],
        baseOffset,
        outStrides,
        rowLength,
        rows: rowLength === 0 ? 0 : total / rowLength,
        counter: new Int32Array(Math.max(rank - 1, 0)),
      },
    };
  },
  run({ inputs, outputs }, s) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    y.fill(0);
    const { inShape, outStrides, rowLength, rows, counter } = s;
    const outerRank = inShape.length - 1;
    counter.fill(0);
    let outOff = s.baseOffset;
    let inOff = 0;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < rowLength; k++) y[outOff + k] = x[inOff + k];
      inOff += rowLength;
      for (let d = outerRank - 1; d >= 0; d--) {
        counter[d]++;
        outOff += outStrides[d];
        if (counter[d] < inShape[d]) break;
        outOff -= outStrides[d] * inShape[d];
        counter[d] = 0;
      }
    }
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * PAD of an int8 / uint8 / int16 tensor: the padding holds the quantized zero, i.e. the zero
 * point (input and output share scale and zero point).
 */
export const padQuantized = defineKernel<'PAD', PadFloatState & { zeroPoint: number }>({
  opType: 'PAD',
  flavour: 'int8',
  accepts: (sig) => ['int8', 'uint8', 'int16'].includes(sig.inputs[0] ?? '') && sig.outputs[0] === sig.inputs[0] && (sig.inputs[1] === 'int32' || sig.inputs[1] === 'int64'),
  prepare(ctx) {
    const input = requireInput(ctx.label, ctx.inputs, 0, 'data');
    const q = requireSameQuant(ctx.label, input, ctx.outputs[0]);
    const r = padFloat32.prepare!(ctx as PrepareContext) as PrepareResult<PadFloatState>;
    return { outputShapes: r.outputShapes, state: { ...r.state, zeroPoint: q.zeroPoint } };
  },
  run({ inputs, outputs }, s) {
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    y.fill(s.zeroPoint);
    const { inShape, outStrides, rowLength, rows, counter } = s;
    const outerRank = inShape.length - 1;
    counter.fill(0);
    let outOff = s.baseOffset;
    let inOff = 0;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < rowLength; k++) y[outOff + k] = x[inOff + k];
      inOff += rowLength;
      for (let d = outerRank - 1; d >= 0; d--) {
        counter[d]++;
        outOff += outStrides[d];
        if (counter[d] < inShape[d]) break;
        outOff -= outStrides[d] * inShape[d];
        counter[d] = 0;
      }
    }
  },
});
