/**
 * The int8 engine: GEMM with fused per-channel requantization, convolution (1×1 direct,
 * implicit im2col, or im2col for dilated windows), depthwise convolution, max / average
 * pooling and per-tensor quantize / dequantize over one heap, in WebAssembly SIMD128
 * (AssemblyScript sources in `assembly/`, bytes embedded in `generated/engine-wasm.ts`) or,
 * where SIMD128 is missing, the scalar TypeScript reference (`reference.ts`). Both give
 * identical codes, in each RoundingMode.
 *
 * Life cycle (the interpreter's): `prepare*` once per op packs the weights and requantization
 * parameters into the heap; allocate the activation arena with `alloc`/`int8View` after all
 * prepares; `gemm`/`conv2d`/`depthwiseConv2d`/… then run on views of that heap with no copies
 * and no allocation. Growing the heap (an `alloc` past its size) replaces `buffer`: views made
 * before are detached, so allocate everything first (`heapGeneration` tells when it happened).
 *
 *   const engine = createInt8Engine();                       // once per interpreter
 *   const plan = engine.prepareConv2d({ ...geometry, weights, bias, inputZeroPoint,
 *     requant: { rounding, multiplier, shift, outputZeroPoint, outputMin, outputMax } }, label);
 *   const arena = engine.int8View(engine.alloc(peakBytes), peakBytes);   // after all prepares
 *   engine.conv2d(plan, arena.subarray(inOff, inOff + inLen), arena.subarray(outOff, …));
 *
 * Reads past the data: kernels read operands in 8- or 16-byte slices, so up to 15 bytes after
 * an operand may be read (never written); `alloc` leaves 16 bytes of slack after every block,
 * so views of allocated blocks are always safe.
 */
import { UnsupportedError } from '../../errors';
import type { RoundingMode } from '../kernel';
import { ENGINE_WASM_BASE64 } from './generated/engine-wasm';
import type { WasmGlobal, WasmMemory, WasmModule } from './wasm-api';
import { wasmApi } from './wasm-api';
import {
  depthwiseInteriorBias, DW3X3_GROUP_BYTES, foldZeroPoint, gemmPackedBytes, isScalarMode, LAYOUT_VERSION, PARAM_BLOCK_BYTES, PARAM_HEADER_BYTES,
  packDepthwise3x3Pairs, packDepthwiseWeights, packGemmWeights, paramAreaBytes, requantMode, roundUp, writeParams,
} from './layout';
import type { ReferenceConvGeometry, ReferenceWeights } from './reference';
import { referenceAveragePool, referenceConv2d, referenceDepthwiseConv2d, referenceDequantize, referenceGemm, referenceIm2col, referenceMaxPool, referenceQuantize } from './reference';
import type { Conv2dSpec, DepthwiseConv2dSpec, GemmSpec, WindowGeometry } from './spec';
import { checkBias, checkInputZeroPoint, checkPositive, checkWeights, checkWindow, expandRequantization } from './spec';

export type Int8Backend = 'wasm-simd128' | 'typescript';

export interface Int8EngineOptions {
  /** 'auto' (default): WebAssembly SIMD128 when the CPU and runtime have it, else TypeScript. */
  backend?: Int8Backend | 'auto';
  /** Initial heap size in bytes (default 1 MiB). */
  initialBytes?: number;
  /** The heap never grows past this (default 2 GiB). */
  maximumBytes?: number;
  /**
   * Another compiled build of the engine module (same layout version), for comparing builds
   * side by side in one process; default the embedded one.
   */
  module?: WasmModule;
}

/** How a prepared op requantizes: which rounding, and whether the SIMD epilogue applies. */
export interface PlanInfo {
  readonly rounding: RoundingMode;
  /** 'simd': vector epilogue; 'scalar': exact per-lane epilogue (a shift > 0, i.e. M ≥ 1). */
  readonly epilogue: 'simd' | 'scalar';
  /** Heap bytes the plan holds (packed weights, parameters, scratch). */
  readonly heapBytes: number;
}

export interface GemmPlan extends PlanInfo {
  readonly kind: 'gemm';
  readonly outputs: number;
  readonly depth: number;
}

export interface Conv2dPlan extends PlanInfo {
  readonly kind: 'conv2d';
  /**
   * 'direct': 1×1, stride 1, no padding: the GEMM reads the NHWC input itself;
   * 'implicit': dilation 1: the GEMM packs each pixel's window rows straight from the input
   * (padded once into a bordered copy when the window has padding);
   * 'im2col': dilated windows, through an im2col buffer.
   */
  readonly method: 'direct' | 'implicit' | 'im2col';
  readonly inputLength: number;
  readonly outputLength: number;
}

export interface DepthwiseConv2dPlan extends PlanInfo {
  readonly kind: 'depthwise';
  readonly inputLength: number;
  readonly outputLength: number;
}

export interface Int8Engine {
  readonly backend: Int8Backend;
  /** The WebAssembly memory the heap lives in (null for the TypeScript backend). */
  readonly memory: WasmMemory | null;
  /** The heap's current buffer. Replaced when the heap grows. */
  readonly buffer: ArrayBuffer;
  /** Increments each time the heap grows (views made before are detached). */
  readonly heapGeneration: number;
  /** Bytes in use (the allocation top). */
  readonly usedBytes: number;
  /** Reserves `byteLength` bytes, 16-byte aligned, followed by 16 bytes of slack; returns the byte offset. */
  alloc(byteLength: number): number;
  /** Everything allocated after `mark()` is dropped by `release(mark)`. */
  mark(): number;
  release(mark: number): void;
  int8View(byteOffset: number, length: number): Int8Array;
  int32View(byteOffset: number, length: number): Int32Array;
  float32View(byteOffset: number, length: number): Float32Array;
  /** alloc + int8View. */
  allocInt8(length: number): Int8Array;

  prepareGemm(spec: GemmSpec, label?: string): GemmPlan;
  /** `rows` rows of A (stride aStride bytes) → C (stride cStride bytes). Views must be of `buffer`. */
  gemm(plan: GemmPlan, a: Int8Array, rows: number, aStride: number, c: Int8Array, cStride: number): void;
  prepareConv2d(spec: Conv2dSpec, label?: string): Conv2dPlan;
  conv2d(plan: Conv2dPlan, input: Int8Array, output: Int8Array, batches?: number): void;
  prepareDepthwiseConv2d(spec: DepthwiseConv2dSpec, label?: string): DepthwiseConv2dPlan;
  depthwiseConv2d(plan: DepthwiseConv2dPlan, input: Int8Array, output: Int8Array, batches?: number): void;
  /** int8 max pooling (input and output share quantization), clamped to [outputMin, outputMax]. */
  maxPool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches?: number): void;
  /** int8 average pooling, TFLite's integer rounding (input and output share quantization). */
  averagePool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches?: number): void;
  /** QUANTIZE per tensor: float32 → int8 codes as the interpreter's kernel in that rounding mode. */
  quantize(input: Float32Array, output: Int8Array, scale: number, zeroPoint: number, rounding: RoundingMode): void;
  /** DEQUANTIZE per tensor: (q − zeroPoint) · scale in float32. */
  dequantize(input: Int8Array, output: Float32Array, scale: number, zeroPoint: number): void;
  /** im2col rows of one image (padded taps hold `zeroPoint`), rowStride ≥ kH·kW·C bytes. */
  im2col(g: WindowGeometry, zeroPoint: number, input: Int8Array, output: Int8Array, rowStride: number, dilationH?: number, dilationW?: number): void;
}

// ---------------------------------------------------------------------------------------------
// Detection and instantiation

/** A minimal module returning a v128 constant: valid only where SIMD128 is supported. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b, // v128.const 0
]);

/** Whether this runtime validates WebAssembly SIMD128 code. */
export function hasWasmSimd128(): boolean {
  try {
    return wasmApi()?.validate(SIMD_PROBE) === true;
  } catch {
    return false;
  }
}

interface EngineExports {
  LAYOUT_VERSION: WasmGlobal;
  PARAM_HEADER_BYTES: WasmGlobal;
  PARAM_BLOCK_BYTES: WasmGlobal;
  gemm_s8(a: number, lda: number, m: number, kp: number, b: number, n: number, params: number, mode: number, c: number, ldc: number, scratch: number): void;
  dwconv_s8(inp: number, inH: number, inW: number, ch: number, kH: number, kW: number, sH: number, sW: number, padT: number, padL: number, outH: number, outW: number, w: number, params: number, mode: number, zIn: number, out: number, pairs: number, ibias: number): void;
  conv_s8(inp: number, rowBytes: number, ch: number, kH: number, segPairs: number, sH: number, sW: number, outH: number, outW: number, b: number, n: number, params: number, mode: number, out: number, ldc: number, pack: number, trash: number): void;
  pad_s8(inp: number, inH: number, inW: number, ch: number, padT: number, padL: number, hp: number, wp: number, zIn: number, out: number): void;
  im2col_s8(inp: number, inH: number, inW: number, ch: number, kH: number, kW: number, sH: number, sW: number, dH: number, dW: number, padT: number, padL: number, outH: number, outW: number, zIn: number, out: number, ldo: number, over: number): void;
  maxpool_s8(inp: number, inH: number, inW: number, ch: number, kH: number, kW: number, sH: number, sW: number, padT: number, padL: number, outH: number, outW: number, qmin: number, qmax: number, out: number): void;
  avgpool_s8(inp: number, inH: number, inW: number, ch: number, kH: number, kW: number, sH: number, sW: number, padT: number, padL: number, outH: number, outW: number, qmin: number, qmax: number, out: number): void;
  quantize_f32_s8(inp: number, n: number, factor: number, zp: number, qmin: number, qmax: number, xnn: number, out: number): void;
  dequantize_s8_f32(inp: number, n: number, scale: number, zp: number, out: number): void;
}

function checkScale(label: string, scale: number, zeroPoint: number): void {
  if (!Number.isFinite(scale) || !(scale > 0)) throw new UnsupportedError(`${label}: the scale ${scale} is not a positive finite number.`);
  checkInputZeroPoint(label, zeroPoint);
}

let compiled: WasmModule | null = null;

function decodeBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
}

/** The engine's module, compiled once per process (synchronously: prepare stays sync). */
export function engineModule(): WasmModule {
  const api = wasmApi();
  if (!api) throw new UnsupportedError('This runtime has no WebAssembly.');
  compiled ??= new api.Module(decodeBase64(ENGINE_WASM_BASE64));
  return compiled;
}

const PAGE = 65536;
const SLACK = 16;
/** Offsets below this are never handed out (0 stays an invalid pointer). */
const HEAP_BASE = 1024;

// ---------------------------------------------------------------------------------------------
// The heap, shared by both backends

abstract class HeapEngine {
  abstract readonly backend: Int8Backend;
  abstract readonly memory: WasmMemory | null;
  protected top = HEAP_BASE;
  private generation = 0;
  protected readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  abstract get buffer(): ArrayBuffer;
  /** Makes the heap at least `bytes` long. */
  protected abstract growTo(bytes: number): void;

  get heapGeneration(): number {
    return this.generation;
  }

  get usedBytes(): number {
    return this.top;
  }

  alloc(byteLength: number): number {
    if (!Number.isInteger(byteLength) || byteLength < 0) throw new RangeError(`Cannot allocate ${byteLength} bytes.`);
    const ptr = roundUp(this.top, 16);
    const end = ptr + byteLength + SLACK;
    if (end > this.maxBytes) {
      throw new UnsupportedError(`The int8 engine's heap would need ${end} bytes, more than its limit of ${this.maxBytes}.`);
    }
    if (end > this.buffer.byteLength) {
      this.growTo(end);
      this.generation++;
    }
    this.top = end;
    return ptr;
  }

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (!Number.isInteger(mark) || mark < HEAP_BASE || mark > this.top) throw new RangeError(`${mark} is not a mark of this heap.`);
    this.top = mark;
  }

  int8View(byteOffset: number, length: number): Int8Array {
    return new Int8Array(this.buffer, byteOffset, length);
  }

  int32View(byteOffset: number, length: number): Int32Array {
    return new Int32Array(this.buffer, byteOffset, length);
  }

  float32View(byteOffset: number, length: number): Float32Array {
    return new Float32Array(this.buffer, byteOffset, length);
  }

  allocInt8(length: number): Int8Array {
    return this.int8View(this.alloc(length), length);
  }
}

function need(label: string, what: string, view: Int8Array, length: number): void {
  if (view.length < length) throw new RangeError(`${label}: the ${what} view holds ${view.length} bytes; ${length} are needed.`);
}

function checkOutputRange(label: string, lo: number, hi: number): void {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < -128 || hi > 127 || lo > hi) {
    throw new UnsupportedError(`${label}: the output range [${lo}, ${hi}] is not a non-empty range of int8 codes.`);
  }
}

function checkBatches(label: string, batches: number): void {
  checkPositive(label, 'batch count', batches);
}

interface ConvShape {
  readonly g: ReferenceConvGeometry;
  readonly direct: boolean;
  readonly depth: number;
}

function convShape(label: string, spec: Conv2dSpec): ConvShape {
  const dilationH = spec.dilationH ?? 1;
  const dilationW = spec.dilationW ?? 1;
  checkPositive(label, 'output channel count', spec.outC);
  checkWindow(label, { ...spec, channels: spec.inC }, dilationH, dilationW);
  const g: ReferenceConvGeometry = {
    inH: spec.inH, inW: spec.inW, inC: spec.inC, outC: spec.outC, kernelH: spec.kernelH, kernelW: spec.kernelW,
    strideH: spec.strideH, strideW: spec.strideW, padTop: spec.padTop, padLeft: spec.padLeft,
    outH: spec.outH, outW: spec.outW, dilationH, dilationW,
  };
  const direct = g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 && g.outH === g.inH && g.outW === g.inW;
  return { g, direct, depth: g.kernelH * g.kernelW * g.inC };
}

function resolveGemm(label: string, spec: GemmSpec): ReferenceWeights {
  checkPositive(label, 'output count', spec.outputs);
  checkPositive(label, 'depth', spec.depth);
  checkWeights(label, spec.weights, spec.outputs * spec.depth, `[${spec.outputs}, ${spec.depth}]`);
  checkInputZeroPoint(label, spec.inputZeroPoint);
  return {
    weights: spec.weights,
    bias: checkBias(label, spec.bias, spec.outputs),
    inputZeroPoint: spec.inputZeroPoint,
    params: expandRequantization(label, spec.requant, spec.outputs),
  };
}

function resolveDepthwise(label: string, spec: DepthwiseConv2dSpec): ReferenceWeights {
  checkWindow(label, spec);
  checkWeights(label, spec.weights, spec.kernelH * spec.kernelW * spec.channels, `[1, ${spec.kernelH}, ${spec.kernelW}, ${spec.channels}]`);
  checkInputZeroPoint(label, spec.inputZeroPoint);
  return {
    weights: spec.weights,
    bias: checkBias(label, spec.bias, spec.channels),
    inputZeroPoint: spec.inputZeroPoint,
    params: expandRequantization(label, spec.requant, spec.channels),
  };
}

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD128 backend

interface WasmGemm extends GemmPlan {
  readonly owner: WasmInt8Engine;
  /** Depth rounded up to even (the packed B's pairs). */
  readonly kp: number;
  /** 8 · depth rounded up to 8 bytes where the kernel packs blocks of 4 A rows. */
  readonly aPackPtr: number;
  readonly bPtr: number;
  readonly pPtr: number;
  readonly mode: number;
}

interface WasmConv extends Conv2dPlan {
  readonly owner: WasmInt8Engine;
  readonly gemmPlan: WasmGemm;
  readonly g: ReferenceConvGeometry;
  readonly zIn: number;
  /** im2col: the im2col rows. */
  readonly scratchPtr: number;
  /** implicit: ceil(kW·C / 2), the padded copy (0: none) and its size, the pack and trash rows. */
  readonly segPairs: number;
  readonly padPtr: number;
  readonly padH: number;
  readonly padW: number;
  readonly packPtr: number;
  readonly trashPtr: number;
}

interface WasmDepthwise extends DepthwiseConv2dPlan {
  readonly owner: WasmInt8Engine;
  readonly g: WindowGeometry;
  readonly wPtr: number;
  /** 3×3 interior packing (tap pairs, zero point folded into the bias), 0 for other windows. */
  readonly pairsPtr: number;
  readonly ibiasPtr: number;
  readonly pPtr: number;
  readonly mode: number;
  readonly zIn: number;
  /**
   * 3×3 with padding: a copy of the input bordered with the zero point (0: none) and its size.
   * Every output pixel then takes the interior path (the zero point is folded into its bias,
   * so the border's taps add exactly nothing, as the skipped taps of the general path do).
   */
  readonly padPtr: number;
  readonly padH: number;
  readonly padW: number;
}

class WasmInt8Engine extends HeapEngine implements Int8Engine {
  readonly backend = 'wasm-simd128' as const;
  readonly memory: WasmMemory;
  private readonly x: EngineExports;

  constructor(initialBytes: number, maxBytes: number, module: WasmModule) {
    super(maxBytes);
    const api = wasmApi()!;
    this.memory = new api.Memory({ initial: Math.max(1, Math.ceil(initialBytes / PAGE)), maximum: Math.ceil(maxBytes / PAGE) });
    const instance = new api.Instance(module, { env: { memory: this.memory } });
    this.x = instance.exports as unknown as EngineExports;
    const layout = [this.x.LAYOUT_VERSION.value, this.x.PARAM_HEADER_BYTES.value, this.x.PARAM_BLOCK_BYTES.value];
    if (layout[0] !== LAYOUT_VERSION || layout[1] !== PARAM_HEADER_BYTES || layout[2] !== PARAM_BLOCK_BYTES) {
      throw new Error(`The embedded int8 engine has layout ${layout.join('/')}, the loader expects ${LAYOUT_VERSION}/${PARAM_HEADER_BYTES}/${PARAM_BLOCK_BYTES}: rebuild it with tools/build-wasm.mjs.`);
    }
  }

  /**
   * memory.buffer, cached (the getter costs more than a kernel call's other checks); renewed on
   * growth, and whenever the cached one is detached (the memory grown from outside).
   */
  private heap: ArrayBuffer | null = null;

  get buffer(): ArrayBuffer {
    if (this.heap === null || this.heap.byteLength === 0) this.heap = this.memory.buffer;
    return this.heap;
  }

  protected growTo(bytes: number): void {
    const pages = Math.ceil(bytes / PAGE) - this.memory.buffer.byteLength / PAGE;
    // Grow geometrically so a sequence of prepares does not grow page by page.
    const current = this.memory.buffer.byteLength / PAGE;
    const maxPages = Math.ceil(this.maxBytes / PAGE);
    this.memory.grow(Math.min(Math.max(pages, current), maxPages - current));
    this.heap = this.memory.buffer;
  }

  /** Byte offset of a view that must lie in the heap. */
  private ptr(label: string, what: string, view: Int8Array | Float32Array): number {
    if (view.buffer !== this.buffer) {
      const detached = view.buffer.byteLength === 0;
      throw new RangeError(
        detached
          ? `${label}: the ${what} view is detached: the engine's heap grew after it was made (allocate every view after the last prepare and alloc).`
          : `${label}: the ${what} is not a view of the int8 engine's heap (allocate it with alloc()/allocInt8()).`,
      );
    }
    return view.byteOffset;
  }

  private own<P extends { owner: WasmInt8Engine }>(plan: unknown): P {
    if ((plan as P).owner !== this) throw new RangeError('This plan was prepared by another int8 engine.');
    return plan as P;
  }

  private packGemm(w: ReferenceWeights, n: number, k: number): WasmGemm {
    const kp = roundUp(k, 2);
    const blocks = 2 * Math.ceil(n / 8);
    const bBytes = gemmPackedBytes(n, k);
    const bPtr = this.alloc(bBytes);
    const pPtr = this.alloc(paramAreaBytes(blocks));
    const aPackBytes = 8 * roundUp(k, 8);
    const aPackPtr = this.alloc(aPackBytes);
    const sums = packGemmWeights(w.weights, n, k, new Int16Array(this.buffer, bPtr, bBytes / 2));
    const mode = requantMode(w.params);
    writeParams(this.buffer, pPtr, w.params, foldZeroPoint(w.bias, sums, w.inputZeroPoint), blocks, mode);
    const plan: WasmGemm = {
      kind: 'gemm', owner: this, outputs: n, depth: k, kp, bPtr, pPtr, aPackPtr, mode,
      rounding: w.params.rounding, epilogue: isScalarMode(mode) ? 'scalar' : 'simd',
      heapBytes: bBytes + paramAreaBytes(blocks) + aPackBytes + 3 * SLACK,
    };
    return plan;
  }

  prepareGemm(spec: GemmSpec, label = 'GEMM'): GemmPlan {
    return this.packGemm(resolveGemm(label, spec), spec.outputs, spec.depth);
  }

  gemm(plan: GemmPlan, a: Int8Array, rows: number, aStride: number, c: Int8Array, cStride: number): void {
    const p = this.own<WasmGemm>(plan);
    const label = 'gemm';
    if (rows <= 0) return;
    if (aStride < p.depth || cStride < p.outputs) throw new RangeError(`${label}: strides (${aStride}, ${cStride}) are below the row sizes (${p.depth}, ${p.outputs}).`);
    const aPtr = this.ptr(label, 'A', a);
    const cPtr = this.ptr(label, 'C', c);
    need(label, 'A', a, (rows - 1) * aStride + p.depth);
    need(label, 'C', c, (rows - 1) * cStride + p.outputs);
    this.x.gemm_s8(aPtr, aStride, rows, p.kp, p.bPtr, p.outputs, p.pPtr, p.mode, cPtr, cStride, p.aPackPtr);
  }

  prepareConv2d(spec: Conv2dSpec, label = 'CONV_2D'): Conv2dPlan {
    const { g, direct, depth } = convShape(label, spec);
    checkWeights(label, spec.weights, spec.outC * depth, `[${spec.outC}, ${spec.kernelH}, ${spec.kernelW}, ${spec.inC}]`);
    const w = resolveGemm(label, { weights: spec.weights, outputs: spec.outC, depth, bias: spec.bias, inputZeroPoint: spec.inputZeroPoint, requant: spec.requant });
    const implicit = !direct && g.dilationH === 1 && g.dilationW === 1;
    const base = { kind: 'conv2d' as const, owner: this, g, zIn: spec.inputZeroPoint, inputLength: g.inH * g.inW * g.inC, outputLength: g.outH * g.outW * g.outC };
    const none = { scratchPtr: 0, segPairs: 0, padPtr: 0, padH: 0, padW: 0, packPtr: 0, trashPtr: 0 };
    if (direct) {
      const gemmPlan = this.packGemm(w, spec.outC, depth);
      const plan: WasmConv = { ...base, ...none, method: 'direct', gemmPlan, rounding: gemmPlan.rounding, epilogue: gemmPlan.epilogue, heapBytes: gemmPlan.heapBytes };
      return plan;
    }
    if (implicit) {
      // each window row is a segment of kW·C bytes, rounded up to even: the weights re-laid to
      // [outC][kH][2·segPairs] with zeros in the rounding byte
      const L = g.kernelW * g.inC;
      const segPairs = Math.ceil(L / 2);
      const kp = g.kernelH * 2 * segPairs;
      const relaid = new Int8Array(g.outC * kp);
      for (let o = 0; o < g.outC; o++) for (let ky = 0; ky < g.kernelH; ky++) relaid.set(spec.weights.subarray((o * g.kernelH + ky) * L, (o * g.kernelH + ky + 1) * L), o * kp + ky * 2 * segPairs);
      const gemmPlan = this.packGemm({ ...w, weights: relaid }, g.outC, kp);
      const padH = Math.max(g.padTop + g.inH, (g.outH - 1) * g.strideH + g.kernelH);
      const padW = Math.max(g.padLeft + g.inW, (g.outW - 1) * g.strideW + g.kernelW);
      const needPad = g.padTop > 0 || g.padLeft > 0 || padH > g.inH || padW > g.inW;
      const padBytes = needPad ? padH * padW * g.inC : 0;
      const padPtr = needPad ? this.alloc(padBytes) : 0;
      const packBytes = g.kernelH * segPairs * 16 + 48;
      const packPtr = this.alloc(packBytes);
      const trashPtr = this.alloc(g.outC);
      const plan: WasmConv = {
        ...base, ...none, method: 'implicit', gemmPlan, segPairs, padPtr, padH: needPad ? padH : g.inH, padW: needPad ? padW : g.inW, packPtr, trashPtr,
        rounding: gemmPlan.rounding, epilogue: gemmPlan.epilogue, heapBytes: gemmPlan.heapBytes + padBytes + packBytes + g.outC + 3 * SLACK,
      };
      return plan;
    }
    const gemmPlan = this.packGemm(w, spec.outC, depth);
    const scratchBytes = g.outH * g.outW * depth;
    const scratchPtr = this.alloc(scratchBytes);
    const plan: WasmConv = {
      ...base, ...none, method: 'im2col', gemmPlan, scratchPtr,
      rounding: gemmPlan.rounding, epilogue: gemmPlan.epilogue, heapBytes: gemmPlan.heapBytes + scratchBytes + SLACK,
    };
    return plan;
  }

  conv2d(plan: Conv2dPlan, input: Int8Array, output: Int8Array, batches = 1): void {
    const p = this.own<WasmConv>(plan);
    const label = 'conv2d';
    checkBatches(label, batches);
    const inPtr = this.ptr(label, 'input', input);
    const outPtr = this.ptr(label, 'output', output);
    need(label, 'input', input, batches * p.inputLength);
    need(label, 'output', output, batches * p.outputLength);
    const { g, gemmPlan: q } = p;
    const rows = g.outH * g.outW;
    if (p.method === 'direct') {
      this.x.gemm_s8(inPtr, g.inC, rows * batches, q.kp, q.bPtr, q.outputs, q.pPtr, q.mode, outPtr, g.outC, q.aPackPtr);
      return;
    }
    for (let b = 0; b < batches; b++) {
      const src = inPtr + b * p.inputLength;
      const dst = outPtr + b * p.outputLength;
      if (p.method === 'implicit') {
        if (p.padPtr) this.x.pad_s8(src, g.inH, g.inW, g.inC, g.padTop, g.padLeft, p.padH, p.padW, p.zIn, p.padPtr);
        this.x.conv_s8(p.padPtr || src, p.padW * g.inC, g.inC, g.kernelH, p.segPairs, g.strideH, g.strideW, g.outH, g.outW, q.bPtr, q.outputs, q.pPtr, q.mode, dst, g.outC, p.packPtr, p.trashPtr);
        continue;
      }
      this.x.im2col_s8(src, g.inH, g.inW, g.inC, g.kernelH, g.kernelW, g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft, g.outH, g.outW, p.zIn, p.scratchPtr, q.depth, 1);
      this.x.gemm_s8(p.scratchPtr, q.depth, rows, q.kp, q.bPtr, q.outputs, q.pPtr, q.mode, dst, g.outC, q.aPackPtr);
    }
  }

  prepareDepthwiseConv2d(spec: DepthwiseConv2dSpec, label = 'DEPTHWISE_CONV_2D'): DepthwiseConv2dPlan {
    const w = resolveDepthwise(label, spec);
    const C = spec.channels;
    const c8 = roundUp(C, 8);
    const taps = spec.kernelH * spec.kernelW;
    const wPtr = this.alloc(taps * c8 * 2);
    packDepthwiseWeights(spec.weights, taps, C, new Int16Array(this.buffer, wPtr, taps * c8));
    const blocks = c8 / 4;
    const pPtr = this.alloc(paramAreaBytes(blocks));
    const mode = requantMode(w.params);
    writeParams(this.buffer, pPtr, w.params, w.bias, blocks, mode);
    let pairsPtr = 0;
    let ibiasPtr = 0;
    let pad = { padPtr: 0, padH: spec.inH, padW: spec.inW, bytes: 0 };
    if (spec.kernelH === 3 && spec.kernelW === 3) {
      const padH = Math.max(spec.padTop + spec.inH, (spec.outH - 1) * spec.strideH + 3);
      const padW = Math.max(spec.padLeft + spec.inW, (spec.outW - 1) * spec.strideW + 3);
      if (spec.padTop > 0 || spec.padLeft > 0 || padH > spec.inH || padW > spec.inW) {
        const bytes = padH * padW * C;
        pad = { padPtr: this.alloc(bytes), padH, padW, bytes };
      }
      const pairBytes = (c8 / 8) * DW3X3_GROUP_BYTES;
      pairsPtr = this.alloc(pairBytes);
      ibiasPtr = this.alloc(c8 * 4);
      packDepthwise3x3Pairs(spec.weights, C, new Int16Array(this.buffer, pairsPtr, pairBytes / 2));
      depthwiseInteriorBias(spec.weights, taps, C, w.bias, spec.inputZeroPoint, new Int32Array(this.buffer, ibiasPtr, c8));
    }
    const g: WindowGeometry = { inH: spec.inH, inW: spec.inW, channels: C, kernelH: spec.kernelH, kernelW: spec.kernelW, strideH: spec.strideH, strideW: spec.strideW, padTop: spec.padTop, padLeft: spec.padLeft, outH: spec.outH, outW: spec.outW };
    const plan: WasmDepthwise = {
      kind: 'depthwise', owner: this, g, wPtr, pPtr, pairsPtr, ibiasPtr, mode, zIn: spec.inputZeroPoint, padPtr: pad.padPtr, padH: pad.padH, padW: pad.padW,
      inputLength: g.inH * g.inW * C, outputLength: g.outH * g.outW * C,
      rounding: w.params.rounding, epilogue: isScalarMode(mode) ? 'scalar' : 'simd',
      heapBytes: taps * c8 * 2 + paramAreaBytes(blocks) + 2 * SLACK + (pairsPtr ? (c8 / 8) * DW3X3_GROUP_BYTES + c8 * 4 + 2 * SLACK : 0) + (pad.padPtr ? pad.bytes + SLACK : 0),
    };
    return plan;
  }

  depthwiseConv2d(plan: DepthwiseConv2dPlan, input: Int8Array, output: Int8Array, batches = 1): void {
    const p = this.own<WasmDepthwise>(plan);
    const label = 'depthwiseConv2d';
    checkBatches(label, batches);
    const inPtr = this.ptr(label, 'input', input);
    const outPtr = this.ptr(label, 'output', output);
    need(label, 'input', input, batches * p.inputLength);
    need(label, 'output', output, batches * p.outputLength);
    const g = p.g;
    for (let b = 0; b < batches; b++) {
      const src = inPtr + b * p.inputLength;
      const dst = outPtr + b * p.outputLength;
      if (p.padPtr) {
        this.x.pad_s8(src, g.inH, g.inW, g.channels, g.padTop, g.padLeft, p.padH, p.padW, p.zIn, p.padPtr);
        this.x.dwconv_s8(p.padPtr, p.padH, p.padW, g.channels, g.kernelH, g.kernelW, g.strideH, g.strideW, 0, 0, g.outH, g.outW, p.wPtr, p.pPtr, p.mode, p.zIn, dst, p.pairsPtr, p.ibiasPtr);
        continue;
      }
      this.x.dwconv_s8(src, g.inH, g.inW, g.channels, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, p.wPtr, p.pPtr, p.mode, p.zIn, dst, p.pairsPtr, p.ibiasPtr);
    }
  }

  maxPool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches = 1): void {
    this.pool('maxPool', g, outputMin, outputMax, input, output, batches);
  }

  averagePool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches = 1): void {
    this.pool('averagePool', g, outputMin, outputMax, input, output, batches);
  }

  private pool(label: 'maxPool' | 'averagePool', g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches: number): void {
    checkWindow(label, g);
    checkOutputRange(label, outputMin, outputMax);
    checkBatches(label, batches);
    const inLen = g.inH * g.inW * g.channels;
    const outLen = g.outH * g.outW * g.channels;
    const inPtr = this.ptr(label, 'input', input);
    const outPtr = this.ptr(label, 'output', output);
    need(label, 'input', input, batches * inLen);
    need(label, 'output', output, batches * outLen);
    const kernel = label === 'maxPool' ? this.x.maxpool_s8 : this.x.avgpool_s8;
    for (let b = 0; b < batches; b++) {
      kernel(inPtr + b * inLen, g.inH, g.inW, g.channels, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, outputMin, outputMax, outPtr + b * outLen);
    }
  }

  quantize(input: Float32Array, output: Int8Array, scale: number, zeroPoint: number, rounding: RoundingMode): void {
    const label = 'quantize';
    checkScale(label, scale, zeroPoint);
    const inPtr = this.ptr(label, 'input', input);
    const outPtr = this.ptr(label, 'output', output);
    const n = input.length;
    need(label, 'output', output, n);
    const s = Math.fround(scale);
    const xnn = rounding === 'xnnpack';
    this.x.quantize_f32_s8(inPtr, n, xnn ? Math.fround(1 / s) : s, zeroPoint, -128, 127, xnn ? 1 : 0, outPtr);
  }

  dequantize(input: Int8Array, output: Float32Array, scale: number, zeroPoint: number): void {
    const label = 'dequantize';
    checkScale(label, scale, zeroPoint);
    const inPtr = this.ptr(label, 'input', input);
    const outPtr = this.ptr(label, 'output', output);
    if (output.length < input.length) throw new RangeError(`${label}: the output view holds ${output.length} values; ${input.length} are needed.`);
    this.x.dequantize_s8_f32(inPtr, input.length, Math.fround(scale), zeroPoint, outPtr);
  }

  im2col(g: WindowGeometry, zeroPoint: number, input: Int8Array, output: Int8Array, rowStride: number, dilationH = 1, dilationW = 1): void {
    const label = 'im2col';
    checkWindow(label, g, dilationH, dilationW);
    checkInputZeroPoint(label, zeroPoint);
    const depth = g.kernelH * g.kernelW * g.channels;
    if (rowStride < depth) throw new RangeError(`${label}: the row stride ${rowStride} is below the row size ${depth}.`);
    const inPtr = this.ptr(label, 'input', input);
    const outPtr = this.ptr(label, 'output', output);
    need(label, 'input', input, g.inH * g.inW * g.channels);
    need(label, 'output', output, (g.outH * g.outW - 1) * rowStride + depth);
    this.x.im2col_s8(inPtr, g.inH, g.inW, g.channels, g.kernelH, g.kernelW, g.strideH, g.strideW, dilationH, dilationW, g.padTop, g.padLeft, g.outH, g.outW, zeroPoint, outPtr, rowStride, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// TypeScript backend (the reference, over a plain growable heap)

interface TsGemm extends GemmPlan {
  readonly owner: TypeScriptInt8Engine;
  readonly w: ReferenceWeights;
}

interface TsConv extends Conv2dPlan {
  readonly owner: TypeScriptInt8Engine;
  readonly w: ReferenceWeights;
  readonly g: ReferenceConvGeometry;
}

interface TsDepthwise extends DepthwiseConv2dPlan {
  readonly owner: TypeScriptInt8Engine;
  readonly w: ReferenceWeights;
  readonly g: WindowGeometry;
}

class TypeScriptInt8Engine extends HeapEngine implements Int8Engine {
  readonly backend = 'typescript' as const;
  readonly memory = null;
  private heap: ArrayBuffer;

  constructor(initialBytes: number, maxBytes: number) {
    super(maxBytes);
    this.heap = new ArrayBuffer(roundUp(Math.max(initialBytes, HEAP_BASE), PAGE));
  }

  get buffer(): ArrayBuffer {
    return this.heap;
  }

  protected growTo(bytes: number): void {
    const next = new ArrayBuffer(Math.min(roundUp(Math.max(bytes, this.heap.byteLength * 2), PAGE), roundUp(this.maxBytes, PAGE)));
    new Uint8Array(next).set(new Uint8Array(this.heap));
    this.heap = next;
  }

  private own<P extends { owner: TypeScriptInt8Engine }>(plan: unknown): P {
    if ((plan as P).owner !== this) throw new RangeError('This plan was prepared by another int8 engine.');
    return plan as P;
  }

  private info(w: ReferenceWeights): { rounding: RoundingMode; epilogue: 'simd' | 'scalar' } {
    return { rounding: w.params.rounding, epilogue: 'scalar' };
  }

  prepareGemm(spec: GemmSpec, label = 'GEMM'): GemmPlan {
    const w = resolveGemm(label, spec);
    const plan: TsGemm = { kind: 'gemm', owner: this, w, outputs: spec.outputs, depth: spec.depth, ...this.info(w), heapBytes: 0 };
    return plan;
  }

  gemm(plan: GemmPlan, a: Int8Array, rows: number, aStride: number, c: Int8Array, cStride: number): void {
    const p = this.own<TsGemm>(plan);
    if (rows <= 0) return;
    if (aStride < p.depth || cStride < p.outputs) throw new RangeError(`gemm: strides (${aStride}, ${cStride}) are below the row sizes (${p.depth}, ${p.outputs}).`);
    need('gemm', 'A', a, (rows - 1) * aStride + p.depth);
    need('gemm', 'C', c, (rows - 1) * cStride + p.outputs);
    referenceGemm(p.w, p.outputs, p.depth, a, rows, aStride, c, cStride);
  }

  prepareConv2d(spec: Conv2dSpec, label = 'CONV_2D'): Conv2dPlan {
    const { g, direct, depth } = convShape(label, spec);
    checkWeights(label, spec.weights, spec.outC * depth, `[${spec.outC}, ${spec.kernelH}, ${spec.kernelW}, ${spec.inC}]`);
    const w = resolveGemm(label, { weights: spec.weights, outputs: spec.outC, depth, bias: spec.bias, inputZeroPoint: spec.inputZeroPoint, requant: spec.requant });
    const plan: TsConv = {
      kind: 'conv2d', owner: this, w, g, method: direct ? 'direct' : 'im2col',
      inputLength: g.inH * g.inW * g.inC, outputLength: g.outH * g.outW * g.outC, ...this.info(w), heapBytes: 0,
    };
    return plan;
  }

  conv2d(plan: Conv2dPlan, input: Int8Array, output: Int8Array, batches = 1): void {
    const p = this.own<TsConv>(plan);
    checkBatches('conv2d', batches);
    need('conv2d', 'input', input, batches * p.inputLength);
    need('conv2d', 'output', output, batches * p.outputLength);
    for (let b = 0; b < batches; b++) {
      referenceConv2d(p.w, p.g, input.subarray(b * p.inputLength), output.subarray(b * p.outputLength));
    }
  }

  prepareDepthwiseConv2d(spec: DepthwiseConv2dSpec, label = 'DEPTHWISE_CONV_2D'): DepthwiseConv2dPlan {
    const w = resolveDepthwise(label, spec);
    const g: WindowGeometry = { inH: spec.inH, inW: spec.inW, channels: spec.channels, kernelH: spec.kernelH, kernelW: spec.kernelW, strideH: spec.strideH, strideW: spec.strideW, padTop: spec.padTop, padLeft: spec.padLeft, outH: spec.outH, outW: spec.outW };
    const plan: TsDepthwise = {
      kind: 'depthwise', owner: this, w, g, inputLength: g.inH * g.inW * g.channels, outputLength: g.outH * g.outW * g.channels, ...this.info(w), heapBytes: 0,
    };
    return plan;
  }

  depthwiseConv2d(plan: DepthwiseConv2dPlan, input: Int8Array, output: Int8Array, batches = 1): void {
    const p = this.own<TsDepthwise>(plan);
    checkBatches('depthwiseConv2d', batches);
    need('depthwiseConv2d', 'input', input, batches * p.inputLength);
    need('depthwiseConv2d', 'output', output, batches * p.outputLength);
    for (let b = 0; b < batches; b++) {
      referenceDepthwiseConv2d(p.w, p.g, input.subarray(b * p.inputLength), output.subarray(b * p.outputLength));
    }
  }

  maxPool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches = 1): void {
    this.pool('maxPool', g, outputMin, outputMax, input, output, batches);
  }

  averagePool(g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches = 1): void {
    this.pool('averagePool', g, outputMin, outputMax, input, output, batches);
  }

  private pool(label: 'maxPool' | 'averagePool', g: WindowGeometry, outputMin: number, outputMax: number, input: Int8Array, output: Int8Array, batches: number): void {
    checkWindow(label, g);
    checkOutputRange(label, outputMin, outputMax);
    checkBatches(label, batches);
    const inLen = g.inH * g.inW * g.channels;
    const outLen = g.outH * g.outW * g.channels;
    need(label, 'input', input, batches * inLen);
    need(label, 'output', output, batches * outLen);
    const kernel = label === 'maxPool' ? referenceMaxPool : referenceAveragePool;
    for (let b = 0; b < batches; b++) kernel(g, outputMin, outputMax, input.subarray(b * inLen), output.subarray(b * outLen));
  }

  quantize(input: Float32Array, output: Int8Array, scale: number, zeroPoint: number, rounding: RoundingMode): void {
    checkScale('quantize', scale, zeroPoint);
    need('quantize', 'output', output, input.length);
    referenceQuantize(input, output, input.length, scale, zeroPoint, rounding);
  }

  dequantize(input: Int8Array, output: Float32Array, scale: number, zeroPoint: number): void {
    checkScale('dequantize', scale, zeroPoint);
    if (output.length < input.length) throw new RangeError(`dequantize: the output view holds ${output.length} values; ${input.length} are needed.`);
    referenceDequantize(input, output, input.length, scale, zeroPoint);
  }

  im2col(g: WindowGeometry, zeroPoint: number, input: Int8Array, output: Int8Array, rowStride: number, dilationH = 1, dilationW = 1): void {
    checkWindow('im2col', g, dilationH, dilationW);
    checkInputZeroPoint('im2col', zeroPoint);
    const depth = g.kernelH * g.kernelW * g.channels;
    if (rowStride < depth) throw new RangeError(`im2col: the row stride ${rowStride} is below the row size ${depth}.`);
    need('im2col', 'input', input, g.inH * g.inW * g.channels);
    need('im2col', 'output', output, (g.outH * g.outW - 1) * rowStride + depth);
    referenceIm2col(g, dilationH, dilationW, zeroPoint, input, output, rowStride);
  }
}

/**
 * A new engine with its own heap. 'auto' picks WebAssembly SIMD128 when `hasWasmSimd128()`,
 * else the TypeScript reference; asking for 'wasm-simd128' where it is missing throws.
 */
export function createInt8Engine(options: Int8EngineOptions = {}): Int8Engine {
  const initial = options.initialBytes ?? 1 << 20;
  const maximum = options.maximumBytes ?? 2 ** 31;
  const want = options.backend ?? 'auto';
  if (want === 'typescript') return new TypeScriptInt8Engine(initial, maximum);
  if (!hasWasmSimd128()) {
    if (want === 'wasm-simd128') throw new UnsupportedError('This runtime does not support WebAssembly SIMD128, which the int8 engine needs; use the TypeScript backend.');
    return new TypeScriptInt8Engine(initial, maximum);
  }
  return new WasmInt8Engine(initial, maximum, options.module ?? engineModule());
}
