/**
 * Batch evaluation over worker_threads: one model copy (one Interpreter) per worker, samples
 * handed out in contiguous chunks, outputs consumed in sample order. The eval and quantize jobs
 * use it for large sample counts (PARALLEL_MIN_SAMPLES); core stays free of worker code
 * (layering).
 *
 * Flow: the caller fills a chunk of inputs (samples back to back, in the model input's dtype)
 * on its own thread and transfers it (no copy) to an idle worker, which runs it sample by
 * sample (batch 1, exactly the serial computation) and transfers the outputs back. When the
 * caller passes its own interpreter (`local`), the calling thread evaluates chunks too: while
 * the workers start (their threads, module loading, interpreter prepare and the JIT's warm-up
 * cost about as much as the whole evaluation of a small model) and between their answers. On
 * a machine with N cores that is N − 1 workers and the calling thread. Chunks shrink as the
 * end nears (each about half of an equal share of what is left), so every thread finishes
 * about together. Results are consumed strictly in sample order, so they are identical to a
 * serial loop over the same interpreter options, whatever the thread count or chunking.
 *
 *   const r = await evaluateInParallel({ model: { bytes }, rounding, inputShape: [1, 28, 28, 1], inputDtype: 'int8', count,
 *     local: interpreter, fill: (start, end, into) => …, consume: (start, end, outputs) => … });
 *
 * The worker script is `parallel-eval-worker.js` beside the bundle (electron-vite input) or,
 * from source, `parallel-eval-entry.mjs` (registers tsx, then loads the TypeScript worker).
 */
import { createHash } from 'node:crypto';
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

/** What the calling thread evaluates with: an Interpreter prepared exactly as the workers' (same graph, rounding, input shape, int8 backend). */
export interface LocalEvaluator {
  run(inputs: readonly TensorData[]): { outputs: TensorData[] };
  readonly outputs: readonly { dtype: DType; shape: readonly number[] }[];
}

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
  /** Writes samples [start, end) back to back into `into` (length (end − start) × per-sample size). Called in sample order. */
  fill: (start: number, end: number, into: TensorData) => void;
  /** Receives the outputs of samples [start, end), per graph output (end − start) × output size, in order. */
  consume: (start: number, end: number, outputs: TensorData[]) => void | Promise<void>;
  /** The calling thread's own interpreter (see LocalEvaluator): it then evaluates chunks too. */
  local?: LocalEvaluator;
  /** Workers started earlier for the same model, rounding and int8 backend (startEvalPool); the caller closes it. */
  pool?: EvalPool;
  /**
   * Worker threads (default os.availableParallelism(), less one when `local` is given, at
   * least 1; never more than `count`).
   */
  workers?: number;
  /** Most samples per chunk handed out at once (default 4,096). */
  chunkSamples?: number;
  /** Called after each chunk is consumed; may throw to stop (the workers are then terminated). */
  onChunk?: (done: number, total: number) => void | Promise<void>;
}

export interface ParallelEvalResult {
  /** Worker threads started. */
  workers: number;
  /** Threads that evaluated samples: the workers, plus the calling thread when `local` was given. */
  threads: number;
  /** Samples the calling thread evaluated (0 without `local`). */
  localSamples: number;
  /** Σ over samples of the interpreter's run time (ms), as a serial loop would measure it. */
  runMs: number;
  /** Wall time of the evaluation, worker start-up included (ms). */
  wallMs: number;
  /** Wall time until the first worker was ready (its thread started and its interpreter prepared), ms. */
  startMs: number;
}

interface OutputInfo {
  dtype: DType;
  size: number;
}

let sourceBundle: Promise<URL | null> | null = null;

/** Every file under `dir` (relative path, size, mtime), sorted: the source tree's identity, cheaply. */
function treeStamp(dir: string): string {
  const rows: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) {
        const st = fs.statSync(full);
        rows.push(`${path.relative(dir, full)}\t${st.size}\t${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return rows.sort().join('\n');
}

/**
 * From source, loading the worker's TypeScript through tsx costs each worker a second or more;
 * so the worker is bundled with esbuild (tsx's own dependency) into node_modules/.cache/quantlab
 * (where its package imports still resolve), named by a stamp of the source tree (every file's
 * path, size and mtime under src/): a later process with the same sources reuses the file at
 * once instead of bundling again (about 0.15 s), and older bundles are removed. Workers load
 * plain JS. Falls back to the tsx entry when that fails.
 */
async function bundleFromSource(): Promise<URL | null> {
  try {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const dir = path.join(root, 'node_modules', '.cache', 'quantlab');
    const key = createHash('sha256').update(treeStamp(path.join(root, 'src'))).digest('hex').slice(0, 16);
    const name = `parallel-eval-worker-${key}.mjs`;
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return pathToFileURL(file);
    const esbuild = (await import('esbuild')) as { build(o: Record<string, unknown>): Promise<unknown> };
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await esbuild.build({
      entryPoints: [fileURLToPath(new URL('./parallel-eval-worker.ts', import.meta.url))],
      bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: tmp, logLevel: 'silent',
    });
    fs.renameSync(tmp, file);
    // older bundles (other source versions), unless another process may still be starting one
    for (const f of fs.readdirSync(dir)) {
      const other = path.join(dir, f);
      if (f !== name && f.startsWith('parallel-eval-worker-') && Date.now() - fs.statSync(other).mtimeMs > 3_600_000) fs.rmSync(other, { force: true });
    }
    return pathToFileURL(file);
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

interface WorkerData {
  model: ParallelEvalOptions['model'];
  rounding: RoundingMode;
  int8Backend: InterpreterInt8Backend;
}

class EvalWorker {
  private readonly worker: Worker;
  private pending: { resolve: (m: FromEvalWorker) => void; reject: (e: Error) => void } | null = null;
  /** Messages that arrived while nobody waited (answered in order by next()). */
  private readonly queue: FromEvalWorker[] = [];
  private failure: Error | null = null;

  constructor(url: URL, data: WorkerData) {
    this.worker = new Worker(url, { workerData: data, stdout: false, stderr: false });
    this.worker.on('message', (m: FromEvalWorker) => this.settle(m.type === 'failed' ? failure(m) : null, m));
    this.worker.on('error', (e) => this.settle(e, null));
    this.worker.on('exit', (code) => this.settle(new Error(`An evaluation worker exited (code ${code}) before it answered.`), null));
  }

  private settle(error: Error | null, m: FromEvalWorker | null): void {
    if (error) this.failure ??= error;
    const p = this.pending;
    if (!p) {
      if (!error && m) this.queue.push(m);
      return;
    }
    this.pending = null;
    if (error) p.reject(error);
    else p.resolve(m!);
  }

  next(): Promise<FromEvalWorker> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
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

/**
 * Worker threads that load one model, started ahead of the evaluation: a job starts the pool
 * first and opens its dataset meanwhile, so the threads' start-up (about 0.2 s each: a Node
 * environment, the worker's modules, the model read) is hidden. Each evaluateInParallel call
 * then only has the workers prepare an interpreter for its input shape. Close it when done.
 */
export class EvalPool {
  readonly size: number;
  readonly model: ParallelEvalOptions['model'];
  readonly rounding: RoundingMode;
  readonly int8Backend: InterpreterInt8Backend;
  private readonly started: Promise<EvalWorker[]>;
  private closed = false;

  constructor(o: { model: ParallelEvalOptions['model']; rounding: RoundingMode; int8Backend?: InterpreterInt8Backend; workers: number }) {
    this.size = Math.max(1, Math.floor(o.workers));
    this.model = o.model;
    this.rounding = o.rounding;
    this.int8Backend = o.int8Backend ?? 'auto';
    const data: WorkerData = { model: o.model, rounding: o.rounding, int8Backend: this.int8Backend };
    this.started = workerUrl().then((url) => (this.closed ? [] : Array.from({ length: this.size }, () => new EvalWorker(url, data))));
    // a failure to start surfaces in workers(); never as an unhandled rejection
    this.started.catch(() => undefined);
  }

  /** Resolves once the worker threads exist (their start-up then runs on other cores). */
  spawned(): Promise<void> {
    return this.started.then(
      () => undefined,
      () => undefined,
    );
  }

  /** The started workers (rejects when the pool is closed). */
  async workers(): Promise<EvalWorker[]> {
    if (this.closed) throw new Error('This evaluation pool is closed.');
    return this.started;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ws = await this.started.catch(() => [] as EvalWorker[]);
    await Promise.all(ws.map((w) => w.close()));
  }
}

/**
 * Starts the workers for `model` now. `workers` defaults to os.availableParallelism(), less one
 * when the calling thread will evaluate too (`local`), at least 1.
 */
export function startEvalPool(o: { model: ParallelEvalOptions['model']; rounding: RoundingMode; int8Backend?: InterpreterInt8Backend; workers?: number; local?: boolean }): EvalPool {
  return new EvalPool({ ...o, workers: o.workers ?? Math.max(1, os.availableParallelism() - (o.local ? 1 : 0)) });
}

function failure(m: Extract<FromEvalWorker, { type: 'failed' }>): Error {
  return m.userError ? new UserError(m.kind ?? 'bad-model', m.message) : new Error(m.message);
}

/** A target of about this much work per chunk keeps progress and cancellation prompt. */
const WORKER_CHUNK_MS = 120;
/** The calling thread works in short chunks so it hands the workers their next chunk promptly. */
const LOCAL_CHUNK_MS = 8;

interface Done {
  start: number;
  end: number;
  outs: TensorData[];
}

/** Evaluates `count` samples across worker threads (and the calling thread); see the file comment. */
export async function evaluateInParallel(o: ParallelEvalOptions): Promise<ParallelEvalResult> {
  const t0 = performance.now();
  const perSample = o.inputShape.reduce((a, b) => a * b, 1);
  if (o.pool && (o.pool.model !== o.model || o.pool.rounding !== o.rounding || o.pool.int8Backend !== (o.int8Backend ?? 'auto'))) {
    throw new Error('evaluateInParallel: the pool was started for another model, rounding or int8 backend.');
  }
  const pool = o.pool ?? startEvalPool({ model: o.model, rounding: o.rounding, int8Backend: o.int8Backend, workers: Math.min(o.workers ?? Math.max(1, os.availableParallelism() - (o.local ? 1 : 0)), Math.max(1, o.count)) });
  const all = await pool.workers();
  const n = Math.max(1, Math.min(o.workers ?? all.length, all.length, o.count));
  const workers = all.slice(0, n);
  for (const w of workers) w.send({ type: 'prepare', inputShape: [...o.inputShape] });
  const maxChunk = Math.max(1, o.chunkSamples ?? 4096);
  let outputs: OutputInfo[] | null = o.local ? o.local.outputs.map((t) => ({ dtype: t.dtype, size: t.shape.reduce((a, b) => a * b, 1) })) : null;
  let startMs = Number.NaN;
  let runMs = 0;
  let localSamples = 0;
  /** Latest estimate of one sample's run time (ms), from whichever thread measured last. */
  let msPerSample = Number.NaN;
  let next = 0;
  let consumed = 0;
  const finished = new Map<number, Done>();
  let failure: unknown = null;
  const state = workers.map(() => ({ ready: false, dead: false, busy: null as Promise<void> | null }));
  const readiness = workers.map((w, k) =>
    w
      .next()
      .then((m) => {
        if (m.type !== 'ready') throw new Error(`An evaluation worker answered '${m.type}' before it was ready.`);
        outputs ??= m.outputs as OutputInfo[];
        if (Number.isNaN(startMs)) startMs = performance.now() - t0;
        state[k].ready = true;
      })
      .catch((e: unknown) => {
        // With the calling thread evaluating (its interpreter already prepared the same model),
        // a worker that cannot start only costs speed; without it, the evaluation fails.
        state[k].dead = true;
        if (!o.local) failure ??= e;
      }),
  );
  const participants = n + (o.local ? 1 : 0);
  /** About half an equal share of what is left, within [1, cap]. */
  const chunkOf = (targetMs: number): number => {
    const share = Math.ceil((o.count - next) / (2 * participants));
    const byTime = Number.isNaN(msPerSample) ? 16 : Math.max(1, Math.round(targetMs / Math.max(msPerSample, 1e-4)));
    return Math.max(1, Math.min(maxChunk, share, byTime, o.count - next));
  };
  const fillChunk = (start: number, end: number): TensorData => {
    const input = allocTyped(o.inputDtype, (end - start) * perSample);
    o.fill(start, end, input);
    return input;
  };
  const dispatch = (k: number): void => {
    const start = next;
    const end = start + chunkOf(WORKER_CHUNK_MS);
    next = end;
    const input = fillChunk(start, end);
    const reply = workers[k].next();
    workers[k].send({ type: 'run', count: end - start, input }, [input.buffer as ArrayBuffer]);
    state[k].busy = reply.then(
      (m) => {
        if (m.type !== 'done') throw new Error(`An evaluation worker answered '${m.type}' to a run.`);
        runMs += m.runMs;
        msPerSample = m.runMs / (end - start);
        finished.set(start, { start, end, outs: m.outputs });
        state[k].busy = null;
      },
    ).catch((e: unknown) => {
      failure ??= e;
    });
  };
  const runLocal = (local: LocalEvaluator): void => {
    const start = next;
    const end = start + chunkOf(LOCAL_CHUNK_MS);
    next = end;
    const input = fillChunk(start, end);
    const outs = outputs!.map((info) => allocTyped(info.dtype, (end - start) * info.size));
    const tStart = performance.now();
    for (let i = start; i < end; i++) {
      const got = local.run([input.subarray((i - start) * perSample, (i - start + 1) * perSample) as TensorData]).outputs;
      got.forEach((d, j) => (outs[j] as Float32Array).set(d as Float32Array, (i - start) * outputs![j].size));
    }
    const ms = performance.now() - tStart;
    runMs += ms;
    msPerSample = ms / (end - start);
    localSamples += end - start;
    finished.set(start, { start, end, outs });
  };
  try {
    while (consumed < o.count) {
      if (failure) throw failure;
      for (let k = 0; k < n; k++) if (state[k].ready && !state[k].busy && next < o.count) dispatch(k);
      if (o.local && next < o.count) {
        runLocal(o.local);
        // let the workers' messages in before the next local chunk
        await new Promise((res) => setImmediate(res));
      } else if (!finished.has(consumed)) {
        const waits = [...state.map((st) => st.busy).filter((b): b is Promise<void> => b !== null), ...readiness.filter((_, k) => !state[k].ready && !state[k].dead)];
        if (waits.length === 0) throw new Error(`The evaluation stalled at sample ${consumed} of ${o.count}.`);
        await Promise.race(waits);
      }
      if (failure) throw failure;
      // consume what is finished, strictly in order
      for (let d = finished.get(consumed); d; d = finished.get(consumed)) {
        finished.delete(consumed);
        consumed = d.end;
        await o.consume(d.start, d.end, d.outs);
        await o.onChunk?.(d.end, o.count);
      }
    }
    return { workers: n, threads: participants, localSamples, runMs, wallMs: performance.now() - t0, startMs: Number.isNaN(startMs) ? performance.now() - t0 : startMs };
  } finally {
    if (o.pool) {
      // a worker still busy would answer into the next evaluation: a pool is good for one run after a failure
      if (consumed < o.count) await o.pool.close();
    } else await pool.close();
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
