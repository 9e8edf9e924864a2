/**
 * Batch evaluation over worker_threads: one model copy (one Interpreter) per worker, samples
 * split into contiguous ranges, outputs returned in sample order. The eval and quantize jobs use
 * it for large sample counts (PARALLEL_MIN_SAMPLES); core stays free of worker code (layering).
 *
 * Flow: the caller fills a chunk of inputs (samples back to back, in the model input's dtype)
 * on its own thread; the chunk is cut into one range per worker and transferred (no copy);
 * each worker runs its range sample by sample (batch 1, exactly the serial computation) and
 * transfers the outputs back; the caller consumes them in order while the next chunk is
 * already being filled. Results are therefore identical to a serial loop over the same
 * interpreter options, whatever the worker count.
 *
 *   const r = await evaluateInParallel({ model: { bytes }, rounding, inputShape: [1, 28, 28, 1], inputDtype: 'int8', count,
 *     fill: (start, end, into) => …, consume: (start, end, outputs) => … });
 *
 * The worker script is `parallel-eval-worker.js` beside the bundle (electron-vite input) or,
 * from source, `parallel-eval-entry.mjs` (registers tsx, then loads the TypeScript worker).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../core/errors';
import type { DType, Graph, TensorData } from '../../core/ir/types';
import type { RoundingMode } from '../../core/runtime/kernel';
import { allocTyped } from '../../core/runtime/tensor-utils';
import type { InterpreterInt8Backend } from '../../core/runtime/wasm/kernel-bridge';
import type { FromEvalWorker, ToEvalWorker } from './parallel-eval-protocol';

/** Below this many samples the jobs evaluate serially (worker start-up costs more than it saves). */
export const PARALLEL_MIN_SAMPLES = 1000;

export interface ParallelEvalOptions {
  /** The model: .tflite bytes (read in each worker) or an IR graph (structured-cloned to each worker). */
  model: { bytes: Uint8Array } | { graph: Graph };
  rounding: RoundingMode;
  /** The shape to prepare the input for (batch 1). */
  inputShape: readonly number[];
  /** The model input's dtype (what `fill` writes). */
  inputDtype: DType;
  int8Backend?: InterpreterInt8Backend;
  count: number;
  /** Writes samples [start, end) back to back into `into` (length (end − start) × per-sample size). */
  fill: (start: number, end: number, into: TensorData) => void;
  /** Receives the outputs of samples [start, end), per graph output (end − start) × output size, in order. */
  consume: (start: number, end: number, outputs: TensorData[]) => void | Promise<void>;
  /** Worker count (default os.availableParallelism(), at most one per `minSamplesPerWorker`). */
  workers?: number;
  /**
   * Most samples per chunk handed out at once (default 4,096). Chunks start at 8 per worker and
   * grow to about a quarter second of work each, so progress and cancellation stay prompt for
   * slow models and the per-chunk overhead stays small for fast ones.
   */
  chunkSamples?: number;
  /** Called after each chunk; may throw to stop (the workers are then terminated). */
  onChunk?: (done: number, total: number) => void | Promise<void>;
}

export interface ParallelEvalResult {
  workers: number;
  /** Σ over samples of the interpreter's run time (ms), as a serial loop would measure it. */
  runMs: number;
  /** Wall time of the evaluation, worker start-up included (ms). */
  wallMs: number;
  /** Wall time of starting the workers and preparing their interpreters (ms). */
  startMs: number;
}

interface OutputInfo {
  dtype: DType;
  size: number;
}

let sourceBundle: Promise<URL | null> | null = null;

/**
 * From source, loading the worker's TypeScript through tsx costs each worker a second or more;
 * so the worker is bundled once per process with esbuild (tsx's own dependency) into
 * node_modules/.cache (where its package imports still resolve), and workers load plain JS.
 * Falls back to the tsx entry when that fails.
 */
async function bundleFromSource(): Promise<URL | null> {
  try {
    const esbuild = (await import('esbuild')) as { build(o: Record<string, unknown>): Promise<unknown> };
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const outfile = path.join(root, 'node_modules', '.cache', 'quantlab', `parallel-eval-worker-${process.pid}.mjs`);
    await esbuild.build({
      entryPoints: [fileURLToPath(new URL('./parallel-eval-worker.ts', import.meta.url))],
      bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'silent',
    });
    process.once('exit', () => fs.rmSync(outfile, { force: true }));
    return pathToFileURL(outfile);
  } catch {
    return null;
  }
}

async function workerUrl(): Promise<URL> {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) {
    const bundled = new URL('./parallel-eval-worker.js', import.meta.url);
    if (fs.existsSync(fileURLToPath(bundled))) return bundled;
  } else {
    sourceBundle ??= bundleFromSource();
    const url = await sourceBundle;
    if (url) return url;
  }
  return new URL('./parallel-eval-entry.mjs', import.meta.url);
}

class EvalWorker {
  private readonly worker: Worker;
  private pending: { resolve: (m: FromEvalWorker) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(url: URL, data: { model: ParallelEvalOptions['model']; rounding: RoundingMode; inputShape: number[]; int8Backend: InterpreterInt8Backend }) {
    this.worker = new Worker(url, { workerData: data, stdout: false, stderr: false });
    this.worker.on('message', (m: FromEvalWorker) => this.settle(m.type === 'failed' ? failure(m) : null, m));
    this.worker.on('error', (e) => this.settle(e, null));
    this.worker.on('exit', (code) => this.settle(new Error(`An evaluation worker exited (code ${code}) before it answered.`), null));
  }

  private settle(error: Error | null, m: FromEvalWorker | null): void {
    const p = this.pending;
    this.pending = null;
    if (error) this.failure ??= error;
    if (!p) return;
    if (error) p.reject(error);
    else p.resolve(m!);
  }

  next(): Promise<FromEvalWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }

  send(m: ToEvalWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

function failure(m: Extract<FromEvalWorker, { type: 'failed' }>): Error {
  return m.userError ? new UserError(m.kind ?? 'bad-model', m.message) : new Error(m.message);
}

/** Evaluates `count` samples across worker threads; see the file comment. */
export async function evaluateInParallel(o: ParallelEvalOptions): Promise<ParallelEvalResult> {
  const t0 = performance.now();
  const perSample = o.inputShape.reduce((a, b) => a * b, 1);
  const want = o.workers ?? os.availableParallelism();
  const n = Math.max(1, Math.min(want, o.count));
  const data = { model: o.model, rounding: o.rounding, inputShape: [...o.inputShape], int8Backend: o.int8Backend ?? 'auto' };
  const url = await workerUrl();
  const workers = Array.from({ length: n }, () => new EvalWorker(url, data));
  try {
    const ready = await Promise.all(workers.map((w) => w.next()));
    const outputs = (ready[0] as Extract<FromEvalWorker, { type: 'ready' }>).outputs as OutputInfo[];
    const startMs = performance.now() - t0;
    const maxChunk = Math.max(n, o.chunkSamples ?? 4096);
    const minChunk = Math.min(maxChunk, 8 * n);
    let chunk = minChunk;
    let lastDispatch = performance.now();
    let runMs = 0;
    // dispatch chunk [start, end): per worker a contiguous range, inputs transferred
    const dispatch = (start: number, end: number): Promise<{ start: number; end: number; outs: TensorData[] }> => {
      const input = allocTyped(o.inputDtype, (end - start) * perSample);
      o.fill(start, end, input);
      const total = end - start;
      const ranges = workers.map((_, k) => [Math.floor((k * total) / n), Math.floor(((k + 1) * total) / n)]);
      const answers = workers.map((w, k) => {
        const [a, b] = ranges[k];
        const slice = input.slice(a * perSample, b * perSample);
        const reply = w.next();
        w.send({ type: 'run', count: b - a, input: slice }, [slice.buffer as ArrayBuffer]);
        return reply;
      });
      return Promise.all(answers).then((replies) => {
        const outs = outputs.map((info) => allocTyped(info.dtype, total * info.size));
        replies.forEach((m, k) => {
          if (m.type !== 'done') throw new Error(`An evaluation worker answered '${m.type}' to a run.`);
          runMs += m.runMs;
          m.outputs.forEach((d, j) => (outs[j] as Float32Array).set(d as Float32Array, ranges[k][0] * outputs[j].size));
        });
        return { start, end, outs };
      });
    };
    let inFlight = o.count > 0 ? dispatch(0, Math.min(chunk, o.count)) : null;
    while (inFlight) {
      const done = await inFlight;
      const now = performance.now();
      const msPerSample = (now - lastDispatch) / (done.end - done.start);
      lastDispatch = now;
      chunk = Math.max(minChunk, Math.min(maxChunk, Math.round(250 / Math.max(msPerSample, 1e-3))));
      // fill and dispatch the next chunk before consuming this one: workers stay busy
      inFlight = done.end < o.count ? dispatch(done.end, Math.min(done.end + chunk, o.count)) : null;
      try {
        await o.consume(done.start, done.end, done.outs);
        await o.onChunk?.(done.end, o.count);
      } catch (e) {
        inFlight?.catch(() => undefined);
        throw e;
      }
    }
    return { workers: n, runMs, wallMs: performance.now() - t0, startMs };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

/**
 * Convenience for tests and the bench: every output of every sample (concatenated in sample
 * order, per graph output) and the argmax of output 0 per sample.
 */
export async function evaluateSamples(
  o: Omit<ParallelEvalOptions, 'fill' | 'consume' | 'onChunk'> & { inputs: TensorData },
): Promise<ParallelEvalResult & { outputs: TensorData[]; argmax: Int32Array }> {
  const perSample = o.inputShape.reduce((a, b) => a * b, 1);
  const parts: TensorData[][] = [];
  const argmax = new Int32Array(o.count);
  const r = await evaluateInParallel({
    ...o,
    fill: (start, end, into) => (into as Float32Array).set((o.inputs as Float32Array).subarray(start * perSample, end * perSample)),
    consume: (start, end, outs) => {
      parts.push(outs);
      const first = outs[0] as ArrayLike<number>;
      const size = first.length / (end - start);
      for (let i = 0; i < end - start; i++) argmax[start + i] = argmaxOf(first, i * size, size);
    },
  });
  const outputs = parts.length === 0 ? [] : parts[0].map((_, j) => concat(parts.map((p) => p[j])));
  return { ...r, outputs, argmax };
}

/** Index of the largest of `size` values from `offset` (first on ties), as the jobs' serial loops pick it. */
export function argmaxOf(v: ArrayLike<number>, offset: number, size: number): number {
  let best = 0;
  for (let k = 1; k < size; k++) if (Number(v[offset + k]) > Number(v[offset + best])) best = k;
  return best;
}

function concat(parts: TensorData[]): TensorData {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const Ctor = parts[0].constructor as new (n: number) => Float32Array;
  const out = new Ctor(total);
  let at = 0;
  for (const p of parts) {
    out.set(p as Float32Array, at);
    at += p.length;
  }
  return out as unknown as TensorData;
}
