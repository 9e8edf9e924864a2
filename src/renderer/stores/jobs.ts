import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { JobProgress, JobSummary } from '../../shared/api/contract';
import { useApi } from '../composables/useApi';
import { toErrorInfo, type ErrorInfo } from '../lib/errors';
import { useEventsStore } from './events';

export type JobState = JobSummary['status'];

/** What a progress bar needs, whichever way it reached us. */
export interface JobProgressView {
  jobId: string;
  experimentId: string | null;
  kind: string;
  stage: string;
  done: number;
  total: number | null;
  etaMs: number | null;
  state: JobState;
  /** 'live': a `job.progress` event of this process; 'stored': the job's row, read with `jobs.list`. */
  source: 'live' | 'stored';
}

/** A job started or reached a final state (seen through an event or by polling the store). */
export interface JobChange {
  type: 'started' | 'ended';
  jobId: string;
  experimentId: string | null;
  state: JobState;
}

export const ACTIVE_JOB_STATES: ReadonlySet<JobState> = new Set(['queued', 'running']);

export function isActive(state: JobState): boolean {
  return ACTIVE_JOB_STATES.has(state);
}

/** Recent jobs read per poll: enough to see every job start and end between two polls. */
const POLL_LIMIT = 25;
const POLL_ACTIVE_MS = 1_500;
const POLL_IDLE_MS = 4_000;

function fromEvent(p: JobProgress): JobProgressView {
  return { ...p, source: 'live' };
}

function fromStored(j: JobSummary): JobProgressView {
  return {
    jobId: j.id,
    experimentId: j.experimentId,
    kind: j.kind,
    stage: j.stage,
    done: j.done,
    total: j.total,
    etaMs: j.etaMs,
    state: j.status,
    source: 'stored',
  };
}

/**
 * Job progress for the views. `job.progress` events only come from jobs of the process that
 * serves this window; jobs started elsewhere on the same workspace (a `quantlab eval` in a
 * terminal) are only in the store. So, while a view watches (`watch()`), this store also polls
 * `jobs.list` and merges both: a live event wins for a job the store still calls running, and the
 * store wins once it records a final state (so a missed final event cannot leave a bar stuck).
 */
export const useJobsStore = defineStore('jobs', () => {
  const api = useApi();
  const eventsStore = useEventsStore();

  /** The most recent jobs as the store has them (`jobs.list`), newest first. */
  const stored = ref<JobSummary[]>([]);
  /** The last poll failed: live status may be stale (the views say so). */
  const pollError = ref<ErrorInfo | null>(null);

  const listeners = new Set<(change: JobChange) => void>();
  let watchers = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let baseline = false;
  let polling: Promise<void> | null = null;

  function notify(change: JobChange): void {
    for (const listener of [...listeners]) {
      try {
        listener(change);
      } catch (e) {
        console.error('QuantLab: a job change listener failed:', e);
      }
    }
  }

  // Live events: every start and every final state of this process's jobs.
  const seenLive = new Map<string, JobState>();
  api.on('job.progress', (p) => {
    const before = seenLive.get(p.jobId);
    seenLive.set(p.jobId, p.state);
    if (isActive(p.state) && before === undefined) notify({ type: 'started', jobId: p.jobId, experimentId: p.experimentId, state: p.state });
    else if (!isActive(p.state) && (before === undefined || isActive(before))) {
      notify({ type: 'ended', jobId: p.jobId, experimentId: p.experimentId, state: p.state });
    }
  });

  function onChange(listener: (change: JobChange) => void): () => void {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  function applyPolled(jobs: JobSummary[]): void {
    const previous = new Map(stored.value.map((j) => [j.id, j.status]));
    stored.value = jobs;
    if (!baseline) {
      // The first answer after a view started watching is the reference, not news.
      baseline = true;
      return;
    }
    for (const job of jobs) {
      const before = previous.get(job.id);
      if (before === job.status) continue;
      const change = { jobId: job.id, experimentId: job.experimentId, state: job.status };
      if (isActive(job.status)) {
        if (before === undefined) notify({ type: 'started', ...change });
      } else {
        // Ended since the last poll, or started and ended in between.
        notify({ type: 'ended', ...change });
      }
    }
  }

  function poll(): Promise<void> {
    polling ??= (async () => {
      try {
        applyPolled(await api.invoke('jobs.list', { limit: POLL_LIMIT }));
        pollError.value = null;
      } catch (e) {
        pollError.value = toErrorInfo(e);
      } finally {
        polling = null;
      }
    })();
    return polling;
  }

  function schedule(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (watchers === 0) return;
    const delayMs = stored.value.some((j) => isActive(j.status)) ? POLL_ACTIVE_MS : POLL_IDLE_MS;
    timer = setTimeout(() => {
      timer = null;
      if (watchers === 0) return;
      // A hidden window does not need fresh bars; it catches up when shown.
      if (typeof document !== 'undefined' && document.hidden) return schedule();
      void poll().then(schedule);
    }, delayMs);
  }

  /** A view wants job status kept fresh while it is open; call the returned function when it closes. */
  function watch(): () => void {
    watchers += 1;
    if (watchers === 1) {
      baseline = false;
      void poll().then(schedule);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      watchers -= 1;
      if (watchers === 0 && timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    };
  }

  /** Every known job by id: the store's rows, overlaid with live events the store has not overtaken. */
  const jobs = computed(() => {
    const merged = new Map<string, JobProgressView>();
    for (const j of stored.value) merged.set(j.id, fromStored(j));
    for (const p of eventsStore.jobs.values()) {
      const known = merged.get(p.jobId);
      if (known && !isActive(known.state)) continue;
      merged.set(p.jobId, fromEvent(p));
    }
    return merged;
  });

  /** The active job of each experiment that has one. */
  const activeByExperiment = computed(() => {
    const byExperiment = new Map<string, JobProgressView>();
    for (const job of jobs.value.values()) {
      if (job.experimentId && isActive(job.state)) byExperiment.set(job.experimentId, job);
    }
    return byExperiment;
  });

  function progressFor(experimentId: string): JobProgressView | undefined {
    return activeByExperiment.value.get(experimentId);
  }

  /** Asks the job's process to stop it; the final state arrives later, as an event or in the store. */
  async function cancel(jobId: string): Promise<JobSummary> {
    const job = await api.invoke('jobs.cancel', { id: jobId });
    // The next poll sees the change (and reports the end) like any other.
    if (watchers > 0) void poll();
    return job;
  }

  return { stored, pollError, jobs, activeByExperiment, progressFor, watch, poll, onChange, cancel };
});
