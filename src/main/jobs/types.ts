/**
 * What a job implementation sees. Jobs run inside a worker thread: they compute, report progress,
 * write artifact files (atomically, content-addressed), and return their results; the main thread
 * is the single writer of the database and records everything in one transaction at the end.
 */
import type { Metric } from '../../shared/api/contract';
import type { LayerMetricRow } from '../store';

export interface JobContext<P = unknown> {
  readonly jobId: string;
  readonly params: P;
  readonly workspaceDir: string;
  /** Aborted when the user cancels; long loops check `signal.aborted` (or call `throwIfCancelled`). */
  readonly signal: AbortSignal;
  progress(stage: string, done: number, total?: number | null): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Writes bytes to the artifact store (atomic, content-addressed). */
  putArtifact(bytes: Uint8Array): { sha256: string; sizeBytes: number };
  throwIfCancelled(): void;
}

export interface JobResult {
  /** Machine-readable summary for `--json` and the UI. */
  summary: Record<string, unknown>;
  metrics?: Metric[];
  layerMetrics?: LayerMetricRow[];
  artifacts?: { sha256: string; sizeBytes: number; role: string; name: string }[];
  /** The model the job read (its bytes are already an artifact). */
  model?: { sha256: string; sizeBytes: number; name: string; format: string; sourcePath: string | null; summary?: unknown };
  dataset?: { spec: string; sha256: string; sampleCount: number; preprocessing?: unknown };
}

export type JobImplementation<P = unknown> = (ctx: JobContext<P>) => Promise<JobResult>;

/** Messages between the runner (main thread) and a job worker. */
export type ToWorker = { type: 'cancel' };
export type FromWorker =
  | { type: 'progress'; stage: string; done: number; total: number | null }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'result'; result: JobResult }
  | { type: 'failed'; message: string; userError: boolean; cancelled: boolean; stack?: string };

export interface WorkerData {
  jobId: string;
  kind: string;
  params: unknown;
  workspaceDir: string;
}

export class JobCancelledError extends Error {
  constructor() {
    super('The job was cancelled.');
    this.name = 'JobCancelledError';
  }
}
