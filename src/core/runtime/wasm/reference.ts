/**
 * The scalar TypeScript reference of the int8 engine: the definition the WebAssembly kernels
 * must match bit for bit (tests cross-check them), and the fallback where WebAssembly SIMD128 is
 * missing. Plain loops, no packing, no zero-point trick: acc = Σ (a − zA) · w + bias, wrapped to
 * int32, then requantized.
 *
 * 64-bit products are computed exactly with doubles by splitting the multiplier into 16-bit
 * halves (every partial product stays below 2^53); BigInt only where a positive shift can make
 * the single-rounding result overflow int32 (TFLite then truncates to 32 bits).
 */
import type { RoundingMode } from '../kernel';
import type { ChannelParams, WindowGeometry } from './spec';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** gemmlowp SaturatingRoundingDoublingHighMul: (a·b + nudge) / 2^31 truncated, nudge = ±2^30. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  // The nudge and the truncating division combine to floor((a·b + 2^30) / 2^31) for both signs.
  const bl = b & 0xffff;
  const bh = (b - bl) / 65536;
  const low = Math.floor((a * bl + 1073741824) / 65536);
  return Math.floor((a * bh + low) / 32768);
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, exponent in [0, 31]. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  const mask = (2 ** exponent - 1) | 0;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** TFLite reference kernels ("double rounding"): M = m · 2^(shift − 31). */
export function multiplyDoubleRounding(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(Math.imul(x, 2 ** left), m), right);
}

/** TFLite built with TFLITE_SINGLE_ROUNDING: (x·m + 2^(s−1)) >> s in 64 bits, s = 31 − shift, cast to int32. */
export function multiplySingleRounding(x: number, m: number, shift: number): number {
  const s = 31 - shift;
  if (s >= 31) {
    // x·m + 2^(s−1) = (x·mh + 2^(s−17))·2^16 + x·ml, and floor(Y·2^16 + r) / 2^s = floor(Y / 2^(s−16)) for 0 ≤ r < 2^16.
    const ml = m & 0xffff;
    const mh = (m - ml) / 65536;
    const y = x * mh + 2 ** (s - 17) + Math.floor((x * ml) / 65536);
    return Math.floor(y / 2 ** (s - 16)) | 0;
  }
  const r = (BigInt(x) * BigInt(m) + (1n << BigInt(s - 1))) >> BigInt(s);
  return Number(BigInt.asIntN(32, r));
}

/** Nearest integer, ties to even (lrintf in the default rounding mode). */
export function roundHalfToEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One int32 accumulator (bias included) of channel c → output code. */
export function requantize(acc: number, p: ChannelParams, c: number): number {
  let q: number;
  if (p.rounding === 'xnnpack') {
    // XNNPACK fp32 requantization: (float)acc · scale, clamp, round half to even, + zero point.
    const f = Math.fround(Math.fround(acc) * p.scale[c]);
    const lo = p.min - p.zeroPoint;
    const hi = p.max - p.zeroPoint;
    return roundHalfToEven(f < lo ? lo : f > hi ? hi : f) + p.zeroPoint;
  }
  if (p.rounding === 'double-rounding') q = multiplyDoubleRounding(acc, p.multiplier[c], p.shift[c]);
  else q = multiplySingleRounding(acc, p.multiplier[c], p.shift[c]);
  q = (q + p.zeroPoint) | 0;
  return q < p.min ? p.min : q > p.max ? p.max : q;
}

/** Resolved operands of a GEMM-like op. */
export interface ReferenceWeights {
  weights: Int8Array;
  bias: Int32Array;
  inputZeroPoint: number;
  params: ChannelParams;
}

/**
 * C[i, j] = requant(Σ_k (A[i, k] − zA) · W[j, k] + bias[j]) for `rows` rows of A (stride aStride)
 * into C (stride cStride). W is [outputs][depth].
 */
export function referenceGemm(
  op: ReferenceWeights, outputs: number, depth: number,
  a: Int8Array, rows: number, aStride: number, c: Int8Array, cStride: number,
): void {
  const { weights, bias, inputZeroPoint: zA, params } = op;
  for (let i = 0; i < rows; i++) {
    const ai = i * aStride;
    for (let j = 0; j < outputs; j++) {
      const wj = j * depth;
      let acc = 0;
      for (let k = 0; k < depth; k++) acc += (a[ai + k] - zA) * weights[wj + k];
      c[i * cStride + j] = requantize((acc + bias[j]) | 0, params, j);
    }
  }
}

export interface ReferenceConvGeometry extends Omit<WindowGeometry, 'channels'> {
  inC: number;
  outC: number;
  dilationH: number;
  dilationW: number;
}

/** Direct NHWC convolution of one image, OHWI weights; padded taps contribute nothing. */
export function referenceConv2d(op: ReferenceWeights, g: ReferenceConvGeometry, input: Int8Array, output: Int8Array): void {
  const { weights, bias, inputZeroPoint: zA, params } = op;
  for (let oy = 0; oy < g.outH; oy++) {
    for (let ox = 0; ox < g.outW; ox++) {
      for (let oc = 0; oc < g.outC; oc++) {
        let acc = 0;
        for (let ky = 0; ky < g.kernelH; ky++) {
          const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kernelW; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
            if (ix < 0 || ix >= g.inW) continue;
            const ib = (iy * g.inW + ix) * g.inC;
            const wb = ((oc * g.kernelH + ky) * g.kernelW + kx) * g.inC;
            for (let ic = 0; ic < g.inC; ic++) acc += (input[ib + ic] - zA) * weights[wb + ic];
          }
        }
        output[(oy * g.outW + ox) * g.outC + oc] = requantize((acc + bias[oc]) | 0, params, oc);
      }
    }
  }
}

/** Depthwise NHWC convolution of one image (depth multiplier 1), weights [kH][kW][C]. */
export function referenceDepthwiseConv2d(op: ReferenceWeights, g: WindowGeometry, input: Int8Array, output: Int8Array): void {
  const { weights, bias, inputZeroPoint: zA, params } = op;
  const C = g.channels;
  for (let oy = 0; oy < g.outH; oy++) {
    for (let ox = 0; ox < g.outW; ox++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let ky = 0; ky < g.kernelH; ky++) {
          const iy = oy * g.strideH - g.padTop + ky;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kernelW; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx;
            if (ix < 0 || ix >= g.inW) continue;
            acc += (input[(iy * g.inW + ix) * C + c] - zA) * weights[(ky * g.kernelW + kx) * C + c];
          }
        }
        output[(oy * g.outW + ox) * C + c] = requantize((acc + bias[c]) | 0, params, c);
      }
    }
  }
}

/** im2col rows (ky, kx, c order) of one image; padded taps hold the input zero point. */
export function referenceIm2col(
  g: WindowGeometry, dilationH: number, dilationW: number, zeroPoint: number,
  input: Int8Array, output: Int8Array, rowStride: number,
): void {
  const C = g.channels;
  for (let oy = 0; oy < g.outH; oy++) {
    for (let ox = 0; ox < g.outW; ox++) {
      let o = (oy * g.outW + ox) * rowStride;
      for (let ky = 0; ky < g.kernelH; ky++) {
        const iy = oy * g.strideH - g.padTop + ky * dilationH;
        for (let kx = 0; kx < g.kernelW; kx++) {
          const ix = ox * g.strideW - g.padLeft + kx * dilationW;
          const inside = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW;
          const ib = (iy * g.inW + ix) * C;
          for (let c = 0; c < C; c++) output[o++] = inside ? input[ib + c] : zeroPoint;
        }
      }
    }
  }
}

/** int8 max pooling of one image (input and output share quantization), then the clamp. */
export function referenceMaxPool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array): void {
  const C = g.channels;
  for (let oy = 0; oy < g.outH; oy++) {
    for (let ox = 0; ox < g.outW; ox++) {
      for (let c = 0; c < C; c++) {
        let m = -128;
        for (let ky = 0; ky < g.kernelH; ky++) {
          const iy = oy * g.strideH - g.padTop + ky;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kernelW; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx;
            if (ix < 0 || ix >= g.inW) continue;
            const v = input[(iy * g.inW + ix) * C + c];
            if (v > m) m = v;
          }
        }
        output[(oy * g.outW + ox) * C + c] = m < outputMin ? outputMin : m > outputMax ? outputMax : m;
      }
    }
  }
}

/**
 * int8 average pooling of one image (input and output share quantization), TFLite's reference:
 * the integer mean over the valid taps, (Σ ± count/2) / count truncated, then the clamp.
 */
export function referenceAveragePool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array): void {
  const C = g.channels;
  for (let oy = 0; oy < g.outH; oy++) {
    for (let ox = 0; ox < g.outW; ox++) {
      for (let c = 0; c < C; c++) {
        let sum = 0;
        let count = 0;
        for (let ky = 0; ky < g.kernelH; ky++) {
          const iy = oy * g.strideH - g.padTop + ky;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kernelW; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx;
            if (ix < 0 || ix >= g.inW) continue;
            sum += input[(iy * g.inW + ix) * C + c];
            count++;
          }
        }
        const half = count >> 1;
        const avg = Math.trunc(sum > 0 ? (sum + half) / count : (sum - half) / count);
        output[(oy * g.outW + ox) * C + c] = avg < outputMin ? outputMin : avg > outputMax ? outputMax : avg;
      }
    }
  }
}

/** Nearest integer, ties away from zero (TfLiteRound / std::round). */
export function roundHalfAwayFromZero(v: number): number {
  const t = Math.trunc(v);
  return Math.abs(v - t) === 0.5 ? t + Math.sign(v) : roundHalfToEven(v);
}

/**
 * QUANTIZE float32 → int8, per tensor, as the interpreter's kernel defines it: TFLite kernels
 * round half away from zero of x / S (float32 division); XNNPACK rounds half to even of
 * x · fl(1/S). NaN gives the zero point.
 */
export function referenceQuantize(input: Float32Array, output: Int8Array, n: number, scale: number, zeroPoint: number, rounding: RoundingMode, qmin = -128, qmax = 127): void {
  const s = Math.fround(scale);
  const inv = Math.fround(1 / s);
  const xnn = rounding === 'xnnpack';
  for (let i = 0; i < n; i++) {
    const v = xnn ? Math.fround(input[i] * inv) : Math.fround(input[i] / s);
    if (Number.isNaN(v)) {
      output[i] = zeroPoint;
      continue;
    }
    const r = xnn ? roundHalfToEven(v) : roundHalfAwayFromZero(v);
    const q = r + zeroPoint;
    output[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
}

/** DEQUANTIZE int8 → float32: (q − Z) · S in float32. */
export function referenceDequantize(input: Int8Array, output: Float32Array, n: number, scale: number, zeroPoint: number): void {
  const s = Math.fround(scale);
  for (let i = 0; i < n; i++) output[i] = Math.fround((input[i] - zeroPoint) * s);
}
