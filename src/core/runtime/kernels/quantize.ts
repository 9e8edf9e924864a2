/**
 * QUANTIZE float32 → int8 / uint8 / int16. Per tensor or per axis.
 *
 * TFLite's reference and builtin kernels (rounding 'double-rounding' / 'single-rounding'):
 *   q = clamp(round_half_away_from_zero(x / S) + Z, qmin, qmax), x / S divided in float32.
 * XNNPACK (rounding 'xnnpack'; TFLite hands it float → int8/uint8 QUANTIZE ops):
 *   q = clamp(round_half_to_even(x · fl(1 / S)) + Z, qmin, qmax), the product in float32.
 * They differ on ties (x / S = k + ½) and, rarely, where x · fl(1/S) and x / S round apart.
 * (Requantizing an integer input: quantizeRequantize below.)
 * float32 → int8 per tensor runs on the interpreter's int8 engine when it has one
 * (wasm/kernel-bridge.ts).
 */
import { ModelFormatError } from '../../errors';
import type { RoundingMode } from '../kernel';
import { defineKernel } from '../kernel';
import { f32, requireInput } from '../kernel-util';
import type { QuantData, Requantizer } from '../quantized-util';
import { arithmeticFor, makeRequantizer, QUANT_RANGES, requantize, tensorQuant } from '../quantized-util';
import { normaliseAxis, stridesOf } from '../tensor-utils';
import type { Int8Engine } from '../wasm/engine';
import { inHeap } from '../wasm/kernel-bridge';

export interface QuantizeState {
  scales: Float64Array;
  /** fl(1 / S): the float32 reciprocal XNNPACK multiplies by. */
  inverseScales: Float64Array;
  zeroPoints: Float64Array;
  innerSize: number;
  axisSize: number;
  qmin: number;
  qmax: number;
  /** XNNPACK behaviour: multiply by the float32 reciprocal, round half to even. */
  xnnpack: boolean;
  /** The engine (per-tensor float32 → int8), or null: the TypeScript body runs. */
  wasm: Int8Engine | null;
  rounding: RoundingMode;
}

export const quantizeFloat32 = defineKernel<'QUANTIZE', QuantizeState>({
  opType: 'QUANTIZE',
  flavour: 'float32',
  accepts: (sig) => sig.inputs[0] === 'float32' && sig.outputs.length === 1 && QUANT_RANGES[sig.outputs[0]] !== undefined,
  prepare({ label, inputs, outputs, rounding, int8Engine }) {
    const input = requireInput(label, inputs, 0, 'data');
    const out = outputs[0];
    const q = out.quant;
    if (!q || q.scale.length === 0) {
      throw new ModelFormatError(`${label} quantizes into '${out.name}' (${out.dtype}), which has no quantization parameters.`);
    }
    const shape = [...input.shape];
    let axisSize = 1;
    let innerSize = 1;
    if (q.scale.length > 1) {
      const axis = normaliseAxis(q.axis ?? 0, shape.length);
      if (axis < 0 || shape[axis] !== q.scale.length) {
        throw new ModelFormatError(
          `${label} quantizes into '${out.name}' with ${q.scale.length} scales along axis ${q.axis ?? 0}, which does not match shape [${shape.join(', ')}].`,
        );
      }
      axisSize = shape[axis];
      innerSize = stridesOf(shape)[axis];
    }
    const [qmin, qmax] = QUANT_RANGES[out.dtype]!;
    return {
      outputShapes: [shape],
      state: {
        scales: Float64Array.from(q.scale.map((s) => Math.fround(s))),
        inverseScales: Float64Array.from(q.scale.map((s) => Math.fround(1 / Math.fround(s)))),
        zeroPoints: Float64Array.from(q.scale.map((_, i) => q.zeroPoint[i] ?? q.zeroPoint[0] ?? 0)),
        innerSize,
        axisSize,
        qmin,
        qmax,
        xnnpack: rounding === 'xnnpack',
        wasm: out.dtype === 'int8' && axisSize === 1 && int8Engine ? int8Engine() : null,
        rounding,
      },
    };
  },
  run({ inputs, outputs }, { scales, inverseScales, zeroPoints, innerSize, axisSize, qmin, qmax, xnnpack, wasm, rounding }) {
    const x = f32(inputs[0]!.data);
    const y = outputs[0].data as Int8Array;
    if (wasm && inHeap(wasm, x, y)) {
      wasm.quantize(x, y, scales[0], zeroPoints[0], rounding);
      return;
    }
    const fround = Math.fround;
    for (let i = 0; i < x.length; i++) {
      const c = axisSize === 1 ? 0 : Math.floor(i / innerSize) % axisSize;
      let rounded: number;
      if (xnnpack) {
        rounded = roundHalfEven(fround(x[i] * inverseScales[c]));
      } else {
        const r = fround(x[i] / scales[c]);
        rounded = r < 0 ? -Math.round(-r) : Math.round(r); // TfLiteRound = std::round
      }
      const v = rounded + zeroPoints[c];
      y[i] = v < qmin ? qmin : v > qmax ? qmax : v;
    }
  },
});

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// ---- integer input: requantization -------------------------------------------------------

/**
 * QUANTIZE from an integer tensor (int8 / uint8 / int16) to another: a requantization,
 * per tensor.
 * - TFLite: y = clamp(Z_y + M·(x − Z_x)), M = S_x / S_y in double, fixed-point (its builtin
 *   kernel rounds twice in the default build).
 * - XNNPACK (int8 → int8 with S_x / S_y in [2^-8, 2^7]): m = lrintf(256·fl(S_x / S_y)),
 *   y = clamp(Z_y + ((x − Z_x)·m + 128) >> 8), i.e. an 8-bit multiplier, rounding half up.
 */
export interface RequantizeState {
  zx: number;
  zy: number;
  qmin: number;
  qmax: number;
  rq: Requantizer;
  /** XNNPACK's 8.8 fixed-point multiplier, when it runs the op. */
  xnnMultiplier: number;
}

export const quantizeRequantize = defineKernel<'QUANTIZE', RequantizeState>({
  opType: 'QUANTIZE',
  flavour: 'int8',
  accepts: (sig) => ['int8', 'uint8', 'int16'].includes(sig.inputs[0] ?? '') && sig.outputs.length === 1 && QUANT_RANGES[sig.outputs[0]] !== undefined,
  prepare({ label, inputs, outputs, rounding }) {
    const input = requireInput(label, inputs, 0, 'data');
    const out = outputs[0];
    const qx = tensorQuant(label, input, 'input');
    const qy = tensorQuant(label, out, 'output');
    const ratio = Math.fround(qx.scale / qy.scale);
    const delegated = (input.dtype === 'int8' || input.dtype === 'uint8') && out.dtype === input.dtype && ratio >= 2 ** -8 && ratio <= 2 ** 7;
    const arithmetic = arithmeticFor(rounding, delegated, 'double-rounding');
    const [qmin, qmax] = QUANT_RANGES[out.dtype]!;
    return {
      outputShapes: [[...input.shape]],
      state: {
        zx: qx.zeroPoint,
        zy: qy.zeroPoint,
        qmin,
        qmax,
        rq: makeRequantizer(arithmetic, [qx.scale / qy.scale], [ratio]),
        xnnMultiplier: roundHalfEven(256 * ratio),
      },
    };
  },
  run({ inputs, outputs }, s) {
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    const { zx, zy, qmin, qmax, rq, xnnMultiplier } = s;
    const xnn = rq.arithmetic === 'xnnpack';
    for (let i = 0; i < x.length; i++) {
      const d = x[i] - zx;
      const v = zy + (xnn ? Math.floor((d * xnnMultiplier + 128) / 256) : requantize(d, rq, 0));
      y[i] = v < qmin ? qmin : v > qmax ? qmax : v;
    }
  },
});
