/**
 * 256-entry lookup tables for 8-bit elementwise ops (LOGISTIC, TANH), built once at prepare
 * time in float32 arithmetic exactly as the imitated kernel builds them:
 *
 * - TFLite's builtin kernels (PopulateLookupTable):
 *     x = fl(S_x·(q − Z_x)), t = f(x), y = (int) fl(round_half_away(fl(t · fl(1/S_y))) + Z_y)
 *   with f = 1/(1 + expf(−x)) for LOGISTIC and tanhf for TANH.
 * - XNNPACK's sigmoid (the delegate takes int8 LOGISTIC):
 *     y = lrintf(fl(fl(1/S_y) / fl(1 + expf(−x)))) + Z_y   (ties to even)
 *
 * expf / tanhf are taken as the correctly rounded float32 of the double-precision result
 * (libm's float functions are within half an ulp but for vanishingly rare arguments).
 */
import { roundHalfAwayFromZero, roundHalfToEven } from '../quant/fixed-point';
import { UnsupportedError } from '../errors';
import type { PrepareContext } from './kernel';
import { requireInput } from './kernel-util';
import type { QuantData, TensorQuant } from './quantized-util';
import { arithmeticFor, quantRange, tensorQuant } from './quantized-util';

const f = Math.fround;

export type LutFunction = 'logistic' | 'tanh';

function transform(fn: LutFunction, x: number): number {
  return fn === 'logistic' ? f(1 / f(1 + f(Math.exp(-x)))) : f(Math.tanh(x));
}

/**
 * The table for input values qmin … qmax (index q − qmin).
 * @param style 'tflite' (builtin kernels) or 'xnnpack' (only for LOGISTIC)
 */
export function buildLut(fn: LutFunction, input: TensorQuant, output: TensorQuant, qmin: number, qmax: number, style: 'tflite' | 'xnnpack'): Int32Array {
  const table = new Int32Array(qmax - qmin + 1);
  const inv = f(1 / output.scale);
  for (let q = qmin; q <= qmax; q++) {
    const x = f(input.scale * (q - input.zeroPoint));
    let v: number;
    if (style === 'xnnpack' && fn === 'logistic') {
      v = roundHalfToEven(f(inv / f(1 + f(Math.exp(-x))))) + output.zeroPoint;
    } else {
      v = Math.trunc(f(roundHalfAwayFromZero(f(transform(fn, x) * inv)) + output.zeroPoint));
    }
    table[q - qmin] = v < qmin ? qmin : v > qmax ? qmax : v;
  }
  return table;
}

export function applyLut(table: Int32Array, qmin: number, x: QuantData, y: QuantData): void {
  for (let i = 0; i < x.length; i++) y[i] = table[x[i] - qmin];
}

export interface LutKernelState {
  table: Int32Array;
  qmin: number;
}

/**
 * The prepare of an int8 / uint8 LOGISTIC or TANH: checks TFLite's fixed output parameters
 * (`fixed` by input type), then builds the table once, in XNNPACK's style when the mode is
 * 'xnnpack' and XNNPACK takes the op (`delegated`), in the builtin kernel's style otherwise.
 */
export function prepareLutKernel(
  fn: LutFunction,
  opType: string,
  fixed: Readonly<Record<string, [number, number]>>,
  delegated: boolean,
  { label, inputs, outputs, rounding }: Pick<PrepareContext, 'label' | 'inputs' | 'outputs' | 'rounding'>,
): { outputShapes: number[][]; state: LutKernelState } {
  const input = requireInput(label, inputs, 0, 'data');
  const qx = tensorQuant(label, input, 'input');
  const qy = tensorQuant(label, outputs[0], 'output');
  const [scale, zeroPoint] = fixed[input.dtype];
  if (qy.scale !== Math.fround(scale) || qy.zeroPoint !== zeroPoint) {
    throw new UnsupportedError(`${label} writes '${outputs[0].name}' with scale ${qy.scale} and zero point ${qy.zeroPoint}; TFLite's ${input.dtype} ${opType} needs scale ${scale} and zero point ${zeroPoint}.`);
  }
  const [qmin, qmax] = quantRange(label, input);
  const style = arithmeticFor(rounding, delegated, 'double-rounding') === 'xnnpack' ? 'xnnpack' : 'tflite';
  return { outputShapes: [[...input.shape]], state: { table: buildLut(fn, qx, qy, qmin, qmax, style), qmin } };
}
