import { InvalidArgumentError, type Command } from 'commander';
import { createServices, type Services } from '../../main/services';
import type { CliContext } from '../context';
import type { ExperimentDetail, ExperimentSummary } from '../../shared/api/contract';

async function withStore<T>(ctx: CliContext, fn: (services: Services) => T | Promise<T>): Promise<T> {
  const services = createServices({ workspaceDir: ctx.workspaceForWriting(), transport: 'web', log: (l) => ctx.warn(l) });
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

function headline(e: ExperimentSummary): string {
  const acc = e.metrics.find((m) => m.name === 'accuracy');
  return acc ? `${acc.value.toFixed(2)}${acc.unit}` : '';
}

function printDetail(ctx: CliContext, e: ExperimentDetail): void {
  if (ctx.json) return ctx.printJson(e);
  ctx.print(`${e.id}  ${e.name}`);
  ctx.print(`  kind ${e.kind}, status ${e.status}, created ${e.createdAt}${e.finishedAt ? `, finished ${e.finishedAt}` : ''}`);
  ctx.print(`  QuantLab ${e.appVersion}${e.seed !== null ? `, seed ${e.seed}` : ''}${e.roundingMode ? `, rounding ${e.roundingMode}` : ''}`);
  if (e.model) ctx.print(`  model ${e.model.name} (${e.model.format}, ${e.model.sizeBytes} bytes, sha256 ${e.model.sha256})`);
  if (e.dataset) ctx.print(`  dataset ${e.dataset.spec} (${e.dataset.sampleCount} samples, sha256 ${e.dataset.sha256})`);
  if (e.tags.length) ctx.print(`  tags ${e.tags.join(', ')}`);
  if (e.notes) ctx.print(`  notes ${e.notes}`);
  if (e.error) ctx.print(`  error ${e.error}`);
  for (const m of e.metrics) ctx.print(`  ${m.name}${m.context ? ` [${m.context}]` : ''} = ${m.value}${m.unit ? ' ' + m.unit : ''}`);
  for (const a of e.artifacts) ctx.print(`  artifact ${a.role}: ${a.name} (${a.sizeBytes} bytes, ${a.sha256.slice(0, 12)})`);
  ctx.print(`  config ${JSON.stringify(e.config)}`);
}

function nonNegative(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`'${v}' is not a non-negative integer.`);
  return Number(v);
}

export function registerExperiments(program: Command, context: () => CliContext): void {
  const cmd = program
    .command('experiments')
    .description('list the experiments in the workspace (and show, tag, note, delete them)')
    .option('--status <status>', 'only this status (running, completed, failed, cancelled, interrupted)')
    .option('--kind <kind>', 'only this kind of experiment (eval, quantize, …)')
    .option('--tag <tag>', 'only experiments with this tag')
    .option('--search <text>', 'text in the name, notes or id')
    .option('--limit <n>', 'at most this many', nonNegative, 50)
    .option('--offset <n>', 'skip this many', nonNegative, 0)
    .action(async (opts: { status?: string; kind?: string; tag?: string; search?: string; limit: number; offset: number }) => {
      const ctx = context();
      const page = await withStore(ctx, async (s) => {
        const env = await s.call('experiments.list', { status: opts.status, kind: opts.kind, tag: opts.tag, text: opts.search, limit: opts.limit, offset: opts.offset });
        if (!env.ok) throw new InvalidArgumentError(env.error.message);
        return env.result as { total: number; items: ExperimentSummary[] };
      });
      if (ctx.json) return ctx.printJson(page);
      if (!page.items.length) return ctx.print('No experiments yet: run a computing verb such as `quantlab eval MODEL`.');
      for (const e of page.items) {
        ctx.print(`${e.id}  ${e.createdAt.slice(0, 19).replace('T', ' ')}  ${e.status.padEnd(11)} ${e.kind.padEnd(9)} ${headline(e).padEnd(8)} ${e.name}${e.tags.length ? `  [${e.tags.join(', ')}]` : ''}`);
      }
      if (page.total > page.items.length) ctx.print(`(${page.items.length} of ${page.total}; use --offset/--limit for more)`);
    });

  cmd
    .command('show')
    .description('everything recorded for one experiment')
    .argument('<id>', 'experiment id (or a unique prefix of at least 4 characters)')
    .action(async (id: string) => {
      const ctx = context();
      printDetail(ctx, await withStore(ctx, (s) => s.store().getExperiment(id)));
    });

  cmd
    .command('tag')
    .description('add tags to an experiment (or remove them with --remove)')
    .argument('<id>', 'experiment id')
    .argument('<tags...>', 'tags')
    .option('--remove', 'remove these tags instead')
    .action(async (id: string, tags: string[], opts: { remove?: boolean }) => {
      const ctx = context();
      printDetail(ctx, await withStore(ctx, (s) => (opts.remove ? s.store().tagExperiment(id, [], tags) : s.store().tagExperiment(id, tags))));
    });

  cmd
    .command('note')
    .description("set an experiment's notes")
    .argument('<id>', 'experiment id')
    .argument('<text>', 'the notes')
    .action(async (id: string, text: string) => {
      const ctx = context();
      printDetail(ctx, await withStore(ctx, (s) => s.store().noteExperiment(id, text)));
    });

  cmd
    .command('delete')
    .description('delete an experiment; artifacts no other experiment uses move to the trash folder')
    .argument('<id>', 'experiment id')
    .action(async (id: string) => {
      const ctx = context();
      const r = await withStore(ctx, (s) => s.store().deleteExperiment(id));
      if (ctx.json) ctx.printJson(r);
      else ctx.print(`Deleted experiment ${r.id}; ${r.trashedArtifacts} artifact file(s) moved to the trash folder.`);
    });
}
