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

/**
 * The window taps k·d (k in [tapStart, tapEnd)) that land inside [0, n) for a window whose
 * first tap is at input index `origin` (negative inside the padding).
 */
export function tapStart(origin: number, dilation: number): number {
  return origin >= 0 ? 0 : Math.ceil(-origin / dilation);
}

export function tapEnd(origin: number, filterSize: number, dilation: number, inSize: number): number {
  const end = Math.min(filterSize, Math.floor((inSize - 1 - origin) / dilation) + 1);
  return Math.max(end, tapStart(origin, dilation));
}
