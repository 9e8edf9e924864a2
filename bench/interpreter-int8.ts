/**
 * The interpreter's int8 latency, batch 1, one thread, before and after its int8 kernels moved
 * onto the WASM engine: the same prepared graph with `int8Backend: 'typescript'` (the scalar
 * kernels, the path every int8 op took before) and `int8Backend: 'wasm'` (the default where
 * SIMD128 exists), beside the bench-only engine pipeline (bench/engine-net.ts, the engine with
 * no interpreter around it) as the floor. Also the cost the rejected design would add: copying
 * every engine op's input and output between a plain arena and the engine's heap.
 *
 *   npx tsx bench/interpreter-int8.ts [--json] [--quick] [--net mnist|keras|mobilenet] [--rounding MODE]
 *
 * Nets: the seed's MNIST example (Conv2D 12 → MaxPool → Dense 10), a Keras-style MNIST CNN
 * (Conv2D 32 → Conv2D 64 → MaxPool → Dense 10) and the MobileNet-v1-style 96×96 ×0.25 net.
 * Interleaved rounds, medians (bench/timing.ts); the interpreters' outputs are checked equal first.
 */
import type { RoundingMode } from '../src/core/runtime/kernel';
import { Interpreter } from '../src/core/runtime/interpreter';
import { createInt8Engine } from '../src/core/runtime/wasm/engine';
import { EngineInt8Net } from './engine-net';
import type { NetSpec } from './models';
import { inputs, layerShapes, mnistNet, mobilenetNet, rng } from './models';
import { int8Graph, quantizeNet } from './quantize';
import { compete } from './timing';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const QUICK = args.includes('--quick');
const ONLY = args.includes('--net') ? args[args.indexOf('--net') + 1] : null;
const ROUNDING = (args.includes('--rounding') ? args[args.indexOf('--rounding') + 1] : 'xnnpack') as RoundingMode;

/** Keras' MNIST CNN shape: Conv2D(32, 3×3, relu) → Conv2D(64, 3×3, relu) → MaxPool 2×2 → Flatten → Dense(10). */
function kerasMnistNet(seed = 3): NetSpec {
  const r = rng(seed);
  const w = (n: number, fanIn: number) => new Float32Array(n).map(() => (2 * r() - 1) * Math.sqrt(6 / fanIn));
  const b = (n: number) => new Float32Array(n).map(() => (2 * r() - 1) * 0.1);
  return {
    name: 'keras-mnist-cnn',
    inputShape: [28, 28, 1],
    inputRange: [0, 1],
    layers: [
      { kind: 'conv', name: 'conv1', kH: 3, kW: 3, stride: 1, padding: 'VALID', inC: 1, outC: 32, act: 'RELU', weights: w(32 * 9, 9), bias: b(32) },
      { kind: 'conv', name: 'conv2', kH: 3, kW: 3, stride: 1, padding: 'VALID', inC: 32, outC: 64, act: 'RELU', weights: w(64 * 9 * 32, 288), bias: b(64) },
      { kind: 'maxpool', name: 'pool', k: 2, stride: 2 },
      { kind: 'flatten', name: 'flatten' },
      { kind: 'dense', name: 'dense', inF: 12 * 12 * 64, outF: 10, act: 'NONE', weights: w(10 * 9216, 9216), bias: b(10) },
    ],
  };
}

interface NetFigures {
  net: string;
  macs: number;
  /** ms per image, batch 1 (median of rounds). */
  interpreterTypescriptMs: number;
  interpreterWasmMs: number;
  /** The interpreter with an added copy of every engine op's input and output (the rejected design). */
  interpreterWasmWithCopiesMs: number;
  enginePipelineMs: number;
  speedup: number;
  opsOnEngine: string;
}

function macsOf(net: NetSpec): number {
  const shapes = layerShapes(net);
  let macs = 0;
  net.layers.forEach((l, i) => {
    const [h, w] = shapes[i];
    if (l.kind === 'conv') macs += h * w * l.outC * l.kH * l.kW * l.inC;
    if (l.kind === 'dw') macs += h * w * l.channels * l.k * l.k;
    if (l.kind === 'dense') macs += l.inF * l.outF;
  });
  return macs;
}

async function benchNet(net: NetSpec): Promise<NetFigures> {
  const q = quantizeNet(net, 16);
  const graph = int8Graph(q, 1);
  const x = inputs(net, 1, 77);
  const ts = Interpreter.prepare(graph, { rounding: ROUNDING, int8Backend: 'typescript' });
  const wa = Interpreter.prepare(graph, { rounding: ROUNDING, int8Backend: 'wasm' });
  const pipe = new EngineInt8Net(createInt8Engine({ backend: 'wasm-simd128' }), q, ROUNDING, 1);
  pipe.input.set(x);
  const a = ts.run([x]).outputs[0];
  const b = wa.run([x]).outputs[0];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${net.name}: the backends differ at ${i}`);
  // the copy-in/copy-out alternative: per engine op, its input into the heap and its output back
  const onEngine = wa.steps.filter((s) => wa.usesInt8Engine(s.opIndex));
  const bytes = onEngine.map((s) => [s.inputs[0], s.outputs[0]].map((t) => wa.tensorShape(t).reduce((p, d) => p * d, 1) * (graph.tensors[t].dtype === 'float32' ? 4 : 1)));
  const biggest = Math.max(...bytes.flat());
  const plain = new Uint8Array(biggest);
  const heap = new Uint8Array(biggest);
  const copies = () => {
    for (const [inBytes, outBytes] of bytes) {
      heap.set(plain.subarray(0, inBytes));
      plain.set(heap.subarray(0, outBytes));
    }
  };
  const fig = await compete(
    [
      { name: 'ts', run: () => void ts.run([x]), units: 1 },
      { name: 'wasm', run: () => void wa.run([x]), units: 1 },
      { name: 'wasm+copies', run: () => { wa.run([x]); copies(); }, units: 1 },
      { name: 'pipeline', run: () => pipe.run(), units: 1 },
    ],
    { rounds: QUICK ? 3 : 7, sliceMs: QUICK ? 150 : 400, warmupMs: QUICK ? 200 : 500 },
  );
  const ms = (k: string) => 1000 / fig.get(k)!.perSecond;
  return {
    net: net.name,
    macs: macsOf(net),
    interpreterTypescriptMs: ms('ts'),
    interpreterWasmMs: ms('wasm'),
    interpreterWasmWithCopiesMs: ms('wasm+copies'),
    enginePipelineMs: ms('pipeline'),
    speedup: ms('ts') / ms('wasm'),
    opsOnEngine: `${onEngine.length} of ${wa.steps.length} (${wa.steps.filter((s) => !wa.usesInt8Engine(s.opIndex)).map((s) => s.type).join(', ') || 'all'} on TypeScript)`,
  };
}

const nets = [mnistNet(), kerasMnistNet(), mobilenetNet()].filter((n) => !ONLY || n.name.startsWith(ONLY));
const results: NetFigures[] = [];
for (const net of nets) results.push(await benchNet(net));
if (JSON_OUT) console.log(JSON.stringify({ date: new Date().toISOString(), rounding: ROUNDING, results }, null, 2));
else {
  const f = (v: number) => (v < 0.1 ? v.toFixed(4) : v < 10 ? v.toFixed(3) : v.toFixed(1));
  console.log(`interpreter int8, batch 1, 1 thread, rounding ${ROUNDING} (ms per image, medians)\n`);
  console.log('| net | MACs | TS kernels (before) | WASM engine (after) | speed-up | after + per-op copies | engine pipeline | ops on the engine |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    console.log(`| ${r.net} | ${(r.macs / 1e6).toFixed(2)} M | ${f(r.interpreterTypescriptMs)} | ${f(r.interpreterWasmMs)} | ${r.speedup.toFixed(1)}× | ${f(r.interpreterWasmWithCopiesMs)} | ${f(r.enginePipelineMs)} | ${r.opsOnEngine} |`);
  }
}
