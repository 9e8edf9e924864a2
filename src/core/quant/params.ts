/**
 * From an observed float range to TFLite quantization parameters (scale, zero point).
 *
 * The scheme (TFLite's int8 quantization spec):
 *  - activations int8: asymmetric, q in [-128, 127], the range widened to include 0 so that 0 is
 *    exactly representable, zero point = round(qmin − min/scale) clamped to [qmin, qmax];
 *  - weights int8: symmetric, q in [-127, 127], zero point 0, scale = max|x| / 127;
 *  - activations int16 (16×8 mode): symmetric, q in [-32767, 32767], zero point 0;
 *  - biases int32: zero point 0, scale = S_input · S_weight (per output channel).
 * A range of width 0 (a tensor that is always 0) gets scale 1 rather than 0 so that the model
 * stays valid; every value then still quantizes exactly to the zero point.
 */

export interface QuantRange {
  min: number;
  max: number;
}

export interface IntegerGrid {
  qmin: number;
  qmax: number;
  /** Zero point fixed to 0, range symmetric around it. */
  symmetric: boolean;
}

export const INT8_ACTIVATION: IntegerGrid = { qmin: -128, qmax: 127, symmetric: false };
export const INT8_WEIGHT: IntegerGrid = { qmin: -127, qmax: 127, symmetric: true };
export const INT16_ACTIVATION: IntegerGrid = { qmin: -32767, qmax: 32767, symmetric: true };
export const UINT8_ACTIVATION: IntegerGrid = { qmin: 0, qmax: 255, symmetric: false };

export interface ScaleZeroPoint {
  scale: number;
  zeroPoint: number;
}

/** Scale and zero point for one range on one grid (the range is first widened to include 0). */
export function chooseParams(range: QuantRange, grid: IntegerGrid): ScaleZeroPoint {
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max)) {
    throw new RangeError(`cannot quantize the range [${range.min}, ${range.max}]: it is not finite`);
  }
  const min = Math.min(range.min, 0);
  const max = Math.max(range.max, 0);
  if (grid.symmetric) {
    const absMax = Math.max(-min, max);
    // Symmetric grids are [-qmax, qmax] (int8 weights −127..127, int16 −32767..32767).
    const scale = absMax > 0 ? absMax / grid.qmax : 1;
    return { scale: Math.fround(scale) || 1, zeroPoint: 0 };
  }
  const width = max - min;
  if (!(width > 0)) return { scale: 1, zeroPoint: clampInt(Math.round(grid.qmin), grid) };
  // The scale is stored as float32 in a .tflite file; compute the zero point from that value.
  const scale = Math.fround(width / (grid.qmax - grid.qmin));
  const zeroPoint = clampInt(Math.round(grid.qmin - min / scale), grid);
  return { scale, zeroPoint };
}

function clampInt(v: number, grid: IntegerGrid): number {
  return Math.min(grid.qmax, Math.max(grid.qmin, v));
}

/** q = clamp(round_half_away(x / scale) + zp): what TFLite's QUANTIZE reference computes for float → int. */
export function quantizeValue(x: number, p: ScaleZeroPoint, grid: IntegerGrid): number {
  const r = x / p.scale;
  const rounded = r >= 0 ? Math.floor(r + 0.5) : -Math.floor(-r + 0.5);
  return Math.min(grid.qmax, Math.max(grid.qmin, rounded + p.zeroPoint));
}

/** x ≈ scale · (q − zp). */
export function dequantizeValue(q: number, p: ScaleZeroPoint): number {
  return p.scale * (q - p.zeroPoint);
}
