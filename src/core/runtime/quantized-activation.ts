/**
 * Integer RELU, RELU6, LEAKY_RELU and PRELU (int8 / uint8, per tensor).
 *
 * TFLite (builtin kernels; the default build's XNNPACK delegate takes none of them except
 * LEAKY_RELU):
 *   RELU/RELU6:  y = clamp(Z_y + M·(x − Z_x), [Z_y + round(0/S_y), Z_y + round(6/S_y)])
 *                M = S_x / S_y (a float32 quotient), round half away from zero;
 *   LEAKY_RELU:  y = clamp(Z_y + (x ≥ Z_x ? M_1 : M_α)·(x − Z_x)), M_1 = fl(S_x / S_y),
 *                M_α = fl(fl(S_x·α) / S_y);
 *   PRELU:       y = clamp(Z_y + (x ≥ Z_x ? M_1·(x − Z_x) : M_2·(x − Z_x)(a − Z_a))),
 *                M_1 = fl(S_x / S_y), M_2 = fl(fl(S_x·S_a) / S_y), a broadcast against x.
 * XNNPACK LEAKY_RELU: 8.8 fixed-point multipliers m₊ = lrintf(256·fl(S_x/S_y)),
 *   m₋ = lrintf(256·fl(fl(S_x/S_y)·α)); y = clamp(Z_y + ((x − Z_x)·m + 128) >> 8), taken when
 *   fl(S_x/S_y) ∈ [2^-8, 2^7] and |m₋ scale| ∈ [2^-8, 2^7].
 */
import type { BroadcastPlan } from './broadcast';
import { planBroadcast } from './broadcast';
import type { PreparedTensor, RoundingMode } from './kernel';
import { roundHalfAwayFromZero, roundHalfToEven } from '../quant/fixed-point';
import type { Arithmetic, QuantData, Requantizer } from './quantized-util';
import { arithmeticFor, makeRequantizer, quantRange, requantize, tensorQuant } from './quantized-util';

export interface QuantizedReluState {
  zx: number;
  zy: number;
  min: number;
  max: number;
  rq: Requantizer;
}

/** RELU (hi = ∞), RELU6 (hi = 6), RELU_N1_TO_1 (lo = −1, hi = 1). */
export function prepareQuantizedRelu(label: string, input: PreparedTensor, output: PreparedTensor, lo: number, hi: number, rounding: RoundingMode): QuantizedReluState {
  const qx = tensorQuant(label, input, 'input');
  const qy = tensorQuant(label, output, 'output');
  const [qmin, qmax] = quantRange(label, output);
  const f = Math.fround;
  const q = (v: number) => qy.zeroPoint + roundHalfAwayFromZero(f(v / qy.scale));
  const m = f(qx.scale / qy.scale);
  return {
    zx: qx.zeroPoint,
    zy: qy.zeroPoint,
    min: Math.max(qmin, q(lo)),
    max: hi === Infinity ? qmax : Math.min(qmax, q(hi)),
    rq: makeRequantizer(arithmeticFor(rounding, false, 'double-rounding'), [m], [m]),
  };
}

export function runQuantizedRelu(s: QuantizedReluState, x: QuantData, y: QuantData): void {
  const { zx, zy, min, max, rq } = s;
  for (let i = 0; i < x.length; i++) {
    const v = zy + requantize(x[i] - zx, rq, 0);
    y[i] = v < min ? min : v > max ? max : v;
  }
}

export interface QuantizedLeakyReluState {
  arithmetic: Arithmetic;
  zx: number;
  zy: number;
  qmin: number;
  qmax: number;
  /** TFLite: channel 0 identity, channel 1 alpha. */
  rq: Requantizer;
  /** XNNPACK 8.8 multipliers. */
  mPos: number;
  mNeg: number;
}

export function prepareQuantizedLeakyRelu(label: string, input: PreparedTensor, output: PreparedTensor, alpha: number, rounding: RoundingMode): QuantizedLeakyReluState {
  const qx = tensorQuant(label, input, 'input');
  const qy = tensorQuant(label, output, 'output');
  const [qmin, qmax] = quantRange(label, output);
  const f = Math.fround;
  const a = f(alpha);
  const pos = f(qx.scale / qy.scale);
  const neg = f(pos * a);
  const delegated = input.dtype !== 'int16' && output.dtype === input.dtype && pos >= 2 ** -8 && pos <= 2 ** 7 && Math.abs(neg) >= 2 ** -8 && Math.abs(neg) <= 2 ** 7;
  const arithmetic = arithmeticFor(rounding, delegated, 'double-rounding');
  return {
    arithmetic,
    zx: qx.zeroPoint,
    zy: qy.zeroPoint,
    qmin,
    qmax,
    rq: makeRequantizer(arithmetic, [pos, f(f(qx.scale * a) / qy.scale)], [pos, neg]),
    mPos: roundHalfToEven(256 * pos),
    mNeg: roundHalfToEven(256 * neg),
  };
}

export function runQuantizedLeakyRelu(s: QuantizedLeakyReluState, x: QuantData, y: QuantData): void {
  const { zx, zy, qmin, qmax, rq, mPos, mNeg } = s;
  const xnn = s.arithmetic === 'xnnpack';
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - zx;
    const v = zy + (xnn ? Math.floor((d * (d >= 0 ? mPos : mNeg) + 128) / 256) : requantize(d, rq, d >= 0 ? 0 : 1));
    y[i] = v < qmin ? qmin : v > qmax ? qmax : v;
  }
}

export interface QuantizedPreluState {
  plan: BroadcastPlan;
  zx: number;
  za: number;
  zy: number;
  qmin: number;
  qmax: number;
  rq: Requantizer;
}

export function prepareQuantizedPrelu(label: string, input: PreparedTensor, alpha: PreparedTensor, output: PreparedTensor, rounding: RoundingMode): QuantizedPreluState {
  const qx = tensorQuant(label, input, 'input');
  const qa = tensorQuant(label, alpha, 'alpha');
  const qy = tensorQuant(label, output, 'output');
  const [qmin, qmax] = quantRange(label, output);
  const f = Math.fround;
  const m1 = f(qx.scale / qy.scale);
  const m2 = f(f(qx.scale * qa.scale) / qy.scale);
  return {
    plan: planBroadcast(label, input.shape, alpha.shape),
    zx: qx.zeroPoint,
    za: qa.zeroPoint,
    zy: qy.zeroPoint,
    qmin,
    qmax,
    rq: makeRequantizer(arithmeticFor(rounding, false, 'double-rounding'), [m1, m2], [m1, m2]),
  };
}

export function runQuantizedPrelu(s: QuantizedPreluState, x: QuantData, a: QuantData, y: QuantData): void {
  const { dims, stridesA, stridesB, counter } = s.plan;
  const { zx, za, zy, qmin, qmax, rq } = s;
  const rank = dims.length;
  const inner = dims[rank - 1];
  const ix = stridesA[rank - 1];
  const ia = stridesB[rank - 1];
  counter.fill(0);
  let offX = 0;
  let offA = 0;
  for (let o = 0; o < y.length; o += inner) {
    for (let i = 0, px = offX, pa = offA; i < inner; i++, px += ix, pa += ia) {
      const d = x[px] - zx;
      const v = zy + (d >= 0 ? requantize(d, rq, 0) : requantize(d * (a[pa] - za), rq, 1));
      y[o + i] = v < qmin ? qmin : v > qmax ? qmax : v;
    }
    for (let d = rank - 2; d >= 0; d--) {
      counter[d]++;
      offX += stridesA[d];
      offA += stridesB[d];
      if (counter[d] < dims[d]) break;
      offX -= stridesA[d] * dims[d];
      offA -= stridesB[d] * dims[d];
      counter[d] = 0;
    }
  }
}
