/**
 * int8 GEMM microbenchmark, one thread: GOPS (2·M·N·K per second) of
 *   - QuantLab's WASM SIMD128 engine (int8 out, per-channel requantization fused),
 *   - the scalar TypeScript reference (the fallback),
 *   - onnxruntime-node MatMulInteger int8×int8 and uint8×int8 (int32 out, no requantization).
 * Shapes: a square one, the pointwise convolutions of the MobileNet-style net, its classifier.
 *
 *   npx tsx bench/gemm.ts [--json] [--quick]
 */
import * as ort from 'onnxruntime-node';
import type { RoundingMode } from '../src/core/runtime/kernel';
import { createInt8Engine } from '../src/core/runtime/wasm/engine';
import { referenceGemm } from '../src/core/runtime/wasm/reference';
import type { Requantization } from '../src/core/runtime/wasm/spec';
import { expandRequantization } from '../src/core/runtime/wasm/spec';
import { encodeModel } from './onnx-writer';
import { compete, type Contender } from './timing';

export interface GemmShape {
  name: string;
  m: number;
  n: number;
  k: number;
}

export const GEMM_SHAPES: GemmShape[] = [
  { name: 'square 256', m: 256, n: 256, k: 256 },
  { name: 'deep 64x64x1024', m: 64, n: 64, k: 1024 },
  { name: 'mobilenet pw 48² 8→16', m: 2304, n: 16, k: 8 },
  { name: 'mobilenet pw 24² 32→32', m: 576, n: 32, k: 32 },
  { name: 'mobilenet pw 12² 64→64', m: 144, n: 64, k: 64 },
  { name: 'mobilenet pw 6² 128→128', m: 36, n: 128, k: 128 },
  { name: 'mobilenet pw 3² 256→256', m: 9, n: 256, k: 256 },
  { name: 'classifier 1×256→1000', m: 1, n: 1000, k: 256 },
];

export interface GemmResult {
  shape: GemmShape;
  /** GOPS by engine name (wall clock, median of rounds). */
  gops: Record<string, number>;
  gopsCpu: Record<string, number>;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function requantFor(mode: RoundingMode, n: number, r: () => number): Requantization {
  const reals = Array.from({ length: n }, () => (0.5 + r() * 0.5) * 2 ** -(8 + Math.floor(r() * 4)));
  if (mode === 'xnnpack') return { rounding: mode, scale: reals, outputZeroPoint: -3, outputMin: -128, outputMax: 127 };
  const mult: number[] = [];
  const shift: number[] = [];
  for (const x of reals) {
    const e = Math.floor(Math.log2(x)) + 1;
    mult.push(Math.min(2 ** 31 - 1, Math.round(x * 2 ** (31 - e))));
    shift.push(e);
  }
  return { rounding: mode, multiplier: mult, shift, outputZeroPoint: -3, outputMin: -128, outputMax: 127 };
}

async function ortMatMulInteger(shape: GemmShape, aType: 'int8' | 'uint8', w: Int8Array, a: Int8Array): Promise<() => Promise<void>> {
  // ONNX B is [K, N]
  const bKN = new Int8Array(shape.k * shape.n);
  for (let j = 0; j < shape.n; j++) for (let kk = 0; kk < shape.k; kk++) bKN[kk * shape.n + j] = w[j * shape.k + kk];
  const zp = aType === 'int8' ? new Int8Array([3]) : new Uint8Array([131]);
  const bytes = encodeModel({
    name: 'mmi',
    inputs: [{ name: 'A', type: aType, dims: [shape.m, shape.k] }],
    outputs: [{ name: 'Y', type: 'int32', dims: [shape.m, shape.n] }],
    nodes: [{ op: 'MatMulInteger', inputs: ['A', 'B', 'a_zp'], outputs: ['Y'] }],
    initializers: [
      { name: 'B', type: 'int8', dims: [shape.k, shape.n], data: bKN },
      { name: 'a_zp', type: aType, dims: [], data: zp },
    ],
  });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const data = aType === 'int8' ? a : new Uint8Array(a.buffer, a.byteOffset, a.length);
  const feeds = { A: new ort.Tensor(aType, data, [shape.m, shape.k]) };
  return async () => {
    await session.run(feeds);
  };
}

export async function runGemmBench(opts: { quick?: boolean; log?: (s: string) => void } = {}): Promise<GemmResult[]> {
  const log = opts.log ?? (() => undefined);
  const engine = createInt8Engine({ backend: 'wasm-simd128', initialBytes: 16 << 20 });
  const results: GemmResult[] = [];
  for (const shape of GEMM_SHAPES) {
    const r = lcg(shape.m * 7 + shape.n * 13 + shape.k);
    const w = new Int8Array(shape.n * shape.k).map(() => Math.floor(r() * 255) - 127);
    const bias = new Int32Array(shape.n).map(() => Math.floor(r() * 20000) - 10000);
    const aData = new Int8Array(shape.m * shape.k).map(() => Math.floor(r() * 256) - 128);
    const ops = 2 * shape.m * shape.n * shape.k;
    const contenders: Contender[] = [];
    const mark = engine.mark();
    const modes: RoundingMode[] = shape.name === 'square 256' || shape.name.includes('8→16') ? ['double-rounding', 'single-rounding', 'xnnpack'] : ['double-rounding'];
    const plans = modes.map((mode) => ({ mode, plan: engine.prepareGemm({ weights: w, outputs: shape.n, depth: shape.k, bias, inputZeroPoint: 3, requant: requantFor(mode, shape.n, r) }) }));
    const a = engine.allocInt8(aData.length);
    const c = engine.allocInt8(shape.m * shape.n);
    const aView = engine.int8View(a.byteOffset, a.length);
    const cView = engine.int8View(c.byteOffset, c.length);
    aView.set(aData);
    for (const { mode, plan } of plans) {
      contenders.push({ name: `quantlab-wasm ${mode}`, units: ops, run: () => engine.gemm(plan, aView, shape.m, shape.k, cView, shape.n) });
    }
    if (shape.m * shape.n * shape.k <= 300_000 || shape.name === 'square 256') {
      const params = expandRequantization('ref', requantFor('double-rounding', shape.n, r), shape.n);
      const out = new Int8Array(shape.m * shape.n);
      const rw = { weights: w, bias, inputZeroPoint: 3, params };
      contenders.push({ name: 'typescript-reference', units: ops, run: () => referenceGemm(rw, shape.n, shape.k, aData, shape.m, shape.k, out, shape.n) });
    }
    contenders.push({ name: 'ort MatMulInteger s8s8 (int32 out)', units: ops, run: await ortMatMulInteger(shape, 'int8', w, aData) });
    contenders.push({ name: 'ort MatMulInteger u8s8 (int32 out)', units: ops, run: await ortMatMulInteger(shape, 'uint8', w, aData) });
    const figures = await compete(contenders, { rounds: opts.quick ? 3 : 7, sliceMs: opts.quick ? 60 : 150, warmupMs: 100 });
    const gops: Record<string, number> = {};
    const gopsCpu: Record<string, number> = {};
    for (const [name, f] of figures) {
      gops[name] = f.perSecond / 1e9;
      gopsCpu[name] = f.perCpuSecond / 1e9;
    }
    results.push({ shape, gops, gopsCpu });
    log(`${shape.name.padEnd(28)} ${Object.entries(gops).map(([k, v]) => `${k}: ${v.toFixed(1)}`).join(' | ')}`);
    engine.release(mark);
  }
  return results;
}

export function gemmTable(results: GemmResult[]): string {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.gops)))];
  const head = ['shape (M×N×K)', ...names];
  const rows = results.map((r) => [`${r.shape.name} (${r.shape.m}×${r.shape.n}×${r.shape.k})`, ...names.map((n) => (r.gops[n] === undefined ? '–' : r.gops[n].toFixed(1)))]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '');
if (isMain) {
  const json = process.argv.includes('--json');
  const results = await runGemmBench({ quick: process.argv.includes('--quick'), log: json ? undefined : (s) => console.log(s) });
  if (json) console.log(JSON.stringify({ gemm: results }, null, 2));
  else console.log(`\nGOPS (2·M·N·K/s), 1 thread, median of rounds:\n${gemmTable(results)}`);
}
