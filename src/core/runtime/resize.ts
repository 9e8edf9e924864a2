/**
 * Source-coordinate rules shared by RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR, computed in
 * float32 exactly like TFLite's reference kernels (the floors and ceils depend on it):
 *
 *   scale = in / out, or (in − 1) / (out − 1) with align_corners (when out > 1)
 *   bilinear: src = half_pixel_centers ? (i + 0.5)·scale − 0.5 : i·scale
 *             lo = max(floor(src), 0), hi = min(ceil(src), in − 1), weights from src − lo
 *   nearest : src = (i + (half_pixel_centers ? 0.5 : 0))·scale,
 *             idx = min(align_corners ? round_half_away(src) : floor(src), in − 1),
 *             and max(idx, 0) with half_pixel_centers
 */
import { UnsupportedError } from '../errors';
import type { PreparedTensor } from './kernel';
import { requireConstant, requireInput, requireRank } from './kernel-util';
import { shapeToString, toIntArray } from './tensor-utils';

const fround = Math.fround;

export function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? fround((inSize - 1) / (outSize - 1)) : fround(inSize / outSize);
}

export interface BilinearAxis {
  lo: Int32Array;
  hi: Int32Array;
  /** src − lo, as float32. */
  frac: Float64Array;
}

export function bilinearAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): BilinearAxis {
  const scale = resizeScale(inSize, outSize, alignCorners);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = halfPixelCenters ? fround(fround(fround(i + 0.5) * scale) - 0.5) : fround(i * scale);
    lo[i] = Math.max(Math.floor(src), 0);
    hi[i] = Math.min(Math.ceil(src), inSize - 1);
    frac[i] = fround(src - lo[i]);
  }
  return { lo, hi, frac };
}

function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

export function nearestAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const scale = resizeScale(inSize, outSize, alignCorners);
  const offset = halfPixelCenters ? 0.5 : 0;
  const idx = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = fround(fround(i + offset) * scale);
    let v = Math.min(alignCorners ? roundHalfAway(src) : Math.floor(src), inSize - 1);
    if (halfPixelCenters) v = Math.max(0, v);
    idx[i] = v;
  }
  return idx;
}

/** Reads and checks the [newH, newW] size operand; returns [N, newH, newW, C]. */
export function resizeOutputShape(label: string, inputs: readonly (PreparedTensor | null)[], alignCorners: boolean, halfPixelCenters: boolean): number[] {
  const input = requireInput(label, inputs, 0, 'data');
  const sizeT = requireInput(label, inputs, 1, 'size');
  requireRank(label, input, 4, 'input');
  const size = toIntArray(requireConstant(label, sizeT, 'size'));
  if (size.length !== 2 || size[0] <= 0 || size[1] <= 0) {
    throw new UnsupportedError(`${label} asks for output size ${shapeToString(size)}; expected two positive numbers [height, width].`);
  }
  if (alignCorners && halfPixelCenters) {
    throw new UnsupportedError(`${label} sets both align_corners and half_pixel_centers, which TFLite rejects.`);
  }
  return [input.shape[0], size[0], size[1], input.shape[3]];
}
