/** Window geometry shared by AVERAGE_POOL_2D and MAX_POOL_2D (TFLite padding rules, no dilation). */
import { UnsupportedError } from '../errors';
import type { Padding } from '../ir/types';
import type { PreparedTensor } from './kernel';
import { requireRank } from './kernel-util';
import { convOutputSize, paddingBefore } from './padding';
import { shapeToString } from './tensor-utils';

export interface PoolGeometry {
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

export interface PoolOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  filterWidth: number;
  filterHeight: number;
}

export function poolGeometry(label: string, input: PreparedTensor, o: PoolOptions): PoolGeometry {
  requireRank(label, input, 4, 'input');
  const [batches, inH, inW, channels] = input.shape;
  const outH = convOutputSize(o.padding, inH, o.filterHeight, o.strideH, 1);
  const outW = convOutputSize(o.padding, inW, o.filterWidth, o.strideW, 1);
  if (outH <= 0 || outW <= 0) {
    throw new UnsupportedError(
      `${label} produces an empty output from input ${shapeToString(input.shape)} with a ${o.filterHeight}×${o.filterWidth} window.`,
    );
  }
  return {
    batches, inH, inW, channels, outH, outW,
    filterH: o.filterHeight,
    filterW: o.filterWidth,
    strideH: o.strideH,
    strideW: o.strideW,
    padTop: paddingBefore(inH, o.filterHeight, o.strideH, 1, outH),
    padLeft: paddingBefore(inW, o.filterWidth, o.strideW, 1, outW),
  };
}
