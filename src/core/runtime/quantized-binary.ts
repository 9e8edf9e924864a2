/**
 * Quantized ADD, SUB and MUL (int8 and uint8, per tensor) with broadcasting.
 *
 * TFLite (reference / builtin kernels), ADD and SUB:
 *   a' = (a − Z_a)·2^20 · M_a,  b' = (b − Z_b)·2^20 · M_b       M_a = S_a / (2·max(S_a, S_b))
 *   y  = Z_y + (a' ± b') · M_y                                  M_y = 2·max(S_a, S_b) / (2^20·S_y)
 * each · M a fixed-point requantization (so three roundings per element);
 * MUL: y = Z_y + (a − Z_a)(b − Z_b) · M,  M = fl(fl(S_a·S_b) / S_y) (float32 in TFLite's Prepare).
 *
 * XNNPACK, ADD and SUB: multipliers m_a = lrintf(fl(S_a / S_y)·2^k), m_b likewise (negated for
 * SUB), k = 20 − exponent(max |scale ratio|); y = Z_y + ((a − Z_a)·m_a + (b − Z_b)·m_b + 2^(k−1)) >> k.
 * MUL: y = Z_y + round_half_even(fl((a − Z_a)(b − Z_b) · fl(fl(S_a·S_b) / S_y))).
 * int16 ADD/SUB with general scales: the same with 2^15 in place of 2^20.
 * The delegate takes ADD/SUB when both S_in / S_y lie in [2^-10, 2^8) and MUL when
 * S_a·S_b / S_y lies in [2^-16, 2^8), and the fused activation leaves a non-empty range in its
 * rounding; otherwise TFLite's builtin kernel runs (double rounding).
 */
import { UnsupportedError } from '../errors';
import type { FusedActivation } from '../ir/types';
import type { BroadcastPlan } from './broadcast';
import { planBroadcast } from './broadcast';
import type { PreparedTensor, RoundingMode } from './kernel';
import type { Arithmetic, QuantData } from './quantized-util';
import { arithmeticFor, makeRequantizer, quantizedActivationRange, requantize, tensorQuant, xnnpackRangeUsable } from './quantized-util';
import type { Requantizer } from './quantized-util';
import { roundHalfToEven } from '../quant/fixed-point';

export type BinaryOp = 'add' | 'sub' | 'mul';

export interface QuantizedBinaryState {
  op: BinaryOp;
  plan: BroadcastPlan;
  arithmetic: Arithmetic;
  za: number;
  zb: number;
  zy: number;
  min: number;
  max: number;
  /** TFLite: [M_a, M_b, M_y] (ADD/SUB) or [M] (MUL). */
  rq: Requantizer;
  /** XNNPACK ADD/SUB: m_a, m_b (signed), shift k. */
  xa: number;
  xb: number;
  xShift: number;
  /** XNNPACK MUL: float32 scale. */
  xScale: number;
  /** TFLite ADD/SUB: 2^20 (8-bit) or 2^15 (int16). */
  leftShift: number;
}

/** Float32 exponent of a positive normal float32 value (floor(log2 v)). */
function exponentOf(v: number): number {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
  return ((bits >>> 23) & 0xff) - 127;
}

export function prepareQuantizedBinary(
  label: string,
  op: BinaryOp,
  a: PreparedTensor,
  b: PreparedTensor,
  out: PreparedTensor,
  act: FusedActivation,
  rounding: RoundingMode,
): QuantizedBinaryState {
  if (a.dtype !== out.dtype || b.dtype !== out.dtype) {
    throw new UnsupportedError(`${label} mixes types ${a.dtype}, ${b.dtype} → ${out.dtype}; quantized ${op.toUpperCase()} needs one type throughout.`);
  }
  const plan = planBroadcast(label, a.shape, b.shape);
  const qa = tensorQuant(label, a, 'first input');
  const qb = tensorQuant(label, b, 'second input');
  const qy = tensorQuant(label, out, 'output');
  const f = Math.fround;
  // int16 ADD/SUB (general scales) shift by 15 instead of 20
  const leftShift = out.dtype === 'int16' ? 15 : 20;
  const rangeOk = xnnpackRangeUsable(label, act, qy, out.dtype);
  let delegated: boolean;
  let rq: Requantizer;
  let xa = 0;
  let xb = 0;
  let xShift = 0;
  let xScale = 0;
  if (op === 'mul') {
    const m = f(f(qa.scale * qb.scale) / qy.scale);
    delegated = rangeOk && m >= 2 ** -16 && m < 256;
    xScale = m;
    rq = makeRequantizer(arithmeticFor(rounding, delegated, 'double-rounding'), [m], [m]);
  } else {
    const ra = f(qa.scale / qy.scale);
    const rb = f(qb.scale / qy.scale);
    delegated = rangeOk && ra >= 2 ** -10 && ra < 256 && rb >= 2 ** -10 && rb < 256;
    if (out.dtype === 'int16') delegated = false; // the delegate takes no int16 op
    const twiceMax = 2 * Math.max(qa.scale, qb.scale); // a float32 doubled: exact
    rq = makeRequantizer(
      arithmeticFor(rounding, delegated, 'double-rounding'),
      [qa.scale / twiceMax, qb.scale / twiceMax, twiceMax / (2 ** leftShift * qy.scale)],
      [0, 0, 0],
    );
    if (delegated) {
      xShift = 20 - exponentOf(Math.max(ra, rb));
      xa = roundHalfToEven(ra * 2 ** xShift);
      xb = roundHalfToEven(rb * 2 ** xShift) * (op === 'sub' ? -1 : 1);
    }
  }
  const arithmetic = rq.arithmetic;
  const range = quantizedActivationRange(label, act, qy, out.dtype, arithmetic);
  return { op, plan, arithmetic, za: qa.zeroPoint, zb: qb.zeroPoint, zy: qy.zeroPoint, min: range.min, max: range.max, rq, xa, xb, xShift, xScale, leftShift: 2 ** leftShift };
}

/** One element: the quantized a ∘ b before the clamp. */
function element(s: QuantizedBinaryState, a: number, b: number): number {
  const da = a - s.za;
  const db = b - s.zb;
  if (s.op === 'mul') {
    if (s.arithmetic === 'xnnpack') return s.zy + roundHalfToEven(Math.fround(da * db * s.xScale));
    return s.zy + requantize(da * db, s.rq, 0);
  }
  if (s.arithmetic === 'xnnpack') {
    // (da·m_a + db·m_b + 2^(k−1)) >> k: |·| < 2^29, exact in doubles; floor = arithmetic shift
    return s.zy + Math.floor((da * s.xa + db * s.xb + 2 ** (s.xShift - 1)) / 2 ** s.xShift);
  }
  const sa = requantize(da * s.leftShift, s.rq, 0);
  const sb = requantize(db * s.leftShift, s.rq, 1);
  return s.zy + requantize(s.op === 'add' ? sa + sb : sa - sb, s.rq, 2);
}

export function runQuantizedBinary(s: QuantizedBinaryState, a: QuantData, b: QuantData, y: QuantData): void {
  const { dims, stridesA, stridesB, counter } = s.plan;
  const rank = dims.length;
  const inner = dims[rank - 1];
  const ia = stridesA[rank - 1];
  const ib = stridesB[rank - 1];
  const { min, max } = s;
  counter.fill(0);
  let offA = 0;
  let offB = 0;
  for (let o = 0; o < y.length; o += inner) {
    let pa = offA;
    let pb = offB;
    for (let i = 0; i < inner; i++, pa += ia, pb += ib) {
      const v = element(s, a[pa], b[pb]);
      y[o + i] = v < min ? min : v > max ? max : v;
    }
    for (let d = rank - 2; d >= 0; d--) {
      counter[d]++;
      offA += stridesA[d];
      offB += stridesB[d];
      if (counter[d] < dims[d]) break;
      offA -= stridesA[d] * dims[d];
      offB -= stridesB[d] * dims[d];
      counter[d] = 0;
    }
  }
}
