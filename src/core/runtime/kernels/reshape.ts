/**
 * RESHAPE. The new shape comes from the constant shape input when present, else the
 * `newShape` option, else the shape the graph declares; one -1 is inferred. The data does
 * not move: the memory plan aliases the output onto the input, and `run` copies only when it
 * could not (e.g. the output is a graph output that must stay readable).
 */
import { UnsupportedError } from '../../errors';
import type { DType } from '../../ir/types';
import { defineKernel } from '../kernel';
import type { OpSignature } from '../kernel';
import { sameStorage } from '../kernel-util';
import { numElements, shapeToString, toIntArray } from '../tensor-utils';

/** Resolves one -1 in `requested` so that it holds `total` elements. */
export function resolveShape(label: string, requested: readonly number[], total: number, inputShape: readonly number[]): number[] {
  const out = [...requested];
  const unknown = out.indexOf(-1);
  if (unknown >= 0 && out.indexOf(-1, unknown + 1) >= 0) {
    throw new UnsupportedError(`${label} asks for shape ${shapeToString(requested)} with more than one -1.`);
  }
  if (unknown >= 0) {
    const known = out.reduce((acc, d, i) => (i === unknown ? acc : acc * d), 1);
    if (known === 0 || total % known !== 0) {
      throw new UnsupportedError(`${label} cannot reshape ${shapeToString(inputShape)} to ${shapeToString(requested)}.`);
    }
    out[unknown] = total / known;
  }
  if (numElements(out) !== total || out.some((d) => d < 0)) {
    throw new UnsupportedError(`${label} cannot reshape ${shapeToString(inputShape)} (${total} elements) to ${shapeToString(requested)}.`);
  }
  return out;
}

/** Same dtype in and out (shape operands may be int32/int64). */
export function passThroughAccepts(sig: OpSignature): boolean {
  const d: DType | null = sig.inputs[0] ?? null;
  return d !== null && sig.outputs.length === 1 && sig.outputs[0] === d;
}

export const reshapeKernel = defineKernel<'RESHAPE', undefined>({
  opType: 'RESHAPE',
  // A reshape moves bytes, so one kernel serves every dtype.
  flavour: 'any',
  inPlace: true,
  accepts: passThroughAccepts,
  prepare({ op, label, inputs, outputs }) {
    const input = inputs[0];
    if (!input) throw new UnsupportedError(`${label} is missing its data input.`);
    const total = numElements(input.shape);
    const shapeT = inputs[1] ?? null;
    let requested: number[];
    if (shapeT && shapeT.data) requested = toIntArray(shapeT.data);
    else if (op.options.newShape.length > 0) requested = [...op.options.newShape];
    else if (outputs[0].shape.every((d) => d >= 0)) requested = [...outputs[0].shape];
    else throw new UnsupportedError(`${label} computes its target shape at run time; the QuantLab runtime needs it constant.`);
    return { outputShapes: [resolveShape(label, requested, total, input.shape)], state: undefined };
  },
  run({ inputs, outputs }) {
    const src = inputs[0]!.data;
    const dst = outputs[0].data;
    if (!sameStorage(src, dst)) (dst as Float32Array).set(src as Float32Array);
  },
});
