/**
 * DEPTH_TO_SPACE (NHWC, block b): out[n, h·b + dy, w·b + dx, c] = in[n, h, w, (dy·b + dx)·C' + c]
 * with C' = C / b². Data movement only, so one kernel serves every dtype.
 */
import { UnsupportedError } from '../../errors';
import { defineKernel } from '../kernel';
import { requireInput, requireRank } from '../kernel-util';
import { shapeToString } from '../tensor-utils';
import { passThroughAccepts } from './reshape';

export interface DepthToSpaceState {
  batches: number;
  inH: number;
  inW: number;
  inC: number;
  block: number;
}

export const depthToSpaceKernel = defineKernel<'DEPTH_TO_SPACE', DepthToSpaceState>({
  opType: 'DEPTH_TO_SPACE',
  flavour: 'any',
  accepts: passThroughAccepts,
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    requireRank(label, input, 4, 'input');
    const block = op.options.blockSize;
    const [batches, inH, inW, inC] = input.shape;
    if (block < 1 || inC % (block * block) !== 0) {
      throw new UnsupportedError(`${label} has block size ${block}, which does not divide the depth of ${shapeToString(input.shape)} into ${block}² parts.`);
    }
    return {
      outputShapes: [[batches, inH * block, inW * block, inC / (block * block)]],
      state: { batches, inH, inW, inC, block },
    };
  },
  run({ inputs, outputs }, { batches, inH, inW, inC, block }) {
    const x = inputs[0]!.data as Float32Array;
    const y = outputs[0].data as Float32Array;
    const outC = inC / (block * block);
    const outW = inW * block;
    let i = 0;
    for (let n = 0; n < batches; n++) {
      for (let h = 0; h < inH; h++) {
        for (let w = 0; w < inW; w++) {
          for (let dy = 0; dy < block; dy++) {
            for (let dx = 0; dx < block; dx++) {
              const o = ((n * inH * block + h * block + dy) * outW + w * block + dx) * outC;
              for (let c = 0; c < outC; c++) y[o + c] = x[i++];
            }
          }
        }
      }
    }
  },
});
