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
