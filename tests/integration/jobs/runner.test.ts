/**
 * The job runner with a real job (eval: the float runtime over a real model) in a real worker
 * thread: progress events with ETA, the per-job log, cancel, and failures that leave a record.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { JobProgress } from '../../../src/shared/api/contract';
import { JobProgress as JobProgressSchema } from '../../../src/shared/api/contract';
import { JobRunner } from '../../../src/main/jobs/runner';
import { WorkspaceStore } from '../../../src/main/store';

const MODEL = path.resolve(__dirname, '../../../node_modules/@mediapipe/face_detection/face_detection_short_range.tflite');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ql-runner-'));

describe('job runner', () => {
  it('runs a job off the main thread with progress, ETA and a log, and records it', async () => {
    const store = WorkspaceStore.open(tmp());
    const events: JobProgress[] = [];
    const runner = new JobRunner(store, { emit: (p) => events.push(JobProgressSchema.parse(p)), progressIntervalMs: 0 });
    const { jobId, experimentId, done } = runner.submit({
      kind: 'eval',
      params: { modelPath: MODEL, dataset: 'random', count: 20, seed: 1 },
      experiment: { name: 'progress', config: {}, appVersion: 'test' },
    });
    expect(isMainThread).toBe(true);
    const outcome = await done;
    expect(outcome.job.status).toBe('completed');
    const evaluating = events.filter((e) => e.stage === 'evaluating');
    expect(evaluating.length).toBeGreaterThan(0);
    expect(evaluating.at(-1)).toMatchObject({ jobId, experimentId, kind: 'eval', done: 20, total: 20 });
    expect(evaluating.some((e) => e.etaMs !== null && e.etaMs > 0)).toBe(true);
    expect(events.at(-1)!.state).toBe('completed');
    const job = store.getJob(jobId);
    expect(job).toMatchObject({ status: 'completed', stage: 'evaluating', done: 20, total: 20 });
    expect(job.log.map((l) => l.message)).toEqual(expect.arrayContaining([expect.stringMatching(/started in a worker thread/), expect.stringMatching(/Evaluated 20 samples/), 'Completed; results recorded.']));
    await runner.shutdown();
    store.close();
  });

  it('cancels a running job: the record says cancelled and holds no results', async () => {
    const store = WorkspaceStore.open(tmp());
    const events: JobProgress[] = [];
    const runner = new JobRunner(store, { emit: (p) => events.push(p), progressIntervalMs: 0 });
    const { jobId, experimentId, done } = runner.submit({
      kind: 'eval',
      params: { modelPath: MODEL, dataset: 'random', count: 100_000, seed: 2 },
      experiment: { name: 'to cancel', config: {}, appVersion: 'test' },
    });
    // Cancel once it is really evaluating.
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (events.some((e) => e.stage === 'evaluating')) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    expect(runner.cancel(jobId)).toBe(true);
    const outcome = await done;
    expect(outcome.job.status).toBe('cancelled');
    expect(outcome.result).toBeNull();
    const e = store.getExperiment(experimentId);
    expect(e.status).toBe('cancelled');
    expect(e.metrics).toEqual([]);
    expect(e.artifacts).toEqual([]);
    expect(store.getJob(jobId).done).toBeLessThan(100_000);
    expect(runner.cancel(jobId)).toBe(false);
    await runner.shutdown();
    store.close();
  });

  it('a job that fails records the reason as a sentence, and the experiment as failed', async () => {
    const store = WorkspaceStore.open(tmp());
    const runner = new JobRunner(store);
    const bad = path.join(tmp(), 'not-a-model.tflite');
    fs.writeFileSync(bad, 'definitely not a flatbuffer, but long enough to have a header');
    const { experimentId, done } = runner.submit({
      kind: 'eval',
      params: { modelPath: bad, dataset: 'random', count: 1, seed: 0 },
      experiment: { name: 'fails', config: {}, appVersion: 'test' },
    });
    const outcome = await done;
    expect(outcome.job.status).toBe('failed');
    expect(outcome.job.error).toMatch(/not-a-model.tflite.*not a TensorFlow Lite model/);
    expect(store.getExperiment(experimentId)).toMatchObject({ status: 'failed', error: outcome.job.error, metrics: [] });
    await runner.shutdown();
    store.close();
  });
});

describe('jobs.cancel through the contract', () => {
  it('names where to stop a job another process runs, and leaves it alone', async () => {
    const { createServices } = await import('../../../src/main/services');
    const dir = tmp();
    const services = createServices({ workspaceDir: dir, transport: 'web', log: () => {} });
    const store = services.store();
    const exp = store.createExperiment({ name: 'elsewhere', kind: 'eval', config: {}, appVersion: 'test' });
    const job = store.createJob('eval', {}, exp);
    store.startJob(job);
    const env = await services.call('jobs.cancel', { id: job });
    expect(env).toEqual({ ok: false, error: { code: 'user-error', kind: 'not-owner', message: `Job '${job}' runs in another QuantLab process: stop it there (Ctrl+C in its terminal).` } });
    expect(store.getJob(job).status).toBe('running');
    await services.close();
  });
});
