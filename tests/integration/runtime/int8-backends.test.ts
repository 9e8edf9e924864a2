/**
 * The interpreter's two int8 paths give identical codes: `int8Backend: 'wasm'` (the WebAssembly
 * SIMD128 engine, src/core/runtime/wasm) and `int8Backend: 'typescript'` (the scalar kernels),
 * on seeded random CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, pools, QUANTIZE and DEQUANTIZE
 * cases (strides, padding, dilation, per-channel and per-tensor weights, fused activations,
 * power-of-two multipliers where the roundings part) in all three rounding modes, and on the
 * bench's two whole networks. The real TFLite interpreter is the judge of the 'xnnpack' mode
 * (what it runs: XNNPACK where the delegate takes the op, its builtin kernel where not).
 * Zero differing elements is the bar. Ops the engine cannot take (depth multiplier > 1,
 * dilated depthwise) must fall back to the TypeScript kernels and still agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputs as netInputs, mnistNet, mobilenetNet } from '../../../bench/models';
import { int8Graph, quantizeNet } from '../../../bench/quantize';
import { writeTflite } from '../../../src/core/formats/tflite/writer';
import type { FusedActivation, Graph, Model, Padding, QuantParams, TensorData } from '../../../src/core/ir/types';
import { Interpreter } from '../../../src/core/runtime/interpreter';
import type { RoundingMode } from '../../../src/core/runtime/kernel';
import type { SingleOpSpec } from '../../helpers/tflite-model';
import { singleOpModel } from '../../helpers/tflite-model';
import type { TfliteOracle } from '../../helpers/tflite-oracle';
import { loadOracle } from '../../helpers/tflite-oracle';
import { pick, randInt, rng, size } from '../../unit/core/runtime/reference';

const MODES: RoundingMode[] = ['double-rounding', 'single-rounding', 'xnnpack'];
const ACTS: FusedActivation[] = ['NONE', 'RELU', 'RELU6', 'RELU_N1_TO_1'];
const PADS: Padding[] = ['SAME', 'VALID'];
const f32 = Math.fround;

let oracle: TfliteOracle;
beforeAll(async () => {
  oracle = await loadOracle();
});

const stats = { cases: 0, elements: 0, onEngine: 0, fellBack: 0, oracle: 0, oracleSkipped: 0 };
afterAll(() => {
  console.log(`int8 backends: ${stats.cases} comparisons (${stats.elements} elements, 0 differing), ${stats.onEngine} ops on the engine, ${stats.fellBack} on the TypeScript kernels; TFLite agreed on ${stats.oracle} cases (${stats.oracleSkipped} left out for the oracle's XNNPACK SAME-padding defect)`);
});

function run(graph: Graph, inputs: TensorData[], rounding: RoundingMode, int8Backend: 'wasm' | 'typescript'): { out: TensorData; it: Interpreter } {
  const it = Interpreter.prepare(graph, { rounding, int8Backend });
  return { out: it.run(inputs).outputs[0], it };
}

function same(what: string, got: TensorData, want: TensorData): void {
  const a = got as ArrayLike<number>;
  const b = want as ArrayLike<number>;
  expect(a.length, `${what}: length`).toBe(b.length);
  let differ = 0;
  const first: string[] = [];
  for (let i = 0; i < b.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      differ++;
      if (first.length < 5) first.push(`[${i}] ${a[i]} ≠ ${b[i]}`);
    }
  }
  expect(differ, `${what}: ${differ} of ${b.length} differ: ${first.join(', ')}`).toBe(0);
  stats.cases++;
  stats.elements += b.length;
}

/**
 * Both backends in every mode, equal; the op on the engine exactly when `engine` says so; the
 * 'xnnpack' result equal to TFLite's unless `skipOracle`.
 */
function check(label: string, model: Model, inputs: TensorData[], engine: boolean, skipOracle = false): void {
  const graph = model.subgraphs[0];
  for (const mode of MODES) {
    const wasm = run(graph, inputs, mode, 'wasm');
    const ts = run(graph, inputs, mode, 'typescript');
    expect(wasm.it.usesInt8Engine(0), `${label} (${mode}) on the engine`).toBe(engine);
    expect(ts.it.usesInt8Engine(0)).toBe(false);
    same(`${label} (${mode})`, wasm.out, ts.out);
    if (engine) stats.onEngine++;
    else stats.fellBack++;
    if (mode === 'xnnpack') {
      if (skipOracle) stats.oracleSkipped++;
      else {
        same(`${label} vs TFLite`, wasm.out, oracle.run(writeTflite(model), inputs).outputs[0]);
        stats.oracle++;
      }
    }
  }
}

function randQ(r: () => number, n: number, lo = -128, hi = 127): Int8Array {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = randInt(r, lo, hi);
  return a;
}

const perTensor = (scale: number, zeroPoint: number): QuantParams => ({ scale: [scale], zeroPoint: [zeroPoint] });
const perAxis = (scales: number[], axis: number): QuantParams => ({ scale: scales, zeroPoint: scales.map(() => 0), axis });

/** A float32 scale in [lo, hi]; a power of two when `ties`. */
function scaleOf(r: () => number, ties: boolean, lo: number, hi: number): number {
  if (ties) return 2 ** -randInt(r, Math.ceil(-Math.log2(hi)), Math.floor(-Math.log2(lo)));
  return f32(lo * (hi / lo) ** r());
}

/** The oracle's XNNPACK computes some SAME-padded windows wrongly (int8-kernels.test.ts documents it). */
function samePaddingDefect(padding: Padding, xs: number[], kH: number, kW: number, sH: number, sW: number, dH: number, dW: number): boolean {
  if (padding !== 'SAME') return false;
  const need = (n: number, k: number, st: number, d: number) => (Math.ceil(n / st) - 1) * st + (k - 1) * d + 1 - n;
  return need(xs[1], kH, sH, dH) < 0 || need(xs[2], kW, sW, dW) < 0;
}

interface ConvDraw {
  xs: number[];
  ws: number[];
  padding: Padding;
  sH: number;
  sW: number;
  dH: number;
  dW: number;
  act: FusedActivation;
  perChannel: boolean;
  ties: boolean;
}

function convModel(type: 'CONV_2D' | 'DEPTHWISE_CONV_2D', r: () => number, d: ConvDraw): { model: Model; x: Int8Array } {
  const depthwise = type === 'DEPTHWISE_CONV_2D';
  const outC = depthwise ? d.ws[3] : d.ws[0];
  const si = scaleOf(r, d.ties, 1 / 256, 1 / 16);
  const sw = Array.from({ length: d.perChannel ? outC : 1 }, () => scaleOf(r, d.ties, 1 / 512, 1 / 32));
  const taps = depthwise ? d.ws[1] * d.ws[2] : d.ws[1] * d.ws[2] * d.ws[3];
  const xRange = d.ties ? 24 : 127;
  const accStd = Math.sqrt(taps) * (xRange / 1.7) * (d.ties ? 15 : 73);
  const maxSw = Math.max(...sw);
  const so = d.ties ? 2 ** Math.round(Math.log2((si * maxSw * accStd) / 40)) : f32(((si * maxSw * accStd) / 40) * (0.5 + r()));
  const zi = d.ties ? randInt(r, -4, 4) : randInt(r, -100, 100);
  const w = randQ(r, size(d.ws), d.ties ? -15 : -127, d.ties ? 15 : 127);
  const bias = Int32Array.from({ length: outC }, () => randInt(r, -Math.round(accStd), Math.round(accStd)));
  const wq = d.perChannel ? perAxis(sw, depthwise ? 3 : 0) : perTensor(sw[0], 0);
  const bq: QuantParams = { scale: sw.map((s) => si * s), zeroPoint: sw.map(() => 0), ...(d.perChannel ? { axis: 0 } : {}) };
  const conv = { padding: d.padding, strideH: d.sH, strideW: d.sW, dilationHFactor: d.dH, dilationWFactor: d.dW, fusedActivationFunction: d.act };
  const inputs = [
    { dtype: 'int8' as const, shape: d.xs, quant: perTensor(si, zi) },
    { dtype: 'int8' as const, shape: d.ws, data: w, quant: wq },
    { dtype: 'int32' as const, shape: [outC], data: bias, quant: bq },
  ];
  const outputs = [{ dtype: 'int8' as const, quant: perTensor(so, randInt(r, -60, 60)) }];
  const spec: SingleOpSpec = depthwise
    ? { type, options: { ...conv, depthMultiplier: d.ws[3] / d.xs[3] }, inputs, outputs }
    : { type, options: conv, inputs, outputs };
  return { model: singleOpModel(spec), x: randQ(r, size(d.xs), d.ties ? -xRange : -128, d.ties ? xRange : 127) };
}

function fitPadding(padding: Padding, xs: number[], kH: number, kW: number, dH: number, dW: number): Padding {
  return padding === 'VALID' && ((kH - 1) * dH + 1 > xs[1] || (kW - 1) * dW + 1 > xs[2]) ? 'SAME' : padding;
}

describe('CONV_2D int8: engine === TypeScript kernels (=== TFLite)', () => {
  for (let seed = 1; seed <= 16; seed++) {
    // seeds 13–16: 1×1 stride 1 (the direct GEMM path)
    const pointwise = seed > 12;
    const ties = seed % 4 === 0;
    it(`seed ${seed}${pointwise ? ' (1×1)' : ''}${ties ? ' (power-of-two multipliers)' : ''}`, () => {
      const r = rng(41000 + seed);
      const xs = [randInt(r, 1, 2), randInt(r, 5, 14), randInt(r, 5, 14), randInt(r, 1, 9)];
      const ws = pointwise ? [randInt(r, 1, 20), 1, 1, xs[3]] : [randInt(r, 1, 17), randInt(r, 1, 5), randInt(r, 1, 5), xs[3]];
      const dH = !pointwise && r() < 0.25 ? 2 : 1;
      const dW = !pointwise && r() < 0.25 ? 2 : 1;
      const sH = pointwise ? 1 : randInt(r, 1, 3);
      const sW = pointwise ? 1 : randInt(r, 1, 3);
      const padding = pointwise ? 'VALID' : fitPadding(pick(r, PADS), xs, ws[1], ws[2], dH, dW);
      const d: ConvDraw = { xs, ws, padding, sH, sW, dH, dW, act: pick(r, ACTS), perChannel: r() < 0.7, ties };
      const { model, x } = convModel('CONV_2D', r, d);
      check(`CONV_2D seed ${seed}`, model, [x], true, samePaddingDefect(padding, xs, ws[1], ws[2], sH, sW, dH, dW));
    });
  }
});

describe('DEPTHWISE_CONV_2D int8: engine === TypeScript kernels (=== TFLite)', () => {
  for (let seed = 1; seed <= 16; seed++) {
    const ties = seed % 4 === 0;
    it(`seed ${seed}${ties ? ' (power-of-two multipliers)' : ''}`, () => {
      const r = rng(42000 + seed);
      const mult = seed > 13 ? 2 : 1; // 14–16: depth multiplier 2 → TypeScript kernel
      const xs = [randInt(r, 1, 2), randInt(r, 5, 14), randInt(r, 5, 14), randInt(r, 1, 20)];
      const k = r() < 0.5 ? 3 : randInt(r, 1, 5);
      const ws = [1, k, r() < 0.8 ? k : randInt(r, 1, 5), xs[3] * mult];
      const dilated = seed === 12 || seed === 13; // dilation → TypeScript kernel
      const dH = dilated ? 2 : 1;
      const dW = dilated ? 2 : 1;
      const sH = randInt(r, 1, 2);
      const sW = randInt(r, 1, 2);
      const padding = fitPadding(pick(r, PADS), xs, ws[1], ws[2], dH, dW);
      const d: ConvDraw = { xs, ws, padding, sH, sW, dH, dW, act: pick(r, ACTS), perChannel: r() < 0.7, ties };
      const { model, x } = convModel('DEPTHWISE_CONV_2D', r, d);
      check(`DEPTHWISE_CONV_2D seed ${seed}`, model, [x], mult === 1 && !dilated, samePaddingDefect(padding, xs, ws[1], ws[2], sH, sW, dH, dW));
    });
  }
});

describe('FULLY_CONNECTED int8: engine === TypeScript kernels (=== TFLite)', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const ties = seed % 4 === 0;
    const perChannel = seed % 3 === 0;
    it(`seed ${seed}${perChannel ? ' per-channel' : ''}${ties ? ' (power-of-two multipliers)' : ''}`, () => {
      const r = rng(43000 + seed);
      const batches = randInt(r, 1, 5);
      const inD = randInt(r, 1, 300);
      const outD = randInt(r, 1, 40);
      const si = scaleOf(r, ties, 1 / 256, 1 / 16);
      const sw = Array.from({ length: perChannel ? outD : 1 }, () => scaleOf(r, ties, 1 / 512, 1 / 32));
      const accStd = Math.sqrt(inD) * 73 * (ties ? 15 : 73);
      const so = ties ? 2 ** Math.round(Math.log2((si * Math.max(...sw) * accStd) / 40)) : f32(((si * Math.max(...sw) * accStd) / 40) * (0.5 + r()));
      const model = singleOpModel({
        type: 'FULLY_CONNECTED',
        options: { fusedActivationFunction: pick(r, ACTS), keepNumDims: false, weightsFormat: 'DEFAULT', asymmetricQuantizeInputs: false },
        inputs: [
          { dtype: 'int8', shape: [batches, inD], quant: perTensor(si, randInt(r, -100, 100)) },
          { dtype: 'int8', shape: [outD, inD], data: randQ(r, outD * inD, ties ? -15 : -127, ties ? 15 : 127), quant: perChannel ? perAxis(sw, 0) : perTensor(sw[0], 0) },
          { dtype: 'int32', shape: [outD], data: Int32Array.from({ length: outD }, () => randInt(r, -accStd, accStd)), quant: { scale: sw.map((s) => si * s), zeroPoint: sw.map(() => 0), ...(perChannel ? { axis: 0 } : {}) } },
        ],
        outputs: [{ dtype: 'int8', quant: perTensor(so, randInt(r, -60, 60)) }],
      });
      check(`FULLY_CONNECTED seed ${seed}`, model, [randQ(r, batches * inD)], true);
    });
  }
});

describe('pools int8: engine === TypeScript kernels (=== TFLite)', () => {
  for (const type of ['MAX_POOL_2D', 'AVERAGE_POOL_2D'] as const) {
    for (let seed = 1; seed <= 8; seed++) {
      it(`${type} seed ${seed}`, () => {
        const r = rng(44000 + seed + (type === 'MAX_POOL_2D' ? 100 : 0));
        const xs = [randInt(r, 1, 2), randInt(r, 4, 13), randInt(r, 4, 13), randInt(r, 1, 20)];
        const q = perTensor(seed > 4 ? 2 ** -randInt(r, 3, 6) : scaleOf(r, false, 1 / 64, 1 / 8), randInt(r, -60, 60));
        const options = { padding: pick(r, PADS), strideH: randInt(r, 1, 3), strideW: randInt(r, 1, 3), filterHeight: randInt(r, 1, 4), filterWidth: randInt(r, 1, 4), fusedActivationFunction: pick(r, ACTS) };
        const model = singleOpModel({ type, options, inputs: [{ dtype: 'int8', shape: xs, quant: q }], outputs: [{ dtype: 'int8', quant: q }] });
        check(`${type} seed ${seed}`, model, [randQ(r, size(xs))], true);
      });
    }
  }
});

describe('QUANTIZE float32 → int8 and DEQUANTIZE int8 → float32: engine === TypeScript kernels (=== TFLite)', () => {
  for (let seed = 1; seed <= 6; seed++) {
    it(`seed ${seed}`, () => {
      const r = rng(45000 + seed);
      const n = randInt(r, 1, 700);
      const scale = seed % 2 === 0 ? 2 ** -randInt(r, 2, 8) : scaleOf(r, false, 1 / 200, 1 / 3);
      const zp = randInt(r, -128, 127);
      // ties (x / S = k + ½), values beyond the range, ±0
      const x = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? f32((randInt(r, -140, 140) + 0.5) * scale) : i % 11 === 0 ? f32((r() - 0.5) * 600 * scale) : i % 13 === 0 ? -0 : f32((r() - 0.5) * 300 * scale)));
      const q = singleOpModel({ type: 'QUANTIZE', options: {}, inputs: [{ dtype: 'float32', shape: [1, n] }], outputs: [{ dtype: 'int8', quant: perTensor(scale, zp) }] });
      check(`QUANTIZE seed ${seed}`, q, [x], true);
      const dq = singleOpModel({ type: 'DEQUANTIZE', options: {}, inputs: [{ dtype: 'int8', shape: [1, n], quant: perTensor(scale, zp) }], outputs: [{ dtype: 'float32' }] });
      check(`DEQUANTIZE seed ${seed}`, dq, [randQ(r, n)], true);
    });
  }
});

describe('whole int8 networks: engine === TypeScript kernels (=== TFLite)', () => {
  for (const [name, make] of [['MNIST example', () => mnistNet(7)], ['MobileNet-v1-style 96×96 ×0.25', () => mobilenetNet(8)]] as const) {
    it(name, () => {
      const net = make();
      const q = quantizeNet(net, 4);
      for (const batch of [1, 2]) {
        const graph = int8Graph(q, batch);
        const x = netInputs(net, batch, 90 + batch);
        for (const mode of MODES) {
          const wasm = run(graph, [x], mode, 'wasm');
          const ts = run(graph, [x], mode, 'typescript');
          const onEngine = wasm.it.steps.filter((s) => wasm.it.usesInt8Engine(s.opIndex)).map((s) => s.type);
          // every op but the flatten (RESHAPE) runs on the engine
          expect(onEngine.length, `${name}: ops on the engine (${onEngine.join(', ')})`).toBe(wasm.it.steps.filter((s) => s.type !== 'RESHAPE').length);
          same(`${name} batch ${batch} (${mode})`, wasm.out, ts.out);
          if (mode === 'xnnpack') {
            const model: Model = { format: 'tflite', subgraphs: [graph], description: name };
            same(`${name} batch ${batch} vs TFLite`, wasm.out, oracle.run(writeTflite(model), [x]).outputs[0]);
            stats.oracle++;
          }
        }
      }
    });
  }
});

describe('engine lifetime and arena', () => {
  it("'typescript' makes no engine; 'wasm' puts the arena in the engine's heap, sized as planned", () => {
    const q = quantizeNet(mnistNet(3), 2);
    const ts = Interpreter.prepare(int8Graph(q, 1), { int8Backend: 'typescript' });
    expect(ts.int8Engine).toBeNull();
    const wa = Interpreter.prepare(int8Graph(q, 1), { int8Backend: 'wasm' });
    expect(wa.int8Engine?.backend).toBe('wasm-simd128');
    expect(wa.arenaBytes).toBe(wa.peakActivationBytes);
    // nothing grows the heap after prepare: repeated runs keep the same heap
    const generation = wa.int8Engine!.heapGeneration;
    const x = netInputs(q.net, 1, 5);
    const first = wa.run([x]).outputs[0];
    for (let i = 0; i < 5; i++) expect(wa.run([x]).outputs[0]).toEqual(first);
    expect(wa.int8Engine!.heapGeneration).toBe(generation);
  });

  it('a float graph never creates an engine', () => {
    const m = singleOpModel({ type: 'RELU', options: {}, inputs: [{ dtype: 'float32', shape: [1, 4] }] });
    expect(Interpreter.prepare(m.subgraphs[0]).int8Engine).toBeNull();
  });

  it('rejects an unknown backend with a sentence', () => {
    const m = singleOpModel({ type: 'RELU', options: {}, inputs: [{ dtype: 'float32', shape: [1, 4] }] });
    expect(() => Interpreter.prepare(m.subgraphs[0], { int8Backend: 'gpu' as 'wasm' })).toThrow(/int8 backend 'gpu' is not one of auto, wasm, typescript/);
  });
});
