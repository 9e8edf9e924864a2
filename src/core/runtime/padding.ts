/**
 * Output sizes and padding exactly as TFLite computes them (tensorflow/lite/kernels/padding.h):
 *
 *   effective filter  e = (k − 1)·d + 1
 *   SAME  : out = ceil(in / s)
 *   VALID : out = ceil((in − e + 1) / s)
 *   total padding p = max((out − 1)·s + e − in, 0); before = floor(p / 2), after = p − before
 *
 * so an odd total puts the extra row/column at the bottom/right.
 */
import type { Padding } from '../ir/types';

export function effectiveFilterSize(filterSize: number, dilation: number): number {
  return (filterSize - 1) * dilation + 1;
}

export function convOutputSize(padding: Padding, inSize: number, filterSize: number, stride: number, dilation: number): number {
  const eff = effectiveFilterSize(filterSize, dilation);
  if (padding === 'SAME') return Math.floor((inSize + stride - 1) / stride);
  return Math.floor((inSize - eff + stride) / stride);
}

/** Padding before (top/left) for a window op producing `outSize` from `inSize`. */
export function paddingBefore(inSize: number, filterSize: number, stride: number, dilation: number, outSize: number): number {
  const eff = effectiveFilterSize(filterSize, dilation);
  const total = Math.max((outSize - 1) * stride + eff - inSize, 0);
  return Math.floor(total / 2);
}
