/**
 * SPACE_TO_DEPTH (NHWC, block b): out[n, h, w, (dy·b + dx)·C + c] = in[n, h·b + dy, w·b + dx, c].
 * Data movement only, so one kernel serves every dtype.
 */
import { UnsupportedError } from '../../errors';
import { defineKernel } from '../kernel';
import { requireInput, requireRank } from '../kernel-util';
import { shapeToString } from '../tensor-utils';
import { passThroughAccepts } from './reshape';

export interface SpaceToDepthState {
  batches: number;
  outH: number;
  outW: number;
  inC: number;
  block: number;
}

export const spaceToDepthKernel = defineKernel<'SPACE_TO_DEPTH', SpaceToDepthState>({
  opType: 'SPACE_TO_DEPTH',
  flavour: 'any',
  accepts: passThroughAccepts,
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    requireRank(label, input, 4, 'input');
    const block = op.options.blockSize;
    const [batches, inH, inW, inC] = input.shape;
    if (block < 1 || inH % block !== 0 || inW % block !== 0) {
      throw new UnsupportedError(`${label} has block size ${block}, which does not divide the height and width of ${shapeToString(input.shape)}.`);
    }
    return {
      outputShapes: [[batches, inH / block, inW / block, inC * block * block]],
      state: { batches, outH: inH / block, outW: inW / block, inC, block },
    };
  },
  run({ inputs, outputs }, { batches, outH, outW, inC, block }) {
    const x = inputs[0]!.data as Float32Array;
    const y = outputs[0].data as Float32Array;
    const inW = outW * block;
    let o = 0;
    for (let n = 0; n < batches; n++) {
      for (let h = 0; h < outH; h++) {
        for (let w = 0; w < outW; w++) {
          for (let dy = 0; dy < block; dy++) {
            for (let dx = 0; dx < block; dx++) {
              const i = ((n * outH * block + h * block + dy) * inW + w * block + dx) * inC;
              for (let c = 0; c < inC; c++) y[o++] = x[i + c];
            }
          }
        }
      }
    }
  },
});
