/**
 * Evaluating 10,000 MNIST digits with the shipped demo model (resources/models/mnist-demo.tflite:
 * Conv2D 12 3×3 relu → MaxPool 2×2 → Dense 10), float32 and its int8 PTQ, the way a user does
 * it: `quantlab eval MODEL --data mnist:all@10000 --json` in a fresh process, on one thread
 * (`--threads 1`) and on every core (the default: the CLI's own thread plus one worker per other
 * core, started while the data loads). Figures are the job's own wall time of the evaluation
 * (summary.wallMs: data preparation, runs, bookkeeping and any worker start-up not hidden),
 * medians over fresh processes; the accuracy and output statistics of the two are checked equal.
 *
 *   npx tsx bench/parallel-eval.ts [--json] [--repeat N]
 *
 * The int8 model is made here with `quantlab quantize` (min/max calibration on 500 training
 * digits, per-channel weights, float I/O), into a temporary workspace.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median } from './timing';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const REPEAT = args.includes('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : 3;
const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'quantlab.mjs');
const DEMO = path.join(ROOT, 'resources', 'models', 'mnist-demo.tflite');
const DATA = 'mnist:all@10000';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlab-bench-eval-'));
const ws = path.join(tmp, 'ws');

function quantlab(cliArgs: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [BIN, '--workspace', ws, '--json', ...cliArgs], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`quantlab ${cliArgs.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

interface Run {
  wallMs: number;
  threads: number;
  accuracy: number;
  outputMean: number;
}

function evalOnce(model: string, threads: number | null): Run {
  const out = quantlab(['eval', model, '--data', DATA, ...(threads === null ? [] : ['--threads', String(threads)])]);
  const metrics = out.metrics as { name: string; value: number }[];
  return { wallMs: out.wallMs as number, threads: out.threads as number, accuracy: out.accuracy as number, outputMean: metrics.find((m) => m.name === 'output-mean')!.value };
}

interface Row {
  model: string;
  oneThreadMs: number;
  allThreadsMs: number;
  threads: number;
  speedup: number;
  accuracy: number;
  identical: boolean;
}

try {
  const int8 = path.join(tmp, 'mnist-demo-int8.tflite');
  quantlab(['quantize', DEMO, '--calib', 'mnist:train@500', '--out', int8]);
  const rows: Row[] = [];
  for (const [name, file] of [['mnist-demo float32', DEMO], ['mnist-demo int8 (PTQ, xnnpack rounding)', int8]] as const) {
    const one: Run[] = [];
    const all: Run[] = [];
    // interleaved, so both see the same machine
    for (let r = 0; r < REPEAT; r++) {
      one.push(evalOnce(file, 1));
      all.push(evalOnce(file, null));
    }
    const a = median(one.map((x) => x.wallMs));
    const b = median(all.map((x) => x.wallMs));
    const identical = [...one, ...all].every((x) => x.accuracy === one[0].accuracy && x.outputMean === one[0].outputMean);
    rows.push({ model: name, oneThreadMs: a, allThreadsMs: b, threads: all[0].threads, speedup: a / b, accuracy: one[0].accuracy, identical });
  }
  if (JSON_OUT) console.log(JSON.stringify({ date: new Date().toISOString(), samples: 10000, data: DATA, cpus: os.availableParallelism(), loadAverage: os.loadavg(), repeat: REPEAT, rows }, null, 2));
  else {
    console.log(`quantlab eval on ${DATA}, ${os.availableParallelism()} CPUs, medians of ${REPEAT} fresh processes (evaluation wall time, ms; load average ${os.loadavg().map((v) => v.toFixed(1)).join('/')})\n`);
    console.log('| model | 1 thread | all threads | threads | speed-up | top-1 | same results |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of rows) {
      console.log(`| ${r.model} | ${r.oneThreadMs.toFixed(0)} | ${r.allThreadsMs.toFixed(0)} | ${r.threads} | ${r.speedup.toFixed(2)}× | ${(100 * r.accuracy).toFixed(2)}% | ${r.identical ? 'yes' : 'NO'} |`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
