/**
 * 10,000 MNIST digits through the seed's MNIST network (Conv2D 12 3×3 relu → MaxPool 2×2 →
 * Flatten → Dense 10), float32 and int8, serially in one interpreter and split over
 * os.availableParallelism() worker threads (src/main/jobs/parallel-eval.ts). Wall clock,
 * including or excluding the workers' start-up (thread, module loading, interpreter prepare).
 * The predictions of the parallel run are checked equal to the serial ones.
 *
 *   npx tsx bench/parallel-eval.ts [--json] [--repeat N]
 *
 * Models: resources/models/mnist-demo.tflite (the shipped demo, float) when present, and the
 * bench's seeded twin of the same architecture (float32 and its int8 PTQ, bench/quantize.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDataset } from '../src/core/data/dataset';
import { readTflite } from '../src/core/formats/tflite/reader';
import type { Graph } from '../src/core/ir/types';
import { Interpreter } from '../src/core/runtime/interpreter';
import { argmaxOf, evaluateSamples } from '../src/main/jobs/parallel-eval';
import { floatGraph, mnistNet } from './models';
import { int8Graph, quantizeNet } from './quantize';
import { median } from './timing';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const REPEAT = args.includes('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : 3;
const COUNT = 10_000;
const DEMO = path.resolve(import.meta.dirname, '..', 'resources', 'models', 'mnist-demo.tflite');

const ds = await openDataset(`mnist:all@${COUNT}`, { inputShape: [1, 28, 28, 1] });
const x = new Float32Array(COUNT * 784);
for (let i = 0; i < COUNT; i++) ds.sample(i, x.subarray(i * 784, (i + 1) * 784));

const models: { name: string; graph: Graph; model: { bytes: Uint8Array } | { graph: Graph } }[] = [];
if (fs.existsSync(DEMO)) {
  const bytes = new Uint8Array(fs.readFileSync(DEMO));
  models.push({ name: 'mnist-demo.tflite float32', graph: readTflite(bytes, 'mnist-demo.tflite').subgraphs[0], model: { bytes } });
}
const net = mnistNet();
const fg = floatGraph(net, 1);
models.push({ name: 'seeded twin float32', graph: fg, model: { graph: fg } });
const ig = int8Graph(quantizeNet(net, 16), 1);
models.push({ name: 'seeded twin int8 (xnnpack rounding)', graph: ig, model: { graph: ig } });

interface Row {
  model: string;
  serialMs: number;
  parallelMs: number;
  parallelStartMs: number;
  parallelAfterStartMs: number;
  workers: number;
  speedupAfterStart: number;
  predictionsEqual: boolean;
}

const rows: Row[] = [];
for (const m of models) {
  const serialRuns: number[] = [];
  let serialPred = new Int32Array(COUNT);
  for (let r = 0; r < REPEAT; r++) {
    const t0 = performance.now();
    const it = Interpreter.prepare(m.graph, { rounding: 'xnnpack' });
    const pred = new Int32Array(COUNT);
    for (let i = 0; i < COUNT; i++) {
      const out = it.run([x.subarray(i * 784, (i + 1) * 784)]).outputs[0];
      pred[i] = argmaxOf(out as Float32Array, 0, out.length);
    }
    serialRuns.push(performance.now() - t0);
    serialPred = pred;
  }
  const par: { wall: number; start: number; workers: number; equal: boolean }[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const got = await evaluateSamples({ model: m.model, rounding: 'xnnpack', inputShape: [1, 28, 28, 1], inputDtype: 'float32', count: COUNT, inputs: x });
    par.push({ wall: got.wallMs, start: got.startMs, workers: got.workers, equal: got.argmax.every((v, i) => v === serialPred[i]) });
  }
  const wall = median(par.map((p) => p.wall));
  const start = median(par.map((p) => p.start));
  const after = median(par.map((p) => p.wall - p.start));
  rows.push({
    model: m.name, serialMs: median(serialRuns), parallelMs: wall, parallelStartMs: start, parallelAfterStartMs: after,
    workers: par[0].workers, speedupAfterStart: median(serialRuns) / after, predictionsEqual: par.every((p) => p.equal),
  });
}

if (JSON_OUT) console.log(JSON.stringify({ date: new Date().toISOString(), samples: COUNT, cpus: os.availableParallelism(), loadAverage: os.loadavg(), rows }, null, 2));
else {
  console.log(`${COUNT.toLocaleString('en-US')} MNIST digits, ${os.availableParallelism()} CPUs, medians of ${REPEAT} (ms; load average ${os.loadavg().map((v) => v.toFixed(1)).join('/')})\n`);
  console.log('| model | serial, 1 thread | parallel, total | of which worker start-up | parallel after start-up | speed-up after start-up | predictions equal |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.serialMs.toFixed(0)} | ${r.parallelMs.toFixed(0)} (${r.workers} workers) | ${r.parallelStartMs.toFixed(0)} | ${r.parallelAfterStartMs.toFixed(0)} | ${r.speedupAfterStart.toFixed(2)}× | ${r.predictionsEqual ? 'yes' : 'NO'} |`);
  }
}
