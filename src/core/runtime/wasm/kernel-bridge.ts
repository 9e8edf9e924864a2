/**
 * How the interpreter's int8 kernels hand an op to the int8 engine (engine.ts).
 *
 * At prepare time a kernel asks `ctx.int8Engine()` for the interpreter's engine (null when the
 * interpreter runs the TypeScript kernels: option `int8Backend: 'typescript'`, no SIMD128, or
 * an op the engine cannot take) and prepares a plan: weights packed into the engine's heap once,
 * requantization parameters written once. The interpreter then places its activation arena in
 * the same heap, after every prepare, so a run hands the engine views of the arena with no copy
 * (design choice, measured in bench/RESULTS.md: copying activations in and out per op costs
 * more than the whole convolution on small layers).
 *
 * At run time `inHeap` tells whether the bound views really lie in the heap: constant folding
 * runs a kernel on plain arrays at prepare time, and then the TypeScript body runs instead.
 *
 * What the engine takes (everything else stays on the TypeScript kernels): int8 activations ×
 * int8 weights with zero weight zero points (TFLite's int8 scheme, per tensor or per channel),
 * int32 bias, weights and bias constant, the requantization of the op's arithmetic being
 * 'double-rounding', 'single-rounding' or 'xnnpack' (never int16x8) with TFLite's shift range;
 * DEPTHWISE_CONV_2D with depth multiplier 1 and no dilation; pools on int8; QUANTIZE float32 →
 * int8 and DEQUANTIZE int8 → float32 per tensor.
 */
import { UnsupportedError } from '../../errors';
import type { Epilogue } from '../quantized-util';
import type { Int8Engine } from './engine';
import type { PoolGeometry } from '../pooling';
import type { Requantization, WindowGeometry } from './spec';
import { checkWindow } from './spec';

/** The interpreter's int8 path: 'auto' uses the engine where SIMD128 exists and the op fits. */
export type InterpreterInt8Backend = 'auto' | 'wasm' | 'typescript';

/** A prepared engine call, kept in a kernel's state. */
export interface EnginePath<P> {
  readonly engine: Int8Engine;
  readonly plan: P;
}

/** The engine's requantization for an interpreter epilogue, or null when the engine has no such arithmetic. */
export function engineRequantization(e: Epilogue): Requantization | null {
  const out = { outputZeroPoint: e.outZp, outputMin: e.min, outputMax: e.max };
  if (e.outZp < -128 || e.outZp > 127 || e.min < -128 || e.max > 127) return null;
  const rq = e.rq;
  switch (rq.arithmetic) {
    case 'xnnpack':
      return { rounding: 'xnnpack', scale: rq.scale, ...out };
    case 'double-rounding':
    case 'single-rounding':
      for (let c = 0; c < rq.shift.length; c++) if (rq.shift[c] < -31 || rq.shift[c] > 30 || rq.m0[c] < 0) return null;
      return { rounding: rq.arithmetic, multiplier: rq.m0, shift: rq.shift, ...out };
    default:
      return null;
  }
}

/** Whether every zero point is 0 (the engine's weights are symmetric). */
export function allZero(zeroPoints: ArrayLike<number>): boolean {
  for (let i = 0; i < zeroPoints.length; i++) if (zeroPoints[i] !== 0) return false;
  return true;
}

/** An int32 copy of a constant bias (Int32Array data or numbers), or null when absent. */
export function int32Bias(data: ArrayLike<number | bigint> | undefined): Int32Array | null {
  if (!data) return null;
  if (data instanceof Int32Array) return data;
  return Int32Array.from(data as ArrayLike<number>, (v) => Number(v));
}

/**
 * Runs `prepare` (which packs into the engine's heap); null when the engine refuses the op with
 * an UnsupportedError (the TypeScript kernel then runs it). Other errors propagate.
 */
export function tryPrepare<P>(engine: Int8Engine | null, prepare: (engine: Int8Engine) => P): EnginePath<P> | null {
  if (!engine) return null;
  try {
    return { engine, plan: prepare(engine) };
  } catch (e) {
    if (e instanceof UnsupportedError) return null;
    throw e;
  }
}

/** Whether both views lie in the engine's current heap (not in a folded constant's array). */
export function inHeap(engine: Int8Engine, a: ArrayBufferView, b: ArrayBufferView): boolean {
  const heap = engine.buffer;
  return a.buffer === heap && b.buffer === heap;
}

/** The engine and the window of an int8 pool, or null when there is no engine or the window does not fit it. */
export function poolWindow(label: string, g: PoolGeometry, min: number, max: number, int8Engine: (() => Int8Engine | null) | undefined): EnginePath<WindowGeometry> | null {
  const w: WindowGeometry = {
    inH: g.inH, inW: g.inW, channels: g.channels, kernelH: g.filterH, kernelW: g.filterW,
    strideH: g.strideH, strideW: g.strideW, padTop: g.padTop, padLeft: g.padLeft, outH: g.outH, outW: g.outW,
  };
  if (!int8Engine || min < -128 || max > 127 || min > max) return null;
  try {
    checkWindow(label, w);
  } catch (e) {
    if (e instanceof UnsupportedError) return null;
    throw e;
  }
  const engine = int8Engine();
  return engine ? { engine, plan: w } : null;
}
