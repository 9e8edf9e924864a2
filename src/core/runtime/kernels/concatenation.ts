/**
 * CONCATENATION along `axis` (negative counts from the end). With outer = Π shape[:axis],
 * each input contributes a contiguous run of Π shape_i[axis:] elements per outer index.
 *
 * The schema has a fused activation, but TFLite's kernel refuses anything but NONE
 * ("params->activation != kTfLiteActNone" at prepare), so QuantLab refuses it too: a model that
 * runs here must run on the device.
 */
import { UnsupportedError } from '../../errors';
import type { PrepareContext, PrepareResult, RunContext } from '../kernel';
import { defineKernel } from '../kernel';
import { requireSameQuant } from '../quantized-util';
import { allFloat32, f32 } from '../kernel-util';
import { normaliseAxis, numElements, shapeToString } from '../tensor-utils';

export interface ConcatenationFloatState {
  outer: number;
  /** Elements each input contributes per outer index. */
  runs: number[];
}

export const concatenationFloat32 = defineKernel<'CONCATENATION', ConcatenationFloatState>({
  opType: 'CONCATENATION',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    if (inputs.length === 0 || inputs.some((t) => !t)) throw new UnsupportedError(`${label} has a missing input.`);
    const first = inputs[0]!;
    const rank = first.shape.length;
    const axis = normaliseAxis(op.options.axis, rank);
    if (axis < 0) throw new UnsupportedError(`${label} concatenates along axis ${op.options.axis} of rank-${rank} inputs.`);
    const outShape = [...first.shape];
    outShape[axis] = 0;
    for (const t of inputs) {
      const s = t!.shape;
      if (s.length !== rank || s.some((d, i) => i !== axis && d !== first.shape[i])) {
        throw new UnsupportedError(
          `${label} cannot concatenate ${shapeToString(s)} with ${shapeToString(first.shape)} along axis ${axis}.`,
        );
      }
      outShape[axis] += s[axis];
    }
    if (op.options.fusedActivationFunction !== 'NONE') {
      throw new UnsupportedError(
        `${label} has fused activation '${op.options.fusedActivationFunction}'; TFLite's CONCATENATION accepts only NONE, so the model would not run on a device.`,
      );
    }
    return {
      outputShapes: [outShape],
      state: {
        outer: numElements(first.shape.slice(0, axis)),
        runs: inputs.map((t) => numElements(t!.shape.slice(axis))),
      },
    };
  },
  run({ inputs, outputs }, { outer, runs }) {
    const y = f32(outputs[0].data);
    let off = 0;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i];
        const x = f32(inputs[i]!.data);
        // an element loop rather than set(subarray()): no view objects per inference
        for (let k = 0, src = o * run; k < run; k++) y[off++] = x[src + k];
      }
    }
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/**
 * CONCATENATION of int8 / uint8 / int16 tensors: TFLite (and XNNPACK) copy the quantized values,
 * so every input must share the output's scale and zero point (TFLite refuses the op otherwise).
 */
export const concatenationQuantized = defineKernel<'CONCATENATION', ConcatenationFloatState>({
  opType: 'CONCATENATION',
  flavour: 'int8',
  accepts: (sig) => ['int8', 'uint8', 'int16'].includes(sig.outputs[0]) && sig.inputs.every((d) => d === sig.outputs[0]),
  prepare(ctx) {
    for (const t of ctx.inputs) if (t) requireSameQuant(ctx.label, t, ctx.outputs[0]);
    return concatenationFloat32.prepare!(ctx as PrepareContext) as PrepareResult<ConcatenationFloatState>;
  },
  run(ctx, state) {
    concatenationFloat32.run(ctx as RunContext, state); // element copies: dtype-agnostic
  },
});
