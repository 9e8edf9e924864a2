/**
 * MUL: out = act(a · b) with numpy-style broadcasting (see ../broadcast.ts).
 */
import type { ActivationRange } from '../activation';
import { activationRange, clampRange } from '../activation';
import type { BroadcastPlan } from '../broadcast';
import { planBroadcast, runBinaryFloat } from '../broadcast';
import { defineKernel } from '../kernel';
import { allFloat32, f32, requireInput } from '../kernel-util';

export interface MulFloatState {
  plan: BroadcastPlan;
  range: ActivationRange;
}

export const mulFloat32 = defineKernel<'MUL', MulFloatState>({
  opType: 'MUL',
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
    runBinaryFloat('mul', f32(inputs[0]!.data), f32(inputs[1]!.data), y, s.plan);
    clampRange(y, 0, y.length, s.range);
  },
});
