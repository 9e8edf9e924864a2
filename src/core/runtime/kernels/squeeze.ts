/**
 * SQUEEZE. Drops the listed size-1 dimensions (all size-1 dimensions when the list is empty).
 * Like RESHAPE it moves no data when the memory plan aliases output and input.
 */
import { UnsupportedError } from '../../errors';
import { defineKernel } from '../kernel';
import { sameStorage } from '../kernel-util';
import { normaliseAxis, shapeToString } from '../tensor-utils';
import { passThroughAccepts } from './reshape';

export const squeezeKernel = defineKernel<'SQUEEZE', undefined>({
  opType: 'SQUEEZE',
  flavour: 'any',
  inPlace: true,
  accepts: passThroughAccepts,
  prepare({ op, label, inputs }) {
    const input = inputs[0];
    if (!input) throw new UnsupportedError(`${label} is missing its data input.`);
    const rank = input.shape.length;
    const drop = new Set<number>();
    if (op.options.squeezeDims.length === 0) {
      input.shape.forEach((d, i) => d === 1 && drop.add(i));
    } else {
      for (const a of op.options.squeezeDims) {
        const n = normaliseAxis(a, rank);
        if (n < 0 || input.shape[n] !== 1) {
          throw new UnsupportedError(`${label} squeezes axis ${a} of ${shapeToString(input.shape)}, which is not a dimension of size 1.`);
        }
        drop.add(n);
      }
    }
    return { outputShapes: [input.shape.filter((_, i) => !drop.has(i))], state: undefined };
  },
  run({ inputs, outputs }) {
    const src = inputs[0]!.data;
    const dst = outputs[0].data;
    if (!sameStorage(src, dst)) (dst as Float32Array).set(src as Float32Array);
  },
});
