/**
 * Two bias corrections: empirical (below) and analytic (correctBiasesAnalytic, the default).
 *
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
import { quantizeToCodes } from '../../runtime/quantized-util';
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
export async function correctBiasesEmpirical(
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
  return quantizeToCodes(sample, t.dtype, t.quant.scale[0], t.quant.zeroPoint[0]) as Int8Array | Int16Array;
}

/**
 * Analytic bias correction (Nagel et al. 2019, §4.2 with empirical input means): the weight
 * rounding error ε = W − Ŵ shifts output channel c's mean by Σ ε[c,·] · E[x], x the layer's input.
 * The input means come from one float pass over the calibration samples, so the cost is one run
 * per sample whatever the depth; each layer's own shift is corrected, independently of the
 * others. CONV_2D (taps inside the image assumed), DEPTHWISE_CONV_2D, FULLY_CONNECTED.
 */
export async function correctBiasesAnalytic(
  floatGraph: Graph,
  quant: Graph,
  linear: readonly LinearInfo[],
  data: CalibrationData,
  count: number,
  progress?: ProgressFn,
): Promise<BiasCorrectionReport> {
  const n = Math.min(count, data.count);
  if (linear.length === 0 || n === 0) return { layers: 0, maxShiftInOutputSteps: 0 };
  const interp = Interpreter.prepare(floatGraph, { preserveIntermediates: true });
  const perSample = interp.inputs[0].shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(perSample);
  const inputs = linear.map((l) => {
    const op = floatGraph.ops[l.floatOpIndex];
    const t = op.inputs[op.type === 'TRANSPOSE_CONV' ? 2 : 0];
    const shape = interp.tensorShape(t);
    const w = floatGraph.tensors[op.inputs[1]].shape;
    // Channels of the mean: the weights' input dimension (FC: the whole flattened input row).
    const channels = op.type === 'FULLY_CONNECTED' ? w[1] : shape[shape.length - 1];
    return { tensor: t, channels, sum: new Float64Array(channels), rows: 0 };
  });
  for (let i = 0; i < n; i++) {
    data.sample(i, x);
    interp.run([x]);
    for (const m of inputs) {
      const v = interp.readTensor(m.tensor) as Float32Array;
      for (let e = 0; e < v.length; e++) m.sum[e % m.channels] += v[e];
      m.rows += v.length / m.channels;
    }
    if ((i & 15) === 15) await progress?.('bias correction', i + 1, n);
  }
  let layers = 0;
  let maxShift = 0;
  linear.forEach((l, k) => {
    const fop = floatGraph.ops[l.floatOpIndex];
    if (fop.type === 'TRANSPOSE_CONV') return;
    const wf = floatGraph.tensors[fop.inputs[1]];
    const qop = quant.ops[l.opIndex];
    const wq = quant.tensors[qop.inputs[1]];
    const bias = quant.tensors[l.bias];
    const bq = bias.quant;
    const wqq = wq.quant;
    if (!bq || !wqq || !bias.data || !(wf.data instanceof Float32Array) || !(wq.data instanceof Int8Array)) return;
    const mean = Float64Array.from(inputs[k].sum, (s) => s / Math.max(1, inputs[k].rows));
    const shift = new Float64Array(l.channels);
    const wd = wf.data;
    const qd = wq.data;
    const perChannel = wqq.scale.length > 1;
    if (fop.type === 'DEPTHWISE_CONV_2D') {
      const mult = l.channels / inputs[k].channels;
      for (let e = 0; e < wd.length; e++) {
        const c = e % l.channels;
        shift[c] += (wd[e] - wqq.scale[perChannel ? c : 0] * qd[e]) * mean[Math.floor(c / mult)];
      }
    } else {
      const per = wd.length / l.channels;
      const inC = inputs[k].channels;
      for (let e = 0; e < wd.length; e++) {
        const c = Math.floor(e / per);
        shift[c] += (wd[e] - wqq.scale[perChannel ? c : 0] * qd[e]) * mean[e % per % inC];
      }
    }
    const next = bias.data instanceof BigInt64Array ? bias.data.slice() : (bias.data as Int32Array).slice();
    const outScale = quant.tensors[l.output].quant?.scale[0] ?? 1;
    let changed = false;
    for (let c = 0; c < l.channels; c++) {
      const steps = Math.round(shift[c] / (bq.scale.length > 1 ? bq.scale[c] : bq.scale[0]));
      if (steps === 0) continue;
      if (next instanceof BigInt64Array) next[c] += BigInt(steps);
      else next[c] = Math.max(-2147483647, Math.min(2147483647, next[c] + steps));
      maxShift = Math.max(maxShift, Math.abs(shift[c]) / outScale);
      changed = true;
    }
    if (changed) {
      quant.tensors[l.bias] = { ...bias, data: next };
      layers++;
    }
  });
  return { layers, maxShiftInOutputSteps: maxShift };
}
