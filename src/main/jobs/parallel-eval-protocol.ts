/** Messages between `evaluateInParallel` (parallel-eval.ts) and its workers (parallel-eval-worker.ts). */
import type { DType, TensorData } from '../../core/ir/types';

export type ToEvalWorker =
  /** Main → worker: prepare an interpreter for this input shape (batch 1); answered by 'ready'. */
  | { type: 'prepare'; inputShape: number[] }
  /** Main → worker: run `count` samples laid out back to back in `input`; answered by 'done'. */
  | { type: 'run'; count: number; input: TensorData };

export type FromEvalWorker =
  /** The interpreter is prepared; per graph output its dtype and values per sample. */
  | { type: 'ready'; outputs: { dtype: DType; size: number }[] }
  /** Per graph output, count × size values in sample order; Σ of the interpreter's run times. */
  | { type: 'done'; outputs: TensorData[]; runMs: number }
  | { type: 'failed'; message: string; userError: boolean; kind?: string };
