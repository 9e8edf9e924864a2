/** Helpers every computing job kind uses for its data and its progress. */
import { parseDatasetSpec } from '../../core/data/dataset';
import type { JobContext } from './types';

/** `spec` limited to its first `samples` samples, so the recorded spec and hash are exactly the data used. */
export function limitSpec(spec: string, samples: number): string {
  const parsed = parseDatasetSpec(spec);
  const limit = Math.min(parsed.limit ?? Infinity, samples);
  return Number.isFinite(limit) ? `${parsed.canonical.replace(/@\d+$/, '')}@${limit}` : parsed.canonical;
}

/** Progress that yields to the event loop and stops at a cancel, as every long job step should. */
export function cancellableProgress(ctx: Pick<JobContext, 'progress' | 'throwIfCancelled'>) {
  return async (stage: string, done: number, total: number | null): Promise<void> => {
    ctx.progress(stage, done, total);
    await new Promise((r) => setImmediate(r));
    ctx.throwIfCancelled();
  };
}
