/** Messages between `evaluateInParallel` (parallel-eval.ts) and its workers (parallel-eval-worker.ts). */
import type { DType, TensorData } from '../../core/ir/types';

/** Main → worker: run `count` samples laid out back to back in `input`. */
export type ToEvalWorker = { type: 'run'; count: number; input: TensorData };

export type FromEvalWorker =
  /** The interpreter is prepared; per graph output its dtype and values per sample. */
  | { type: 'ready'; outputs: { dtype: DType; size: number }[] }
  /** Per graph output, count × size values in sample order; Σ of the interpreter's run times. */
  | { type: 'done'; outputs: TensorData[]; runMs: number }
  | { type: 'failed'; message: string; userError: boolean; kind?: string };
