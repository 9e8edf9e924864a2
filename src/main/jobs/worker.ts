/**
 * The body of every job worker thread: looks up the job kind, runs it with a context wired to the
 * parent, and posts exactly one final message (result or failure).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isUserError } from '../../core/errors';
import { ArtifactStore } from '../store/artifacts';
import { loadJobKind } from './registry';
import { JobCancelledError, type FromWorker, type JobContext, type ToWorker, type WorkerData } from './types';

const port = parentPort;
if (!port) throw new Error('jobs/worker.ts must run as a worker thread.');
const data = workerData as WorkerData;
const controller = new AbortController();
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') controller.abort();
});

const artifacts = new ArtifactStore(data.workspaceDir);
const ctx: JobContext = {
  jobId: data.jobId,
  params: data.params,
  workspaceDir: data.workspaceDir,
  signal: controller.signal,
  progress: (stage, done, total = null) => post({ type: 'progress', stage, done, total }),
  log: (level, message) => post({ type: 'log', level, message }),
  putArtifact: (bytes) => artifacts.put(bytes),
  throwIfCancelled: () => {
    if (controller.signal.aborted) throw new JobCancelledError();
  },
};

try {
  const run = await loadJobKind(data.kind);
  const result = await run(ctx);
  ctx.throwIfCancelled();
  post({ type: 'result', result });
} catch (e) {
  const cancelled = e instanceof JobCancelledError || controller.signal.aborted;
  post({
    type: 'failed',
    message: cancelled ? 'The job was cancelled.' : (e as Error).message ?? String(e),
    userError: isUserError(e),
    cancelled,
    stack: (e as Error).stack,
  });
}
// The final message is out: let the thread end (the message listener would keep it alive).
port.close();
