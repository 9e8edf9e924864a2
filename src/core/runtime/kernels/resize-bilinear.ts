/**
 * RESIZE_BILINEAR (NHWC, size operand [newH, newW]). Coordinates as in ../resize.ts;
 *   out = in[y0,x0]·(1−dy)(1−dx) + in[y1,x0]·dy(1−dx) + in[y0,x1]·(1−dy)dx + in[y1,x1]·dy·dx
 * evaluated in double from float32 coordinates and rounded once.
 */
import { defineKernel } from '../kernel';
import { f32, float32WithIntOperands } from '../kernel-util';
import type { BilinearAxis } from '../resize';
import { bilinearAxis, resizeOutputShape } from '../resize';

export interface ResizeBilinearFloatState {
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  ys: BilinearAxis;
  xs: BilinearAxis;
}

export const resizeBilinearFloat32 = defineKernel<'RESIZE_BILINEAR', ResizeBilinearFloatState>({
  opType: 'RESIZE_BILINEAR',
  flavour: 'float32',
  accepts: float32WithIntOperands([1]),
  prepare({ op, label, inputs }) {
    const { alignCorners, halfPixelCenters } = op.options;
    const outShape = resizeOutputShape(label, inputs, alignCorners, halfPixelCenters);
    const [batches, inH, inW, channels] = inputs[0]!.shape;
    const [, outH, outW] = outShape;
    return {
      outputShapes: [outShape],
      state: {
        batches, inH, inW, channels, outH, outW,
        ys: bilinearAxis(inH, outH, alignCorners, halfPixelCenters),
        xs: bilinearAxis(inW, outW, alignCorners, halfPixelCenters),
      },
    };
  },
  run({ inputs, outputs }, s) {
    const x = f32(inputs[0]!.data);
    const out = f32(outputs[0].data);
    const { batches, inH, inW, channels: C, outH, outW, ys, xs } = s;
    let o = 0;
    for (let n = 0; n < batches; n++) {
      for (let oy = 0; oy < outH; oy++) {
        const dy = ys.frac[oy];
        const row0 = (n * inH + ys.lo[oy]) * inW;
        const row1 = (n * inH + ys.hi[oy]) * inW;
        for (let ox = 0; ox < outW; ox++) {
          const dx = xs.frac[ox];
          const w00 = (1 - dy) * (1 - dx);
          const w10 = dy * (1 - dx);
          const w01 = (1 - dy) * dx;
          const w11 = dy * dx;
          const p00 = (row0 + xs.lo[ox]) * C;
          const p10 = (row1 + xs.lo[ox]) * C;
          const p01 = (row0 + xs.hi[ox]) * C;
          const p11 = (row1 + xs.hi[ox]) * C;
          for (let c = 0; c < C; c++) {
            out[o++] = x[p00 + c] * w00 + x[p10 + c] * w10 + x[p01 + c] * w01 + x[p11 + c] * w11;
          }
        }
      }
    }
  },
});
