/**
 * QuantLab inference benchmark: images/s, one thread, batch 1 (and 64), the same inputs for
 * every engine, on
 *   (a) the seed's MNIST net and (b) a MobileNet-v1-style net (96×96×3, width 0.25),
 * built here as float IR graphs with seeded weights, quantized post-training (bench/quantize.ts),
 * with ONNX (float32, QDQ int8×int8, QDQ uint8×int8) and TensorFlow.js twins.
 *
 * Engines:
 *   ort-*           onnxruntime-node, intraOpNumThreads 1, all graph optimizations
 *   tfjs-wasm       TensorFlow.js, wasm backend, 1 thread, fused ops
 *   quantlab-float32          the QuantLab interpreter (src/core/runtime/interpreter.ts) on the float graph
 *   quantlab-int8             the headline: the QuantLab interpreter on the int8 graph, its int8
 *                             kernels on the WASM SIMD128 engine (src/core/runtime/wasm), rounding
 *                             'xnnpack' (what TFLite + XNNPACK does: float requantization where
 *                             XNNPACK takes the op, the builtin kernel's rounding where it declines,
 *                             per-channel FULLY_CONNECTED), as a user's `quantlab run`/`eval` runs it
 *   quantlab-int8-<rounding>  the same in 'double-rounding' and 'single-rounding'
 *   quantlab-int8-engine-only the engine called layer by layer with no interpreter around it
 *                             (bench/engine-net.ts): what the interpreter's own work costs
 *   quantlab-int8-ts          the interpreter on its TypeScript int8 kernels (int8Backend 'typescript')
 *
 *   npx tsx bench/index.ts [--json] [--quick] [--gemm] [--net mnist|mobilenet]
 *
 * Figures are medians over interleaved rounds (bench/timing.ts); ratios are QuantLab ÷ other,
 * taken per round, then the median. The headline ratios (the `ratios` field) come from duels:
 * QuantLab int8 and one other engine alternate 100 ms slices, 30 pairs, median of the pair
 * ratios, which a machine whose speed drifts (shared cores) disturbs far less than rounds of
 * ten engines. The machine may be shared: compare ratios, not absolutes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { RoundingMode } from '../src/core/runtime/kernel';
import { Interpreter } from '../src/core/runtime/interpreter';
import { createInt8Engine } from '../src/core/runtime/wasm/engine';
import { EngineInt8Net } from './engine-net';
import { gemmTable, runGemmBench, type GemmResult } from './gemm';
import type { NetSpec } from './models';
import { floatGraph, inputs, mnistNet, mobilenetNet, toNchw } from './models';
import { nodeTypes, onnxFloat, onnxQdq } from './onnx-models';
import { int8Graph, quantizeNet } from './quantize';
import { tfjsNet, tfjsThreads, useTfjsWasm } from './tfjs-models';
import { compete, duel, roundRatio, type Contender, type Figures } from './timing';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const QUICK = args.includes('--quick');
const WITH_GEMM = args.includes('--gemm');
const ONLY = args.includes('--net') ? args[args.indexOf('--net') + 1] : null;
const log = (s: string) => {
  if (!JSON_OUT) console.log(s);
};

/** The QuantLab int8 figure the ratios are about: XNNPACK's float requantization, as ORT's. */
const HEADLINE: RoundingMode = 'xnnpack';
const ROUNDINGS: RoundingMode[] = ['xnnpack', 'double-rounding', 'single-rounding'];
/** The interpreter-on-the-engine row of a rounding mode. */
const int8Key = (rounding: RoundingMode): string => (rounding === HEADLINE ? 'quantlab-int8' : `quantlab-int8-${rounding}`);

interface Runner {
  run: () => void | Promise<void>;
  /** Output of the last run, float logits (batch × classes). */
  read: () => Float32Array | Promise<Float32Array>;
  dispose?: () => void;
}

interface EngineDef {
  key: string;
  label: string;
  precision: 'float32' | 'int8';
  /** Skip at batch 64 (too slow to be worth the time). */
  batch1Only?: boolean;
  make: (batch: number, x: Float32Array) => Promise<Runner>;
}

const SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 };

function ortEngine(net: NetSpec, key: string, label: string, precision: 'float32' | 'int8', model: Uint8Array): EngineDef {
  return {
    key, label, precision,
    make: async (batch, x) => {
      const session = await ort.InferenceSession.create(model, SESSION);
      const [h, w, c] = net.inputShape;
      const feeds = { input: new ort.Tensor('float32', toNchw(net, x, batch), [batch, c, h, w]) };
      let last: Float32Array = new Float32Array(0);
      return {
        run: async () => {
          const r = await session.run(feeds);
          last = r.output.data as Float32Array;
        },
        read: () => last,
        dispose: () => void session.release(),
      };
    },
  };
}

function enginesFor(net: NetSpec): { defs: EngineDef[]; ortOps: Record<string, Record<string, number>> } {
  const q = quantizeNet(net, 16);
  const models = { float32: onnxFloat(net), int8: onnxQdq(q, 'int8'), u8s8: onnxQdq(q, 'uint8') };
  const ortOps: Record<string, Record<string, number>> = {};
  const defs: EngineDef[] = [
    ortEngine(net, 'ort-int8', 'onnxruntime-node QDQ int8×int8', 'int8', models.int8),
    ortEngine(net, 'ort-u8s8', 'onnxruntime-node QDQ uint8×int8', 'int8', models.u8s8),
    ortEngine(net, 'ort-float32', 'onnxruntime-node float32', 'float32', models.float32),
    {
      key: 'tfjs-wasm', label: 'TensorFlow.js wasm float32', precision: 'float32',
      make: async (batch, x) => {
        await useTfjsWasm();
        const m = tfjsNet(net, x, batch);
        let last: Float32Array = new Float32Array(0);
        return { run: () => void (last = m.run()), read: () => last, dispose: () => m.dispose() };
      },
    },
    {
      key: 'quantlab-float32', label: 'QuantLab interpreter float32', precision: 'float32',
      make: async (batch, x) => {
        const it = Interpreter.prepare(floatGraph(net, batch));
        let last: Float32Array = new Float32Array(0);
        return { run: () => void (last = it.run([x]).outputs[0] as Float32Array), read: () => last };
      },
    },
    {
      key: 'quantlab-int8-ts', label: `QuantLab interpreter int8, TS kernels (${HEADLINE})`, precision: 'int8', batch1Only: true,
      make: async (batch, x) => {
        const it = Interpreter.prepare(int8Graph(q, batch), { rounding: HEADLINE, int8Backend: 'typescript' });
        let last: Float32Array = new Float32Array(0);
        return { run: () => void (last = it.run([x]).outputs[0] as Float32Array), read: () => last };
      },
    },
    ...ROUNDINGS.map((rounding): EngineDef => ({
      key: int8Key(rounding),
      label: `QuantLab interpreter int8, WASM engine (${rounding})`,
      precision: 'int8',
      batch1Only: rounding !== HEADLINE,
      make: async (batch, x) => {
        const it = Interpreter.prepare(int8Graph(q, batch), { rounding, int8Backend: 'wasm' });
        let last: Float32Array = new Float32Array(0);
        return { run: () => void (last = it.run([x]).outputs[0] as Float32Array), read: () => last };
      },
    })),
    {
      key: 'quantlab-int8-engine-only', label: `QuantLab WASM engine alone, no interpreter (${HEADLINE})`, precision: 'int8',
      make: async (batch, x) => {
        const m = new EngineInt8Net(createInt8Engine({ backend: 'wasm-simd128' }), q, HEADLINE, batch);
        m.input.set(x);
        return { run: () => m.run(), read: () => m.output.slice() };
      },
    },
  ];
  // what ORT actually runs after its graph optimizations
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-bench-'));
  const optimize = async (name: string, bytes: Uint8Array) => {
    const file = path.join(dir, `${name}.onnx`);
    const s = await ort.InferenceSession.create(bytes, { ...SESSION, optimizedModelFilePath: file });
    await s.release();
    ortOps[name] = nodeTypes(fs.readFileSync(file));
  };
  const pending = Promise.all(Object.entries(models).map(([k, b]) => optimize(k, b))).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
  (defs as unknown as { pending: Promise<unknown> }).pending = pending;
  return { defs, ortOps };
}

interface Check {
  /** max |Δ| of the logits against the QuantLab float interpreter. */
  maxAbsVsFloat: number;
  /** share of images whose top-1 class equals the float interpreter's. */
  top1AgreementVsFloat: number;
  /** QuantLab int8 rows: outputs differing from the interpreter on its TypeScript int8 kernels, same rounding (16 images). */
  differingFromTsKernels?: number;
}

async function checks(net: NetSpec, defs: EngineDef[], count: number): Promise<Record<string, Check>> {
  const x = inputs(net, count, 2024);
  const outs: Record<string, Float32Array> = {};
  for (const d of defs) {
    const r = await d.make(count, x);
    await r.run();
    outs[d.key] = Float32Array.from(await r.read());
    r.dispose?.();
  }
  const ref = outs['quantlab-float32'];
  const classes = ref.length / count;
  const argmax = (v: Float32Array, i: number) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (v[i * classes + k] > v[i * classes + best]) best = k;
    return best;
  };
  const result: Record<string, Check> = {};
  for (const d of defs) {
    const o = outs[d.key];
    let maxAbs = 0;
    for (let i = 0; i < o.length; i++) maxAbs = Math.max(maxAbs, Math.abs(o[i] - ref[i]));
    let agree = 0;
    for (let i = 0; i < count; i++) if (argmax(o, i) === argmax(ref, i)) agree++;
    result[d.key] = { maxAbsVsFloat: maxAbs, top1AgreementVsFloat: agree / count };
  }
  // every WASM-engine row against the interpreter on its TypeScript int8 kernels, same rounding
  const q = quantizeNet(net, 16);
  for (const rounding of ROUNDINGS) {
    const ts = Interpreter.prepare(int8Graph(q, count), { rounding, int8Backend: 'typescript' }).run([x]).outputs[0] as Float32Array;
    const keys = rounding === HEADLINE ? [int8Key(rounding), 'quantlab-int8-engine-only'] : [int8Key(rounding)];
    for (const key of keys) {
      let differ = 0;
      for (let i = 0; i < ts.length; i++) if (ts[i] !== outs[key][i]) differ++;
      result[key].differingFromTsKernels = differ;
    }
  }
  return result;
}

interface NetResult {
  name: string;
  batch1: Record<string, { imagesPerSecond: number; imagesPerCpuSecond: number }>;
  batch64: Record<string, { imagesPerSecond: number; imagesPerCpuSecond: number }>;
  ratiosBatch1: Record<string, number>;
  ratiosBatch64: Record<string, number>;
  /** The headline ratios at batch 1 from duels (timing.ts duel): median of per-pair ratios, and every pair's ratio. */
  duelsBatch1: Record<string, { ratio: number; ratios: number[] }>;
  /** Batch 1 ratios of the interpreter on the engine in each rounding mode. */
  ratiosBatch1ByRounding: Record<string, Record<string, number>>;
  checks: Record<string, Check>;
  ortOptimizedOps: Record<string, Record<string, number>>;
}

const RATIO_PAIRS: [string, string][] = [
  ['quantlabVsOrtInt8', 'ort-int8'],
  ['quantlabVsOrtU8S8', 'ort-u8s8'],
  ['quantlabVsTfjsWasm', 'tfjs-wasm'],
  ['quantlabVsOrtFloat32', 'ort-float32'],
  ['quantlabVsQuantlabFloat32', 'quantlab-float32'],
  ['quantlabVsTsKernels', 'quantlab-int8-ts'],
  ['quantlabVsEngineOnly', 'quantlab-int8-engine-only'],
];

async function timeAt(net: NetSpec, defs: EngineDef[], batch: number): Promise<Map<string, Figures>> {
  const x = inputs(net, batch, 77);
  const runners: Runner[] = [];
  const contenders: Contender[] = [];
  for (const d of defs) {
    if (batch > 1 && d.batch1Only) continue;
    const r = await d.make(batch, x);
    runners.push(r);
    contenders.push({ name: d.key, run: r.run, units: batch });
  }
  const big = net.name.startsWith('mobilenet');
  const figures = await compete(contenders, {
    rounds: QUICK ? 3 : 7,
    sliceMs: (QUICK ? 100 : 250) * (batch > 1 ? 2 : 1) * (big ? 1.5 : 1),
    warmupMs: QUICK ? 150 : 400,
  });
  for (const r of runners) r.dispose?.();
  return figures;
}

const DUELS: [string, string][] = [
  ['quantlabVsOrtInt8', 'ort-int8'],
  ['quantlabVsOrtU8S8', 'ort-u8s8'],
  ['quantlabVsTfjsWasm', 'tfjs-wasm'],
];

/** The headline ratios, each from its own duel of QuantLab int8 against one engine, batch 1. */
async function duels(net: NetSpec, defs: EngineDef[]): Promise<Record<string, { ratio: number; ratios: number[] }>> {
  const x = inputs(net, 1, 77);
  const byKey = new Map(defs.map((d) => [d.key, d]));
  const q = await byKey.get(int8Key(HEADLINE))!.make(1, x);
  const out: Record<string, { ratio: number; ratios: number[] }> = {};
  for (const [name, other] of DUELS) {
    const r = await byKey.get(other)!.make(1, x);
    out[name] = await duel({ name: 'quantlab', run: q.run, units: 1 }, { name: other, run: r.run, units: 1 }, { pairs: QUICK ? 6 : 30, sliceMs: QUICK ? 60 : 100, warmupMs: QUICK ? 100 : 300 });
    r.dispose?.();
  }
  q.dispose?.();
  return out;
}

function ratios(f: Map<string, Figures>, quantlabKey = int8Key(HEADLINE)): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, b] of RATIO_PAIRS) if (f.has(quantlabKey) && f.has(b)) out[k] = roundRatio(f.get(quantlabKey)!, f.get(b)!);
  return out;
}

async function benchNet(net: NetSpec): Promise<NetResult> {
  log(`\n## ${net.name}: building, quantizing, writing ONNX twins…`);
  const { defs, ortOps } = enginesFor(net);
  await (defs as unknown as { pending: Promise<unknown> }).pending;
  const chk = await checks(net, defs, 16);
  log('   timing batch 1…');
  const b1 = await timeAt(net, defs, 1);
  log('   timing batch 64…');
  const b64 = await timeAt(net, defs, 64);
  log('   duels at batch 1…');
  const duelsBatch1 = await duels(net, defs);
  const fig = (m: Map<string, Figures>) => Object.fromEntries([...m].map(([k, f]) => [k, { imagesPerSecond: f.perSecond, imagesPerCpuSecond: f.perCpuSecond }]));
  const byRounding = Object.fromEntries(ROUNDINGS.map((m) => [m, ratios(b1, int8Key(m))]));
  const res: NetResult = { name: net.name, batch1: fig(b1), batch64: fig(b64), ratiosBatch1: ratios(b1), ratiosBatch64: ratios(b64), duelsBatch1, ratiosBatch1ByRounding: byRounding, checks: chk, ortOptimizedOps: ortOps };
  if (!JSON_OUT) printNet(res, defs);
  return res;
}

function fmt(v: number | undefined, digits = 0): string {
  if (v === undefined) return '–';
  return v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

function printNet(r: NetResult, defs: EngineDef[]): void {
  const head = ['engine', 'precision', 'img/s b1', 'img/s b64', 'img/CPU-s b1', 'max|Δ| vs float', 'top-1 = float'];
  const rows = defs.map((d) => [
    d.label, d.precision,
    fmt(r.batch1[d.key]?.imagesPerSecond), fmt(r.batch64[d.key]?.imagesPerSecond), fmt(r.batch1[d.key]?.imagesPerCpuSecond),
    r.checks[d.key].maxAbsVsFloat.toExponential(1), `${Math.round(r.checks[d.key].top1AgreementVsFloat * 100)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  console.log(`\n### ${r.name} (1 thread; medians of interleaved rounds)\n`);
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  const rb = (x: Record<string, number>) => Object.entries(x).map(([k, v]) => `${k} ${v.toFixed(2)}×`).join(', ');
  console.log(`\nheadline ratios, batch 1, from duels (alternating 100 ms slices, median of ${Object.values(r.duelsBatch1)[0]?.ratios.length ?? 0} pairs): ${Object.entries(r.duelsBatch1).map(([k, d]) => `${k} ${d.ratio.toFixed(2)}× (pairs ${Math.min(...d.ratios).toFixed(2)}–${Math.max(...d.ratios).toFixed(2)})`).join(', ')}`);
  console.log(`ratios batch 1 from the rounds (QuantLab int8 ÷ other): ${rb(r.ratiosBatch1)}`);
  console.log(`ratios batch 64: ${rb(r.ratiosBatch64)}`);
  for (const [m, x] of Object.entries(r.ratiosBatch1ByRounding)) if (m !== HEADLINE) console.log(`ratios batch 1, ${m}: ${rb(x)}`);
  const exact = [...ROUNDINGS.map(int8Key), 'quantlab-int8-engine-only'].map((k) => `${k}: ${r.checks[k].differingFromTsKernels}`).join(', ');
  console.log(`outputs differing from the interpreter on its TypeScript int8 kernels (16 images): ${exact}`);
  console.log(`ORT ran: ${Object.entries(r.ortOptimizedOps).map(([k, v]) => `${k}: ${Object.entries(v).map(([op, n]) => `${op}×${n}`).join(' ')}`).join(' | ')}`);
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = os.loadavg();
  const nets = [mnistNet(), mobilenetNet()].filter((n) => !ONLY || n.name.startsWith(ONLY));
  const results: NetResult[] = [];
  for (const net of nets) results.push(await benchNet(net));
  let gemm: GemmResult[] | undefined;
  if (WITH_GEMM) {
    log('\n## int8 GEMM microbenchmark');
    gemm = await runGemmBench({ quick: QUICK });
    log(`\nGOPS (2·M·N·K/s), 1 thread:\n${gemmTable(gemm)}`);
  }
  const mobilenet = results.find((r) => r.name.startsWith('mobilenet'));
  const summary = {
    date: started.toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown', logicalCpus: os.cpus().length, node: process.versions.node, v8: process.versions.v8,
      onnxruntime: ort.env.versions?.common ?? 'unknown', tfjsThreads: tfjsThreads(), loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg(),
    },
    headlineRounding: HEADLINE,
    headline: 'quantlab-int8 = the QuantLab interpreter (src/core/runtime/interpreter.ts) with its int8 kernels on the WASM SIMD128 engine',
    ratiosMethod: 'MobileNet-style net, 1 thread, batch 1: QuantLab int8 (the interpreter, xnnpack rounding) in a duel with each engine (alternating 100 ms slices, median of the pair ratios); the rounds figures are in nets[].ratiosBatch1',
    ratios: mobilenet ? { quantlabVsOrtInt8: mobilenet.duelsBatch1.quantlabVsOrtInt8.ratio, quantlabVsOrtU8S8: mobilenet.duelsBatch1.quantlabVsOrtU8S8.ratio, quantlabVsTfjsWasm: mobilenet.duelsBatch1.quantlabVsTfjsWasm.ratio } : null,
    nets: results,
    ...(gemm ? { gemm } : {}),
  };
  if (JSON_OUT) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(`\nMobileNet, batch 1, QuantLab int8 interpreter (${HEADLINE}) vs: ${JSON.stringify(summary.ratios)}`);
    console.log(`machine: ${summary.machine.cpu}, ${summary.machine.logicalCpus} logical CPUs, Node ${summary.machine.node}; load average ${loadBefore.map((v) => v.toFixed(1)).join('/')} → ${summary.machine.loadAverageAfter.map((v) => v.toFixed(1)).join('/')}`);
  }
}

await main();
