/**
 * SUB: out = act(a − b) with numpy-style broadcasting (see ../broadcast.ts).
 */
import { UnsupportedError } from '../../errors';
import type { ActivationRange } from '../activation';
import { activationRange, clampRange } from '../activation';
import type { BroadcastPlan } from '../broadcast';
import { planBroadcast, runBinaryFloat } from '../broadcast';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { QuantizedBinaryState } from '../quantized-binary';
import { prepareQuantizedBinary, runQuantizedBinary } from '../quantized-binary';
import type { QuantData } from '../quantized-util';

export interface SubFloatState {
  plan: BroadcastPlan;
  range: ActivationRange;
}

export const subFloat32 = defineKernel<'SUB', SubFloatState>({
  opType: 'SUB',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ op, label, inputs }) {
    const a = requireInput(label, inputs, 0, 'first');
    const b = requireInput(label, inputs, 1, 'second');
    const plan = planBroadcast(label, a.shape, b.shape);
    return { outputShapes: [plan.outShape], state: { plan, range: activationRange(op.options.fusedActivationFunction, label) } };
  },
  run({ inputs, outputs }, s) {
    const y = f32(outputs[0].data);
    runBinaryFloat('sub', f32(inputs[0]!.data), f32(inputs[1]!.data), y, s.plan);
    clampRange(y, 0, y.length, s.range);
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/** SUB on int8 / uint8 tensors, per-tensor quantization: see ../quantized-binary.ts for the arithmetic. */
export const subQuantized = defineKernel<'SUB', QuantizedBinaryState>({
  opType: 'SUB',
  flavour: 'int8',
  accepts: (sig) => ['int8', 'uint8', 'int16'].includes(sig.inputs[0] ?? '') && sig.inputs[1] === sig.inputs[0] && sig.outputs[0] === sig.inputs[0],
  prepare({ op, label, inputs, outputs, rounding }) {
    const a = requireInput(label, inputs, 0, 'first');
    const b = requireInput(label, inputs, 1, 'second');
    if (a.dtype === 'int16' && op.options.potScaleInt16) {
      throw new UnsupportedError(`${label} uses TFLite's power-of-two int16 path (pot_scale_int16); QuantLab implements the general int16 path only.`);
    }
    const state = prepareQuantizedBinary(label, 'sub', a, b, outputs[0], op.options.fusedActivationFunction, rounding);
    return { outputShapes: [state.plan.outShape], state };
  },
  run({ inputs, outputs }, s) {
    runQuantizedBinary(s, inputs[0]!.data as QuantData, inputs[1]!.data as QuantData, outputs[0].data as QuantData);
  },
});
