/** RESIZE_NEAREST_NEIGHBOR (NHWC, size operand [newH, newW]); source indices as in ../resize.ts. */
import type { PrepareContext, PrepareResult, RunContext } from '../kernel';
import { defineKernel } from '../kernel';
import { f32, float32WithIntOperands, requireInput } from '../kernel-util';
import { requireSameQuant } from '../quantized-util';
import { nearestAxis, resizeOutputShape } from '../resize';

export interface ResizeNearestFloatState {
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  ys: Int32Array;
  xs: Int32Array;
}

export const resizeNearestNeighborFloat32 = defineKernel<'RESIZE_NEAREST_NEIGHBOR', ResizeNearestFloatState>({
  opType: 'RESIZE_NEAREST_NEIGHBOR',
  flavour: 'float32',
  accepts: float32WithIntOperands([1]),
  prepare({ op, label, inputs }) {
    const { alignCorners, halfPixelCenters } = op.options;
    const outShape = resizeOutputShape(label, inputs, alignCorners, halfPixelCenters);
    const [batches, inH, inW, channels] = inputs[0]!.shape;
    return {
      outputShapes: [outShape],
      state: {
        batches, inH, inW, channels,
        ys: nearestAxis(inH, outShape[1], alignCorners, halfPixelCenters),
        xs: nearestAxis(inW, outShape[2], alignCorners, halfPixelCenters),
      },
    };
  },
  run({ inputs, outputs }, { batches, inH, inW, channels: C, ys, xs }) {
    const x = f32(inputs[0]!.data);
    const out = f32(outputs[0].data);
    let o = 0;
    for (let n = 0; n < batches; n++) {
      for (let oy = 0; oy < ys.length; oy++) {
        const row = (n * inH + ys[oy]) * inW;
        for (let ox = 0; ox < xs.length; ox++) {
          const p = (row + xs[ox]) * C;
          for (let c = 0; c < C; c++) out[o++] = x[p + c];
        }
      }
    }
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/** RESIZE_NEAREST_NEIGHBOR on int8 / uint8 / int16: the same source indices, values copied (input and output share scale and zero point). */
export const resizeNearestNeighborQuantized = defineKernel<'RESIZE_NEAREST_NEIGHBOR', ResizeNearestFloatState>({
  opType: 'RESIZE_NEAREST_NEIGHBOR',
  flavour: 'int8',
  accepts: (sig) => ['int8', 'uint8', 'int16'].includes(sig.inputs[0] ?? '') && sig.outputs[0] === sig.inputs[0] && (sig.inputs[1] === 'int32' || sig.inputs[1] === 'int64'),
  prepare(ctx) {
    const input = requireInput(ctx.label, ctx.inputs, 0, 'data');
    requireSameQuant(ctx.label, input, ctx.outputs[0]);
    return resizeNearestNeighborFloat32.prepare!(ctx as PrepareContext) as PrepareResult<ResizeNearestFloatState>;
  },
  run(ctx, state) {
    resizeNearestNeighborFloat32.run(ctx as RunContext, state); // element copies: dtype-agnostic
  },
});
