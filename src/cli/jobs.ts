/**
 * Runs a computing verb as a job, as the app does: in a worker thread, recorded in the workspace,
 * with live progress on stderr and Ctrl+C cancelling cleanly (the record says `cancelled`).
 */
import { UserError } from '../core/errors';
import { createServices } from '../main/services';
import { appVersion } from '../main/services/app-version';
import type { JobResult } from '../main/jobs/types';
import type { CliContext } from './context';

export interface CliJob {
  kind: string;
  name: string;
  params: unknown;
  config: unknown;
  seed?: number | null;
  roundingMode?: string | null;
}

export async function runJobFromCli(ctx: CliContext, job: CliJob): Promise<{ experimentId: string; result: JobResult }> {
  const workspaceDir = ctx.workspaceForWriting();
  const services = createServices({ workspaceDir, transport: 'web', log: (l) => ctx.warn(l) });
  const tty = process.stderr.isTTY && !ctx.json;
  let lastLine = '';
  const off = services.events.subscribe((event, payload) => {
    if (event !== 'job.progress' || !tty) return;
    const p = payload as { stage: string; done: number; total: number | null; etaMs: number | null };
    const pct = p.total ? ` ${((100 * p.done) / p.total).toFixed(0)}% (${p.done}/${p.total})` : '';
    const eta = p.etaMs !== null && p.total ? `, ${Math.ceil(p.etaMs / 1000)} s left` : '';
    const line = `${p.stage}${pct}${eta}`;
    if (line !== lastLine) process.stderr.write(`\r\x1b[2K${line}`);
    lastLine = line;
  });
  try {
    const runner = services.jobs();
    const submitted = runner.submit({
      kind: job.kind,
      params: job.params,
      experiment: { name: job.name, config: job.config, appVersion: appVersion(), seed: job.seed ?? null, roundingMode: job.roundingMode ?? null },
    });
    const onSigint = () => {
      ctx.warn('\nCancelling…');
      runner.cancel(submitted.jobId);
    };
    process.on('SIGINT', onSigint);
    const outcome = await submitted.done;
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\r\x1b[2K');
    if (outcome.job.status !== 'completed' || !outcome.result) {
      throw new UserError(
        `job-${outcome.job.status}`,
        `${job.kind} ${outcome.job.status === 'cancelled' ? 'was cancelled' : 'failed'}: ${outcome.job.error ?? 'no reason recorded'} (experiment ${submitted.experimentId}).`,
      );
    }
    return { experimentId: submitted.experimentId, result: outcome.result };
  } finally {
    off();
    await services.close();
  }
}
