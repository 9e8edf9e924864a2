/**
 * MAX_POOL_2D. Each output is the maximum over the window's taps inside the input (padding
 * taps are ignored), then the fused activation.
 */
import type { ActivationRange } from '../activation';
import { activationRange, clampRange } from '../activation';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { PoolGeometry } from '../pooling';
import { poolGeometry } from '../pooling';
import type { QuantData } from '../quantized-util';
import { arithmeticFor, quantizedActivationRange, requireSameQuant, sameQuantizedType, xnnpackRangeUsable } from '../quantized-util';
import type { WindowGeometry } from '../wasm/spec';
import type { EnginePath } from '../wasm/kernel-bridge';
import { inHeap, poolWindow } from '../wasm/kernel-bridge';

export interface MaxPool2dFloatState {
  g: PoolGeometry;
  range: ActivationRange;
  acc: Float64Array;
}

export const maxPool2dFloat32 = defineKernel<'MAX_POOL_2D', MaxPool2dFloatState>({
  opType: 'MAX_POOL_2D',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    const input = requireInput(label, inputs, 0, 'data');
    const g = poolGeometry(label, input, op.options);
    return {
      outputShapes: [[g.batches, g.outH, g.outW, g.channels]],
      state: { g, range: activationRange(op.options.fusedActivationFunction, label), acc: new Float64Array(g.channels) },
    };
  },
  run({ inputs, outputs }, { g, range, acc }) {
    const x = f32(inputs[0]!.data);
    const y = f32(outputs[0].data);
    const C = g.channels;
    let yOff = 0;
    for (let n = 0; n < g.batches; n++) {
      for (let oy = 0; oy < g.outH; oy++) {
        const y0 = oy * g.strideH - g.padTop;
        const yStart = Math.max(0, y0);
        const yEnd = Math.min(g.inH, y0 + g.filterH);
        for (let ox = 0; ox < g.outW; ox++) {
          const x0 = ox * g.strideW - g.padLeft;
          const xStart = Math.max(0, x0);
          const xEnd = Math.min(g.inW, x0 + g.filterW);
          acc.fill(-Infinity);
          for (let iy = yStart; iy < yEnd; iy++) {
            for (let ix = xStart; ix < xEnd; ix++) {
              const base = ((n * g.inH + iy) * g.inW + ix) * C;
              for (let c = 0; c < C; c++) {
                acc[c] = Math.max(acc[c], x[base + c]);
              }
            }
          }
          for (let c = 0; c < C; c++) {
            y[yOff++] = acc[c];
          }
        }
      }
    }
    clampRange(y, 0, y.length, range);
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * MAX_POOL_2D on int8 / uint8 / int16: the maximum of the raw quantized values (input and
 * output share scale and zero point), clamped to the fused activation's quantized range.
 * The XNNPACK delegate takes it unless a stride exceeds the window (or a 1×1 window strides,
 * or the activation's range collapses in XNNPACK's rounding);
 * the range bounds then round like XNNPACK (ties to even) instead of TFLite (away from zero).
 * int8 runs on the interpreter's int8 engine when it has one (wasm/kernel-bridge.ts).
 */
export interface MaxPool2dQuantState {
  g: PoolGeometry;
  min: number;
  max: number;
  /** The engine and the window, or null: the TypeScript body runs. */
  wasm: EnginePath<WindowGeometry> | null;
}

export const maxPool2dQuantized = defineKernel<'MAX_POOL_2D', MaxPool2dQuantState>({
  opType: 'MAX_POOL_2D',
  flavour: 'int8',
  accepts: sameQuantizedType(),
  prepare({ op, label, inputs, outputs, rounding, int8Engine }) {
    const input = requireInput(label, inputs, 0, 'data');
    const g = poolGeometry(label, input, op.options);
    const q = requireSameQuant(label, input, outputs[0]);
    const o = op.options;
    const delegated = input.dtype !== 'int16' && xnnpackRangeUsable(label, o.fusedActivationFunction, q, input.dtype) && o.strideH <= o.filterHeight && o.strideW <= o.filterWidth && !(o.filterHeight === 1 && o.filterWidth === 1 && (o.strideH > 1 || o.strideW > 1));
    const range = quantizedActivationRange(label, o.fusedActivationFunction, q, input.dtype, arithmeticFor(rounding, delegated, 'double-rounding'));
    const wasm = input.dtype === 'int8' ? poolWindow(label, g, range.min, range.max, int8Engine) : null;
    return { outputShapes: [[g.batches, g.outH, g.outW, g.channels]], state: { g, min: range.min, max: range.max, wasm } };
  },
  run({ inputs, outputs }, { g, min, max, wasm }) {
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    if (wasm && inHeap(wasm.engine, x, y)) {
      wasm.engine.maxPool(wasm.plan, min, max, x as Int8Array, y as Int8Array, g.batches);
      return;
    }
    const C = g.channels;
    let yOff = 0;
    for (let n = 0; n < g.batches; n++) {
      for (let oy = 0; oy < g.outH; oy++) {
        const y0 = oy * g.strideH - g.padTop;
        const yStart = Math.max(0, y0);
        const yEnd = Math.min(g.inH, y0 + g.filterH);
        for (let ox = 0; ox < g.outW; ox++) {
          const x0 = ox * g.strideW - g.padLeft;
          const xStart = Math.max(0, x0);
          const xEnd = Math.min(g.inW, x0 + g.filterW);
          for (let c = 0; c < C; c++) {
            let m = min;
            for (let iy = yStart; iy < yEnd; iy++) {
              for (let ix = xStart; ix < xEnd; ix++) {
                const v = x[((n * g.inH + iy) * g.inW + ix) * C + c];
                if (v > m) m = v;
              }
            }
            y[yOff++] = m > max ? max : m;
          }
        }
      }
    }
  },
});
