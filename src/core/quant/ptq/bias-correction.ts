/**
 * Empirical bias correction (Nagel et al. 2019, §4.2, in its data-driven form; Finkelstein et al.
 * 2019): quantizing weights shifts each output channel's mean. For every CONV_2D /
 * DEPTHWISE_CONV_2D / FULLY_CONNECTED in execution order, compare the per-channel mean of the
 * float model's output with the quantized model's (dequantized) output on calibration samples and
 * fold the difference into the int32 bias. Layers are corrected one after another, each measured
 * with the corrections of the layers before it in place, so an inherited shift is not corrected
 * twice.
 *
 * Fused ReLU/ReLU6 clamp both outputs; the mean is taken only over elements where both the float
 * and the quantized value lie strictly inside the activation's range, where the clamp is
 * inactive and the difference is the pre-activation shift.
 */
import type { Graph, Op } from '../../ir/types';
import { Interpreter } from '../../runtime/interpreter';
import type { RoundingMode } from '../../runtime/kernel';
import type { CalibrationData, ProgressFn } from './calibrate';
import type { LinearInfo } from './build';

export interface BiasCorrectionReport {
  layers: number;
  /** Largest |correction| applied, in units of the output scale, over all channels. */
  maxShiftInOutputSteps: number;
}

function clampRange(op: Op): [number, number] {
  const options = 'options' in op ? (op.options as { fusedActivationFunction?: string }) : {};
  const fused = options.fusedActivationFunction ?? 'NONE';
  if (fused === 'RELU') return [0, Infinity];
  if (fused === 'RELU6') return [0, 6];
  if (fused === 'RELU_N1_TO_1') return [-1, 1];
  return [-Infinity, Infinity];
}

/** Mutates the bias tensors of `quant` (their data arrays are replaced, not written in place). */
export async function correctBiases(
  floatGraph: Graph,
  quant: Graph,
  linear: readonly LinearInfo[],
  floatOutputOf: (l: LinearInfo) => number,
  data: CalibrationData,
  count: number,
  rounding: RoundingMode,
  progress?: ProgressFn,
): Promise<BiasCorrectionReport> {
  const n = Math.min(count, data.count);
  if (linear.length === 0 || n === 0) return { layers: 0, maxShiftInOutputSteps: 0 };
  const floatInterp = Interpreter.prepare(floatGraph, { preserveIntermediates: true });
  const perSample = floatInterp.inputs[0].shape.reduce((a, b) => a * b, 1);
  const samples: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = new Float32Array(perSample);
    data.sample(i, s);
    samples.push(s);
  }
  // Float outputs of every linear layer, kept per sample (calibration subsets are small).
  const floatOut: Float32Array[][] = linear.map(() => []);
  for (const s of samples) {
    floatInterp.run([s]);
    linear.forEach((l, k) => floatOut[k].push(floatInterp.readTensor(floatOutputOf(l)) as Float32Array));
  }
  let maxShift = 0;
  let layers = 0;
  for (let k = 0; k < linear.length; k++) {
    const l = linear[k];
    const op = quant.ops[l.opIndex];
    const out = quant.tensors[l.output];
    const q = out.quant;
    if (!q) continue;
    const outScale = q.scale[0];
    const zp = q.zeroPoint[0];
    const [lo, hi] = clampRange(op);
    const interp = Interpreter.prepare(quant, { preserveIntermediates: true, rounding });
    const sum = new Float64Array(l.channels);
    const cnt = new Float64Array(l.channels);
    for (let i = 0; i < n; i++) {
      interp.run([inputFor(quant, samples[i])]);
      const qv = interp.readTensor(l.output) as Int8Array | Int16Array;
      const fv = floatOut[k][i];
      for (let e = 0; e < qv.length; e++) {
        const deq = outScale * (qv[e] - zp);
        const f = fv[e];
        if (!(f > lo && f < hi && deq > lo && deq < hi)) continue;
        const c = e % l.channels;
        sum[c] += f - deq;
        cnt[c] += 1;
      }
    }
    const bias = quant.tensors[l.bias];
    const bq = bias.quant;
    if (!bq || !bias.data) continue;
    const next = bias.data instanceof BigInt64Array ? bias.data.slice() : (bias.data as Int32Array).slice();
    let changed = false;
    for (let c = 0; c < l.channels; c++) {
      if (cnt[c] === 0) continue;
      const mean = sum[c] / cnt[c];
      const steps = Math.round(mean / (bq.scale.length > 1 ? bq.scale[c] : bq.scale[0]));
      if (steps === 0) continue;
      if (next instanceof BigInt64Array) next[c] += BigInt(steps);
      else next[c] = Math.max(-2147483647, Math.min(2147483647, next[c] + steps));
      maxShift = Math.max(maxShift, Math.abs(mean) / outScale);
      changed = true;
    }
    if (changed) {
      quant.tensors[l.bias] = { ...bias, data: next };
      layers++;
    }
    await progress?.('bias correction', k + 1, linear.length);
  }
  return { layers, maxShiftInOutputSteps: maxShift };
}

/** The quantized graph's input: the float sample as is, or quantized with the input's parameters (int8 I/O). */
function inputFor(graph: Graph, sample: Float32Array): Float32Array | Int8Array | Int16Array {
  const t = graph.tensors[graph.inputs[0]];
  if (t.dtype === 'float32' || !t.quant) return sample;
  const { scale, zeroPoint } = t.quant;
  const out = t.dtype === 'int16' ? new Int16Array(sample.length) : new Int8Array(sample.length);
  const [qmin, qmax] = t.dtype === 'int16' ? [-32768, 32767] : [-128, 127];
  for (let i = 0; i < sample.length; i++) {
    const r = sample[i] / scale[0];
    const rounded = r >= 0 ? Math.floor(r + 0.5) : -Math.floor(-r + 0.5);
    out[i] = Math.min(qmax, Math.max(qmin, rounded + zeroPoint[0]));
  }
  return out;
}
