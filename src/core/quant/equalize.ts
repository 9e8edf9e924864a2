/**
 * Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019) for chains
 * conv → (ReLU or nothing) → conv, on a float graph.
 *
 * ReLU is positively homogeneous, so scaling output channel c of the first layer (weights and
 * bias) by 1/s_c and input channel c of the second layer's weights by s_c leaves the function
 * unchanged. With r1_c, r2_c the largest |weight| of channel c in each layer,
 * s_c = sqrt(r1_c / r2_c) makes both ranges sqrt(r1_c · r2_c): the per-tensor weight grids of
 * both layers then waste less of their range on a few wide channels. RELU6 is not homogeneous
 * (its clamp at 6 would move), so chains through it are left alone.
 */
import type { Graph, Op, Tensor } from '../ir/types';

type ConvLike = Extract<Op, { type: 'CONV_2D' | 'DEPTHWISE_CONV_2D' }>;

function convLike(op: Op): op is ConvLike {
  return op.type === 'CONV_2D' || op.type === 'DEPTHWISE_CONV_2D';
}

function floatConst(t: Tensor | undefined): t is Tensor & { data: Float32Array } {
  return !!t && t.dtype === 'float32' && t.data instanceof Float32Array && !t.quant;
}

/** Per output channel |max| of the first layer: axis 0 for CONV_2D ([O,kh,kw,I]), last for depthwise. */
function outputRanges(op: ConvLike, w: Float32Array, shape: number[]): Float64Array {
  const channels = op.type === 'CONV_2D' ? shape[0] : shape[3];
  const r = new Float64Array(channels);
  const per = w.length / channels;
  for (let i = 0; i < w.length; i++) {
    const c = op.type === 'CONV_2D' ? Math.floor(i / per) : i % channels;
    const a = Math.abs(w[i]);
    if (a > r[c]) r[c] = a;
  }
  return r;
}

/** Per input channel |max| of the second layer: the last axis for both CONV_2D and depthwise (multiplier 1). */
function inputRanges(w: Float32Array, channels: number): Float64Array {
  const r = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = i % channels;
    const a = Math.abs(w[i]);
    if (a > r[c]) r[c] = a;
  }
  return r;
}

export interface EqualizeResult {
  graph: Graph;
  /** Names of the (first, second) op pairs equalized. */
  pairs: [string, string][];
}

/** Equalizes every eligible pair, `iterations` sweeps (ranges converge quickly). Constant data is copied, never changed in place. */
export function equalizeCrossLayer(graph: Graph, iterations = 4): EqualizeResult {
  const tensors = graph.tensors.slice();
  const ops = graph.ops.map((op) => ({ ...op, inputs: [...op.inputs] }) as Op);
  const readers = new Map<number, number[]>();
  ops.forEach((op, i) => op.inputs.forEach((t) => t >= 0 && readers.set(t, [...(readers.get(t) ?? []), i])));
  const outputs = new Set(graph.outputs);
  const pairs: [number, number][] = [];
  ops.forEach((a, i) => {
    if (!convLike(a) || !['NONE', 'RELU'].includes(a.options.fusedActivationFunction)) return;
    const out = a.outputs[0];
    const rs = readers.get(out) ?? [];
    if (rs.length !== 1 || outputs.has(out)) return;
    const b = ops[rs[0]];
    if (!convLike(b) || b.inputs[0] !== out) return;
    if (b.type === 'DEPTHWISE_CONV_2D' && b.options.depthMultiplier !== 1) return;
    if (a.type === 'DEPTHWISE_CONV_2D' && a.options.depthMultiplier !== 1) return;
    if (!floatConst(tensors[a.inputs[1]]) || !floatConst(tensors[b.inputs[1]])) return;
    if (a.inputs[2] >= 0 && !floatConst(tensors[a.inputs[2]])) return;
    pairs.push([i, rs[0]]);
  });
  // Each weight tensor gets its own copy before the first change.
  const copied = new Set<number>();
  const own = (opIndex: number, slot: number): Float32Array => {
    const op = ops[opIndex];
    const t = op.inputs[slot];
    if (!copied.has(t)) {
      const src = tensors[t];
      tensors.push({ ...src, name: `${src.name}/equalized`, data: (src.data as Float32Array).slice() });
      op.inputs[slot] = tensors.length - 1;
      copied.add(tensors.length - 1);
      return tensors[tensors.length - 1].data as Float32Array;
    }
    return tensors[t].data as Float32Array;
  };
  for (let it = 0; it < iterations; it++) {
    for (const [ia, ib] of pairs) {
      const a = ops[ia] as ConvLike;
      const wa = own(ia, 1);
      const wb = own(ib, 1);
      const shapeA = tensors[a.inputs[1]].shape;
      const channels = a.type === 'CONV_2D' ? shapeA[0] : shapeA[3];
      const r1 = outputRanges(a, wa, shapeA);
      const r2 = inputRanges(wb, channels);
      const s = new Float64Array(channels);
      for (let c = 0; c < channels; c++) s[c] = r1[c] > 0 && r2[c] > 0 ? Math.sqrt(r1[c] / r2[c]) : 1;
      const per = wa.length / channels;
      for (let i = 0; i < wa.length; i++) {
        const c = a.type === 'CONV_2D' ? Math.floor(i / per) : i % channels;
        wa[i] = wa[i] / s[c];
      }
      if (a.inputs[2] >= 0) {
        const ba = own(ia, 2);
        for (let c = 0; c < channels; c++) ba[c] = ba[c] / s[c];
      }
      for (let i = 0; i < wb.length; i++) wb[i] = wb[i] * s[i % channels];
    }
  }
  const name = (i: number): string => graph.ops[i].name ?? graph.tensors[graph.ops[i].outputs[0]].name;
  return { graph: { ...graph, tensors, ops }, pairs: pairs.map(([a, b]) => [name(a), name(b)]) };
}
