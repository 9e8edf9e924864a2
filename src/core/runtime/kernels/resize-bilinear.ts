/**
 * RESIZE_BILINEAR (NHWC, size operand [newH, newW]). Coordinates as in ../resize.ts;
 *   out = in[y0,x0]·(1−dy)(1−dx) + in[y1,x0]·dy(1−dx) + in[y0,x1]·(1−dy)dx + in[y1,x1]·dy·dx
 * evaluated in double from float32 coordinates and rounded once.
 */
import { roundHalfToEven } from '../../quant/fixed-point';
import { defineKernel } from '../kernel';
import { f32, float32WithIntOperands } from '../kernel-util';
import type { QuantData } from '../quantized-util';
import { arithmeticFor, requireSameQuant } from '../quantized-util';
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

// ---- integer flavour ---------------------------------------------------------------------

/**
 * RESIZE_BILINEAR of int8 / uint8 values (input and output share scale and zero point).
 *
 * XNNPACK (the delegate takes it): float32 source coordinates (legacy: i·s; align corners:
 * i·(in−1)/(out−1); half-pixel: clamp(i·s + fl(s/2 − 1/2), 0, in − 1)), Q11 weights
 * α = lrintf(frac·2^11), then
 *   t = (tl << 11) + (tr − tl)·α_x,  b = (bl << 11) + (br − bl)·α_x,
 *   y = ((t << 11) + (b − t)·α_y + 2^21) >> 22.
 * TFLite (ResizeBilinearInteger): Q10 coordinates v = i·s₁₀ (+ s₁₀/2 − 512 with half-pixel
 * centers), s₁₀ = (1024·in + out/2) / out; lo = max(v / 1024, 0), hi = min(⌈v / 1024⌉, in − 1);
 * y = Σ x·w_y·w_x (Q20) rounded half away from zero (gemmlowp build) or half up
 * (TFLITE_SINGLE_ROUNDING).
 */
export interface ResizeBilinearQuantState {
  form: 'xnnpack' | 'double-rounding' | 'single-rounding';
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  /** Per output row / column: low and high source index and the weight of the high one (Q11 or Q10 position). */
  y0: Int32Array;
  y1: Int32Array;
  wy: Int32Array;
  x0: Int32Array;
  x1: Int32Array;
  wx: Int32Array;
}

/** XNNPACK's Q11 axis: indices and α = lrintf(frac·2048). */
function xnnpackAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): [Int32Array, Int32Array, Int32Array] {
  const f = Math.fround;
  const adjust = alignCorners && outSize !== 1 ? 1 : 0;
  const scale = f(f(inSize - adjust) / f(outSize - adjust));
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const alpha = new Int32Array(outSize);
  const offset = f(f(0.5 * scale) - 0.5);
  for (let i = 0; i < outSize; i++) {
    let v: number;
    if (alignCorners || !halfPixelCenters) v = f(i * scale);
    else v = Math.min(Math.max(f(f(i * scale) + offset), 0), inSize - 1);
    lo[i] = Math.trunc(v);
    hi[i] = Math.min(lo[i] + 1, inSize - 1);
    alpha[i] = roundHalfToEven(f(f(v - lo[i]) * 2048));
  }
  return [lo, hi, alpha];
}

/** TFLite's Q10 axis: indices and the Q10 source position v. */
function tfliteAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): [Int32Array, Int32Array, Int32Array] {
  const scale10 =
    alignCorners && outSize > 1 ? Math.trunc((1024 * (inSize - 1) + Math.trunc((outSize - 1) / 2)) / (outSize - 1)) : Math.trunc((1024 * inSize + Math.trunc(outSize / 2)) / outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const pos = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const v = halfPixelCenters ? i * scale10 + Math.trunc(scale10 / 2) - 512 : i * scale10;
    pos[i] = v;
    lo[i] = Math.max(Math.trunc(v / 1024), 0);
    hi[i] = Math.min(Math.trunc((v + 1023) / 1024), inSize - 1);
  }
  return [lo, hi, pos];
}

export const resizeBilinearQuantized = defineKernel<'RESIZE_BILINEAR', ResizeBilinearQuantState>({
  opType: 'RESIZE_BILINEAR',
  flavour: 'int8',
  accepts: (sig) => (sig.inputs[0] === 'int8' || sig.inputs[0] === 'uint8') && sig.outputs[0] === sig.inputs[0] && (sig.inputs[1] === 'int32' || sig.inputs[1] === 'int64'),
  prepare({ op, label, inputs, outputs, rounding }) {
    const { alignCorners, halfPixelCenters } = op.options;
    const outShape = resizeOutputShape(label, inputs, alignCorners, halfPixelCenters);
    const input = inputs[0]!;
    requireSameQuant(label, input, outputs[0]);
    const [batches, inH, inW, channels] = input.shape;
    const [, outH, outW] = outShape;
    const form = arithmeticFor(rounding, true, 'double-rounding') as ResizeBilinearQuantState['form'];
    const axis = form === 'xnnpack' ? xnnpackAxis : tfliteAxis;
    const [y0, y1, wy] = axis(inH, outH, alignCorners, halfPixelCenters);
    const [x0, x1, wx] = axis(inW, outW, alignCorners, halfPixelCenters);
    return { outputShapes: [outShape], state: { form, batches, inH, inW, channels, outH, outW, y0, y1, wy, x0, x1, wx } };
  },
  run({ inputs, outputs }, s) {
    const x = inputs[0]!.data as QuantData;
    const out = outputs[0].data as QuantData;
    const { form, batches, inH, inW, channels: C, outH, outW, y0, y1, wy, x0, x1, wx } = s;
    let o = 0;
    for (let n = 0; n < batches; n++) {
      for (let oy = 0; oy < outH; oy++) {
        const r0 = (n * inH + y0[oy]) * inW;
        const r1 = (n * inH + y1[oy]) * inW;
        for (let ox = 0; ox < outW; ox++) {
          const p00 = (r0 + x0[ox]) * C;
          const p01 = (r0 + x1[ox]) * C;
          const p10 = (r1 + x0[ox]) * C;
          const p11 = (r1 + x1[ox]) * C;
          if (form === 'xnnpack') {
            const ah = wx[ox];
            const av = wy[oy];
            for (let c = 0; c < C; c++) {
              const tl = x[p00 + c];
              const bl = x[p10 + c];
              const t = tl * 2048 + (x[p01 + c] - tl) * ah;
              const b = bl * 2048 + (x[p11 + c] - bl) * ah;
              out[o++] = Math.floor((t * 2048 + (b - t) * av + 2097152) / 4194304);
            }
          } else {
            // Q10 weights; products reach 2^27·2^7: exact in doubles
            const dy = wy[oy] - 1024 * y0[oy];
            const dx = wx[ox] - 1024 * x0[ox];
            const wll = (1024 - dy) * (1024 - dx);
            const wlu = dy * (1024 - dx);
            const wrl = (1024 - dy) * dx;
            const wru = dy * dx;
            for (let c = 0; c < C; c++) {
              const v = x[p00 + c] * wll + x[p10 + c] * wlu + x[p01 + c] * wrl + x[p11 + c] * wru;
              // Q20 → integer: half away from zero (C division after ±2^19), or half up
              out[o++] = form === 'single-rounding' ? Math.floor((v + 524288) / 1048576) : Math.trunc((v + (v > 0 ? 524288 : -524288)) / 1048576);
            }
          }
        }
      }
    }
  },
});
