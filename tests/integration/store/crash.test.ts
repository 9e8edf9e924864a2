/**
 * Reliability: real QuantLab processes doing real jobs are killed with SIGKILL at random points,
 * and two processes share one workspace. The database and the artifacts must stay whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkspaceStore } from '../../../src/main/store';

const LOOP = path.resolve(__dirname, 'fixtures/job-loop.ts');


interface Loop {
  child: ChildProcess;
  completed: string[];
  exited: Promise<number | null>;
  stderr: () => string;
  /** Resolves when the process prints a line matching `re` (or exits). */
  waitFor: (re: RegExp) => Promise<void>;
}

function startLoop(workspace: string, maxJobs: number): Loop {
  const child = spawn(process.execPath, ['--import', 'tsx', LOOP, workspace, String(maxJobs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const completed: string[] = [];
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  let buffer = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const m = /^completed (\w+) (\w+)$/.exec(line);
      if (m) completed.push(m[1]);
      for (const w of waiters.splice(0)) if (w.re.test(line)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve) => {
      waiters.push({ re, resolve });
      void exited.then(() => resolve());
    });
  return { child, completed, exited, stderr: () => err, waitFor };
}

/** Everything that must hold of a workspace no process is using. */
function checkWorkspace(dir: string, reportedCompleted: Iterable<string>): { completed: number; interrupted: number } {
  const store = WorkspaceStore.open(dir);
  try {
    expect(store.integrityCheck()).toBe('ok');
    for (const id of reportedCompleted) {
      const e = store.getExperiment(id);
      expect(e.status, `experiment ${id}`).toBe('completed');
    }
    let completed = 0;
    let interrupted = 0;
    for (const e of store.listExperiments({ limit: 500 }).items) {
      expect(['completed', 'interrupted']).toContain(e.status);
      const d = store.getExperiment(e.id);
      if (e.status === 'completed') {
        completed++;
        // Never half-written: all metrics, both artifacts (hash-checked), the model and dataset rows.
        expect(d.metrics.map((m) => m.name).sort()).toEqual(['latency', 'output-mean', 'output-rms', 'throughput']);
        expect(d.artifacts.map((a) => a.role).sort()).toEqual(['model', 'predictions']);
        for (const a of d.artifacts) expect(store.artifacts.verify(a.sha256), a.sha256).toBe(true);
        expect(d.model?.sha256).toBe(d.artifacts.find((a) => a.role === 'model')!.sha256);
        expect(d.dataset?.sampleCount).toBe(1);
        expect(store.getJob(d.jobId!).status).toBe('completed');
      } else {
        interrupted++;
        expect(d.metrics).toEqual([]);
        expect(d.artifacts).toEqual([]);
        expect(store.getJob(d.jobId!).status).toBe('interrupted');
      }
    }
    return { completed, interrupted };
  } finally {
    store.close();
  }
}

describe('crash safety', () => {
  it('survives 50 SIGKILLs at random points while jobs write results', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-kill-'));
    // Seeded delays, so a failure can be replayed.
    let s = 20261126;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const reported = new Set<string>();
    let lastStats = { completed: 0, interrupted: 0 };
    for (let i = 0; i < 50; i++) {
      const loop = startLoop(dir, 0);
      // Half the kills land at a random point after start-up (usually inside a first job), half at a
      // random point after a job has completed (inside the next one, or while recording it). Timing is
      // relative to the process's own progress, so a slow or loaded machine still tests both.
      await loop.waitFor(i % 2 === 0 ? /^ready$/ : /^completed /);
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 1500)));
      loop.child.kill('SIGKILL');
      await loop.exited;
      loop.completed.forEach((id) => reported.add(id));
      lastStats = checkWorkspace(dir, reported);
    }
    console.log(`after 50 kills: ${lastStats.completed} completed, ${lastStats.interrupted} interrupted experiments`);
    // The kills must have landed both between and inside jobs for the test to mean anything.
    expect(lastStats.completed).toBeGreaterThan(5);
    expect(lastStats.interrupted).toBeGreaterThan(5);
  }, 600_000);

  it('two QuantLab processes on one workspace do not corrupt it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-two-'));
    const a = startLoop(dir, 4);
    const b = startLoop(dir, 4);
    const [ca, cb] = await Promise.all([a.exited, b.exited]);
    expect(ca, a.stderr()).toBe(0);
    expect(cb, b.stderr()).toBe(0);
    const stats = checkWorkspace(dir, [...a.completed, ...b.completed]);
    expect(stats).toEqual({ completed: 8, interrupted: 0 });
    const store = WorkspaceStore.open(dir);
    // Each process tagged its own four experiments.
    const perTag = store.db.prepare("SELECT tag, COUNT(*) AS n FROM experiment_tags WHERE tag LIKE 'pid-%' GROUP BY tag").all();
    expect(perTag.map((r) => (r as { n: number }).n)).toEqual([4, 4]);
    store.close();
  }, 300_000);
});
