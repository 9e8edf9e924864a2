/**
 * DEQUANTIZE to float32.
 * - float16 → float32: exact widening (a lookup over the 16-bit pattern).
 * - int8 / uint8 / int16 → float32: r = S·(q − Z), per tensor or per axis; S·(q − Z) is
 *   computed in double and rounded once, which equals TFLite's float result. int8 per tensor
 *   runs on the interpreter's int8 engine when it has one (float32 product, the same value:
 *   S·(q − Z) is exact in double for a float32 S and a 9-bit q − Z).
 */
import { ModelFormatError } from '../../errors';
import { defineKernel } from '../kernel';
import { f32, requireInput } from '../kernel-util';
import { float16Table } from '../float16';
import { normaliseAxis, stridesOf } from '../tensor-utils';
import type { Int8Engine } from '../wasm/engine';
import { inHeap } from '../wasm/kernel-bridge';

export interface DequantizeState {
  mode: 'float16' | 'affine';
  /** Per element group: scale and zero point of the slice (one entry when per tensor). */
  scales: Float64Array;
  zeroPoints: Float64Array;
  /** Elements per slice step along the quantized axis, and slice count (1 per tensor). */
  innerSize: number;
  axisSize: number;
  /** The engine (per-tensor int8 → float32), or null: the TypeScript body runs. */
  wasm: Int8Engine | null;
}

export const dequantizeFloat32 = defineKernel<'DEQUANTIZE', DequantizeState>({
  opType: 'DEQUANTIZE',
  flavour: 'float32',
  accepts: (sig) =>
    ['float16', 'int8', 'uint8', 'int16'].includes(sig.inputs[0] ?? '') && sig.outputs.length === 1 && sig.outputs[0] === 'float32',
  prepare({ label, inputs, int8Engine }) {
    const input = requireInput(label, inputs, 0, 'data');
    const shape = [...input.shape];
    if (input.dtype === 'float16') {
      float16Table();
      return {
        outputShapes: [shape],
        state: { mode: 'float16', scales: new Float64Array(0), zeroPoints: new Float64Array(0), innerSize: 1, axisSize: 1, wasm: null },
      };
    }
    const q = input.quant;
    if (!q || q.scale.length === 0) {
      throw new ModelFormatError(`${label} dequantizes '${input.name}' (${input.dtype}), which has no quantization parameters.`);
    }
    let axisSize = 1;
    let innerSize = 1;
    if (q.scale.length > 1) {
      const axis = normaliseAxis(q.axis ?? 0, shape.length);
      if (axis < 0 || shape[axis] !== q.scale.length) {
        throw new ModelFormatError(
          `${label} dequantizes '${input.name}' with ${q.scale.length} scales along axis ${q.axis ?? 0}, which does not match its shape [${shape.join(', ')}].`,
        );
      }
      axisSize = shape[axis];
      innerSize = stridesOf(shape)[axis];
    }
    return {
      outputShapes: [shape],
      state: {
        mode: 'affine',
        scales: Float64Array.from(q.scale.map((s) => Math.fround(s))),
        zeroPoints: Float64Array.from(q.scale.map((_, i) => q.zeroPoint[i] ?? q.zeroPoint[0] ?? 0)),
        innerSize,
        axisSize,
        wasm: input.dtype === 'int8' && axisSize === 1 && int8Engine ? int8Engine() : null,
      },
    };
  },
  run({ inputs, outputs }, s) {
    const x = inputs[0]!.data;
    const y = f32(outputs[0].data);
    if (s.mode === 'float16') {
      const table = float16Table();
      const h = x as Uint16Array;
      for (let i = 0; i < h.length; i++) y[i] = table[h[i]];
      return;
    }
    const q = x as Int8Array;
    const { scales, zeroPoints, innerSize, axisSize } = s;
    if (s.wasm && inHeap(s.wasm, q, y)) {
      s.wasm.dequantize(q, y, scales[0], zeroPoints[0]);
      return;
    }
    if (axisSize === 1) {
      const scale = scales[0];
      const zp = zeroPoints[0];
      for (let i = 0; i < q.length; i++) y[i] = scale * (q[i] - zp);
      return;
    }
    for (let i = 0; i < q.length; i++) {
      const c = Math.floor(i / innerSize) % axisSize;
      y[i] = scales[c] * (q[i] - zeroPoints[c]);
    }
  },
});
