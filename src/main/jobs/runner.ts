/**
 * The job runner (main thread): starts each job in its own worker thread, persists every state
 * transition, throttles progress into the database and onto the event bus, cancels on request,
 * and records a job's results in one transaction when it completes.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JobProgress, JobSummary } from '../../shared/api/contract';
import type { NewExperiment, WorkspaceStore } from '../store';
import type { FromWorker, JobResult, ToWorker, WorkerData } from './types';

export interface SubmitOptions {
  kind: string;
  params: unknown;
  /** The experiment this job records; created as `running` before the job starts. */
  experiment: Omit<NewExperiment, 'kind'>;
}

export interface JobOutcome {
  job: JobSummary;
  experimentId: string;
  result: JobResult | null;
}

export interface RunnerOptions {
  emit?: (progress: JobProgress) => void;
  /** Minimum interval between persisted progress updates. */
  progressIntervalMs?: number;
  /** Grace period between a cancel request and terminating the worker. */
  cancelGraceMs?: number;
  heartbeatMs?: number;
}

interface Running {
  worker: Worker;
  cancelRequested: boolean;
  startedAtMs: number;
  lastPersistMs: number;
  last: { stage: string; done: number; total: number | null };
}

/** Where the worker script is: beside this file when bundled, or the tsx entry when run from source. */
function workerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return new URL('./worker-entry.mjs', import.meta.url);
  const bundled = new URL('./jobs-worker.js', import.meta.url);
  if (fs.existsSync(fileURLToPath(bundled))) return bundled;
  return new URL('./worker-entry.mjs', import.meta.url);
}

export class JobRunner {
  private readonly running = new Map<string, Running>();
  private readonly heartbeatTimer: NodeJS.Timeout;

  constructor(
    private readonly store: WorkspaceStore,
    private readonly options: RunnerOptions = {},
  ) {
    this.heartbeatTimer = setInterval(() => {
      if (this.running.size) this.store.heartbeat([...this.running.keys()]);
    }, options.heartbeatMs ?? 5_000);
    this.heartbeatTimer.unref();
  }

  get activeJobIds(): string[] {
    return [...this.running.keys()];
  }

  /** Starts a job; resolves when it has ended (completed, failed or cancelled), never rejects. */
  submit(opts: SubmitOptions): { jobId: string; experimentId: string; done: Promise<JobOutcome> } {
    // One transaction: an experiment never exists without the job that owns it.
    const { experimentId, jobId } = this.store.db.transaction(() => {
      const eid = this.store.createExperiment({ ...opts.experiment, kind: opts.kind });
      return { experimentId: eid, jobId: this.store.createJob(opts.kind, opts.params, eid) };
    })();
    const data: WorkerData = { jobId, kind: opts.kind, params: opts.params, workspaceDir: this.store.dir };
    const worker = new Worker(workerUrl(), { workerData: data, stdout: false, stderr: false });
    const state: Running = { worker, cancelRequested: false, startedAtMs: Date.now(), lastPersistMs: 0, last: { stage: 'starting', done: 0, total: null } };
    this.running.set(jobId, state);
    this.store.startJob(jobId);
    this.store.appendJobLog(jobId, 'info', `Job ${opts.kind} started in a worker thread (pid ${process.pid}).`);
    this.publish(jobId, opts.kind, experimentId, 'running');

    const done = new Promise<JobOutcome>((resolve) => {
      let settled = false;
      let result: JobResult | null = null;
      const finish = (status: 'completed' | 'failed' | 'cancelled', error: string | null) => {
        if (settled) return;
        settled = true;
        this.running.delete(jobId);
        try {
          if (status === 'completed' && result) {
            this.recordCompletion(jobId, experimentId, result);
          } else {
            this.store.appendJobLog(jobId, status === 'failed' ? 'error' : 'warn', error ?? status);
            this.store.endJob(jobId, status === 'completed' ? 'failed' : status, error);
          }
        } catch (e) {
          this.store.endJob(jobId, 'failed', `Recording the results failed: ${(e as Error).message}`);
        }
        const job = this.store.getJob(jobId);
        this.publish(jobId, opts.kind, experimentId, job.status);
        resolve({ job, experimentId, result: job.status === 'completed' ? result : null });
      };
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'progress':
            this.onProgress(jobId, opts.kind, experimentId, m);
            break;
          case 'log':
            this.store.appendJobLog(jobId, m.level, m.message);
            break;
          case 'result':
            result = m.result;
            finish('completed', null);
            break;
          case 'failed':
            if (m.stack && !m.userError && !m.cancelled) this.store.appendJobLog(jobId, 'error', m.stack);
            finish(m.cancelled ? 'cancelled' : 'failed', m.message);
            break;
        }
      });
      worker.on('error', (e) => finish(state.cancelRequested ? 'cancelled' : 'failed', `The job's worker crashed: ${e.message}`));
      worker.on('exit', (code) => {
        if (result) finish('completed', null);
        else finish(state.cancelRequested ? 'cancelled' : 'failed', `The job's worker exited (code ${code}) without a result.`);
      });
    });
    return { jobId, experimentId, done };
  }

  /** Asks a job to stop; terminates its worker if it has not stopped after the grace period. */
  cancel(jobId: string): boolean {
    const state = this.running.get(jobId);
    if (!state) return false;
    state.cancelRequested = true;
    state.worker.postMessage({ type: 'cancel' } satisfies ToWorker);
    const timer = setTimeout(() => void state.worker.terminate(), this.options.cancelGraceMs ?? 5_000);
    timer.unref();
    return true;
  }

  /** Cancels everything and waits for the workers to stop (app quit, CLI interrupt). */
  async shutdown(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    const waits = [...this.running.values()].map((s) => new Promise<void>((r) => s.worker.once('exit', () => r())));
    for (const id of [...this.running.keys()]) this.cancel(id);
    await Promise.all(waits);
  }

  private onProgress(jobId: string, kind: string, experimentId: string, m: { stage: string; done: number; total: number | null }): void {
    const state = this.running.get(jobId);
    if (!state) return;
    const stageChanged = m.stage !== state.last.stage;
    state.last = m;
    const nowMs = Date.now();
    const finished = m.total !== null && m.done >= m.total;
    if (!stageChanged && !finished && nowMs - state.lastPersistMs < (this.options.progressIntervalMs ?? 250)) return;
    state.lastPersistMs = nowMs;
    const etaMs = this.eta(state, nowMs);
    this.store.updateJobProgress(jobId, { stage: m.stage, done: m.done, total: m.total, etaMs });
    this.publish(jobId, kind, experimentId, 'running');
  }

  /** ETA from the rate so far within the current stage's done/total. */
  private eta(state: Running, nowMs: number): number | null {
    const { done, total } = state.last;
    if (total === null || done <= 0) return null;
    const elapsed = nowMs - state.startedAtMs;
    return Math.max(0, (elapsed / done) * (total - done));
  }

  private publish(jobId: string, kind: string, experimentId: string, status: JobSummary['status']): void {
    if (!this.options.emit) return;
    const state = this.running.get(jobId);
    const last = state?.last ?? { stage: status, done: 0, total: null };
    this.options.emit({
      jobId,
      kind,
      experimentId,
      stage: last.stage,
      done: Math.max(0, Math.floor(last.done)),
      total: last.total === null ? null : Math.max(0, Math.floor(last.total)),
      etaMs: state ? this.eta(state, Date.now()) : status === 'completed' ? 0 : null,
      state: status,
    });
  }

  private recordCompletion(jobId: string, experimentId: string, result: JobResult): void {
    const { store } = this;
    store.db.transaction(() => {
      let modelId: string | null = null;
      let datasetId: string | null = null;
      if (result.model) modelId = store.addModelBySha(result.model).id;
      if (result.dataset) datasetId = store.addDataset(result.dataset).id;
      store.setExperimentInputs(experimentId, { modelId, datasetId });
      store.completeExperiment(experimentId, result, jobId);
      store.appendJobLog(jobId, 'info', 'Completed; results recorded.');
    })();
  }
}
