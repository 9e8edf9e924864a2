/**
 * One evaluation worker (parallel-eval.ts): reads the model when it starts, prepares its own
 * Interpreter on 'prepare', then answers each 'run' with the outputs of its samples, run one by
 * one at batch 1.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isUserError } from '../../core/errors';
import { readTflite } from '../../core/formats/tflite/reader';
import type { Graph, TensorData } from '../../core/ir/types';
import { Interpreter } from '../../core/runtime/interpreter';
import type { RoundingMode } from '../../core/runtime/kernel';
import { allocTyped, numElements } from '../../core/runtime/tensor-utils';
import type { InterpreterInt8Backend } from '../../core/runtime/wasm/kernel-bridge';
import type { FromEvalWorker, ToEvalWorker } from './parallel-eval-protocol';

const port = parentPort;
if (!port) throw new Error('jobs/parallel-eval-worker.ts must run as a worker thread.');
const data = workerData as { model: { bytes: Uint8Array } | { graph: Graph }; rounding: RoundingMode; int8Backend: InterpreterInt8Backend };
const post = (m: FromEvalWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function fail(e: unknown): void {
  const err = e as Error;
  post({ type: 'failed', message: err.message ?? String(e), userError: isUserError(e), kind: isUserError(e) ? e.code : undefined });
}

// The model is read as soon as the thread starts (the pool starts ahead of the evaluation);
// an unreadable model is reported at the first 'prepare'.
let graph: Graph | null = null;
let readError: unknown = null;
try {
  graph = 'graph' in data.model ? data.model.graph : readTflite(data.model.bytes, 'model').subgraphs[0];
} catch (e) {
  readError = e;
}
let interpreter: Interpreter | null = null;
let preparedFor = '';

port.on('message', (m: ToEvalWorker) => {
  if (m.type === 'prepare') {
    try {
      if (readError) throw readError;
      const key = m.inputShape.join(',');
      if (!interpreter || preparedFor !== key) {
        interpreter = Interpreter.prepare(graph!, { rounding: data.rounding, inputShapes: [m.inputShape], int8Backend: data.int8Backend });
        preparedFor = key;
      }
      post({ type: 'ready', outputs: interpreter.outputs.map((o) => ({ dtype: o.dtype, size: numElements(o.shape) })) });
    } catch (e) {
      fail(e);
    }
    return;
  }
  const it = interpreter;
  if (!it) return;
  try {
    const perSample = numElements(it.inputs[0].shape);
    const outs = it.outputs.map((o) => allocTyped(o.dtype, m.count * numElements(o.shape)));
    const input = m.input as Float32Array;
    let runMs = 0;
    for (let i = 0; i < m.count; i++) {
      const t0 = performance.now();
      const { outputs } = it.run([input.subarray(i * perSample, (i + 1) * perSample) as unknown as TensorData]);
      runMs += performance.now() - t0;
      outputs.forEach((o, j) => (outs[j] as Float32Array).set(o as Float32Array, i * o.length));
    }
    post({ type: 'done', outputs: outs, runMs }, outs.map((o) => o.buffer as ArrayBuffer));
  } catch (e) {
    fail(e);
  }
});
