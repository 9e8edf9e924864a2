/**
 * Naive float64 reference implementations of the runtime's ops, written independently of
 * the kernels (straight from TFLite's documented semantics, no repacking, no coalescing), and
 * a tiny graph builder for one-op graphs. Shared by the unit and integration tests.
 */
import type { BuiltinOpType, DType, Graph, OpOptionsMap, QuantParams, Tensor, TensorData } from '../../../../src/core/ir/types';

// ---------- seeded randomness ----------

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}

export function randomFloats(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------- error measures ----------

/**
 * Norm-wise relative error max|a − b| / max|b| (L∞ of the difference over L∞ of the
 * reference). Elementwise relative error is meaningless where the reference crosses zero;
 * this measure is the one the integration tests hold to 1e-5.
 */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (Number.isNaN(a) !== Number.isNaN(b)) return Infinity;
    if (Number.isNaN(b)) continue;
    diff = Math.max(diff, Math.abs(a - b));
    scale = Math.max(scale, Math.abs(b));
  }
  if (scale === 0) return diff === 0 ? 0 : Infinity;
  return diff / scale;
}

/** Relative L2 error ‖a − b‖₂ / ‖b‖₂. */
export function relL2Error(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  return den === 0 ? (num === 0 ? 0 : Infinity) : Math.sqrt(num / den);
}

// ---------- one-op graphs ----------

export interface TensorSpec {
  shape: number[];
  dtype?: DType;
  /** Constant contents; tensors without data become graph inputs. */
  data?: TensorData;
  quant?: QuantParams;
  name?: string;
}

export function oneOpGraph<K extends BuiltinOpType>(
  type: K,
  options: OpOptionsMap[K],
  inputs: readonly (TensorSpec | null)[],
  outputs: readonly TensorSpec[],
): Graph {
  const tensors: Tensor[] = [];
  const add = (s: TensorSpec, name: string): number => {
    tensors.push({ name: s.name ?? name, dtype: s.dtype ?? 'float32', shape: [...s.shape], data: s.data, quant: s.quant });
    return tensors.length - 1;
  };
  const ins = inputs.map((s, i) => (s ? add(s, `in${i}`) : -1));
  const outs = outputs.map((s, i) => add(s, `out${i}`));
  return {
    name: `one ${type}`,
    tensors,
    ops: [{ type, options, inputs: ins, outputs: outs } as Graph['ops'][number]],
    inputs: ins.filter((t) => t >= 0 && !tensors[t].data),
    outputs: outs,
  };
}

// ---------- references ----------

type Act = 'NONE' | 'RELU' | 'RELU6' | 'RELU_N1_TO_1';

export function act(v: number, a: Act): number {
  switch (a) {
    case 'RELU':
      return Math.max(0, v);
    case 'RELU6':
      return Math.min(6, Math.max(0, v));
    case 'RELU_N1_TO_1':
      return Math.min(1, Math.max(-1, v));
    default:
      return v;
  }
}

/** TF's SAME/VALID: output size and the padding placed before (the odd pixel goes after). */
export function tfWindow(padding: 'SAME' | 'VALID', n: number, k: number, s: number, d: number): { out: number; before: number } {
  const ek = d * (k - 1) + 1;
  const out = padding === 'SAME' ? Math.ceil(n / s) : Math.ceil((n - ek + 1) / s);
  const needed = (out - 1) * s + ek;
  const along = Math.max(needed - n, 0);
  return { out, before: Math.floor(along / 2) };
}

export interface ConvParams {
  padding: 'SAME' | 'VALID';
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  act: Act;
}

/** NHWC input, OHWI filter. */
export function refConv2d(x: Float32Array, xs: number[], w: Float32Array, ws: number[], bias: Float32Array | null, p: ConvParams): { data: Float64Array; shape: number[] } {
  const [N, H, W, C] = xs;
  const [O, KH, KW] = ws;
  const hh = tfWindow(p.padding, H, KH, p.strideH, p.dilationH);
  const ww = tfWindow(p.padding, W, KW, p.strideW, p.dilationW);
  const out = new Float64Array(N * hh.out * ww.out * O);
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < hh.out; oy++)
      for (let ox = 0; ox < ww.out; ox++)
        for (let o = 0; o < O; o++) {
          let s = bias ? bias[o] : 0;
          for (let ky = 0; ky < KH; ky++)
            for (let kx = 0; kx < KW; kx++) {
              const iy = oy * p.strideH + ky * p.dilationH - hh.before;
              const ix = ox * p.strideW + kx * p.dilationW - ww.before;
              if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
              for (let c = 0; c < C; c++) s += x[((n * H + iy) * W + ix) * C + c] * w[((o * KH + ky) * KW + kx) * C + c];
            }
          out[((n * hh.out + oy) * ww.out + ox) * O + o] = act(s, p.act);
        }
  return { data: out, shape: [N, hh.out, ww.out, O] };
}

/** NHWC input, filter [1, KH, KW, C·M]. */
export function refDepthwise(x: Float32Array, xs: number[], w: Float32Array, ws: number[], bias: Float32Array | null, p: ConvParams): { data: Float64Array; shape: number[] } {
  const [N, H, W, C] = xs;
  const [, KH, KW, OC] = ws;
  const M = OC / C;
  const hh = tfWindow(p.padding, H, KH, p.strideH, p.dilationH);
  const ww = tfWindow(p.padding, W, KW, p.strideW, p.dilationW);
  const out = new Float64Array(N * hh.out * ww.out * OC);
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < hh.out; oy++)
      for (let ox = 0; ox < ww.out; ox++)
        for (let c = 0; c < C; c++)
          for (let m = 0; m < M; m++) {
            const oc = c * M + m;
            let s = bias ? bias[oc] : 0;
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * p.strideH + ky * p.dilationH - hh.before;
                const ix = ox * p.strideW + kx * p.dilationW - ww.before;
                if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
                s += x[((n * H + iy) * W + ix) * C + c] * w[(ky * KW + kx) * OC + oc];
              }
            out[((n * hh.out + oy) * ww.out + ox) * OC + oc] = act(s, p.act);
          }
  return { data: out, shape: [N, hh.out, ww.out, OC] };
}

/**
 * Transpose convolution as the adjoint of a forward convolution: out[n, y, x, o] sums
 * in[n, iy, ix, c]·w[o, ky, kx, c] over all (iy, ky) with iy·s + ky − padBefore = y.
 * Written as a gather over output pixels (the kernel scatters).
 */
export function refTransposeConv(
  x: Float32Array, xs: number[], w: Float32Array, ws: number[], bias: Float32Array | null,
  outH: number, outW: number, strideH: number, strideW: number, padTop: number, padLeft: number,
): Float64Array {
  const [N, H, W, C] = xs;
  const [O, KH, KW] = ws;
  const out = new Float64Array(N * outH * outW * O);
  for (let n = 0; n < N; n++)
    for (let y = 0; y < outH; y++)
      for (let xo = 0; xo < outW; xo++)
        for (let o = 0; o < O; o++) {
          let s = bias ? bias[o] : 0;
          for (let ky = 0; ky < KH; ky++) {
            const t = y + padTop - ky;
            if (t < 0 || t % strideH !== 0) continue;
            const iy = t / strideH;
            if (iy >= H) continue;
            for (let kx = 0; kx < KW; kx++) {
              const u = xo + padLeft - kx;
              if (u < 0 || u % strideW !== 0) continue;
              const ix = u / strideW;
              if (ix >= W) continue;
              for (let c = 0; c < C; c++) s += x[((n * H + iy) * W + ix) * C + c] * w[((o * KH + ky) * KW + kx) * C + c];
            }
          }
          out[((n * outH + y) * outW + xo) * O + o] = s;
        }
  return out;
}

export function refPool(kind: 'avg' | 'max', x: Float32Array, xs: number[], fh: number, fw: number, sh: number, sw: number, padding: 'SAME' | 'VALID', a: Act): { data: Float64Array; shape: number[] } {
  const [N, H, W, C] = xs;
  const hh = tfWindow(padding, H, fh, sh, 1);
  const ww = tfWindow(padding, W, fw, sw, 1);
  const out = new Float64Array(N * hh.out * ww.out * C);
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < hh.out; oy++)
      for (let ox = 0; ox < ww.out; ox++)
        for (let c = 0; c < C; c++) {
          let s = kind === 'avg' ? 0 : -Infinity;
          let count = 0;
          for (let ky = 0; ky < fh; ky++)
            for (let kx = 0; kx < fw; kx++) {
              const iy = oy * sh + ky - hh.before;
              const ix = ox * sw + kx - ww.before;
              if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
              const v = x[((n * H + iy) * W + ix) * C + c];
              s = kind === 'avg' ? s + v : Math.max(s, v);
              count++;
            }
          out[((n * hh.out + oy) * ww.out + ox) * C + c] = act(kind === 'avg' ? s / count : s, a);
        }
  return { data: out, shape: [N, hh.out, ww.out, C] };
}

/** Index of `outIndex` (multi-dim over outShape) into a broadcast operand of `shape`. */
function broadcastIndex(outIdx: number[], shape: readonly number[]): number {
  const lead = outIdx.length - shape.length;
  let off = 0;
  for (let i = 0; i < shape.length; i++) off = off * shape[i] + (shape[i] === 1 ? 0 : outIdx[lead + i]);
  return off;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function refBinary(f: (a: number, b: number) => number, a: Float32Array, as: number[], b: Float32Array, bs: number[]): { data: Float64Array; shape: number[] } {
  const rank = Math.max(as.length, bs.length);
  const pa = [...new Array(rank - as.length).fill(1), ...as];
  const pb = [...new Array(rank - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(a[broadcastIndex(idx, pa)], b[broadcastIndex(idx, pb)]);
  }
  return { data: out, shape };
}

export function refResizeBilinear(x: Float32Array, xs: number[], oh: number, ow: number, alignCorners: boolean, halfPixel: boolean): Float64Array {
  const [N, H, W, C] = xs;
  const f = Math.fround;
  const scale = (inn: number, out: number) => (alignCorners && out > 1 ? f((inn - 1) / (out - 1)) : f(inn / out));
  const sy = scale(H, oh);
  const sx = scale(W, ow);
  const coord = (i: number, s: number, n: number) => {
    const v = halfPixel ? f(f(f(i + 0.5) * s) - 0.5) : f(i * s);
    const lo = Math.max(Math.floor(v), 0);
    const hi = Math.min(Math.ceil(v), n - 1);
    return { v, lo, hi, t: v - lo };
  };
  const out = new Float64Array(N * oh * ow * C);
  for (let n = 0; n < N; n++)
    for (let y = 0; y < oh; y++) {
      const cy = coord(y, sy, H);
      for (let xo = 0; xo < ow; xo++) {
        const cx = coord(xo, sx, W);
        for (let c = 0; c < C; c++) {
          const at = (yy: number, xx: number) => x[((n * H + yy) * W + xx) * C + c];
          const top = at(cy.lo, cx.lo) * (1 - cx.t) + at(cy.lo, cx.hi) * cx.t;
          const bot = at(cy.hi, cx.lo) * (1 - cx.t) + at(cy.hi, cx.hi) * cx.t;
          out[((n * oh + y) * ow + xo) * C + c] = top * (1 - cy.t) + bot * cy.t;
        }
      }
    }
  return out;
}

export function refResizeNearest(x: Float32Array, xs: number[], oh: number, ow: number, alignCorners: boolean, halfPixel: boolean): Float64Array {
  const [N, H, W, C] = xs;
  const f = Math.fround;
  const src = (i: number, inn: number, out: number) => {
    const s = alignCorners && out > 1 ? f((inn - 1) / (out - 1)) : f(inn / out);
    const v = f(f(i + (halfPixel ? 0.5 : 0)) * s);
    let k = alignCorners ? Math.sign(v) * Math.round(Math.abs(v)) : Math.floor(v);
    k = Math.min(k, inn - 1);
    return halfPixel ? Math.max(0, k) : k;
  };
  const out = new Float64Array(N * oh * ow * C);
  for (let n = 0; n < N; n++)
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++)
        for (let c = 0; c < C; c++) out[((n * oh + y) * ow + xo) * C + c] = x[((n * H + src(y, H, oh)) * W + src(xo, W, ow)) * C + c];
  return out;
}

/** float32 → float16 bits, round to nearest even (for building test inputs). */
export function toFloat16Bits(v: number): number {
  const f32 = new Float32Array([v]);
  const u = new Uint32Array(f32.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half;
  return sign | e;
}
