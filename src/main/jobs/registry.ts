/**
 * The flat list of job kinds: the single place that says which computing verbs exist as jobs.
 * Loaded lazily inside the worker, so the main thread never pays for their imports.
 */
import { UserError } from '../../core/errors';
import type { JobImplementation } from './types';

const KINDS: Record<string, () => Promise<JobImplementation<never>>> = {
  eval: async () => (await import('./kinds/eval')).evalJob,
  bench: async () => (await import('./kinds/bench')).benchJob,
  quantize: async () => (await import('./kinds/quantize')).quantizeJob,
  qat: async () => (await import('./kinds/qat')).qatJob,
  analyze: async () => (await import('./kinds/analyze')).analyzeJob,
  sensitivity: async () => (await import('./kinds/sensitivity')).sensitivityJob,
  search: async () => (await import('./kinds/search')).searchJob,
};

export const JOB_KINDS = Object.keys(KINDS);

export async function loadJobKind(kind: string): Promise<JobImplementation<unknown>> {
  const load = KINDS[kind];
  if (!load) throw new UserError('unknown-job', `Unknown job kind '${kind}' (known: ${JOB_KINDS.join(', ')}).`);
  return (await load()) as JobImplementation<unknown>;
}
