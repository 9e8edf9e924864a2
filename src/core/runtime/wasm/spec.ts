/**
 * What the int8 engine is asked to compute, checked once at prepare time.
 *
 * Quantization (notes/int8.md): r = S (q − Z). An int8 convolution or dense layer accumulates
 * acc = Σ (q_in − Z_in) · q_w + bias in int32 (weights symmetric, Z_w = 0), and maps it to the
 * output with the real multiplier M = S_in · S_w[c] / S_out, one per output channel:
 *   - 'double-rounding' / 'single-rounding': M = M0 · 2^(shift − 31), M0 in [0, 2^31),
 *     shift in [−31, 30] (TFLite's QuantizeMultiplier; the caller computes them);
 *   - 'xnnpack': the float32 scale M itself.
 * then q_out = clamp(Z_out + requant(acc), min, max), [min, max] being the fused activation.
 */
import { UnsupportedError } from '../../errors';
import type { RoundingMode } from '../kernel';

export type ChannelRequantization =
  | { rounding: 'double-rounding' | 'single-rounding'; multiplier: ArrayLike<number>; shift: ArrayLike<number> }
  | { rounding: 'xnnpack'; scale: ArrayLike<number> };

/** Per-channel requantization plus the output's zero point and activation clamp (int8 codes). */
export type Requantization = ChannelRequantization & {
  outputZeroPoint: number;
  /** Lowest code written (−128, or the zero point for a fused RELU). */
  outputMin: number;
  /** Highest code written. */
  outputMax: number;
};

/** Requantization with one entry per output channel, validated. */
export interface ChannelParams {
  readonly rounding: RoundingMode;
  readonly multiplier: Int32Array;
  readonly shift: Int32Array;
  /** float32 values (xnnpack). */
  readonly scale: Float32Array;
  readonly zeroPoint: number;
  readonly min: number;
  readonly max: number;
}

/** C[i, j] = requant(Σ_k (A[i, k] − inputZeroPoint) · W[j, k] + bias[j]). */
export interface GemmSpec {
  /** int8 weights, row-major [outputs][depth] (OHWI filters and FULLY_CONNECTED weights as stored). */
  weights: Int8Array;
  outputs: number;
  depth: number;
  /** int32 bias per output (scale S_in · S_w[j], zero point 0); none means zero. */
  bias?: Int32Array | null;
  inputZeroPoint: number;
  requant: Requantization;
}

/** Geometry of a 2-D window over one NHWC image. Padding before; after is implied by the sizes. */
export interface WindowGeometry {
  inH: number;
  inW: number;
  channels: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

export interface Conv2dSpec extends Omit<WindowGeometry, 'channels'> {
  inC: number;
  outC: number;
  dilationH?: number;
  dilationW?: number;
  /** OHWI [outC][kernelH][kernelW][inC]. */
  weights: Int8Array;
  bias?: Int32Array | null;
  inputZeroPoint: number;
  requant: Requantization;
}

/** Depth multiplier 1, dilation 1. */
export interface DepthwiseConv2dSpec extends WindowGeometry {
  /** [kernelH][kernelW][channels] (TFLite's [1, kH, kW, C]). */
  weights: Int8Array;
  bias?: Int32Array | null;
  inputZeroPoint: number;
  requant: Requantization;
}

const INT32_MAX = 2147483647;

function isInt(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

function checkCode(label: string, what: string, v: number): void {
  if (!isInt(v, -128, 127)) throw new UnsupportedError(`${label}: the ${what} ${v} is not an int8 value in [-128, 127].`);
}

export function checkPositive(label: string, what: string, v: number): void {
  if (!isInt(v, 1, INT32_MAX)) throw new UnsupportedError(`${label}: the ${what} must be a positive integer; got ${v}.`);
}

function perChannel(label: string, what: string, values: ArrayLike<number>, channels: number): number[] {
  if (values.length !== 1 && values.length !== channels) {
    throw new UnsupportedError(`${label}: ${values.length} ${what} values were given for ${channels} output channels (give one, or one per channel).`);
  }
  const out = new Array<number>(channels);
  for (let c = 0; c < channels; c++) out[c] = values[values.length === 1 ? 0 : c];
  return out;
}

/** Validates a requantization and expands it to one entry per channel. */
export function expandRequantization(label: string, r: Requantization, channels: number): ChannelParams {
  checkCode(label, 'output zero point', r.outputZeroPoint);
  checkCode(label, 'output minimum', r.outputMin);
  checkCode(label, 'output maximum', r.outputMax);
  if (r.outputMin > r.outputMax) throw new UnsupportedError(`${label}: the output range [${r.outputMin}, ${r.outputMax}] is empty.`);
  const multiplier = new Int32Array(channels);
  const shift = new Int32Array(channels);
  const scale = new Float32Array(channels);
  if (r.rounding === 'xnnpack') {
    perChannel(label, 'scale', r.scale, channels).forEach((s, c) => {
      if (!Number.isFinite(s) || s < 0) throw new UnsupportedError(`${label}: the requantization scale ${s} of channel ${c} is not a finite non-negative number.`);
      scale[c] = s;
    });
  } else if (r.rounding === 'double-rounding' || r.rounding === 'single-rounding') {
    const ms = perChannel(label, 'multiplier', r.multiplier, channels);
    const ss = perChannel(label, 'shift', r.shift, channels);
    for (let c = 0; c < channels; c++) {
      if (!isInt(ms[c], 0, INT32_MAX)) throw new UnsupportedError(`${label}: the fixed-point multiplier ${ms[c]} of channel ${c} is outside [0, 2^31).`);
      if (!isInt(ss[c], -31, 30)) throw new UnsupportedError(`${label}: the shift ${ss[c]} of channel ${c} is outside [-31, 30] (TFLite's QuantizeMultiplier range).`);
      multiplier[c] = ms[c];
      shift[c] = ss[c];
    }
  } else {
    throw new UnsupportedError(`${label}: unknown rounding mode '${(r as { rounding: string }).rounding}'.`);
  }
  return { rounding: r.rounding, multiplier, shift, scale, zeroPoint: r.outputZeroPoint, min: r.outputMin, max: r.outputMax };
}

export function checkInputZeroPoint(label: string, z: number): void {
  checkCode(label, 'input zero point', z);
}

export function checkBias(label: string, bias: Int32Array | null | undefined, channels: number): Int32Array {
  if (!bias) return new Int32Array(channels);
  if (bias.length !== channels) throw new UnsupportedError(`${label}: the bias has ${bias.length} values for ${channels} output channels.`);
  return bias;
}

export function checkWeights(label: string, weights: Int8Array, expected: number, shape: string): void {
  if (weights.length !== expected) throw new UnsupportedError(`${label}: the weights hold ${weights.length} values; ${shape} needs ${expected}.`);
}

/** Output size of a window along one axis; checks that the caller's sizes are consistent. */
export function checkWindow(label: string, g: WindowGeometry, dilationH = 1, dilationW = 1): void {
  for (const [k, v] of Object.entries({ inH: g.inH, inW: g.inW, channels: g.channels, kernelH: g.kernelH, kernelW: g.kernelW, strideH: g.strideH, strideW: g.strideW, outH: g.outH, outW: g.outW, dilationH, dilationW })) {
    checkPositive(label, k, v);
  }
  if (!isInt(g.padTop, 0, g.kernelH * dilationH) || !isInt(g.padLeft, 0, g.kernelW * dilationW)) {
    throw new UnsupportedError(`${label}: padding (${g.padTop}, ${g.padLeft}) does not fit a ${g.kernelH}×${g.kernelW} window.`);
  }
  // The last window must start inside the padded input.
  const lastY = (g.outH - 1) * g.strideH - g.padTop;
  const lastX = (g.outW - 1) * g.strideW - g.padLeft;
  if (lastY >= g.inH || lastX >= g.inW) {
    throw new UnsupportedError(`${label}: an output of ${g.outH}×${g.outW} does not fit an input of ${g.inH}×${g.inW} with stride ${g.strideH}×${g.strideW} and padding (${g.padTop}, ${g.padLeft}).`);
  }
}
