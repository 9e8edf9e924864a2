/**
 * PRELU: out = x ≥ 0 ? x : α·x, with α broadcast against x (typically per channel,
 * shape [1, 1, C] or [C]).
 */
import { defineKernel } from '../kernel';
import type { BroadcastPlan } from '../broadcast';
import { planBroadcast } from '../broadcast';
import { allFloat32, f32, requireInput } from '../kernel-util';
import type { QuantizedPreluState } from '../quantized-activation';
import { prepareQuantizedPrelu, runQuantizedPrelu } from '../quantized-activation';
import type { QuantData } from '../quantized-util';

export interface PreluFloatState {
  plan: BroadcastPlan;
}

export const preluFloat32 = defineKernel<'PRELU', PreluFloatState>({
  opType: 'PRELU',
  flavour: 'float32',
  accepts: allFloat32,
  prepare({ label, inputs }) {
    const x = requireInput(label, inputs, 0, 'data');
    const alpha = requireInput(label, inputs, 1, 'alpha');
    const plan = planBroadcast(label, x.shape, alpha.shape);
    return { outputShapes: [plan.outShape], state: { plan } };
  },
  run({ inputs, outputs }, { plan }) {
    const x = f32(inputs[0]!.data);
    const a = f32(inputs[1]!.data);
    const y = f32(outputs[0].data);
    const { dims, stridesA, stridesB, counter } = plan;
    const rank = dims.length;
    const inner = dims[rank - 1];
    const ix = stridesA[rank - 1];
    const ia = stridesB[rank - 1];
    counter.fill(0);
    let offX = 0;
    let offA = 0;
    for (let o = 0; o < y.length; o += inner) {
      for (let i = 0, px = offX, pa = offA; i < inner; i++, px += ix, pa += ia) {
        const v = x[px];
        const abs = Math.abs(v);
        y[o + i] = (v + abs) * 0.5 + (v - abs) * 0.5 * a[pa]; // branch-free x ≥ 0 ? x : α·x
      }
      for (let d = rank - 2; d >= 0; d--) {
        counter[d]++;
        offX += stridesA[d];
        offA += stridesB[d];
        if (counter[d] < dims[d]) break;
        offX -= stridesA[d] * dims[d];
        offA -= stridesB[d] * dims[d];
        counter[d] = 0;
      }
    }
  },
});

// ---- integer flavour ---------------------------------------------------------------------

/** PRELU on int8 / uint8 with a quantized α broadcast against x (../quantized-activation.ts). */
export const preluQuantized = defineKernel<'PRELU', QuantizedPreluState>({
  opType: 'PRELU',
  flavour: 'int8',
  accepts: (sig) => (sig.inputs[0] === 'int8' || sig.inputs[0] === 'uint8') && sig.inputs[1] === sig.inputs[0] && sig.outputs[0] === sig.inputs[0],
  prepare({ label, inputs, outputs, rounding }) {
    const x = requireInput(label, inputs, 0, 'data');
    const alpha = requireInput(label, inputs, 1, 'alpha');
    const state = prepareQuantizedPrelu(label, x, alpha, outputs[0], rounding);
    return { outputShapes: [state.plan.outShape], state };
  },
  run({ inputs, outputs }, s) {
    runQuantizedPrelu(s, inputs[0]!.data as QuantData, inputs[1]!.data as QuantData, outputs[0].data as QuantData);
  },
});
