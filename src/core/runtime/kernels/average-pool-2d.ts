/**
 * AVERAGE_POOL_2D. Each output is the mean of the window's taps that lie inside the input
 * (padding taps are not counted, as in TFLite), then the fused activation.
 */
import type { ActivationRange } from '../activation';
import { activationRange, clampRange } from '../activation';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { PoolGeometry } from '../pooling';
import { poolGeometry } from '../pooling';
import type { QuantData } from '../quantized-util';
import { quantizedActivationRange, requireSameQuant, sameQuantizedType } from '../quantized-util';
import type { WindowGeometry } from '../wasm/spec';
import type { EnginePath } from '../wasm/kernel-bridge';
import { inHeap, poolWindow } from '../wasm/kernel-bridge';

export interface AveragePool2dFloatState {
  g: PoolGeometry;
  range: ActivationRange;
  acc: Float64Array;
}

export const averagePool2dFloat32 = defineKernel<'AVERAGE_POOL_2D', AveragePool2dFloatState>({
  opType: 'AVERAGE_POOL_2D',
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
          acc.fill(0);
          for (let iy = yStart; iy < yEnd; iy++) {
            for (let ix = xStart; ix < xEnd; ix++) {
              const base = ((n * g.inH + iy) * g.inW + ix) * C;
              for (let c = 0; c < C; c++) acc[c] += x[base + c];
            }
          }
          const count = (yEnd - yStart) * (xEnd - xStart);
          for (let c = 0; c < C; c++) {
            y[yOff++] = acc[c] / count;
          }
        }
      }
    }
    clampRange(y, 0, y.length, range);
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * AVERAGE_POOL_2D on int8 / uint8 / int16 (input and output share scale and zero point):
 * the sum of the raw quantized values of the window's taps inside the input, divided by their
 * count and rounded half away from zero with integer arithmetic,
 *   acc > 0 ? (acc + n/2) / n : (acc − n/2) / n      (C division, truncating),
 * then clamped to the fused activation's range. The XNNPACK delegate of the default build
 * takes float pools only, so every rounding mode gives this. int8 runs on the interpreter's
 * int8 engine when it has one (wasm/kernel-bridge.ts).
 */
export interface AveragePool2dQuantState {
  g: PoolGeometry;
  min: number;
  max: number;
  /** The engine and the window, or null: the TypeScript body runs. */
  wasm: EnginePath<WindowGeometry> | null;
}

export const averagePool2dQuantized = defineKernel<'AVERAGE_POOL_2D', AveragePool2dQuantState>({
  opType: 'AVERAGE_POOL_2D',
  flavour: 'int8',
  accepts: sameQuantizedType(),
  prepare({ op, label, inputs, outputs, int8Engine }) {
    const input = requireInput(label, inputs, 0, 'data');
    const g = poolGeometry(label, input, op.options);
    const q = requireSameQuant(label, input, outputs[0]);
    const range = quantizedActivationRange(label, op.options.fusedActivationFunction, q, input.dtype, 'double-rounding');
    const wasm = input.dtype === 'int8' ? poolWindow(label, g, range.min, range.max, int8Engine) : null;
    return { outputShapes: [[g.batches, g.outH, g.outW, g.channels]], state: { g, min: range.min, max: range.max, wasm } };
  },
  run({ inputs, outputs }, { g, min, max, wasm }) {
    const x = inputs[0]!.data as QuantData;
    const y = outputs[0].data as QuantData;
    if (wasm && inHeap(wasm.engine, x, y)) {
      wasm.engine.averagePool(wasm.plan, min, max, x as Int8Array, y as Int8Array, g.batches);
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
          const count = (yEnd - yStart) * (xEnd - xStart);
          const half = (count / 2) | 0;
          for (let c = 0; c < C; c++) {
            let acc = 0;
            for (let iy = yStart; iy < yEnd; iy++) {
              for (let ix = xStart; ix < xEnd; ix++) acc += x[((n * g.inH + iy) * g.inW + ix) * C + c];
            }
            const v = Math.trunc((acc > 0 ? acc + half : acc - half) / count);
            y[yOff++] = v < min ? min : v > max ? max : v;
          }
        }
      }
    }
  },
});
